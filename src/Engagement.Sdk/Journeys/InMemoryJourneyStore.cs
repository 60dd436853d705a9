using System.Runtime.CompilerServices;
using Engagement.Sdk.Storage;

namespace Engagement.Sdk.Journeys;

/// <summary>
/// An in-memory <see cref="IJourneyStore"/>: thread-safe; records by customer, an index of due times (customers grouped by the
/// minute they fall due, the minutes sorted), and each customer's history. Its writes join the current
/// <see cref="InMemoryTransactions"/> unit (and are undone with it).
/// </summary>
public sealed class InMemoryJourneyStore : IJourneyStore, ISubjectErasure, IUndoable
{
    private readonly Lock _lock = new();
    private readonly Dictionary<CustomerId, JourneyRecord> _records = [];
    private readonly InMemoryDueIndex _due = new();
    private readonly InMemoryHistory<JourneyHistoryEntry> _history;

    /// <summary>Creates an empty store.</summary>
    public InMemoryJourneyStore() => _history = new(this);

    /// <summary>How many records are stored.</summary>
    public int Count
    {
        get
        {
            lock (_lock)
            {
                return _records.Count;
            }
        }
    }

    /// <inheritdoc />
    public ValueTask<JourneyRecord?> GetAsync(CustomerId customerId, CancellationToken cancellationToken = default)
    {
        cancellationToken.ThrowIfCancellationRequested();
        lock (_lock)
        {
            return ValueTask.FromResult(_records.GetValueOrDefault(customerId));
        }
    }

    /// <inheritdoc />
    public ValueTask<JourneyRecord> SaveAsync(JourneyRecord record, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(record);
        cancellationToken.ThrowIfCancellationRequested();
        var saved = record with { Version = record.Version + 1 };
        lock (_lock)
        {
            var current = _records.GetValueOrDefault(record.CustomerId);
            if ((current?.Version ?? 0) != record.Version)
            {
                throw new ConcurrencyConflictException(record.CustomerId, record.Version, current?.Version ?? 0);
            }

            Put(record.CustomerId, current, saved);
            InMemoryTransactions.Record(this, record.CustomerId, current, saved);
        }

        return ValueTask.FromResult(saved);
    }

    /// <inheritdoc />
    public ValueTask<bool> DeleteAsync(CustomerId customerId, CancellationToken cancellationToken = default)
    {
        cancellationToken.ThrowIfCancellationRequested();
        lock (_lock)
        {
            if (!_records.TryGetValue(customerId, out var current))
            {
                return ValueTask.FromResult(false);
            }

            Put(customerId, current, null);
            InMemoryTransactions.Record(this, customerId, current, new Deleted(customerId));
        }

        return ValueTask.FromResult(true);
    }

    /// <inheritdoc />
    public ValueTask AppendHistoryAsync(IReadOnlyList<JourneyHistoryEntry> entries, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(entries);
        cancellationToken.ThrowIfCancellationRequested();
        lock (_lock)
        {
            _history.Append(entries, static entry => entry.CustomerId);
        }

        return ValueTask.CompletedTask;
    }

    /// <inheritdoc />
    public async IAsyncEnumerable<JourneyHistoryEntry> ReadHistoryAsync(CustomerId customerId, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        JourneyHistoryEntry[] snapshot;
        lock (_lock)
        {
            snapshot = _history.Snapshot(customerId);
        }

        foreach (var entry in snapshot)
        {
            cancellationToken.ThrowIfCancellationRequested();
            yield return entry;
        }

        await Task.CompletedTask.ConfigureAwait(false);
    }

    /// <inheritdoc />
    public async IAsyncEnumerable<JourneyHistoryEntry> ReadJourneyHistoryAsync(string journeyId, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(journeyId);
        List<JourneyHistoryEntry> snapshot = [];
        lock (_lock)
        {
            foreach (var id in _history.Customers.Order())
            {
                foreach (var entry in _history.Of(id))
                {
                    if (string.Equals(entry.JourneyId, journeyId, StringComparison.Ordinal))
                    {
                        snapshot.Add(entry);
                    }
                }
            }
        }

        foreach (var entry in snapshot)
        {
            cancellationToken.ThrowIfCancellationRequested();
            yield return entry;
        }

        await Task.CompletedTask.ConfigureAwait(false);
    }

    /// <inheritdoc />
    public ValueTask<IReadOnlyList<CustomerId>> ListDueAsync(DateTimeOffset now, int max, CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(max);
        cancellationToken.ThrowIfCancellationRequested();
        List<CustomerId> due;
        lock (_lock)
        {
            due = _due.List(now, max, _records, static (records, id) => records[id].DueAt!.Value);
        }

        return ValueTask.FromResult<IReadOnlyList<CustomerId>>(due);
    }

    /// <inheritdoc />
    public async IAsyncEnumerable<JourneyRecord> ListAsync([EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        JourneyRecord[] snapshot;
        lock (_lock)
        {
            snapshot = [.. _records.Values];
        }

        Array.Sort(snapshot, static (a, b) => a.CustomerId.CompareTo(b.CustomerId));
        foreach (var record in snapshot)
        {
            cancellationToken.ThrowIfCancellationRequested();
            yield return record;
        }

        await Task.CompletedTask.ConfigureAwait(false);
    }

    /// <inheritdoc />
    public ValueTask<int> EraseSubjectAsync(CustomerId customerId, CancellationToken cancellationToken = default)
    {
        cancellationToken.ThrowIfCancellationRequested();
        var removed = 0;
        lock (_lock)
        {
            if (_records.TryGetValue(customerId, out var current))
            {
                Put(customerId, current, null);
                removed++;
            }

            removed += _history.Remove(customerId);
        }

        return ValueTask.FromResult(removed);
    }

    /// <inheritdoc />
    void IUndoable.Undo(object key, object? previous, object written)
    {
        var id = (CustomerId)key;
        lock (_lock)
        {
            if (_history.Undo(id, written))
            {
                return;
            }

            switch (written)
            {
                case Deleted:
                    if (!_records.ContainsKey(id) && previous is JourneyRecord restored)
                    {
                        Put(id, null, restored);
                    }

                    return;
                case JourneyRecord saved:
                    if (_records.TryGetValue(id, out var current) && ReferenceEquals(current, saved))
                    {
                        Put(id, current, (JourneyRecord?)previous);
                    }

                    return;
            }
        }
    }

    // Replaces a customer's record (null: removes it) and its entry in the due index. Called under the lock.
    private void Put(CustomerId id, JourneyRecord? current, JourneyRecord? next)
    {
        _due.Move(id, current?.DueAt, next?.DueAt);
        if (next is null)
        {
            _records.Remove(id);
        }
        else
        {
            _records[id] = next;
        }
    }

    private sealed record Deleted(CustomerId Id);
}
