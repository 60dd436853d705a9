namespace Engagement.Sdk.Storage;

/// <summary>
/// The due index of an in-memory store whose records carry a due time (journeys, segments): customers grouped by the minute
/// they fall due, the minutes sorted, so a sweep reads only the customers due. Not thread-safe: the store calls it under its
/// own lock.
/// </summary>
internal sealed class InMemoryDueIndex
{
    private readonly SortedDictionary<long, HashSet<CustomerId>> _minutes = [];

    /// <summary>Moves a customer from the minute of <paramref name="from"/> to that of <paramref name="to"/> (null: not due).</summary>
    /// <param name="id">The customer.</param>
    /// <param name="from">When the stored record fell due, if it did.</param>
    /// <param name="to">When the record replacing it falls due, if it does; null when it is removed or not due.</param>
    public void Move(CustomerId id, DateTimeOffset? from, DateTimeOffset? to)
    {
        var oldMinute = from is { } oldDue ? Minute(oldDue) : -1;
        var newMinute = to is { } newDue ? Minute(newDue) : -1;
        if (oldMinute == newMinute)
        {
            return;
        }

        if (oldMinute >= 0 && _minutes.TryGetValue(oldMinute, out var old))
        {
            old.Remove(id);
            if (old.Count == 0)
            {
                _minutes.Remove(oldMinute);
            }
        }

        if (newMinute >= 0)
        {
            if (!_minutes.TryGetValue(newMinute, out var ids))
            {
                _minutes[newMinute] = ids = [];
            }

            ids.Add(id);
        }
    }

    /// <summary>Lists up to <paramref name="max"/> customers due at <paramref name="now"/>, earliest minute first.</summary>
    /// <typeparam name="TState">What <paramref name="dueAt"/> reads.</typeparam>
    /// <param name="now">The instant.</param>
    /// <param name="max">The most to list.</param>
    /// <param name="state">Passed to <paramref name="dueAt"/>.</param>
    /// <param name="dueAt">The exact due time of an indexed customer (read for the current minute only).</param>
    /// <returns>The customers.</returns>
    public List<CustomerId> List<TState>(DateTimeOffset now, int max, TState state, Func<TState, CustomerId, DateTimeOffset> dueAt)
    {
        var due = new List<CustomerId>(Math.Min(max, 1024));
        var nowMinute = Minute(now);
        foreach (var (minute, ids) in _minutes)
        {
            if (minute > nowMinute || due.Count == max)
            {
                break;
            }

            // A minute wholly past is due entirely; the current one only up to now. Within a minute, in no particular order.
            foreach (var id in ids)
            {
                if (due.Count == max)
                {
                    break;
                }

                if (minute < nowMinute || dueAt(state, id) <= now)
                {
                    due.Add(id);
                }
            }
        }

        return due;
    }

    // The start of the minute an instant falls in, in UTC ticks: the index's bucket.
    private static long Minute(DateTimeOffset at) => at.UtcTicks - (at.UtcTicks % TimeSpan.TicksPerMinute);
}

/// <summary>
/// The history of an in-memory store: each customer's entries in the order they were appended, appended within the current
/// <see cref="InMemoryTransactions"/> unit (and taken back with it). Not thread-safe: the store calls it under its own lock.
/// </summary>
/// <typeparam name="T">An entry.</typeparam>
/// <param name="owner">The store, which the unit of work calls back to undo an append (with <see cref="Undo"/>).</param>
internal sealed class InMemoryHistory<T>(IUndoable owner)
    where T : class
{
    private readonly Dictionary<CustomerId, List<T>> _entries = [];

    /// <summary>The customers that have entries.</summary>
    public IEnumerable<CustomerId> Customers => _entries.Keys;

    /// <summary>
    /// Appends entries in order and records them in the current unit of work: one undo record for each run of consecutive
    /// entries of one customer (so appending a customer's history does not grow the unit's log by an entry each).
    /// </summary>
    /// <param name="entries">The entries.</param>
    /// <param name="customerOf">Whose an entry is.</param>
    public void Append(IReadOnlyList<T> entries, Func<T, CustomerId> customerOf)
    {
        var start = 0;
        while (start < entries.Count)
        {
            var first = entries[start];
            ArgumentNullException.ThrowIfNull(first, nameof(entries));
            var customerId = customerOf(first);
            var end = start + 1;
            while (end < entries.Count && entries[end] is { } next && customerOf(next) == customerId)
            {
                end++;
            }

            if (!_entries.TryGetValue(customerId, out var list))
            {
                _entries[customerId] = list = [];
            }

            for (var i = start; i < end; i++)
            {
                list.Add(entries[i]);
            }

            if (end - start == 1)
            {
                InMemoryTransactions.Record(owner, customerId, null, first);
            }
            else
            {
                var run = new T[end - start];
                for (var i = start; i < end; i++)
                {
                    run[i - start] = entries[i];
                }

                InMemoryTransactions.Record(owner, customerId, null, run);
            }

            start = end;
        }
    }

    /// <summary>A copy of a customer's entries.</summary>
    /// <param name="customerId">The customer.</param>
    /// <returns>The entries, oldest first.</returns>
    public T[] Snapshot(CustomerId customerId) => _entries.TryGetValue(customerId, out var list) ? [.. list] : [];

    /// <summary>A customer's entries, not copied (read them under the store's lock).</summary>
    /// <param name="customerId">The customer.</param>
    /// <returns>The entries, oldest first.</returns>
    public IReadOnlyList<T> Of(CustomerId customerId) => _entries.TryGetValue(customerId, out var list) ? list : [];

    /// <summary>Removes a customer's entries (erasure).</summary>
    /// <param name="customerId">The customer.</param>
    /// <returns>How many were removed.</returns>
    public int Remove(CustomerId customerId) => _entries.Remove(customerId, out var list) ? list.Count : 0;

    /// <summary>Takes back what <see cref="Append"/> recorded in a unit of work that was not completed.</summary>
    /// <param name="customerId">Whose entries they are.</param>
    /// <param name="written">What was recorded: an entry, or a run of entries.</param>
    /// <returns>Whether <paramref name="written"/> was this history's (else it is left to the store).</returns>
    public bool Undo(CustomerId customerId, object written)
    {
        switch (written)
        {
            case T entry:
                Remove(customerId, entry);
                return true;
            case T[] run:
                for (var i = run.Length - 1; i >= 0; i--)
                {
                    Remove(customerId, run[i]);
                }

                return true;
            default:
                return false;
        }
    }

    private void Remove(CustomerId customerId, T entry)
    {
        if (_entries.TryGetValue(customerId, out var list))
        {
            var at = list.LastIndexOf(entry);
            if (at >= 0)
            {
                list.RemoveAt(at);
            }
        }
    }
}
