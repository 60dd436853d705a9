using Engagement.Sdk.Channels;
using Engagement.Sdk.Consent;
using Engagement.Sdk.Events;
using Engagement.Sdk.Profiles;

namespace Engagement.Sdk.Storage;

/// <summary>Stores customer profiles with optimistic concurrency and finds them by any identifier.</summary>
public interface IProfileStore
{
    /// <summary>Loads a profile.</summary>
    /// <param name="customerId">The customer.</param>
    /// <param name="cancellationToken">Cancels the read.</param>
    /// <returns>The profile, or <see langword="null"/> when the customer is unknown.</returns>
    ValueTask<CustomerProfile?> GetAsync(CustomerId customerId, CancellationToken cancellationToken = default);

    /// <summary>Finds the profile that owns an identifier (the first profile saved with it).</summary>
    /// <param name="identifier">The normalised identifier.</param>
    /// <param name="cancellationToken">Cancels the read.</param>
    /// <returns>The profile, or <see langword="null"/>.</returns>
    ValueTask<CustomerProfile?> FindByIdentifierAsync(Identifier identifier, CancellationToken cancellationToken = default);

    /// <summary>
    /// Saves <paramref name="profile"/> if the stored version still equals <see cref="CustomerProfile.Version"/> (0 for a new
    /// customer) and returns it with the version incremented.
    /// </summary>
    /// <param name="profile">The profile to save.</param>
    /// <param name="cancellationToken">Cancels the write.</param>
    /// <returns>The saved profile.</returns>
    /// <exception cref="ConcurrencyConflictException">Another writer saved the profile first.</exception>
    ValueTask<CustomerProfile> SaveAsync(CustomerProfile profile, CancellationToken cancellationToken = default);

    /// <summary>Lists every profile, ordered by customer id.</summary>
    /// <param name="cancellationToken">Cancels the enumeration.</param>
    /// <returns>The profiles.</returns>
    IAsyncEnumerable<CustomerProfile> ListAsync(CancellationToken cancellationToken = default);
}

/// <summary>The outcome of appending an event.</summary>
public enum AppendOutcome
{
    /// <summary>The event was new and is now stored.</summary>
    Appended,

    /// <summary>An identical event with the same id was already stored; nothing changed.</summary>
    Duplicate,
}

/// <summary>An append-only, idempotent store of events.</summary>
public interface IEventStore
{
    /// <summary>Appends an event unless an identical one with the same id is stored.</summary>
    /// <param name="engagementEvent">The validated event.</param>
    /// <param name="cancellationToken">Cancels the write.</param>
    /// <returns>Whether it was appended or was a duplicate.</returns>
    /// <exception cref="EventConflictException">An event with the same id but a different payload is stored.</exception>
    ValueTask<AppendOutcome> AppendAsync(EngagementEvent engagementEvent, CancellationToken cancellationToken = default);

    /// <summary>Reads one customer's events with <paramref name="from"/> ≤ timestamp &lt; <paramref name="to"/>, oldest first.</summary>
    /// <param name="customerId">The customer.</param>
    /// <param name="from">The inclusive start, or <see langword="null"/> for the beginning.</param>
    /// <param name="to">The exclusive end, or <see langword="null"/> for no end.</param>
    /// <param name="cancellationToken">Cancels the enumeration.</param>
    /// <returns>The events.</returns>
    IAsyncEnumerable<EngagementEvent> ReadAsync(CustomerId customerId, DateTimeOffset? from = null, DateTimeOffset? to = null, CancellationToken cancellationToken = default);

    /// <summary>Reads every customer's events with <paramref name="from"/> ≤ timestamp &lt; <paramref name="to"/>, oldest first (ties by event id).</summary>
    /// <param name="from">The inclusive start.</param>
    /// <param name="to">The exclusive end.</param>
    /// <param name="cancellationToken">Cancels the enumeration.</param>
    /// <returns>The events.</returns>
    IAsyncEnumerable<EngagementEvent> ReadRangeAsync(DateTimeOffset from, DateTimeOffset to, CancellationToken cancellationToken = default);
}

/// <summary>The append-only consent ledger. Nothing in it is ever updated or deleted through this interface.</summary>
public interface IConsentStore
{
    /// <summary>Appends a validated record unless an identical one with the same id is stored.</summary>
    /// <param name="record">The record.</param>
    /// <param name="cancellationToken">Cancels the write.</param>
    /// <returns>Whether it was appended or was a duplicate.</returns>
    /// <exception cref="ConsentConflictException">A different record with the same id is stored.</exception>
    ValueTask<AppendOutcome> AppendAsync(ConsentRecord record, CancellationToken cancellationToken = default);

    /// <summary>Reads one customer's records, in the order they were appended.</summary>
    /// <param name="customerId">The customer.</param>
    /// <param name="cancellationToken">Cancels the read.</param>
    /// <returns>The records.</returns>
    ValueTask<IReadOnlyList<ConsentRecord>> ReadAsync(CustomerId customerId, CancellationToken cancellationToken = default);
}

/// <summary>
/// The dispatch log and transactional outbox: one entry per message the SDK decided to send, written in the same unit of work
/// as the event that decided it and settled by a <see cref="Channels.DispatchWorker"/>, so that a decided message is never
/// lost and a dispatch id is handed to a channel only under a lease.
/// </summary>
public interface IDispatchStore
{
    /// <summary>
    /// Records a new dispatch unless one with the same id exists: held, or already settled (an import, an audit row), as
    /// given; otherwise <see cref="DispatchStatus.Queued"/> and due at <see cref="DispatchRecord.DueAt"/> (by default at once).
    /// See <see cref="DispatchRecords.AsBegun"/>.
    /// </summary>
    /// <param name="record">The dispatch.</param>
    /// <param name="cancellationToken">Cancels the write.</param>
    /// <returns><see langword="true"/> when it was recorded; <see langword="false"/> when the id was already taken (do not send again).</returns>
    ValueTask<bool> TryBeginAsync(DispatchRecord record, CancellationToken cancellationToken = default);

    /// <summary>
    /// Replaces a dispatch with <paramref name="record"/> (same id and customer) if its stored status is still
    /// <paramref name="expected"/>, atomically: how a held message is released, rescheduled or cancelled, or a dead letter
    /// replayed, without two callers both acting on it.
    /// </summary>
    /// <param name="record">The new state of the dispatch.</param>
    /// <param name="expected">The status the stored dispatch must have.</param>
    /// <param name="cancellationToken">Cancels the write.</param>
    /// <returns><see langword="true"/> when it was replaced; <see langword="false"/> when it does not exist or its status differs.</returns>
    ValueTask<bool> TryUpdateAsync(DispatchRecord record, DispatchStatus expected, CancellationToken cancellationToken = default);

    /// <summary>
    /// Claims up to <paramref name="max"/> dispatches that <see cref="DispatchRecords.IsClaimable"/> at <paramref name="now"/>,
    /// oldest due first, atomically across processes: each becomes <see cref="DispatchStatus.Sending"/> with
    /// <paramref name="owner"/>'s lease until <paramref name="leaseUntil"/>, and no other caller claims it while the lease runs.
    /// </summary>
    /// <param name="now">The claiming worker's clock.</param>
    /// <param name="owner">The worker's identity (unique per worker).</param>
    /// <param name="leaseUntil">When the lease runs out.</param>
    /// <param name="max">The most to claim (positive).</param>
    /// <param name="cancellationToken">Cancels the claim.</param>
    /// <returns>The claimed dispatches <em>as they stood before the claim</em> (so the worker can tell a queued dispatch from one whose earlier lease ran out).</returns>
    ValueTask<IReadOnlyList<DispatchRecord>> ClaimAsync(DateTimeOffset now, string owner, DateTimeOffset leaseUntil, int max, CancellationToken cancellationToken = default);

    /// <summary>Replaces a dispatch with <paramref name="record"/> if it is still <see cref="DispatchStatus.Sending"/> under <paramref name="owner"/>'s lease: how a worker settles what it claimed.</summary>
    /// <param name="record">The new state.</param>
    /// <param name="owner">The worker that claimed it.</param>
    /// <param name="cancellationToken">Cancels the write.</param>
    /// <returns><see langword="false"/> when the lease was lost (another worker took it over) or the dispatch was erased.</returns>
    ValueTask<bool> TrySettleAsync(DispatchRecord record, string owner, CancellationToken cancellationToken = default);

    /// <summary>Reads one dispatch.</summary>
    /// <param name="dispatchId">The dispatch.</param>
    /// <param name="cancellationToken">Cancels the read.</param>
    /// <returns>The dispatch, or <see langword="null"/>.</returns>
    ValueTask<DispatchRecord?> GetAsync(string dispatchId, CancellationToken cancellationToken = default);

    /// <summary>Lists one customer's dispatches created at or after <paramref name="since"/>, oldest first.</summary>
    /// <param name="customerId">The customer.</param>
    /// <param name="since">The inclusive start.</param>
    /// <param name="cancellationToken">Cancels the read.</param>
    /// <returns>The dispatches.</returns>
    ValueTask<IReadOnlyList<DispatchRecord>> ListAsync(CustomerId customerId, DateTimeOffset since, CancellationToken cancellationToken = default);

    /// <summary>Lists every dispatch in a status, oldest first (for example the held ones, or the dead letters).</summary>
    /// <param name="status">The status.</param>
    /// <param name="cancellationToken">Cancels the read.</param>
    /// <returns>The dispatches.</returns>
    IAsyncEnumerable<DispatchRecord> ListByStatusAsync(DispatchStatus status, CancellationToken cancellationToken = default);
}

/// <summary>
/// Implemented by consent stores that keep each customer's folded ledger until it changes, so that the permission gate, which
/// asks on every decision and every hand-off, need not read and fold the records each time. Stores that do not implement it
/// are read through <see cref="IConsentStore.ReadAsync"/> and folded by the gate.
/// </summary>
public interface IConsentStateSource
{
    /// <summary>The customer's consent, folded from their records as they stand now.</summary>
    /// <param name="customerId">The customer.</param>
    /// <param name="cancellationToken">Cancels the read.</param>
    /// <returns>The state (<see cref="ConsentState.Fold"/> of the records <see cref="IConsentStore.ReadAsync"/> returns).</returns>
    ValueTask<ConsentState> GetStateAsync(CustomerId customerId, CancellationToken cancellationToken = default);
}

/// <summary>What a frequency cap counts of one dispatch.</summary>
/// <param name="DispatchId">The dispatch.</param>
/// <param name="CreatedAt">When it was queued (what the cap's window is measured on).</param>
/// <param name="Channel">Its channel.</param>
/// <param name="Purpose">Its purpose.</param>
public readonly record struct CappedDispatch(string DispatchId, DateTimeOffset CreatedAt, Channel Channel, Purpose Purpose);

/// <summary>
/// Implemented by dispatch stores that can list what frequency caps count — the customer's queued, sending, unknown and sent
/// dispatches — without reading whole records: the permission gate asks it on every decision and every hand-off. Stores that
/// do not implement it are read through <see cref="IDispatchStore.ListAsync"/>.
/// </summary>
public interface IDispatchCapLog
{
    /// <summary>Lists one customer's dispatches created at or after <paramref name="since"/> that count against caps (<see cref="DispatchRecords.CountsAgainstCaps"/>), in any order.</summary>
    /// <param name="customerId">The customer.</param>
    /// <param name="since">The inclusive start.</param>
    /// <param name="cancellationToken">Cancels the read.</param>
    /// <returns>The dispatches.</returns>
    ValueTask<IReadOnlyList<CappedDispatch>> ListCountedAsync(CustomerId customerId, DateTimeOffset since, CancellationToken cancellationToken = default);

    /// <summary>
    /// Reads ahead, in one query, what <see cref="ListCountedAsync"/> would list for each of <paramref name="customerIds"/> from
    /// <paramref name="since"/> on, for the calls that follow in the current unit of work (the delivery worker re-checks the
    /// caps of a whole claimed pass). A store may ignore it, as the default does; one that keeps what it read answers from it
    /// only while it is certainly current (in the same unit of work, with nothing written to the dispatches since).
    /// </summary>
    /// <param name="customerIds">The customers.</param>
    /// <param name="since">The inclusive start; later calls asking from an earlier instant read the store.</param>
    /// <param name="cancellationToken">Cancels the read.</param>
    /// <returns>A task.</returns>
    ValueTask ReadAheadCountedAsync(IReadOnlyCollection<CustomerId> customerIds, DateTimeOffset since, CancellationToken cancellationToken = default)
        => ValueTask.CompletedTask;
}
