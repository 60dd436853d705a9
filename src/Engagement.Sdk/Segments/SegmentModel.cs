using System.Collections.Immutable;
using Engagement.Sdk.Conditions;

namespace Engagement.Sdk.Segments;

/// <summary>A customer's membership of one segment.</summary>
/// <param name="Segment">The segment's name.</param>
/// <param name="EnteredAt">When the customer entered it (this time).</param>
public readonly record struct SegmentMembership(string Segment, DateTimeOffset EnteredAt);

/// <summary>The windowed event counters of one id within a merged customer's <see cref="SegmentRecord"/>.</summary>
/// <param name="CustomerId">The id the counted events were addressed to.</param>
/// <param name="Windows">Its counters.</param>
public sealed record SegmentCounters(CustomerId CustomerId, EventWindows Windows);

/// <summary>
/// Everything the segments keep about one customer, stored as one unit: the segments they are in, the windowed event counters
/// the segments' conditions read, when a windowed condition may next change with time (the sweep's index), and how many of the
/// profile's merges were folded in. Saved with optimistic concurrency on <see cref="Version"/>.
/// </summary>
public sealed record SegmentRecord
{
    /// <summary>The customer.</summary>
    public required CustomerId CustomerId { get; init; }

    /// <summary>The optimistic-concurrency version: 0 for a record never stored, incremented by each save.</summary>
    public long Version { get; init; }

    /// <summary>The segments the customer is in, by name (ordinal).</summary>
    public ImmutableArray<SegmentMembership> Members { get; init; } = [];

    /// <summary>The windowed event counters.</summary>
    public EventWindows Windows { get; init; } = EventWindows.None;

    /// <summary>When a segment's condition may next change with no new event (a counted event leaving its window), or <see langword="null"/>.</summary>
    public DateTimeOffset? DueAt { get; init; }

    /// <summary>How many of the profile's merges (<see cref="Profiles.CustomerProfile.Merges"/>) were folded into this record.</summary>
    public int MergesFolded { get; init; }

    /// <summary>
    /// While profiles are merged into this customer's: the counters of each id counted here (their own, and each merged id's,
    /// its events counted under the id they were addressed to), so that an unmerge gives each side back exactly the counters
    /// it would have had without the merge. <see cref="Windows"/> is then their sum. Empty for a customer with no merge (most):
    /// <see cref="Windows"/> are then their own.
    /// </summary>
    public ImmutableArray<SegmentCounters> Shares { get; init; } = [];

    /// <summary>Whether the customer is in a segment.</summary>
    /// <param name="segment">The segment's name.</param>
    /// <returns><see langword="true"/> when they are.</returns>
    public bool IsMember(string segment)
    {
        foreach (var member in Members.IsDefault ? [] : Members)
        {
            if (string.Equals(member.Segment, segment, StringComparison.Ordinal))
            {
                return true;
            }
        }

        return false;
    }
}

/// <summary>Whether a customer entered or left a segment.</summary>
public enum SegmentChangeKind
{
    /// <summary>The customer entered the segment (its condition came true).</summary>
    Entered,

    /// <summary>The customer left the segment (its condition stopped holding, or the profile was merged into another).</summary>
    Exited,
}

/// <summary>One entry of a customer's segment history: who entered or left which segment, when and why.</summary>
public sealed record SegmentChange
{
    /// <summary>The customer.</summary>
    public required CustomerId CustomerId { get; init; }

    /// <summary>The segment.</summary>
    public required string Segment { get; init; }

    /// <summary>Entered or exited.</summary>
    public required SegmentChangeKind Kind { get; init; }

    /// <summary>When: the event's instant, or the instant the sweep found the condition changed with time.</summary>
    public required DateTimeOffset At { get; init; }

    /// <summary>Why: the event type that changed the membership, <c>time</c> for a sweep, or <c>merged into …</c>.</summary>
    public string? Reason { get; init; }
}

/// <summary>What the segments did for one event or one due customer.</summary>
/// <param name="Changes">The customer's entries and exits.</param>
/// <param name="Journeys">What the journeys did with the segment events (<c>&lt;segment&gt;-entered</c>, <c>&lt;segment&gt;-exited</c>).</param>
public sealed record SegmentOutcome(ImmutableArray<SegmentChange> Changes, Journeys.JourneyOutcome Journeys)
{
    /// <summary>Nothing happened.</summary>
    public static SegmentOutcome None { get; } = new([], Engagement.Sdk.Journeys.JourneyOutcome.None);

    /// <summary>What the journeys did for the event (<paramref name="first"/>) followed by what they did with the segment events.</summary>
    internal Journeys.JourneyOutcome After(Journeys.JourneyOutcome first)
        => Journeys.History.IsEmpty && Journeys.Transitions.IsEmpty ? first
            : first.History.IsEmpty && first.Transitions.IsEmpty ? Journeys
            : new(first.Transitions.AddRange(Journeys.Transitions), first.History.AddRange(Journeys.History));

    /// <summary>Whether a segment event is one of the decision triggers.</summary>
    internal bool Triggers(ISet<string> triggers)
    {
        foreach (var change in Changes)
        {
            if (triggers.Contains(change.Segment + (change.Kind == SegmentChangeKind.Entered ? "-entered" : "-exited")))
            {
                return true;
            }
        }

        return false;
    }
}

/// <summary>What one sweep of due segment timers did.</summary>
/// <param name="Customers">How many due customers were evaluated.</param>
/// <param name="Changes">Their entries and exits.</param>
/// <param name="Journeys">What the journeys recorded for the segment events.</param>
public sealed record SegmentSweepResult(int Customers, ImmutableArray<SegmentChange> Changes, ImmutableArray<Journeys.JourneyHistoryEntry> Journeys);

/// <summary>
/// Stores the segments' state per customer (<see cref="SegmentRecord"/>), an index of members per segment (for counts and
/// member lists), the history of entries and exits, and an index of when each customer next falls due, so that a sweep
/// touches only due customers. Every write happens in the current unit of work (with the event, or the sweep's customer).
/// Implementations also implement <see cref="Storage.ISubjectErasure"/>: erasing a customer removes their record, memberships
/// and history.
/// </summary>
public interface ISegmentStore
{
    /// <summary>Reads a customer's record.</summary>
    /// <param name="customerId">The customer.</param>
    /// <param name="cancellationToken">Cancels the read.</param>
    /// <returns>The record, or <see langword="null"/>.</returns>
    ValueTask<SegmentRecord?> GetAsync(CustomerId customerId, CancellationToken cancellationToken = default);

    /// <summary>
    /// Saves a record if the stored version still equals <see cref="SegmentRecord.Version"/> (0 for a new one), indexes
    /// <see cref="SegmentRecord.DueAt"/>, appends <paramref name="changes"/> to the history and applies them to the member
    /// index (an entry adds the customer to the segment's members, an exit removes them). Returns the record with the version
    /// incremented.
    /// </summary>
    /// <param name="record">The record.</param>
    /// <param name="changes">
    /// The entries and exits to record, in order (may be empty): every segment in which <see cref="SegmentRecord.Members"/>
    /// differs from the stored record's has one.
    /// </param>
    /// <param name="cancellationToken">Cancels the write.</param>
    /// <returns>The saved record.</returns>
    /// <exception cref="Storage.ConcurrencyConflictException">Another writer saved it first.</exception>
    ValueTask<SegmentRecord> SaveAsync(SegmentRecord record, IReadOnlyList<SegmentChange> changes, CancellationToken cancellationToken = default);

    /// <summary>How many customers are in a segment now.</summary>
    /// <param name="segment">The segment.</param>
    /// <param name="cancellationToken">Cancels the read.</param>
    /// <returns>The count.</returns>
    ValueTask<long> CountAsync(string segment, CancellationToken cancellationToken = default);

    /// <summary>Lists a segment's members, by customer id (ordinal), in pages.</summary>
    /// <param name="segment">The segment.</param>
    /// <param name="cancellationToken">Cancels the enumeration.</param>
    /// <returns>The members.</returns>
    IAsyncEnumerable<CustomerId> ListMembersAsync(string segment, CancellationToken cancellationToken = default);

    /// <summary>Reads one customer's segment history, in the order it was appended.</summary>
    /// <param name="customerId">The customer.</param>
    /// <param name="cancellationToken">Cancels the read.</param>
    /// <returns>The entries.</returns>
    IAsyncEnumerable<SegmentChange> ReadHistoryAsync(CustomerId customerId, CancellationToken cancellationToken = default);

    /// <summary>
    /// Lists up to <paramref name="max"/> customers whose record falls due at or before <paramref name="now"/>, earliest first
    /// to the minute at least.
    /// </summary>
    /// <param name="now">The instant.</param>
    /// <param name="max">The most to list (positive).</param>
    /// <param name="cancellationToken">Cancels the read.</param>
    /// <returns>The customers.</returns>
    ValueTask<IReadOnlyList<CustomerId>> ListDueAsync(DateTimeOffset now, int max, CancellationToken cancellationToken = default);
}
