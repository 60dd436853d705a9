using System.Collections.Immutable;
using Engagement.Sdk.Channels;
using Engagement.Sdk.Conditions;

namespace Engagement.Sdk.Journeys;

/// <summary>Flags of a <see cref="JourneyTrack"/>.</summary>
[Flags]
public enum JourneyTrackFlags : byte
{
    /// <summary>None.</summary>
    None = 0,

    /// <summary>The customer is in the journey's control group: moved through stages and steps, never sent anything by it.</summary>
    Control = 1,

    /// <summary>The customer left the journey (an exit step, an exit with no stage to go to, the goal with exit).</summary>
    Exited = 2,

    /// <summary>The customer reached the journey's goal in the current entry.</summary>
    GoalReached = 4,
}

/// <summary>
/// Where one customer is in one journey: the version they follow, the stage and step (by index in that version, which never
/// changes once published), when they entered the journey, the stage and the step, how many stage visits they made, and when
/// the track next falls due with time. 56 bytes.
/// </summary>
public readonly record struct JourneyTrack
{
    private readonly long _journeyEnteredAt;
    private readonly long _stageEnteredAt;
    private readonly long _stepStartedAt;
    private readonly long _dueAt;
    private readonly short _version;
    private readonly short _stagePlusOne;
    private readonly short _stepPlusOne;

    /// <summary>The journey.</summary>
    public required string JourneyId { get; init; }

    /// <summary>The definition's version the customer follows (0 before they first enter).</summary>
    public int Version { get => _version; init => _version = checked((short)value); }

    /// <summary>The definition's <see cref="JourneyDefinition.Fingerprint"/> when the customer entered (or was migrated).</summary>
    public int Fingerprint { get; init; }

    /// <summary>The current stage's index in the version's stages, or -1 when not in the journey.</summary>
    public int StageIndex { get => _stagePlusOne - 1; init => _stagePlusOne = checked((short)(value + 1)); }

    /// <summary>The current step's index in the stage's steps, or -1 when no step is running (none, or all done).</summary>
    public int StepIndex { get => _stepPlusOne - 1; init => _stepPlusOne = checked((short)(value + 1)); }

    /// <summary>How many stage visits the customer has made in this journey (the number of the current one).</summary>
    public int Visits { get; init; }

    /// <summary>The track's flags.</summary>
    public JourneyTrackFlags Flags { get; init; }

    /// <summary>When the customer last entered the journey.</summary>
    public DateTimeOffset? JourneyEnteredAt { get => Read(_journeyEnteredAt); init => _journeyEnteredAt = Write(value); }

    /// <summary>When the customer entered the current stage (or, after leaving, when they left).</summary>
    public DateTimeOffset? StageEnteredAt { get => Read(_stageEnteredAt); init => _stageEnteredAt = Write(value); }

    /// <summary>When the current step started.</summary>
    public DateTimeOffset? StepStartedAt { get => Read(_stepStartedAt); init => _stepStartedAt = Write(value); }

    /// <summary>When the track next falls due with time (a wait ends, a windowed condition changes), or <see langword="null"/>.</summary>
    public DateTimeOffset? DueAt { get => Read(_dueAt); init => _dueAt = Write(value); }

    /// <summary>Whether the customer is in the journey now.</summary>
    public bool IsInJourney => _stagePlusOne > 0;

    /// <summary>Whether the customer is in the control group.</summary>
    public bool IsControl => (Flags & JourneyTrackFlags.Control) != 0;

    internal long JourneyEnteredTicks { get => _journeyEnteredAt; init => _journeyEnteredAt = value; }

    internal long StageEnteredTicks { get => _stageEnteredAt; init => _stageEnteredAt = value; }

    internal long StepStartedTicks { get => _stepStartedAt; init => _stepStartedAt = value; }

    /// <summary>UTC ticks; 0 for none.</summary>
    internal long DueTicks { get => _dueAt; init => _dueAt = value; }

    private static DateTimeOffset? Read(long ticks) => ticks == 0 ? null : new DateTimeOffset(ticks, TimeSpan.Zero);

    private static long Write(DateTimeOffset? value) => value?.UtcTicks ?? 0;
}

/// <summary>
/// Everything the journeys keep about one customer, stored as one unit: a track per journey, the windowed event counters the
/// conditions read, and how many of the profile's merges were folded in. Saved with optimistic concurrency on
/// <see cref="Version"/>; the store indexes <see cref="DueAt"/> for the sweep.
/// </summary>
public sealed record JourneyRecord
{
    /// <summary>The customer.</summary>
    public required CustomerId CustomerId { get; init; }

    /// <summary>The optimistic-concurrency version: 0 for a record never stored, incremented by each save.</summary>
    public long Version { get; init; }

    /// <summary>One track per journey the customer has state in.</summary>
    public ImmutableArray<JourneyTrack> Tracks { get; init; } = [];

    /// <summary>The windowed event counters.</summary>
    public EventWindows Windows { get; init; } = EventWindows.None;

    /// <summary>How many of the profile's merges (<see cref="Profiles.CustomerProfile.Merges"/>) were folded into this record.</summary>
    public int MergesFolded { get; init; }

    /// <summary>
    /// For each merge folded into this record that keeps the states an unmerge restores (<see cref="Profiles.ProfileMerge.MergedState"/>),
    /// oldest first: both sides' journey state as it would be had the merge not happened, kept up to date as events arrive. Empty
    /// for a customer never merged.
    /// </summary>
    public ImmutableArray<JourneyMergeShadow> Shadows { get; init; } = [];

    /// <summary>When the earliest track falls due (the tracks kept for an unmerge in <see cref="Shadows"/> too), or <see langword="null"/>.</summary>
    public DateTimeOffset? DueAt
    {
        get
        {
            var due = DueTicks();
            return due == long.MaxValue ? null : new DateTimeOffset(due, TimeSpan.Zero);
        }
    }

    private long DueTicks()
    {
        var due = long.MaxValue;
        foreach (var track in Tracks.IsDefault ? [] : Tracks)
        {
            if (track.DueTicks != 0 && track.DueTicks < due)
            {
                due = track.DueTicks;
            }
        }

        foreach (var shadow in Shadows.IsDefault ? [] : Shadows)
        {
            due = Math.Min(due, Math.Min(shadow.SurvivorBefore?.DueTicks() ?? long.MaxValue, shadow.Merged?.DueTicks() ?? long.MaxValue));
        }

        return due;
    }
}

/// <summary>
/// The journey state of both sides of one merge as it would be had the merge not happened: each side's record at the moment the
/// merge was folded in, advanced by every later event addressed to that side (evaluated with that side's own profile, nothing
/// sent). An unmerge restores them.
/// </summary>
/// <param name="MergeId">The merge (<see cref="Profiles.ProfileMerge.MergeId"/>).</param>
/// <param name="SurvivorBefore">The surviving customer's record without this merge (the states of its earlier merges stay on the live record), or <see langword="null"/> when it had none.</param>
/// <param name="Merged">The merged customer's record, or <see langword="null"/> when it had none.</param>
public sealed record JourneyMergeShadow(string MergeId, JourneyRecord? SurvivorBefore, JourneyRecord? Merged);

/// <summary>What a journey history entry records.</summary>
public enum JourneyHistoryKind
{
    /// <summary>The customer entered the journey (at <see cref="JourneyHistoryEntry.StageId"/>).</summary>
    Entered,

    /// <summary>The customer moved from one stage to another.</summary>
    Moved,

    /// <summary>The customer left the journey.</summary>
    Exited,

    /// <summary>The customer was moved to a newer version of the journey by its migration rule.</summary>
    Migrated,

    /// <summary>The customer's place was reset: the version they followed is no longer registered, or was changed without a new version.</summary>
    Reset,

    /// <summary>A step started.</summary>
    StepStarted,

    /// <summary>A send step queued a message in the outbox.</summary>
    Sent,

    /// <summary>A send step of a control-group customer: what would have been sent.</summary>
    WouldSend,

    /// <summary>A send step sent nothing (no action eligible and permitted); the reason says why.</summary>
    NotSent,

    /// <summary>The customer reached the journey's goal.</summary>
    Goal,

    /// <summary>A purchase (positive) or refund (negative) while in the journey, attributed to the stage.</summary>
    Revenue,
}

/// <summary>One entry of a customer's journey history: what happened, where, when and why.</summary>
public sealed record JourneyHistoryEntry
{
    /// <summary>The customer.</summary>
    public required CustomerId CustomerId { get; init; }

    /// <summary>The journey.</summary>
    public required string JourneyId { get; init; }

    /// <summary>The definition's version.</summary>
    public int Version { get; init; }

    /// <summary>What happened.</summary>
    public required JourneyHistoryKind Kind { get; init; }

    /// <summary>When (for moves with time, the instant they fell due).</summary>
    public required DateTimeOffset At { get; init; }

    /// <summary>The stage (entered, or the customer's stage at the time).</summary>
    public string? StageId { get; init; }

    /// <summary>The stage left, for moves and exits.</summary>
    public string? FromStageId { get; init; }

    /// <summary>The step, for step entries and sends.</summary>
    public string? StepId { get; init; }

    /// <summary>Why: the rule that held, the step, or the reason nothing was sent.</summary>
    public string? Reason { get; init; }

    /// <summary>The action sent (or that would have been sent).</summary>
    public string? ActionId { get; init; }

    /// <summary>The channel it went (or would have gone) out on.</summary>
    public Channel? Channel { get; init; }

    /// <summary>The outbox dispatch, for sends.</summary>
    public string? DispatchId { get; init; }

    /// <summary>The amount, for revenue entries (refunds negative), in the shop's currency.</summary>
    public decimal? Amount { get; init; }

    /// <summary>Whether the customer is in the control group.</summary>
    public bool IsControl { get; init; }

    /// <summary>The number of the stage visit the entry belongs to.</summary>
    public int Visit { get; init; }
}

/// <summary>What the journeys did for one event or one due customer.</summary>
/// <param name="Transitions">The stages entered.</param>
/// <param name="History">Everything recorded (entries, moves, exits, steps, sends, would-be sends, goals, revenue).</param>
public sealed record JourneyOutcome(ImmutableArray<StageTransition> Transitions, ImmutableArray<JourneyHistoryEntry> History)
{
    /// <summary>Nothing happened.</summary>
    public static JourneyOutcome None { get; } = new([], []);
}

/// <summary>What one sweep of due journey timers did.</summary>
/// <param name="Customers">How many due customers were evaluated.</param>
/// <param name="History">Everything recorded for them.</param>
public sealed record JourneySweepResult(int Customers, ImmutableArray<JourneyHistoryEntry> History);

/// <summary>
/// Stores the journeys' state per customer (<see cref="JourneyRecord"/>: tracks, counters), its history, and an index of when
/// each customer next falls due, so that a sweep touches only due customers. Every write happens in the current unit of work
/// (with the event, or the sweep's customer), so a step's send and the step's position are stored together or not at all.
/// Implementations also implement <see cref="Storage.ISubjectErasure"/>: erasing a customer removes their record, timers and
/// history.
/// </summary>
public interface IJourneyStore
{
    /// <summary>Reads a customer's record.</summary>
    /// <param name="customerId">The customer.</param>
    /// <param name="cancellationToken">Cancels the read.</param>
    /// <returns>The record, or <see langword="null"/>.</returns>
    ValueTask<JourneyRecord?> GetAsync(CustomerId customerId, CancellationToken cancellationToken = default);

    /// <summary>
    /// Saves a record if the stored version still equals <see cref="JourneyRecord.Version"/> (0 for a new one), indexing its
    /// <see cref="JourneyRecord.DueAt"/>, and returns it with the version incremented.
    /// </summary>
    /// <param name="record">The record.</param>
    /// <param name="cancellationToken">Cancels the write.</param>
    /// <returns>The saved record.</returns>
    /// <exception cref="Storage.ConcurrencyConflictException">Another writer saved it first.</exception>
    ValueTask<JourneyRecord> SaveAsync(JourneyRecord record, CancellationToken cancellationToken = default);

    /// <summary>Deletes a customer's record and timers, keeping the history (a merged profile's record, folded into the survivor's).</summary>
    /// <param name="customerId">The customer.</param>
    /// <param name="cancellationToken">Cancels the write.</param>
    /// <returns>Whether there was one.</returns>
    ValueTask<bool> DeleteAsync(CustomerId customerId, CancellationToken cancellationToken = default);

    /// <summary>Appends history entries, in order.</summary>
    /// <param name="entries">The entries.</param>
    /// <param name="cancellationToken">Cancels the write.</param>
    /// <returns>A task.</returns>
    ValueTask AppendHistoryAsync(IReadOnlyList<JourneyHistoryEntry> entries, CancellationToken cancellationToken = default);

    /// <summary>Reads one customer's history, in the order it was appended.</summary>
    /// <param name="customerId">The customer.</param>
    /// <param name="cancellationToken">Cancels the read.</param>
    /// <returns>The entries.</returns>
    IAsyncEnumerable<JourneyHistoryEntry> ReadHistoryAsync(CustomerId customerId, CancellationToken cancellationToken = default);

    /// <summary>Reads one journey's history: by customer id, then in the order appended.</summary>
    /// <param name="journeyId">The journey.</param>
    /// <param name="cancellationToken">Cancels the read.</param>
    /// <returns>The entries.</returns>
    IAsyncEnumerable<JourneyHistoryEntry> ReadJourneyHistoryAsync(string journeyId, CancellationToken cancellationToken = default);

    /// <summary>
    /// Lists up to <paramref name="max"/> customers whose record falls due at or before <paramref name="now"/>, earliest first
    /// to the minute at least (customers due within the same minute may come in any order).
    /// </summary>
    /// <param name="now">The instant.</param>
    /// <param name="max">The most to list (positive).</param>
    /// <param name="cancellationToken">Cancels the read.</param>
    /// <returns>The customers.</returns>
    ValueTask<IReadOnlyList<CustomerId>> ListDueAsync(DateTimeOffset now, int max, CancellationToken cancellationToken = default);

    /// <summary>Lists every record, by customer id.</summary>
    /// <param name="cancellationToken">Cancels the enumeration.</param>
    /// <returns>The records.</returns>
    IAsyncEnumerable<JourneyRecord> ListAsync(CancellationToken cancellationToken = default);
}
