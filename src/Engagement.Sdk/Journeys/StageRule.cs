using System.Collections.Immutable;
using Engagement.Sdk.Events;
using Engagement.Sdk.Profiles;

namespace Engagement.Sdk.Journeys;

/// <summary>What a stage rule looks at: the profile after the event, the event that triggered the evaluation, and the clock.</summary>
/// <param name="Profile">The customer's profile, already updated with <paramref name="Event"/>.</param>
/// <param name="Event">The event being processed, or <see langword="null"/> for a time-based re-evaluation.</param>
/// <param name="Now">The current instant.</param>
public readonly record struct StageContext(CustomerProfile Profile, EngagementEvent? Event, DateTimeOffset Now);

/// <summary>
/// A condition for entering a journey stage, defined as data: small rule objects that combine with <see cref="AnyOf"/> and
/// <see cref="AllOf"/>, so that journeys can be built, stored and explained without code.
/// </summary>
public abstract record StageRule
{
    /// <summary>Whether the rule holds.</summary>
    /// <param name="context">The profile, event and clock.</param>
    /// <returns><see langword="true"/> when the rule holds.</returns>
    public abstract bool IsSatisfied(in StageContext context);

    /// <summary>A short, human-readable statement of the rule, used in explanations.</summary>
    /// <returns>The description.</returns>
    public abstract string Describe();

    /// <summary>Holds for any event (the customer was seen).</summary>
    public static StageRule AnyEvent { get; } = new AnyEventRule();

    /// <summary>Holds when the customer has at least one identifier of a kind (for example a known email: direct contact).</summary>
    /// <param name="kinds">The kinds; any one suffices.</param>
    /// <returns>The rule.</returns>
    public static StageRule HasIdentifier(params IdentifierKind[] kinds) => new HasIdentifierRule([.. kinds]);

    /// <summary>Holds when the customer has put something in the cart at least once or has it there now.</summary>
    public static StageRule HasCarted { get; } = new HasCartedRule();

    /// <summary>Holds when the customer has placed at least <paramref name="orders"/> orders.</summary>
    /// <param name="orders">The minimum number of orders (at least 1).</param>
    /// <returns>The rule.</returns>
    public static StageRule OrdersAtLeast(int orders) => new OrdersAtLeastRule(orders);

    /// <summary>Holds when any of the rules holds.</summary>
    /// <param name="rules">The rules.</param>
    /// <returns>The rule.</returns>
    public static StageRule AnyOf(params StageRule[] rules) => new AnyOfRule([.. rules]);

    /// <summary>Holds when all of the rules hold.</summary>
    /// <param name="rules">The rules.</param>
    /// <returns>The rule.</returns>
    public static StageRule AllOf(params StageRule[] rules) => new AllOfRule([.. rules]);
}

/// <summary>Holds for any event.</summary>
public sealed record AnyEventRule : StageRule
{
    /// <inheritdoc />
    public override bool IsSatisfied(in StageContext context) => context.Event is not null || context.Profile.Behaviour.FirstSeen is not null;

    /// <inheritdoc />
    public override string Describe() => "seen";
}

/// <summary>Holds when the customer has an identifier of one of the kinds.</summary>
/// <param name="Kinds">The kinds.</param>
public sealed record HasIdentifierRule(ImmutableArray<IdentifierKind> Kinds) : StageRule
{
    /// <inheritdoc />
    public override bool IsSatisfied(in StageContext context)
    {
        foreach (var kind in Kinds)
        {
            if (context.Profile.FindIdentifier(kind) is not null)
            {
                return true;
            }
        }

        return false;
    }

    /// <inheritdoc />
    public override string Describe() => "has " + string.Join(" or ", Kinds.Select(k => k.Name));
}

/// <summary>Holds when the customer has carted something.</summary>
public sealed record HasCartedRule : StageRule
{
    /// <inheritdoc />
    public override bool IsSatisfied(in StageContext context)
        => context.Event is AddedToCart || !context.Profile.Behaviour.ItemsInCart.IsEmpty;

    /// <inheritdoc />
    public override string Describe() => "added to cart";
}

/// <summary>Holds when the customer has placed at least <paramref name="Orders"/> orders.</summary>
/// <param name="Orders">The minimum number of orders.</param>
public sealed record OrdersAtLeastRule(int Orders) : StageRule
{
    /// <summary>The minimum number of orders.</summary>
    public int Orders { get; } = Orders >= 1 ? Orders : throw new EngagementValidationException("orders", Orders, "must be at least 1");

    /// <inheritdoc />
    public override bool IsSatisfied(in StageContext context) => context.Profile.Behaviour.Orders >= Orders;

    /// <inheritdoc />
    public override string Describe() => Orders == 1 ? "placed an order" : $"placed {Orders} orders";
}

/// <summary>Holds when any rule holds.</summary>
/// <param name="Rules">The rules.</param>
public sealed record AnyOfRule(ImmutableArray<StageRule> Rules) : StageRule
{
    /// <inheritdoc />
    public override bool IsSatisfied(in StageContext context)
    {
        foreach (var rule in Rules)
        {
            if (rule.IsSatisfied(context))
            {
                return true;
            }
        }

        return false;
    }

    /// <inheritdoc />
    public override string Describe() => "(" + string.Join(" or ", Rules.Select(r => r.Describe())) + ")";
}

/// <summary>Holds when every rule holds.</summary>
/// <param name="Rules">The rules.</param>
public sealed record AllOfRule(ImmutableArray<StageRule> Rules) : StageRule
{
    /// <inheritdoc />
    public override bool IsSatisfied(in StageContext context)
    {
        foreach (var rule in Rules)
        {
            if (!rule.IsSatisfied(context))
            {
                return false;
            }
        }

        return true;
    }

    /// <inheritdoc />
    public override string Describe() => "(" + string.Join(" and ", Rules.Select(r => r.Describe())) + ")";
}
