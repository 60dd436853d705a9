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

    /// <summary>The journey stages it is eligible in (empty: every stage).</summary>
    public ImmutableArray<string> Stages { get; init; } = [];

    /// <summary>
    /// Who the action is for, in the condition language shared with journeys (traits, aggregates, identifiers, consent, the
    /// stage in any journey, windowed event counts): the action is a candidate only when it holds. <see langword="null"/> (the
    /// default) for everyone. Validated and compiled with the journeys when the engine starts.
    /// </summary>
    public Conditions.Condition? Eligibility { get; init; }

    /// <summary>The value to the shop if the customer responds (for example the expected margin), at least 0.</summary>
    public decimal Value { get; init; }

    /// <summary>The prior probability that a customer responds, in (0, 1], used until outcomes are learned.</summary>
    /// <value>Defaults to 0.05.</value>
    public double BasePropensity { get; init; } = 0.05;

    /// <summary>A business lever multiplying the score (1 = neutral; above 1 to push an action).</summary>
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
