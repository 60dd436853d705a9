using System.Collections.Immutable;
using Engagement.Sdk.Channels;
using Engagement.Sdk.Consent;

namespace Engagement.Sdk.Decisioning;

/// <summary>What an action is.</summary>
public enum ActionKind
{
    /// <summary>A commercial offer (a discount, a bundle).</summary>
    Offer,

    /// <summary>Content (a guide, a story).</summary>
    Content,

    /// <summary>A service or lifecycle message (welcome, win-back).</summary>
    Message,

    /// <summary>A product recommendation.</summary>
    ProductRecommendation,

    /// <summary>Do nothing: always a candidate, worth zero, chosen when nothing else is worth sending.</summary>
    NoAction,
}

/// <summary>
/// One thing the shop may do for a customer. Immutable; validated when added to an <see cref="ActionCatalog"/>.
/// </summary>
public sealed record ActionDefinition
{
    /// <summary>The action's id.</summary>
    public required string Id { get; init; }

    /// <summary>A display name.</summary>
    public required string Name { get; init; }

    /// <summary>What it is.</summary>
    public ActionKind Kind { get; init; } = ActionKind.Offer;

    /// <summary>The purpose it serves, which consent is checked for.</summary>
    /// <value>Defaults to <see cref="Purpose.Marketing"/>.</value>
    public Purpose Purpose { get; init; } = Purpose.Marketing;

    /// <summary>The kind of message, for the customer's channel preference (for example <c>new_arrivals</c>).</summary>
    public string? MessageType { get; init; }

    /// <summary>The channels it can go out on, in the shop's order of preference.</summary>
    public ImmutableArray<Channel> Channels { get; init; } = [];

    /// <summary>The product it promotes, if any: never offered to a customer who bought it, nor when it is out of stock.</summary>
    public string? ProductId { get; init; }

    /// <summary>The stages of the decision journey (<see cref="EngagementOptions.DecisionJourneyId"/>) it is eligible in (empty: every stage).</summary>
    public ImmutableArray<string> Stages { get; init; } = [];

    /// <summary>
    /// Who the action is for, in the condition language shared with journeys (traits, aggregates, identifiers, consent, the
    /// stage in any journey, windowed event counts): the action is a candidate only when it holds. <see langword="null"/> (the
    /// default) for everyone. Validated and compiled with the journeys when the engine starts.
    /// </summary>
    public Conditions.Condition? Eligibility { get; init; }

    /// <summary>Suitability rules (the host's predicates: affordability, vulnerability), all of which must hold: whether the action is in the customer's interest.</summary>
    public ImmutableArray<CustomerRule> Suitability { get; init; } = [];

    /// <summary>The first instant the action may be chosen; <see langword="null"/> for no start.</summary>
    public DateTimeOffset? ValidFrom { get; init; }

    /// <summary>The instant from which the action may no longer be chosen; <see langword="null"/> for no end. After <see cref="ValidFrom"/>.</summary>
    public DateTimeOffset? ValidUntil { get; init; }

    /// <summary>What one send costs the shop (on top of the channel's cost in <see cref="DecisioningOptions.ChannelCosts"/>), at least 0.</summary>
    public decimal Cost { get; init; }

    /// <summary>
    /// The share of the customer's value (<see cref="ICustomerValueEstimator"/>: expected margin or lifetime value) added to
    /// <see cref="Value"/>, at least 0: a win-back offer to a customer worth 5,000 weighs more than to a new visitor.
    /// </summary>
    /// <value>Defaults to 0 (the action's value alone).</value>
    public double CustomerValueShare { get; init; }

    /// <summary>The group the action belongs to (for diversity across the slots of a decision and for reports); <see langword="null"/> for none.</summary>
    public string? Group { get; init; }

    /// <summary>Variants of the action's creative or offer, each a candidate learned from separately (empty: one default treatment).</summary>
    public ImmutableArray<ActionTreatment> Treatments { get; init; } = [];

    /// <summary>How a product in the customer's cart affects the action (for actions with a <see cref="ProductId"/>).</summary>
    /// <value>Defaults to <see cref="InCartRule.Exclude"/>.</value>
    public InCartRule InCart { get; init; } = InCartRule.Exclude;

    /// <summary>How long after any purchase of the customer the action is not offered; <see langword="null"/> for no cooldown.</summary>
    public TimeSpan? PurchaseCooldown { get; init; }

    /// <summary>
    /// For a product that is bought again (a consumable): how long after the customer last bought <see cref="ProductId"/> it may be
    /// offered again. <see langword="null"/> (the default) means a product once bought is never offered again.
    /// </summary>
    public TimeSpan? ReplenishAfter { get; init; }

    /// <summary>Contact policy for this action (sends per window, gaps after a send or a dismissal); <see langword="null"/> for none.</summary>
    public ActionContactPolicy? ContactPolicy { get; init; }

    /// <summary>A volume budget across customers; <see langword="null"/> for none.</summary>
    public ActionBudget? Budget { get; init; }

    /// <summary>Boosts of the context weight when the decision's context matches (an open cart, the session's intent).</summary>
    public ImmutableArray<ContextBoost> ContextBoosts { get; init; } = [];

    /// <summary>
    /// The share of customers held out of this action as its control group, in [0, 1): chosen by a stable hash of the customer
    /// and the action, they are not sent it, and the decision is logged as a would-be send, so the action's uplift can be measured.
    /// </summary>
    /// <value>Defaults to 0.</value>
    public double ControlShare { get; init; }

    /// <summary>The value to the shop if the customer responds (for example the expected margin), at least 0.</summary>
    public decimal Value { get; init; }

    /// <summary>The prior probability that a customer responds, in (0, 1], used until outcomes are learned.</summary>
    /// <value>Defaults to 0.05.</value>
    public double BasePropensity { get; init; } = 0.05;

    /// <summary>A business lever multiplying the score (1 = neutral; above 1 to push an action), at least 0.</summary>
    /// <value>Defaults to 1.</value>
    public double Lever { get; init; } = 1.0;

    /// <summary>
    /// The action's priority when messages compete for contact-policy slots: a held message of higher priority is released
    /// before lower ones, takes the place of a lower-priority held message when the customer's queue is full, and goes before
    /// a live decision of lower priority. Priority orders competing messages; the score still chooses among candidates.
    /// </summary>
    /// <value>Defaults to 0.</value>
    public int Priority { get; init; }

    /// <summary>
    /// How long the message stays worth sending when contact policy defers it (a frequency cap, quiet hours, a pause): it is
    /// held and sent when policy allows, in priority order, or cancelled after this long. <see langword="null"/> (the default)
    /// means a deferred action is not held: the decision moves on to another permitted candidate or does nothing.
    /// </summary>
    /// <value>Defaults to <see langword="null"/>; when set, more than zero and at most 30 days.</value>
    public TimeSpan? HoldFor { get; init; }
}
