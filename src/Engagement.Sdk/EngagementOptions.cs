using Engagement.Sdk.Journeys;
using Microsoft.Extensions.Options;

namespace Engagement.Sdk;

/// <summary>The SDK's main options. Validated when the host starts.</summary>
public sealed class EngagementOptions
{
    /// <summary>The shop's currency: purchases and refunds in another currency are rejected (convert them first).</summary>
    /// <value>Defaults to EUR.</value>
    public Currency Currency { get; set; } = Currency.EUR;

    /// <summary>The journeys every event re-evaluates.</summary>
    /// <value>Defaults to the four-stage <see cref="JourneyDefinition.Lifecycle"/> journey.</value>
    public IList<JourneyDefinition> Journeys { get; } = [JourneyDefinition.Lifecycle];

    /// <summary>The journey whose stage decides which actions are eligible.</summary>
    /// <value>Defaults to <c>lifecycle</c>.</value>
    public string DecisionJourneyId { get; set; } = JourneyDefinition.Lifecycle.Id;

    /// <summary>The event types (JSON type names) after which the engine decides and dispatches a next best action.</summary>
    /// <value>Defaults to <c>added_to_cart</c> and <c>purchased</c>.</value>
    public ISet<string> DecisionTriggers { get; } = new HashSet<string>(StringComparer.Ordinal) { "added_to_cart", "purchased" };

    /// <summary>Whether entering a new journey stage also triggers a decision.</summary>
    /// <value>Defaults to <see langword="true"/>.</value>
    public bool DecideOnStageChange { get; set; } = true;

    /// <summary>Host-defined purposes that consent may be recorded for, besides the well-known ones (<see cref="Consent.Purpose.WellKnown"/>).</summary>
    /// <value>Defaults to none.</value>
    public ISet<string> CustomPurposes { get; } = new HashSet<string>(StringComparer.Ordinal);

    /// <summary>Host-defined channels that consent may be recorded for, besides the well-known ones (<see cref="Channels.Channel.WellKnown"/>).</summary>
    /// <value>Defaults to none.</value>
    public ISet<string> CustomChannels { get; } = new HashSet<string>(StringComparer.Ordinal);

    /// <summary>How far ahead of the clock an event or consent record may be stamped (producers' clocks drift).</summary>
    /// <value>Defaults to 5 minutes; from 0 to 1 day.</value>
    public TimeSpan MaxClockSkew { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>
    /// How late an event may arrive (its timestamp behind the clock) and still be tracked; <see langword="null"/> for no limit
    /// (then an event stamped in 1970 is accepted: only for a host that replays its whole history through the engine). Within
    /// the window, aggregates are the same whatever order events arrive in (counts are sums, first and last times are minimum
    /// and maximum, a trait keeps the value of the newest event that set it).
    /// </summary>
    /// <value>Defaults to 30 days (<see cref="DefaultLatenessWindow"/>); when set, from 1 minute to 3,650 days.</value>
    public TimeSpan? LatenessWindow { get; set; } = DefaultLatenessWindow;

    /// <summary>The default <see cref="LatenessWindow"/>: 30 days, longer than any producer's retry or outage should last.</summary>
    public static TimeSpan DefaultLatenessWindow { get; } = TimeSpan.FromDays(30);

    /// <summary>
    /// How long raw events are kept; <see langword="null"/> (the default) keeps them forever. Applied by
    /// <see cref="Storage.EventRetentionPolicy.ApplyAsync"/>. When set, <see cref="LatenessWindow"/> must be set too and not
    /// exceed it, so that a purged event cannot be ingested again as new.
    /// </summary>
    /// <value>Defaults to <see langword="null"/>; when set, from 1 day to 36,500 days.</value>
    public TimeSpan? EventRetention { get; set; }

    /// <summary>
    /// Traits that conditions outside journeys (action eligibility) may test, with their types; journeys declare their own.
    /// </summary>
    /// <value>Defaults to none.</value>
    public IDictionary<string, Profiles.TraitKind> Traits { get; } = new Dictionary<string, Profiles.TraitKind>(StringComparer.Ordinal);

    /// <summary>Custom events (<see cref="Events.CustomEvent.Name"/>) that conditions outside journeys may count; journeys declare their own.</summary>
    /// <value>Defaults to none.</value>
    public ISet<string> CustomEvents { get; } = new HashSet<string>(StringComparer.Ordinal);

    /// <summary>The identity-resolution rules: which identifiers stitch profiles, which mean two people, how traits merge.</summary>
    public Profiles.IdentityOptions Identity { get; } = new();

    /// <summary>
    /// Whether log messages show customer ids as they are. A customer id can be an email address or a phone number, so by
    /// default they show what the host's redactor for <see cref="Diagnostics.EngagementDataClassifications.PersonalData"/> makes of
    /// it (where the host registered <c>Microsoft.Extensions.Compliance.Redaction</c>), else a stable hash
    /// (<see cref="Diagnostics.PersonalDataHashRedactor"/>).
    /// </summary>
    /// <value>Defaults to <see langword="false"/>.</value>
    public bool LogCustomerIdsInPlain { get; set; }

    /// <summary>The host's redactor for personal data, set from its <c>IRedactorProvider</c> when the host starts.</summary>
    internal Microsoft.Extensions.Compliance.Redaction.Redactor? LogRedactor { get; set; }

    /// <summary>
    /// The named segments kept as events arrive and as time passes (<see cref="IEngagementEngine.SweepSegmentsAsync"/>); each
    /// emits the custom events <c>&lt;name&gt;-entered</c> and <c>&lt;name&gt;-exited</c>, which journeys may count and
    /// <see cref="DecisionTriggers"/> may name. Validated at start-up.
    /// </summary>
    /// <value>Defaults to none.</value>
    public IList<Segments.SegmentDefinition> Segments { get; } = [];
}

/// <summary>
/// Validates <see cref="EngagementOptions"/> at start-up: every time option must lie in its documented range (the message
/// names the option, its value and the range).
/// </summary>
public sealed class EngagementOptionsValidator : IValidateOptions<EngagementOptions>
{
    /// <inheritdoc />
    public ValidateOptionsResult Validate(string? name, EngagementOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var failures = new List<string>();
        if (options.Currency.IsEmpty)
        {
            failures.Add("Currency is not set: choose the shop's ISO 4217 currency.");
        }

        OptionRange.Check(failures, nameof(options.MaxClockSkew), options.MaxClockSkew, OptionRange.MaxClockSkew);
        if (options.LatenessWindow is { } window)
        {
            OptionRange.Check(failures, nameof(options.LatenessWindow), window, OptionRange.LatenessWindow);
        }

        if (options.EventRetention is { } retention)
        {
            OptionRange.Check(failures, nameof(options.EventRetention), retention, OptionRange.EventRetention);
            if (options.LatenessWindow is not { } lateness || lateness > retention)
            {
                failures.Add($"EventRetention is {retention} but LatenessWindow is {options.LatenessWindow?.ToString() ?? "unbounded"}: set a lateness window no longer than the retention, or purged events could be ingested again.");
            }
        }

        var ids = new HashSet<string>(StringComparer.Ordinal);
        var versions = new HashSet<(string, int)>();
        foreach (var journey in options.Journeys)
        {
            if (journey is null)
            {
                failures.Add("Journeys holds a null journey.");
            }
            else if (!versions.Add((journey.Id, journey.Version)))
            {
                failures.Add($"Journeys holds the journey '{journey.Id}' version {journey.Version} twice.");
            }
            else
            {
                ids.Add(journey.Id);
            }
        }

        if (!ids.Contains(options.DecisionJourneyId))
        {
            failures.Add($"DecisionJourneyId is '{options.DecisionJourneyId}', which is not one of the journeys ({string.Join(", ", ids)}).");
        }

        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }
}
