using System.Collections.Immutable;
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
    private readonly InMemoryDueIndex _due = new();
    private readonly InMemoryHistory<SegmentChange> _history;

    /// <summary>Creates an empty store.</summary>
    public InMemorySegmentStore() => _history = new(this);

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
            _history.Append(changes, static change => change.CustomerId);
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
            snapshot = _history.Snapshot(customerId);
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
        List<CustomerId> due;
        lock (_lock)
        {
            due = _due.List(now, max, _records, static (records, id) => records[id].DueAt!.Value);
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

            removed += _history.Remove(customerId);
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
            if (_history.Undo(id, written))
            {
                return;
            }

            switch (written)
            {
                case SegmentRecord saved:
                    if (_records.TryGetValue(id, out var current) && ReferenceEquals(current, saved))
                    {
                        Put(id, current, (SegmentRecord?)previous);
                    }

                    return;
            }
        }
    }

    // Replaces a customer's record (null: removes it), their memberships and their entry in the due index. Called under the lock.
    // Only the segments entered or left are touched: most saves keep the members as they were (the same array).
    private void Put(CustomerId id, SegmentRecord? current, SegmentRecord? next)
    {
        var before = current?.Members ?? [];
        var after = next?.Members ?? [];
        if (before != after)
        {
            foreach (var member in before.IsDefault ? [] : before)
            {
                if (!Holds(after, member.Segment) && _members.TryGetValue(member.Segment, out var set))
                {
                    set.Remove(id);
                }
            }

            foreach (var member in after.IsDefault ? [] : after)
            {
                if (Holds(before, member.Segment))
                {
                    continue;
                }

                if (!_members.TryGetValue(member.Segment, out var set))
                {
                    _members[member.Segment] = set = [];
                }

                set.Add(id);
            }
        }

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

    private static bool Holds(ImmutableArray<SegmentMembership> members, string segment)
    {
        foreach (var member in members.IsDefault ? [] : members)
        {
            if (string.Equals(member.Segment, segment, StringComparison.Ordinal))
            {
                return true;
            }
        }

        return false;
    }
}
