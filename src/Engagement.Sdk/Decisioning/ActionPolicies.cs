using Engagement.Sdk.Channels;
using Engagement.Sdk.Profiles;

namespace Engagement.Sdk.Decisioning;

/// <summary>How an action that promotes a product treats a product the customer has in the cart.</summary>
public enum InCartRule
{
    /// <summary>Not offered while the product is in the cart (the customer is already buying it). The default.</summary>
    Exclude,

    /// <summary>Offered only while the product is in the cart (a cart reminder).</summary>
    Require,

    /// <summary>The cart does not matter.</summary>
    Ignore,
}

/// <summary>
/// Contact policy for one action, on top of the customer's channel limits: at most <see cref="MaxSends"/> sends of the action
/// to one customer within <see cref="Window"/>, and a minimum gap after the last send and after the last dismissal. Sends are
/// counted when the message is queued (so two decisions in a row cannot both send it), whether or not it is delivered.
/// </summary>
public sealed record ActionContactPolicy
{
    /// <summary>The most sends of the action to one customer within <see cref="Window"/>, at least 1; <see langword="null"/> for no limit.</summary>
    public int? MaxSends { get; init; }

    /// <summary>The window <see cref="MaxSends"/> counts over.</summary>
    /// <value>Defaults to 7 days; from 1 minute to 366 days.</value>
    public TimeSpan Window { get; init; } = TimeSpan.FromDays(7);

    /// <summary>How long after a send of the action it may not be sent again; <see langword="null"/> for no gap.</summary>
    public TimeSpan? MinGapAfterSend { get; init; }

    /// <summary>How long after the customer dismissed the action it may not be sent again; <see langword="null"/> for no gap.</summary>
    public TimeSpan? MinGapAfterDismissal { get; init; }

    /// <summary>How far back the customer's contact history must be read to apply this policy.</summary>
    internal TimeSpan LookBack
    {
        get
        {
            var longest = MaxSends is null ? TimeSpan.Zero : Window;
            if (MinGapAfterSend is { } send && send > longest)
            {
                longest = send;
            }

            if (MinGapAfterDismissal is { } dismissal && dismissal > longest)
            {
                longest = dismissal;
            }

            return longest;
        }
    }
}

/// <summary>The calendar period a volume budget resets on (in UTC, so every process agrees on it).</summary>
public enum BudgetPeriod
{
    /// <summary>Each UTC day.</summary>
    Day,

    /// <summary>Each UTC week, Monday to Sunday.</summary>
    Week,

    /// <summary>Each UTC calendar month.</summary>
    Month,

    /// <summary>Never: the budget is for the action's whole life.</summary>
    Total,
}

/// <summary>
/// A volume budget across customers: at most <see cref="Limit"/> customers get the action per <see cref="Period"/> ("a limited
/// offer for the first 100"). Reserved atomically in the store when a decision that will be sent chooses the action; a store
/// that cannot be reached denies the action.
/// </summary>
public sealed record ActionBudget
{
    /// <summary>The most sends per period, at least 0 (0 stops the action).</summary>
    public required long Limit { get; init; }

    /// <summary>The period the budget resets on.</summary>
    /// <value>Defaults to <see cref="BudgetPeriod.Total"/>.</value>
    public BudgetPeriod Period { get; init; } = BudgetPeriod.Total;

    /// <summary>The start of the period that holds <paramref name="at"/>.</summary>
    /// <param name="period">The period.</param>
    /// <param name="at">The instant.</param>
    /// <returns>The period's start, in UTC (<see cref="DateTimeOffset.MinValue"/> for <see cref="BudgetPeriod.Total"/>).</returns>
    public static DateTimeOffset PeriodStart(BudgetPeriod period, DateTimeOffset at)
    {
        var utc = at.UtcDateTime;
        return period switch
        {
            BudgetPeriod.Day => new DateTimeOffset(utc.Date, TimeSpan.Zero),
            BudgetPeriod.Week => new DateTimeOffset(utc.Date.AddDays(-(((int)utc.DayOfWeek + 6) % 7)), TimeSpan.Zero),
            BudgetPeriod.Month => new DateTimeOffset(utc.Year, utc.Month, 1, 0, 0, 0, TimeSpan.Zero),
            _ => DateTimeOffset.MinValue,
        };
    }
}

/// <summary>
/// A variant of an action's creative or offer (Pega's treatment): a candidate of its own, learned from separately, with an
/// optional lever and value of its own.
/// </summary>
public sealed record ActionTreatment
{
    /// <summary>The treatment's id, unique within the action.</summary>
    public required string Id { get; init; }

    /// <summary>The channels it can go out on (empty: every channel of the action).</summary>
    public System.Collections.Immutable.ImmutableArray<Channel> Channels { get; init; } = [];

    /// <summary>A lever multiplying the action's lever for this treatment.</summary>
    /// <value>Defaults to 1.</value>
    public double Lever { get; init; } = 1.0;

    /// <summary>The value to the shop if the customer responds to this treatment; <see langword="null"/> for the action's.</summary>
    public decimal? Value { get; init; }
}

/// <summary>
/// A boost of an action's context weight when what the customer is doing now matches: the context weight is
/// C = 1 + Σ <see cref="Percent"/> / 100 over the boosts that match (Pega's context weighting), at least 0.
/// </summary>
/// <param name="Key">The context key: <see cref="DecisionContext.IntentKey"/>, <see cref="DecisionContext.CartKey"/>, <see cref="DecisionContext.TriggerKey"/> or a host attribute.</param>
/// <param name="Value">The value that must match (ordinal).</param>
/// <param name="Percent">The boost in percent (negative to suppress), finite.</param>
public sealed record ContextBoost(string Key, string Value, double Percent);

/// <summary>
/// A named condition on the customer (a suitability rule: the host's predicate, such as affordability or vulnerability): the
/// name appears in the trace when it fails. The test must be a pure, fast function of the profile and the context (it runs for
/// every decision). Who may get an action at all is its <see cref="ActionDefinition.Eligibility"/>, in the condition language.
/// </summary>
/// <param name="Name">The rule's name, for explanations.</param>
/// <param name="Test">The test: <see langword="true"/> when the rule is met.</param>
public sealed record CustomerRule(string Name, Func<CustomerProfile, DecisionContext, bool> Test)
{
    /// <summary>A rule met when the customer has the trait <paramref name="name"/> with the text value <paramref name="value"/>.</summary>
    /// <param name="name">The trait.</param>
    /// <param name="value">The value.</param>
    /// <returns>The rule.</returns>
    public static CustomerRule HasTrait(string name, string value)
    {
        ArgumentNullException.ThrowIfNull(name);
        ArgumentNullException.ThrowIfNull(value);
        return new CustomerRule($"trait {name} = {value}", (profile, _) => profile.Traits.TryGetValue(name, out var trait) && trait.Kind == TraitKind.String && trait.AsString() == value);
    }
}
