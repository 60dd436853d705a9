using System.Collections.Immutable;
using Engagement.Sdk.Channels;
using Engagement.Sdk.Journeys;

namespace Engagement.Sdk.Profiles;

/// <summary>
/// One customer's portrait: how to recognise them, what they told us, what they prefer, what they did, and where they are in
/// each journey. Immutable: every change makes a new profile with a higher <see cref="Version"/>.
/// </summary>
public sealed record CustomerProfile
{
    // What most profiles never set (traits, preferences, time zone, locale, merges, a pause) lives in one shared-empty
    // object, allocated only for the profiles that have some of it: about 90 bytes less per profile.
    private readonly ProfileDetails? _details;

    private ProfileDetails Details => _details ?? ProfileDetails.None;

    /// <summary>The customer's id.</summary>
    public required CustomerId Id { get; init; }

    /// <summary>
    /// The optimistic-concurrency version: 0 for a profile never stored, incremented by each successful save. A save that
    /// expects another version is a <see cref="Storage.ConcurrencyConflictException"/>.
    /// </summary>
    public long Version { get; init; }

    /// <summary>The identifiers the customer is known by (normalised, without duplicates).</summary>
    [PersonalData]
    public ImmutableArray<Identifier> Identifiers { get; init; } = [];

    /// <summary>Traits the host recorded (name → typed value).</summary>
    [PersonalData]
    public ImmutableDictionary<string, TraitValue> Traits { get => Details.Traits; init => _details = ProfileDetails.Normalise(Details with { Traits = value }); }

    /// <summary>The channel the customer prefers per kind of message (for example <c>shipping</c> → SMS, <c>new_arrivals</c> → email).</summary>
    public ImmutableDictionary<string, Channel> ChannelPreferences { get => Details.ChannelPreferences; init => _details = ProfileDetails.Normalise(Details with { ChannelPreferences = value }); }

    /// <summary>The customer's IANA time zone (for example <c>Europe/Kyiv</c>), used for quiet hours; <see langword="null"/> when unknown.</summary>
    [PersonalData]
    public string? TimeZone { get => Details.TimeZone; init => _details = ProfileDetails.Normalise(Details with { TimeZone = value }); }

    /// <summary>The customer's locale (for example <c>uk-UA</c>); <see langword="null"/> when unknown.</summary>
    [PersonalData]
    public string? Locale { get => Details.Locale; init => _details = ProfileDetails.Normalise(Details with { Locale = value }); }

    /// <summary>
    /// When each trait was last set (the time of the event that set it). A late event never overwrites a trait set by a newer
    /// one, and merges use these times for <see cref="TraitMergeRule.NewestWins"/> and <see cref="TraitMergeRule.OldestWins"/>.
    /// </summary>
    public ImmutableDictionary<string, DateTimeOffset> TraitTimes { get => Details.TraitTimes; init => _details = ProfileDetails.Normalise(Details with { TraitTimes = value }); }

    /// <summary>The merges this profile survived, oldest first; the last one can be undone.</summary>
    public ImmutableArray<ProfileMerge> Merges { get => Details.Merges; init => _details = ProfileDetails.Normalise(Details with { Merges = value }); }

    /// <summary>
    /// Set when this profile was merged into another: it then holds nothing else, and events and calls that name it go to
    /// <see cref="ProfileRedirect.SurvivorId"/>.
    /// </summary>
    public ProfileRedirect? MergedInto { get => Details.MergedInto; init => _details = ProfileDetails.Normalise(Details with { MergedInto = value }); }

    /// <summary>Whether this profile was merged into another and now only redirects.</summary>
    [System.Text.Json.Serialization.JsonIgnore]
    public bool IsMerged => MergedInto is not null;

    /// <summary>
    /// Until when the customer asked for a break from marketing (a "pause" preference): marketing is deferred until then;
    /// transactional messages are not affected. <see langword="null"/> when not paused.
    /// </summary>
    public DateTimeOffset? PausedUntil { get => Details.PausedUntil; init => _details = ProfileDetails.Normalise(Details with { PausedUntil = value }); }

    /// <summary>
    /// Since when the customer objects to profiling (GDPR Art. 21: an objection to profiling, or to direct marketing, which
    /// covers the profiling that serves it), as the consent ledger says; <see langword="null"/> when they do not. While set,
    /// behavioural aggregates (views, searches, cart, categories of interest, engagement with messages, recency of visits)
    /// are not built from events, journeys do not move, and decisions offer nothing personalised; orders, refunds, the
    /// messages sent and what the customer told us are still kept, so transactional service goes on.
    /// </summary>
    public DateTimeOffset? ProfilingObjectedAt { get => Details.ProfilingObjectedAt; init => _details = ProfileDetails.Normalise(Details with { ProfilingObjectedAt = value }); }

    /// <summary>Behavioural aggregates kept up to date from events.</summary>
    public BehaviourAggregates Behaviour { get; init; } = new();

    /// <summary>
    /// Positions in journeys recorded on the profile by earlier versions of the SDK (kept so stored profiles read back);
    /// journeys now keep their state in <see cref="Journeys.IJourneyStore"/>, and the engine no longer writes this.
    /// </summary>
    [System.Text.Json.Serialization.JsonConverter(typeof(KeyedValuesJsonConverter<JourneyPosition>))]
    public KeyedValues<JourneyPosition> Journeys { get; init; }

    /// <summary>Creates an empty profile for a customer seen for the first time.</summary>
    /// <param name="id">The customer's id.</param>
    /// <returns>A profile at version 0.</returns>
    public static CustomerProfile New(CustomerId id) => new() { Id = id };

    /// <summary>The first identifier of a kind, or <see langword="null"/>.</summary>
    /// <param name="kind">The kind.</param>
    /// <returns>The identifier, or <see langword="null"/> when the customer has none of that kind.</returns>
    public Identifier? FindIdentifier(IdentifierKind kind)
    {
        foreach (var identifier in Identifiers)
        {
            if (identifier.Kind == kind)
            {
                return identifier;
            }
        }

        return null;
    }

    /// <summary>Returns a copy that knows <paramref name="identifier"/> too (unchanged when already known).</summary>
    /// <param name="identifier">The identifier.</param>
    /// <returns>The profile.</returns>
    public CustomerProfile WithIdentifier(Identifier identifier)
    {
        ArgumentNullException.ThrowIfNull(identifier);
        return Identifiers.Contains(identifier) ? this : this with { Identifiers = Identifiers.Add(identifier) };
    }

    /// <summary>Returns a copy with a trait set.</summary>
    /// <param name="name">The trait's name.</param>
    /// <param name="value">The value.</param>
    /// <returns>The profile.</returns>
    public CustomerProfile WithTrait(string name, TraitValue value)
        => this with { Traits = Traits.SetItem(Text.RequireToken("trait", name, 64), value) };

    /// <summary>Returns a copy that prefers <paramref name="channel"/> for messages of <paramref name="messageType"/>.</summary>
    /// <param name="messageType">The kind of message (lower-case letters, digits, '_' or '-').</param>
    /// <param name="channel">The preferred channel.</param>
    /// <returns>The profile.</returns>
    public CustomerProfile WithChannelPreference(string messageType, Channel channel)
        => this with { ChannelPreferences = ChannelPreferences.SetItem(Names.Require("messageType", messageType), channel) };
}

/// <summary>The rarely set parts of a <see cref="CustomerProfile"/>; <see langword="null"/> in a profile that has none of them.</summary>
internal sealed record ProfileDetails
{
    public static readonly ProfileDetails None = new();

    public ImmutableDictionary<string, TraitValue> Traits { get; init; } = Empty.Traits;

    public ImmutableDictionary<string, Channel> ChannelPreferences { get; init; } = Empty.ChannelByKey;

    public string? TimeZone { get; init; }

    public string? Locale { get; init; }

    public ImmutableDictionary<string, DateTimeOffset> TraitTimes { get; init; } = Empty.TimeByKey;

    public ImmutableArray<ProfileMerge> Merges { get; init; } = [];

    public ProfileRedirect? MergedInto { get; init; }

    public DateTimeOffset? PausedUntil { get; init; }

    public DateTimeOffset? ProfilingObjectedAt { get; init; }

    /// <summary>The details, or <see langword="null"/> when they hold nothing (so that such profiles compare equal and allocate nothing).</summary>
    public static ProfileDetails? Normalise(ProfileDetails details)
        => details.Traits.IsEmpty && details.ChannelPreferences.IsEmpty && details.TimeZone is null && details.Locale is null
            && details.TraitTimes.IsEmpty && details.Merges.IsDefaultOrEmpty && details.MergedInto is null && details.PausedUntil is null
            && details.ProfilingObjectedAt is null
            ? null
            : details;
}
