using System.Collections.Concurrent;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Text.Json;
using Engagement.Sdk.Consent;
using Engagement.Sdk.Events;
using Engagement.Sdk.Profiles;
using Engagement.Sdk.Serialization;

namespace Engagement.Sdk.Storage;

/// <summary>
/// An in-memory <see cref="IProfileStore"/>: thread-safe, O(1) lookups by id and by identifier. The default store. A save
/// updates the profile and its identifier index together, under one short lock. The profiles sit in one array, found by
/// open-addressed tables of entry numbers (4 bytes a customer id, 8 bytes an identifier with its hash): about half the memory
/// of two dictionaries.
/// </summary>
public sealed class InMemoryProfileStore : IProfileStore, ISubjectErasure, IUndoable
{
    private readonly Lock _lock = new();
    private readonly ProfileTable _profiles = new();
    private readonly IdentifierIndex _byIdentifier = new();

    /// <inheritdoc />
    public ValueTask<CustomerProfile?> GetAsync(CustomerId customerId, CancellationToken cancellationToken = default)
    {
        cancellationToken.ThrowIfCancellationRequested();
        lock (_lock)
        {
            return ValueTask.FromResult(_profiles.Get(customerId));
        }
    }

    /// <inheritdoc />
    public ValueTask<CustomerProfile?> FindByIdentifierAsync(Identifier identifier, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(identifier);
        cancellationToken.ThrowIfCancellationRequested();
        lock (_lock)
        {
            return ValueTask.FromResult(_byIdentifier.Find(identifier, _profiles));
        }
    }

    /// <inheritdoc />
    public ValueTask<CustomerProfile> SaveAsync(CustomerProfile profile, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(profile);
        cancellationToken.ThrowIfCancellationRequested();
        return ValueTask.FromResult(Save(profile.Version, profile with { Version = profile.Version + 1 }));
    }

    /// <summary>
    /// Saves <paramref name="next"/>, a profile already carrying the next version (the engine makes it in the copy that
    /// applies the event, so that the store need not copy it again): as <see cref="SaveAsync"/> with the profile of the
    /// version before it.
    /// </summary>
    internal CustomerProfile SaveNext(CustomerProfile next)
    {
        ArgumentNullException.ThrowIfNull(next);
        return Save(next.Version - 1, next);
    }

    // Saves `saved` (version n + 1) over version n, or throws the conflict.
    private CustomerProfile Save(long version, CustomerProfile saved)
    {
        lock (_lock)
        {
            var entry = _profiles.Find(saved.Id);
            var current = entry >= 0 ? _profiles.At(entry) : null;
            if ((current?.Version ?? 0) != version)
            {
                throw new ConcurrencyConflictException(saved.Id, version, current?.Version ?? 0);
            }

            if (current is null)
            {
                entry = _profiles.Add(saved);
            }
            else
            {
                _profiles.Replace(entry, saved);
                if (current.Identifiers == saved.Identifiers && _byIdentifier.Releases == 0)
                {
                    // The same identifiers, and no slot released since they were recorded: nothing to release or claim.
                    InMemoryTransactions.Record(this, saved, current, saved);
                    return saved;
                }

                if (current.Identifiers != saved.Identifiers)
                {
                    // Identifiers the profile no longer holds (after a merge or an unmerge) are released.
                    foreach (var identifier in current.Identifiers)
                    {
                        if (!saved.Identifiers.Contains(identifier))
                        {
                            _byIdentifier.Remove(identifier, entry, saved);
                        }
                    }
                }
            }

            // Every save records the profile's identifiers that nobody is recorded for (one another holder released since).
            foreach (var identifier in saved.Identifiers)
            {
                _byIdentifier.TryAdd(identifier, entry, _profiles);
            }

            InMemoryTransactions.Record(this, saved, current, saved);
        }

        return saved;
    }

    /// <inheritdoc />
    void IUndoable.Undo(object key, object? previous, object written)
    {
        var saved = (CustomerProfile)written;
        var id = saved.Id;
        var before = (CustomerProfile?)previous;
        lock (_lock)
        {
            var entry = _profiles.Find(id);
            if (entry < 0 || !ReferenceEquals(_profiles.At(entry), saved))
            {
                return; // written over since (or erased): what is there now stays
            }

            if (before is null)
            {
                foreach (var identifier in saved.Identifiers)
                {
                    _byIdentifier.Remove(identifier, entry, null);
                }

                _profiles.Remove(id);
                return;
            }

            _profiles.Replace(entry, before);
            foreach (var identifier in saved.Identifiers)
            {
                if (!before.Identifiers.Contains(identifier))
                {
                    _byIdentifier.Remove(identifier, entry, before);
                }
            }

            foreach (var identifier in before.Identifiers)
            {
                _byIdentifier.TryAdd(identifier, entry, _profiles);
            }
        }
    }

    /// <inheritdoc />
    public ValueTask<int> EraseSubjectAsync(CustomerId customerId, CancellationToken cancellationToken = default)
    {
        cancellationToken.ThrowIfCancellationRequested();
        lock (_lock)
        {
            var entry = _profiles.Find(customerId);
            if (entry < 0)
            {
                return ValueTask.FromResult(0);
            }

            // The identifiers first: their slots name the entry, which the removal frees for reuse.
            foreach (var identifier in _profiles.At(entry).Identifiers)
            {
                _byIdentifier.Remove(identifier, entry, null);
            }

            _profiles.Remove(customerId);
        }

        return ValueTask.FromResult(1);
    }

    /// <inheritdoc />
    public async IAsyncEnumerable<CustomerProfile> ListAsync([EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        CustomerProfile[] snapshot;
        lock (_lock)
        {
            snapshot = _profiles.ToArray();
        }

        Array.Sort(snapshot, static (a, b) => a.Id.CompareTo(b.Id));
        foreach (var profile in snapshot)
        {
            cancellationToken.ThrowIfCancellationRequested();
            yield return profile;
        }

        await Task.CompletedTask.ConfigureAwait(false);
    }
}

/// <summary>An in-memory <see cref="IEventStore"/>: thread-safe, idempotent by event id.</summary>
public sealed class InMemoryEventStore : IEventStore, ISubjectErasure, IEventRetention, IUndoable
{
    /// <inheritdoc />
    public ValueTask<int> PurgeBeforeAsync(DateTimeOffset cutoff, CancellationToken cancellationToken = default)
    {
        cancellationToken.ThrowIfCancellationRequested();
        return ValueTask.FromResult(_events.RemoveWhere(e => e.Timestamp < cutoff));
    }

    private readonly CustomerIndex<EngagementEvent> _events = new(static e => e.EventId);

    /// <inheritdoc />
    public ValueTask<AppendOutcome> AppendAsync(EngagementEvent engagementEvent, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(engagementEvent);
        cancellationToken.ThrowIfCancellationRequested();
        if (_events.TryAdd(engagementEvent.EventId, engagementEvent.CustomerId, engagementEvent, out var stored))
        {
            InMemoryTransactions.Record(this, engagementEvent, null, engagementEvent);
            return ValueTask.FromResult(AppendOutcome.Appended);
        }

        return SamePayload(stored, engagementEvent) ? ValueTask.FromResult(AppendOutcome.Duplicate) : throw new EventConflictException(engagementEvent.EventId);
    }

    /// <inheritdoc />
    public async IAsyncEnumerable<EngagementEvent> ReadAsync(CustomerId customerId, DateTimeOffset? from = null, DateTimeOffset? to = null, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        foreach (var e in Order(_events.ForCustomer(customerId).Where(e => (from is null || e.Timestamp >= from) && (to is null || e.Timestamp < to))))
        {
            cancellationToken.ThrowIfCancellationRequested();
            yield return e;
        }

        await Task.CompletedTask.ConfigureAwait(false);
    }

    /// <inheritdoc />
    public async IAsyncEnumerable<EngagementEvent> ReadRangeAsync(DateTimeOffset from, DateTimeOffset to, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        foreach (var e in Order(_events.All.Where(e => e.Timestamp >= from && e.Timestamp < to)))
        {
            cancellationToken.ThrowIfCancellationRequested();
            yield return e;
        }

        await Task.CompletedTask.ConfigureAwait(false);
    }

    /// <inheritdoc />
    public ValueTask<int> EraseSubjectAsync(CustomerId customerId, CancellationToken cancellationToken = default)
    {
        cancellationToken.ThrowIfCancellationRequested();
        return ValueTask.FromResult(_events.Erase(customerId));
    }

    /// <inheritdoc />
    void IUndoable.Undo(object key, object? previous, object written)
    {
        var appended = (EngagementEvent)written;
        _events.TryRemove(appended.EventId, appended.CustomerId, appended);
    }

    private static IEnumerable<EngagementEvent> Order(IEnumerable<EngagementEvent> events)
        => events.OrderBy(e => e.Timestamp).ThenBy(e => e.EventId, StringComparer.Ordinal);

    internal static bool SamePayload(EngagementEvent a, EngagementEvent b)
        => JsonSerializer.Serialize(a, EngagementJsonContext.Default.EngagementEvent) == JsonSerializer.Serialize(b, EngagementJsonContext.Default.EngagementEvent);
}

/// <summary>
/// An in-memory <see cref="IConsentStore"/>: thread-safe, append-only, idempotent by record id. Each customer's folded state is
/// kept until their ledger changes (<see cref="IConsentStateSource"/>).
/// </summary>
public sealed class InMemoryConsentStore : IConsentStore, IConsentStateSource, ISubjectErasure, IUndoable
{
    private readonly CustomerIndex<ConsentRecord> _records = new(static r => r.RecordId);
    private readonly Lock _stateLock = new();
    private readonly Dictionary<CustomerId, (long Version, ConsentState? State)> _states = [];

    /// <inheritdoc />
    public ValueTask<ConsentState> GetStateAsync(CustomerId customerId, CancellationToken cancellationToken = default)
    {
        cancellationToken.ThrowIfCancellationRequested();
        long version;
        lock (_stateLock)
        {
            if (_states.TryGetValue(customerId, out var cached) && cached.State is { } state)
            {
                return ValueTask.FromResult(state);
            }

            version = cached.Version;
        }

        // Folded outside the lock; kept only if no write to the customer's ledger came in between.
        var folded = ConsentState.Fold(customerId, _records.ForCustomer(customerId));
        lock (_stateLock)
        {
            if (_states.GetValueOrDefault(customerId).Version == version)
            {
                _states[customerId] = (version, folded);
            }
        }

        return ValueTask.FromResult(folded);
    }

    private void Changed(CustomerId customerId)
    {
        lock (_stateLock)
        {
            _states[customerId] = (_states.GetValueOrDefault(customerId).Version + 1, null);
        }
    }

    /// <inheritdoc />
    public ValueTask<AppendOutcome> AppendAsync(ConsentRecord record, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(record);
        cancellationToken.ThrowIfCancellationRequested();
        if (_records.TryAdd(record.RecordId, record.CustomerId, record, out var stored))
        {
            Changed(record.CustomerId);
            InMemoryTransactions.Record(this, record, null, record);
            return ValueTask.FromResult(AppendOutcome.Appended);
        }

        return stored.HasSameContent(record) ? ValueTask.FromResult(AppendOutcome.Duplicate) : throw new ConsentConflictException(record.RecordId);
    }

    /// <inheritdoc />
    public ValueTask<IReadOnlyList<ConsentRecord>> ReadAsync(CustomerId customerId, CancellationToken cancellationToken = default)
    {
        cancellationToken.ThrowIfCancellationRequested();
        return ValueTask.FromResult<IReadOnlyList<ConsentRecord>>(_records.ForCustomer(customerId));
    }

    /// <inheritdoc />
    void IUndoable.Undo(object key, object? previous, object written)
    {
        var appended = (ConsentRecord)written;
        _records.TryRemove(appended.RecordId, appended.CustomerId, appended);
        Changed(appended.CustomerId);
    }

    /// <inheritdoc />
    public ValueTask<int> EraseSubjectAsync(CustomerId customerId, CancellationToken cancellationToken = default)
    {
        cancellationToken.ThrowIfCancellationRequested();
        var erased = _records.Erase(customerId);
        Changed(customerId);
        return ValueTask.FromResult(erased);
    }
}

/// <summary>
/// An in-memory <see cref="IDispatchStore"/>: thread-safe; a dispatch id is begun at most once, and claimable dispatches wait
/// in a queue ordered by when they fall due, so a claim costs what it takes, not a scan of the log.
/// </summary>
public sealed class InMemoryDispatchStore : IDispatchStore, IDispatchCapLog, ISubjectErasure, IUndoable
{
    private readonly Lock _lock = new();
    private readonly CustomerIndex<DispatchRecord> _dispatches = new(static d => d.DispatchId);

    // (due, id) of every record that is or will become claimable; entries made stale by a later change are skipped when met.
    private readonly PriorityQueue<string, (DateTimeOffset Due, long Seq)> _due = new();
    private long _seq;

    // What caps count of each customer's dispatches, oldest first: a new dispatch is added to it, a change to one discards it
    // (under _lock).
    private readonly Dictionary<CustomerId, CountedCache> _counted = [];

    /// <inheritdoc />
    public ValueTask<bool> TryBeginAsync(DispatchRecord record, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(record);
        cancellationToken.ThrowIfCancellationRequested();
        var begun = DispatchRecords.AsBegun(record);
        lock (_lock)
        {
            if (!_dispatches.TryAdd(begun.DispatchId, begun.CustomerId, begun, out _))
            {
                return ValueTask.FromResult(false);
            }

            Begun(begun);
            Schedule(begun);
        }

        InMemoryTransactions.Record(this, begun.DispatchId, null, begun);

        return ValueTask.FromResult(true);
    }

    /// <inheritdoc />
    public ValueTask<bool> TryUpdateAsync(DispatchRecord record, DispatchStatus expected, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(record);
        cancellationToken.ThrowIfCancellationRequested();
        lock (_lock)
        {
            if (!_dispatches.TryGet(record.DispatchId, out var current) || current.Status != expected || current.CustomerId != record.CustomerId)
            {
                return ValueTask.FromResult(false);
            }

            _dispatches.Replace(record.DispatchId, record);
            Changed(record.CustomerId);
            Schedule(record);
            InMemoryTransactions.Record(this, record.DispatchId, current, record);
            return ValueTask.FromResult(true);
        }
    }

    /// <inheritdoc />
    public ValueTask<IReadOnlyList<DispatchRecord>> ClaimAsync(DateTimeOffset now, string owner, DateTimeOffset leaseUntil, int max, CancellationToken cancellationToken = default)
    {
        DispatchRecords.RequireClaim(owner, max);
        cancellationToken.ThrowIfCancellationRequested();
        var claimed = new List<DispatchRecord>();
        lock (_lock)
        {
            while (claimed.Count < max && _due.TryPeek(out var id, out var key) && key.Due <= now)
            {
                _due.Dequeue();
                if (!_dispatches.TryGet(id, out var current) || !DispatchRecords.IsClaimable(current, now) || DispatchRecords.DueOf(current) != key.Due)
                {
                    continue; // stale: settled, erased, or queued again under another due time
                }

                var leased = current with { Status = DispatchStatus.Sending, LeaseOwner = owner, LeaseUntil = leaseUntil };
                _dispatches.Replace(id, leased);
                Changed(current.CustomerId);
                Schedule(leased);
                InMemoryTransactions.Record(this, id, current, leased);
                claimed.Add(current);
            }
        }

        return ValueTask.FromResult<IReadOnlyList<DispatchRecord>>(claimed);
    }

    /// <inheritdoc />
    public ValueTask<bool> TrySettleAsync(DispatchRecord record, string owner, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(record);
        cancellationToken.ThrowIfCancellationRequested();
        lock (_lock)
        {
            if (!_dispatches.TryGet(record.DispatchId, out var current) || current.Status != DispatchStatus.Sending || current.LeaseOwner != owner)
            {
                return ValueTask.FromResult(false);
            }

            _dispatches.Replace(record.DispatchId, record);
            Changed(current.CustomerId);
            Changed(record.CustomerId);
            Schedule(record);
            InMemoryTransactions.Record(this, record.DispatchId, current, record);
            return ValueTask.FromResult(true);
        }
    }

    /// <inheritdoc />
    public ValueTask<DispatchRecord?> GetAsync(string dispatchId, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(dispatchId);
        cancellationToken.ThrowIfCancellationRequested();
        return ValueTask.FromResult(_dispatches.TryGet(dispatchId, out var record) ? record : null);
    }

    /// <inheritdoc />
    public ValueTask<IReadOnlyList<DispatchRecord>> ListAsync(CustomerId customerId, DateTimeOffset since, CancellationToken cancellationToken = default)
    {
        cancellationToken.ThrowIfCancellationRequested();
        // Asked on every decision: filtered and ordered without an enumerator chain (a stable order by creation, as OrderBy's).
        var all = _dispatches.ForCustomer(customerId);
        List<DispatchRecord>? result = null;
        foreach (var record in all)
        {
            if (record.CreatedAt >= since)
            {
                (result ??= new List<DispatchRecord>(all.Length)).Add(record);
            }
        }

        if (result is null)
        {
            return ValueTask.FromResult<IReadOnlyList<DispatchRecord>>([]);
        }

        if (result.Count > 64)
        {
            return ValueTask.FromResult<IReadOnlyList<DispatchRecord>>([.. result.OrderBy(d => d.CreatedAt)]);
        }

        // Records come in the order they were begun, so nearly sorted: an insertion sort moves few, and keeps ties in order.
        for (var i = 1; i < result.Count; i++)
        {
            var record = result[i];
            var j = i - 1;
            for (; j >= 0 && result[j].CreatedAt > record.CreatedAt; j--)
            {
                result[j + 1] = result[j];
            }

            result[j + 1] = record;
        }

        return ValueTask.FromResult<IReadOnlyList<DispatchRecord>>(result);
    }

    /// <inheritdoc />
    public ValueTask<IReadOnlyList<CappedDispatch>> ListCountedAsync(CustomerId customerId, DateTimeOffset since, CancellationToken cancellationToken = default)
    {
        cancellationToken.ThrowIfCancellationRequested();
        lock (_lock)
        {
            // The customer's counted dispatches are kept, oldest first, until one of them changes; the answer is the part at or
            // after `since`, and the last part asked for is kept too, so a warm question allocates nothing.
            if (!_counted.TryGetValue(customerId, out var cache))
            {
                var counted = new List<CappedDispatch>();
                foreach (var d in _dispatches.ForCustomer(customerId))
                {
                    if (DispatchRecords.CountsAgainstCaps(d))
                    {
                        counted.Add(new CappedDispatch(d.DispatchId, d.CreatedAt, d.Channel, d.Purpose));
                    }
                }

                counted.Sort(static (a, b) => a.CreatedAt.CompareTo(b.CreatedAt));
                cache = new CountedCache([.. counted]);
                _counted[customerId] = cache;
            }

            return ValueTask.FromResult(cache.Since(since));
        }
    }

    // Called under the lock after every change to a customer's dispatches.
    private void Changed(CustomerId customerId) => _counted.Remove(customerId);

    // Called under the lock after a dispatch is begun: a decision's new dispatch is the customer's latest, so what caps count is
    // kept by adding it (the next decision's check reads it without listing the customer's dispatches again). One that does
    // not count changes nothing; one created before the latest counted discards the cache (it is listed again when asked).
    private void Begun(DispatchRecord record)
    {
        if (DispatchRecords.CountsAgainstCaps(record) && _counted.TryGetValue(record.CustomerId, out var cache)
            && !cache.TryAppend(new CappedDispatch(record.DispatchId, record.CreatedAt, record.Channel, record.Purpose)))
        {
            _counted.Remove(record.CustomerId);
        }
    }

    // The counted dispatches, oldest first, in the first `count` slots of an array that grows by doubling. A slot is written
    // once, past the end of every view handed out before, so views read their part without the lock.
    private sealed class CountedCache(CappedDispatch[] all)
    {
        private CappedDispatch[] _all = all;
        private int _count = all.Length;
        private CountedView? _last;

        // Adds a dispatch created no earlier than the latest kept; false (nothing added) when it is earlier.
        public bool TryAppend(CappedDispatch dispatch)
        {
            if (_count > 0 && dispatch.CreatedAt < _all[_count - 1].CreatedAt)
            {
                return false;
            }

            if (_count == _all.Length)
            {
                var grown = new CappedDispatch[Math.Max(4, 2 * _count)];
                Array.Copy(_all, grown, _count);
                _all = grown;
            }

            _all[_count++] = dispatch;
            return true;
        }

        public IReadOnlyList<CappedDispatch> Since(DateTimeOffset since)
        {
            var start = 0;
            while (start < _count && _all[start].CreatedAt < since)
            {
                start++;
            }

            if (start == _count)
            {
                return [];
            }

            if (_last is not { } view || view.Start != start || view.End != _count || !ReferenceEquals(view.Items, _all))
            {
                _last = view = new CountedView(_all, start, _count);
            }

            return view;
        }
    }

    // Slots [start, end) of a cache's array.
    private sealed class CountedView(CappedDispatch[] all, int start, int end) : IReadOnlyList<CappedDispatch>
    {
        public CappedDispatch[] Items => all;

        public int Start => start;

        public int End => end;

        public int Count => end - start;

        public CappedDispatch this[int index] => (uint)index < (uint)Count ? all[start + index] : throw new ArgumentOutOfRangeException(nameof(index));

        public IEnumerator<CappedDispatch> GetEnumerator()
        {
            for (var i = start; i < end; i++)
            {
                yield return all[i];
            }
        }

        System.Collections.IEnumerator System.Collections.IEnumerable.GetEnumerator() => GetEnumerator();
    }

    /// <inheritdoc />
    public ValueTask<int> EraseSubjectAsync(CustomerId customerId, CancellationToken cancellationToken = default)
    {
        cancellationToken.ThrowIfCancellationRequested();
        lock (_lock)
        {
            Changed(customerId);
            return ValueTask.FromResult(_dispatches.Erase(customerId));
        }
    }

    /// <inheritdoc />
    public async IAsyncEnumerable<DispatchRecord> ListByStatusAsync(DispatchStatus status, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        foreach (var record in _dispatches.All.Where(d => d.Status == status).OrderBy(d => d.CreatedAt).ThenBy(d => d.DispatchId, StringComparer.Ordinal))
        {
            cancellationToken.ThrowIfCancellationRequested();
            yield return record;
        }

        await Task.CompletedTask.ConfigureAwait(false);
    }

    /// <inheritdoc />
    void IUndoable.Undo(object key, object? previous, object written)
    {
        var id = (string)key;
        var record = (DispatchRecord)written;
        lock (_lock)
        {
            if (!_dispatches.TryGet(id, out var current) || !ReferenceEquals(current, record))
            {
                return; // moved on since (or erased)
            }

            Changed(record.CustomerId);

            if (previous is DispatchRecord before)
            {
                _dispatches.Replace(id, before);
                Schedule(before);
            }
            else
            {
                _dispatches.TryRemove(id, record.CustomerId, record);
            }
        }
    }

    // Called under the lock after every change: a record a worker may claim now or later is queued under its due time.
    private void Schedule(DispatchRecord record)
    {
        if (record.Status is DispatchStatus.Queued or DispatchStatus.Unknown or DispatchStatus.Sending)
        {
            _due.Enqueue(record.DispatchId, (DispatchRecords.DueOf(record), _seq++));
        }
    }
}
