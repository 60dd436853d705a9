using System.Collections.Immutable;
using Engagement.Sdk.Channels;
using Engagement.Sdk.Consent;
using Engagement.Sdk.Decisioning;
using Engagement.Sdk.Events;
using Engagement.Sdk.Journeys;
using Engagement.Sdk.Profiles;
using Engagement.Sdk.Segments;

namespace Engagement.Sdk;

/// <summary>What tracking one event did.</summary>
/// <param name="Event">The event.</param>
/// <param name="IsDuplicate">Whether the event id had been applied before (then nothing else happened).</param>
/// <param name="Profile">The customer's profile after the event.</param>
/// <param name="Transitions">Journey stages entered.</param>
/// <param name="Decision">The next-best-action decision, when the event triggered one.</param>
/// <param name="Dispatch">The dispatch of the chosen action, when one was queued (a <see cref="DispatchWorker"/> delivers it).</param>
public sealed record TrackResult(EngagementEvent Event, bool IsDuplicate, CustomerProfile? Profile, ImmutableArray<StageTransition> Transitions, Decision? Decision, DispatchSummary? Dispatch)
{
    // What most events do not produce (a decision, a dispatch, held messages, a merge or withheld identifier, segment changes)
    // lives in one object that most results never allocate: a result is made for every tracked event. A setter given what
    // the object already holds (nothing, mostly) keeps it rather than copying it.
    private readonly TrackExtras? _extras = Decision is null && Dispatch is null ? null : new TrackExtras { Decision = Decision, Dispatch = Dispatch };

    private TrackExtras Extras => _extras ?? TrackExtras.None;

    /// <summary>The next-best-action decision, when the event triggered one.</summary>
    public Decision? Decision { get => Extras.Decision; init => _extras = ReferenceEquals(value, Extras.Decision) ? _extras : TrackExtras.Normalise(Extras with { Decision = value }); }

    /// <summary>The dispatch of the chosen action, when one was queued (a <see cref="DispatchWorker"/> delivers it).</summary>
    public DispatchSummary? Dispatch { get => Extras.Dispatch; init => _extras = ReferenceEquals(value, Extras.Dispatch) ? _extras : TrackExtras.Normalise(Extras with { Dispatch = value }); }

    /// <summary>Whether the event was ignored because its customer was erased (a late or replayed event never recreates them).</summary>
    public bool IsErasedSubject { get; init; }

    /// <summary>
    /// How identity resolution routed the event: the profile it was applied to, the merges it caused and the identifiers it
    /// presented that belong to another person (not added). <see langword="null"/> for duplicates and erased subjects.
    /// </summary>
    public IdentityResolution? Identity
    {
        // When resolution merged and withheld nothing, the resolution is made only if asked for.
        get => Extras.Identity ?? (IsRouted && Profile is { } profile ? new IdentityResolution(profile.Id, [], []) : null);
        init => _extras = ReferenceEquals(value, Extras.Identity) ? _extras : TrackExtras.Normalise(Extras with { Identity = value });
    }

    // Whether identity resolution routed the event (it was applied), so that Identity can be made when not stored.
    internal bool IsRouted { get; init; }

    /// <summary>
    /// Messages contact policy held back, released, rescheduled or cancelled while the event was handled: due held messages
    /// compete with the decision by priority, and a deferred action with <see cref="ActionDefinition.HoldFor"/> is held.
    /// </summary>
    public ImmutableArray<HeldMessageOutcome> HeldMessages { get => Extras.HeldMessages; init => _extras = value.IsDefaultOrEmpty && Extras.HeldMessages.IsEmpty ? _extras : TrackExtras.Normalise(Extras with { HeldMessages = value.IsDefault ? [] : value }); }

    /// <summary>What the journeys recorded for the event: entries, moves, exits, steps, sends, would-be sends, goals and revenue.</summary>
    public ImmutableArray<JourneyHistoryEntry> JourneyHistory { get; init; } = [];

    /// <summary>The segments the customer entered or left with the event (see <see cref="EngagementOptions.Segments"/>).</summary>
    public ImmutableArray<SegmentChange> SegmentChanges { get => Extras.SegmentChanges; init => _extras = value.IsDefaultOrEmpty && Extras.SegmentChanges.IsEmpty ? _extras : TrackExtras.Normalise(Extras with { SegmentChanges = value.IsDefault ? [] : value }); }
}

// The rarely set parts of a TrackResult; null in the result when all are empty, so that results compare as before.
internal sealed record TrackExtras
{
    public static readonly TrackExtras None = new();

    public Decision? Decision { get; init; }

    public DispatchSummary? Dispatch { get; init; }

    public IdentityResolution? Identity { get; init; }

    public ImmutableArray<HeldMessageOutcome> HeldMessages { get; init; } = [];

    public ImmutableArray<SegmentChange> SegmentChanges { get; init; } = [];

    public static TrackExtras? Normalise(TrackExtras extras)
        => extras.Decision is null && extras.Dispatch is null && extras.Identity is null && extras.HeldMessages.IsEmpty && extras.SegmentChanges.IsEmpty ? null : extras;
}
