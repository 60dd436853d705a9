using System.Collections.Immutable;
using Engagement.Sdk.Channels;
using Engagement.Sdk.Consent;
using Engagement.Sdk.Profiles;

namespace Engagement.Sdk.Conditions;

/// <summary>How a number is compared with a threshold.</summary>
public enum ComparisonOperator
{
    /// <summary>Equal (<c>eq</c>).</summary>
    Eq,

    /// <summary>Not equal (<c>ne</c>).</summary>
    Ne,

    /// <summary>Greater than (<c>gt</c>).</summary>
    Gt,

    /// <summary>Greater than or equal (<c>ge</c>).</summary>
    Ge,

    /// <summary>Less than (<c>lt</c>).</summary>
    Lt,

    /// <summary>Less than or equal (<c>le</c>).</summary>
    Le,
}

/// <summary>How a trait is tested.</summary>
public enum TraitOperator
{
    /// <summary>The trait is set (operand <see langword="true"/>) or not set (operand <see langword="false"/>).</summary>
    Exists,

    /// <summary>Equal to the operand.</summary>
    Eq,

    /// <summary>Not equal to the operand (a trait that is not set is not "not equal").</summary>
    Ne,

    /// <summary>Greater than the operand (numbers and dates).</summary>
    Gt,

    /// <summary>Greater than or equal to the operand (numbers and dates).</summary>
    Ge,

    /// <summary>Less than the operand (numbers and dates).</summary>
    Lt,

    /// <summary>Less than or equal to the operand (numbers and dates).</summary>
    Le,

    /// <summary>Equal to one of the operands (texts and numbers).</summary>
    In,

    /// <summary>A list trait that contains the operand (a text).</summary>
    Contains,
}

/// <summary>A behavioural aggregate of the profile (<see cref="BehaviourAggregates"/>) that a condition compares.</summary>
public enum ProfileAggregate
{
    /// <summary>The number of orders (<c>orders</c>).</summary>
    Orders,

    /// <summary>Revenue before refunds, in the shop's currency (<c>revenue</c>).</summary>
    Revenue,

    /// <summary>Revenue less refunds (<c>netRevenue</c>).</summary>
    NetRevenue,

    /// <summary>Refunds (<c>refunds</c>).</summary>
    Refunds,

    /// <summary>Orders not wholly refunded (<c>ordersKept</c>): an order refunded in full no longer counts.</summary>
    OrdersKept,

    /// <summary>Product views (<c>productViews</c>).</summary>
    ProductViews,

    /// <summary>Page views (<c>pageViews</c>).</summary>
    PageViews,

    /// <summary>Searches (<c>searches</c>).</summary>
    Searches,

    /// <summary>Distinct products in the cart now (<c>itemsInCart</c>).</summary>
    ItemsInCart,

    /// <summary>Distinct products bought (<c>itemsBought</c>).</summary>
    ItemsBought,

    /// <summary>Distinct products viewed (<c>itemsViewed</c>).</summary>
    ItemsViewed,

    /// <summary>Distinct categories bought (<c>categoriesBought</c>).</summary>
    CategoriesBought,

    /// <summary>Messages sent, all channels (<c>messagesSent</c>).</summary>
    MessagesSent,

    /// <summary>Messages opened or clicked, all channels (<c>messageEngagements</c>).</summary>
    MessageEngagements,
}

/// <summary>What a windowed event condition measures over its window.</summary>
public enum EventMeasure
{
    /// <summary>How many events (<c>count</c>).</summary>
    Count,

    /// <summary>The sum of their amounts (<c>sum</c>): order totals, refunds, cart values.</summary>
    Sum,
}

/// <summary>
/// A condition of the condition language shared by journey stage rules, step branches and action eligibility: over the
/// profile's traits, aggregates and identifiers, the consent state, the stages of any journey, and time-windowed counts
/// and sums of events ("at least 3 <c>product_viewed</c> in the last 7 days", "no <c>purchased</c> for 90 days"). Conditions
/// are data: immutable records built here or read from JSON (<see cref="ConditionJson"/>), validated against a
/// <see cref="ConditionSchema"/> with errors that name the JSON path, the value and the rule.
/// </summary>
public abstract record Condition
{
    private protected Condition()
    {
    }

    /// <summary>Always holds (JSON <c>true</c>).</summary>
    public static Condition Always { get; } = new ConstantCondition(true);

    /// <summary>Never holds (JSON <c>false</c>).</summary>
    public static Condition Never { get; } = new ConstantCondition(false);

    /// <summary>Holds when every condition holds (JSON <c>{"all": [...]}</c>).</summary>
    /// <param name="conditions">The conditions.</param>
    /// <returns>The condition.</returns>
    public static Condition All(params Condition[] conditions) => new AllCondition([.. conditions]);

    /// <summary>Holds when any condition holds (JSON <c>{"any": [...]}</c>).</summary>
    /// <param name="conditions">The conditions.</param>
    /// <returns>The condition.</returns>
    public static Condition Any(params Condition[] conditions) => new AnyCondition([.. conditions]);

    /// <summary>Holds when <paramref name="condition"/> does not (JSON <c>{"not": ...}</c>).</summary>
    /// <param name="condition">The condition.</param>
    /// <returns>The condition.</returns>
    public static Condition Not(Condition condition) => new NotCondition(condition);

    /// <summary>Tests a trait (JSON <c>{"trait": "vip", "eq": true}</c>).</summary>
    /// <param name="trait">The trait's name (declared in the schema with its type).</param>
    /// <param name="op">The test.</param>
    /// <param name="operands">The operand(s): one, or several for <see cref="TraitOperator.In"/>.</param>
    /// <returns>The condition.</returns>
    public static Condition Trait(string trait, TraitOperator op, params TraitValue[] operands) => new TraitCondition(trait, op, [.. operands]);

    /// <summary>Holds when the trait is set.</summary>
    /// <param name="trait">The trait's name.</param>
    /// <returns>The condition.</returns>
    public static Condition TraitExists(string trait) => new TraitCondition(trait, TraitOperator.Exists, [TraitValue.Of(true)]);

    /// <summary>Compares a behavioural aggregate (JSON <c>{"aggregate": "orders", "ge": 2}</c>).</summary>
    /// <param name="aggregate">The aggregate.</param>
    /// <param name="op">The comparison.</param>
    /// <param name="value">The threshold.</param>
    /// <returns>The condition.</returns>
    public static Condition Aggregate(ProfileAggregate aggregate, ComparisonOperator op, decimal value) => new AggregateCondition(aggregate, op, value);

    /// <summary>Holds when the customer has an identifier of one of the kinds (JSON <c>{"identifier": ["email", "phone"]}</c>).</summary>
    /// <param name="kinds">The kinds; any one suffices.</param>
    /// <returns>The condition.</returns>
    public static Condition HasIdentifier(params IdentifierKind[] kinds) => new IdentifierCondition([.. kinds]);

    /// <summary>
    /// Holds when consent for <paramref name="purpose"/> on <paramref name="channel"/> is in force for the customer's address on
    /// that channel (JSON <c>{"consent": "email", "purpose": "marketing"}</c>).
    /// </summary>
    /// <param name="channel">The channel.</param>
    /// <param name="purpose">The purpose.</param>
    /// <returns>The condition.</returns>
    public static Condition Consent(Channel channel, Purpose purpose) => new ConsentCondition(channel, purpose);

    /// <summary>Holds when the customer is in one of the stages of a journey (JSON <c>{"journey": "lifecycle", "stage": ["conversion"]}</c>).</summary>
    /// <param name="journeyId">The journey, or <see langword="null"/> for the journey the condition belongs to.</param>
    /// <param name="stages">The stages; none means any stage (the customer is in the journey).</param>
    /// <returns>The condition.</returns>
    public static Condition InStage(string? journeyId, params string[] stages) => new StageCondition(journeyId, [.. stages]);

    /// <summary>Counts events of a type in a window (JSON <c>{"event": "product_viewed", "within": "P7D", "count": {"ge": 3}}</c>).</summary>
    /// <param name="eventType">The event type (a built-in type name or a declared custom event).</param>
    /// <param name="within">The window, ending now.</param>
    /// <param name="op">The comparison.</param>
    /// <param name="count">The threshold.</param>
    /// <returns>The condition.</returns>
    public static Condition EventCount(string eventType, TimeSpan within, ComparisonOperator op, int count) => new EventCondition(eventType, within, EventMeasure.Count, op, count);

    /// <summary>Holds when no event of a type happened in the window ("no purchase for 90 days").</summary>
    /// <param name="eventType">The event type.</param>
    /// <param name="within">The window, ending now.</param>
    /// <returns>The condition.</returns>
    public static Condition NoEvent(string eventType, TimeSpan within) => EventCount(eventType, within, ComparisonOperator.Eq, 0);

    /// <summary>Sums the amounts of events of a type in a window (JSON <c>{"event": "purchased", "within": "P30D", "sum": {"ge": 100}}</c>).</summary>
    /// <param name="eventType">An event type that carries an amount (<c>purchased</c>, <c>refunded</c>, <c>added_to_cart</c>, <c>checkout_started</c>).</param>
    /// <param name="within">The window, ending now.</param>
    /// <param name="op">The comparison.</param>
    /// <param name="sum">The threshold, in the shop's currency.</param>
    /// <returns>The condition.</returns>
    public static Condition EventSum(string eventType, TimeSpan within, ComparisonOperator op, decimal sum) => new EventCondition(eventType, within, EventMeasure.Sum, op, sum);

    /// <summary>The condition's JSON, compact.</summary>
    /// <returns>The JSON text.</returns>
    public sealed override string ToString() => ConditionJson.ToJson(this);
}

/// <summary>Always or never holds.</summary>
/// <param name="Value">Whether it holds.</param>
public sealed record ConstantCondition(bool Value) : Condition;

/// <summary>Holds when every condition holds (and when there are none).</summary>
/// <param name="Conditions">The conditions.</param>
public sealed record AllCondition(ImmutableArray<Condition> Conditions) : Condition;

/// <summary>Holds when any condition holds (never when there are none).</summary>
/// <param name="Conditions">The conditions.</param>
public sealed record AnyCondition(ImmutableArray<Condition> Conditions) : Condition;

/// <summary>Holds when the inner condition does not.</summary>
/// <param name="Inner">The condition.</param>
public sealed record NotCondition(Condition Inner) : Condition;

/// <summary>
/// Tests a profile trait. A trait that is not set, or holds a value of another type than the schema declares, fails every
/// test except "does not exist".
/// </summary>
/// <param name="Name">The trait's name.</param>
/// <param name="Operator">The test.</param>
/// <param name="Operands">The operand(s).</param>
public sealed record TraitCondition(string Name, TraitOperator Operator, ImmutableArray<TraitValue> Operands) : Condition;

/// <summary>Compares a behavioural aggregate of the profile with a threshold.</summary>
/// <param name="Field">The aggregate.</param>
/// <param name="Operator">The comparison.</param>
/// <param name="Value">The threshold.</param>
public sealed record AggregateCondition(ProfileAggregate Field, ComparisonOperator Operator, decimal Value) : Condition;

/// <summary>Holds when the customer has an identifier of one of the kinds.</summary>
/// <param name="Kinds">The kinds.</param>
public sealed record IdentifierCondition(ImmutableArray<IdentifierKind> Kinds) : Condition;

/// <summary>Holds when consent for the purpose on the channel is in force for the customer's address on that channel.</summary>
/// <param name="Channel">The channel.</param>
/// <param name="Purpose">The purpose.</param>
public sealed record ConsentCondition(Channel Channel, Purpose Purpose) : Condition;

/// <summary>Holds when the customer is in one of the stages of a journey (any stage when none are named).</summary>
/// <param name="JourneyId">The journey, or <see langword="null"/> for the journey the condition belongs to.</param>
/// <param name="Stages">The stages.</param>
public sealed record StageCondition(string? JourneyId, ImmutableArray<string> Stages) : Condition;

/// <summary>
/// Compares the count, or the sum of amounts, of one type of event within a window that ends at the moment of evaluation.
/// Counted from state kept as events arrive (never by reading the event store), and following merged profiles.
/// </summary>
/// <param name="EventType">The event type: a built-in type name (<c>purchased</c>) or a declared custom event's name.</param>
/// <param name="Within">The window.</param>
/// <param name="Measure">Count or sum.</param>
/// <param name="Operator">The comparison.</param>
/// <param name="Value">The threshold.</param>
public sealed record EventCondition(string EventType, TimeSpan Within, EventMeasure Measure, ComparisonOperator Operator, decimal Value) : Condition;
