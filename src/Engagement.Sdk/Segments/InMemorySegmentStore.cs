using System.Runtime.CompilerServices;
using Engagement.Sdk.Storage;

namespace Engagement.Sdk.Segments;

/// <summary>
/// An in-memory <see cref="ISegmentStore"/>: thread-safe; records by customer, the members of each segment, an index of due
/// times (customers grouped by the minute they fall due) and each customer's history. Its writes join the current
/// <see cref="InMemoryTransactions"/> unit (and are undone with it).
/// </summary>
public sealed class InMemorySegmentStore : ISegmentStore, ISubjectErasure, IUndoable
{
    private readonly Lock _lock = new();
    private readonly Dictionary<CustomerId, SegmentRecord> _records = [];
    private readonly Dictionary<string, HashSet<CustomerId>> _members = new(StringComparer.Ordinal);
    private readonly SortedDictionary<long, HashSet<CustomerId>> _due = [];
    private readonly Dictionary<CustomerId, List<SegmentChange>> _history = [];

    /// <inheritdoc />
    public ValueTask<SegmentRecord?> GetAsync(CustomerId customerId, CancellationToken cancellationToken = default)
    {
        cancellationToken.ThrowIfCancellationRequested();
        lock (_lock)
        {
            return ValueTask.FromResult(_records.GetValueOrDefault(customerId));
        }
    }

    /// <inheritdoc />
    public ValueTask<SegmentRecord> SaveAsync(SegmentRecord record, IReadOnlyList<SegmentChange> changes, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(record);
        ArgumentNullException.ThrowIfNull(changes);
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
            InMemoryTransactions.Record(this, saved, current, saved); // the record is its own key: no boxed id per save
            Append(changes);
        }

        return ValueTask.FromResult(saved);
    }

    /// <inheritdoc />
    public ValueTask<long> CountAsync(string segment, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(segment);
        cancellationToken.ThrowIfCancellationRequested();
        lock (_lock)
        {
            return ValueTask.FromResult((long)(_members.TryGetValue(segment, out var members) ? members.Count : 0));
        }
    }

    /// <inheritdoc />
    public async IAsyncEnumerable<CustomerId> ListMembersAsync(string segment, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(segment);
        CustomerId[] snapshot;
        lock (_lock)
        {
            snapshot = _members.TryGetValue(segment, out var members) ? [.. members] : [];
        }

        Array.Sort(snapshot);
        foreach (var id in snapshot)
        {
            cancellationToken.ThrowIfCancellationRequested();
            yield return id;
        }

        await Task.CompletedTask.ConfigureAwait(false);
    }

    /// <inheritdoc />
    public async IAsyncEnumerable<SegmentChange> ReadHistoryAsync(CustomerId customerId, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        SegmentChange[] snapshot;
        lock (_lock)
        {
            snapshot = _history.TryGetValue(customerId, out var list) ? [.. list] : [];
        }

        foreach (var change in snapshot)
        {
            cancellationToken.ThrowIfCancellationRequested();
            yield return change;
        }

        await Task.CompletedTask.ConfigureAwait(false);
    }

    /// <inheritdoc />
    public ValueTask<IReadOnlyList<CustomerId>> ListDueAsync(DateTimeOffset now, int max, CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(max);
        cancellationToken.ThrowIfCancellationRequested();
        var due = new List<CustomerId>(Math.Min(max, 1024));
        var nowMinute = Minute(now);
        lock (_lock)
        {
            foreach (var (minute, ids) in _due)
            {
                if (minute > nowMinute || due.Count == max)
                {
                    break;
                }

                foreach (var id in ids)
                {
                    if (due.Count == max)
                    {
                        break;
                    }

                    if (minute < nowMinute || _records[id].DueAt!.Value <= now)
                    {
                        due.Add(id);
                    }
                }
            }
        }

        return ValueTask.FromResult<IReadOnlyList<CustomerId>>(due);
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

            if (_history.Remove(customerId, out var history))
            {
                removed += history.Count;
            }
        }

        return ValueTask.FromResult(removed);
    }

    /// <inheritdoc />
    void IUndoable.Undo(object key, object? previous, object written)
    {
        var id = written switch
        {
            SegmentChange change => change.CustomerId,
            SegmentRecord record => record.CustomerId,
            _ => (CustomerId)key,
        };
        lock (_lock)
        {
            switch (written)
            {
                case SegmentChange change:
                    if (_history.TryGetValue(id, out var list))
                    {
                        var at = list.LastIndexOf(change);
                        if (at >= 0)
                        {
                            list.RemoveAt(at);
                        }
                    }

                    return;
                case SegmentRecord saved:
                    if (_records.TryGetValue(id, out var current) && ReferenceEquals(current, saved))
                    {
                        Put(id, current, (SegmentRecord?)previous);
                    }

                    return;
            }
        }
    }

    // Called under the lock.
    private void Append(IReadOnlyList<SegmentChange> changes)
    {
        foreach (var change in changes)
        {
            ArgumentNullException.ThrowIfNull(change);
            if (!_history.TryGetValue(change.CustomerId, out var list))
            {
                _history[change.CustomerId] = list = [];
            }

            list.Add(change);
            InMemoryTransactions.Record(this, change, null, change);
        }
    }

    // Replaces a customer's record (null: removes it), their memberships and their entry in the due index. Called under the lock.
    private void Put(CustomerId id, SegmentRecord? current, SegmentRecord? next)
    {
        if (current is not null && !current.Members.IsDefaultOrEmpty)
        {
            foreach (var member in current.Members)
            {
                if (_members.TryGetValue(member.Segment, out var set))
                {
                    set.Remove(id);
                }
            }
        }

        if (next is not null && !next.Members.IsDefaultOrEmpty)
        {
            foreach (var member in next.Members)
            {
                if (!_members.TryGetValue(member.Segment, out var set))
                {
                    _members[member.Segment] = set = [];
                }

                set.Add(id);
            }
        }

        var oldMinute = current?.DueAt is { } oldDue ? Minute(oldDue) : -1;
        var newMinute = next?.DueAt is { } newDue ? Minute(newDue) : -1;
        if (oldMinute != newMinute && oldMinute >= 0 && _due.TryGetValue(oldMinute, out var old))
        {
            old.Remove(id);
            if (old.Count == 0)
            {
                _due.Remove(oldMinute);
            }
        }

        if (next is null)
        {
            _records.Remove(id);
            return;
        }

        _records[id] = next;
        if (newMinute >= 0 && oldMinute != newMinute)
        {
            if (!_due.TryGetValue(newMinute, out var ids))
            {
                _due[newMinute] = ids = [];
            }

            ids.Add(id);
        }
    }

    private static long Minute(DateTimeOffset at) => at.UtcTicks - (at.UtcTicks % TimeSpan.TicksPerMinute);
}
