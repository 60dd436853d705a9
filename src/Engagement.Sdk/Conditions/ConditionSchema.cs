using System.Collections.Immutable;
using Engagement.Sdk.Channels;
using Engagement.Sdk.Consent;
using Engagement.Sdk.Events;
using Engagement.Sdk.Profiles;

namespace Engagement.Sdk.Conditions;

/// <summary>
/// What conditions may name, so that a typo is an error when a definition is loaded rather than a rule that silently never
/// holds: the traits (with their types), the custom events, the channels and purposes beyond the well-known ones, and the
/// journeys with their stages. Immutable.
/// </summary>
public sealed record ConditionSchema
{
    private static readonly ImmutableHashSet<string> Amounts = ["purchased", "refunded", "added_to_cart", "checkout_started"];

    /// <summary>Creates a schema.</summary>
    /// <param name="traits">The traits conditions may test, with their types.</param>
    /// <param name="customEvents">The names of custom events (<see cref="CustomEvent.Name"/>) conditions may count.</param>
    /// <param name="customChannels">Channels besides the well-known ones.</param>
    /// <param name="customPurposes">Purposes besides the well-known ones.</param>
    public ConditionSchema(
        IEnumerable<KeyValuePair<string, TraitKind>>? traits = null,
        IEnumerable<string>? customEvents = null,
        IEnumerable<string>? customChannels = null,
        IEnumerable<string>? customPurposes = null)
    {
        Traits = (traits ?? []).ToImmutableDictionary(StringComparer.Ordinal);
        CustomEvents = (customEvents ?? []).ToImmutableHashSet(StringComparer.Ordinal);
        CustomChannels = (customChannels ?? []).ToImmutableHashSet(StringComparer.Ordinal);
        CustomPurposes = (customPurposes ?? []).ToImmutableHashSet(StringComparer.Ordinal);
        Journeys = ImmutableDictionary<string, ImmutableArray<string>>.Empty.WithComparers(StringComparer.Ordinal);
    }

    /// <summary>A schema with no traits, no custom events and only the well-known channels and purposes.</summary>
    public static ConditionSchema Empty { get; } = new();

    /// <summary>The built-in event types (their JSON type names), which every schema knows.</summary>
    public static ImmutableArray<string> BuiltInEvents { get; } =
    [
        "page_viewed", "product_viewed", "added_to_cart", "removed_from_cart", "checkout_started", "purchased", "refunded", "searched",
        "message_sent", "message_delivered", "message_opened", "message_clicked", "message_bounced", "message_complained",
        "profile_updated", "consent_changed",
    ];

    /// <summary>The traits conditions may test, with their types.</summary>
    public ImmutableDictionary<string, TraitKind> Traits { get; private init; }

    /// <summary>The custom events conditions may count.</summary>
    public ImmutableHashSet<string> CustomEvents { get; private init; }

    /// <summary>Channels besides the well-known ones.</summary>
    public ImmutableHashSet<string> CustomChannels { get; private init; }

    /// <summary>Purposes besides the well-known ones.</summary>
    public ImmutableHashSet<string> CustomPurposes { get; private init; }

    /// <summary>The journeys stage conditions may name, with every stage id each has had (in any version).</summary>
    public ImmutableDictionary<string, ImmutableArray<string>> Journeys { get; private init; }

    /// <summary>The journey a stage condition without a journey id refers to, when the conditions belong to one.</summary>
    public string? CurrentJourney { get; private init; }

    /// <summary>Whether stage conditions may name journeys this schema does not know (checked later, when all journeys are registered together).</summary>
    internal bool DeferOtherJourneys { get; init; }

    /// <summary>A schema that knows these traits too (a trait declared twice must have the same type).</summary>
    /// <param name="traits">The traits.</param>
    /// <param name="path">Where they are declared, for the error.</param>
    /// <returns>The schema.</returns>
    public ConditionSchema WithTraits(IEnumerable<KeyValuePair<string, TraitKind>> traits, string path = "traits")
    {
        ArgumentNullException.ThrowIfNull(traits);
        var builder = Traits.ToBuilder();
        foreach (var (name, kind) in traits)
        {
            if (builder.TryGetValue(name, out var known) && known != kind)
            {
                throw new EngagementValidationException(JsonObjectReader.At(path, name), kind.ToString().ToLowerInvariant(), $"the trait is declared elsewhere as {known.ToString().ToLowerInvariant()}");
            }

            builder[name] = kind;
        }

        return this with { Traits = builder.ToImmutable() };
    }

    /// <summary>A schema that knows these custom events too.</summary>
    /// <param name="customEvents">The event names.</param>
    /// <returns>The schema.</returns>
    public ConditionSchema WithCustomEvents(IEnumerable<string> customEvents) => this with { CustomEvents = CustomEvents.Union(customEvents) };

    /// <summary>A schema that knows these channels and purposes too.</summary>
    /// <param name="channels">The custom channels.</param>
    /// <param name="purposes">The custom purposes.</param>
    /// <returns>The schema.</returns>
    public ConditionSchema WithCustomChannelsAndPurposes(IEnumerable<string> channels, IEnumerable<string> purposes)
        => this with { CustomChannels = CustomChannels.Union(channels), CustomPurposes = CustomPurposes.Union(purposes) };

    /// <summary>A schema that knows a journey and its stages (the union of all its versions' stage ids).</summary>
    /// <param name="journeyId">The journey.</param>
    /// <param name="stageIds">Its stage ids.</param>
    /// <returns>The schema.</returns>
    public ConditionSchema WithJourney(string journeyId, IEnumerable<string> stageIds)
    {
        var known = Journeys.TryGetValue(journeyId, out var existing) ? existing : [];
        var merged = known.ToList();
        foreach (var stage in stageIds)
        {
            if (!merged.Contains(stage, StringComparer.Ordinal))
            {
                merged.Add(stage);
            }
        }

        return this with { Journeys = Journeys.SetItem(journeyId, [.. merged]) };
    }

    /// <summary>The schema as seen from inside one journey's definition: stage conditions without a journey id mean that journey.</summary>
    /// <param name="journeyId">The journey.</param>
    /// <returns>The schema.</returns>
    public ConditionSchema ForJourney(string? journeyId) => this with { CurrentJourney = journeyId };

    /// <summary>Whether an event type is known (built in, or a declared custom event).</summary>
    /// <param name="eventType">The type.</param>
    /// <returns><see langword="true"/> when conditions may name it.</returns>
    public bool IsKnownEvent(string eventType) => BuiltInEvents.Contains(eventType) || CustomEvents.Contains(eventType);

    /// <summary>Whether events of a type carry an amount that <see cref="EventMeasure.Sum"/> adds up.</summary>
    /// <param name="eventType">The type.</param>
    /// <returns><see langword="true"/> for <c>purchased</c>, <c>refunded</c>, <c>added_to_cart</c> and <c>checkout_started</c>.</returns>
    public static bool CarriesAmount(string eventType) => Amounts.Contains(eventType);

    /// <summary>Whether a channel is well-known or declared.</summary>
    internal bool IsKnownChannel(Channel channel) => Channel.WellKnown.Contains(channel) || CustomChannels.Contains(channel.Name);

    /// <summary>Whether a purpose is well-known or declared.</summary>
    internal bool IsKnownPurpose(Purpose purpose) => Purpose.WellKnown.Contains(purpose) || CustomPurposes.Contains(purpose.Name);

    /// <summary>The key an event is counted under: its custom name for a custom event, else its type name.</summary>
    /// <param name="engagementEvent">The event.</param>
    /// <returns>The key.</returns>
    public static string EventKey(EngagementEvent engagementEvent)
    {
        ArgumentNullException.ThrowIfNull(engagementEvent);
        return engagementEvent is CustomEvent custom ? custom.Name : engagementEvent.TypeName;
    }

    /// <summary>The amount an event carries for sums (0 when it has none).</summary>
    /// <param name="engagementEvent">The event.</param>
    /// <returns>The amount in the event's currency.</returns>
    public static decimal AmountOf(EngagementEvent engagementEvent) => engagementEvent switch
    {
        Purchased order when !order.Lines.IsDefaultOrEmpty => order.Total.Amount,
        Refunded refund => refund.Amount.Amount,
        AddedToCart cart when cart.UnitPrice is { } price => price.Amount * cart.Quantity,
        CheckoutStarted checkout when checkout.CartValue is { } value => value.Amount,
        _ => 0m,
    };
}
