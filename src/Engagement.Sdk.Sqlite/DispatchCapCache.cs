using Engagement.Sdk.Storage;

namespace Engagement.Sdk.Sqlite;

/// <summary>
/// What the caps count of each customer's dispatches (<see cref="IDispatchCapLog.ListCountedAsync"/>), kept per database so
/// that every dispatch store on it keeps it current: each entry holds the customer's counted dispatches created at or after
/// its start, as read at a database epoch (see <see cref="SqliteDatabase.Epoch"/>), and every write a store makes to a
/// dispatch of a cached customer is applied to the entry. An entry answers only inside a unit of work and only while the
/// epoch is the one it was read at (nothing rolled back, no other connection seen to commit), so it is what the table holds;
/// otherwise the table is read. Used only while the database's connection is held, under the cache's own lock.
/// </summary>
internal sealed class DispatchCapCache
{
    private const int Limit = 16_384;

    private readonly Dictionary<string, Entry> _byCustomer = new(StringComparer.Ordinal);

    /// <summary>The customer's counted dispatches created at or after <paramref name="since"/>, when an entry certainly holds them.</summary>
    /// <param name="database">The database (its epoch and unit of work).</param>
    /// <param name="customerId">The customer.</param>
    /// <param name="since">The inclusive start, in UTC ticks.</param>
    /// <returns>The dispatches, or <see langword="null"/> when the table must be read.</returns>
    public IReadOnlyList<CappedDispatch>? TryList(SqliteDatabase database, string customerId, long since)
    {
        if (!_byCustomer.TryGetValue(customerId, out var entry) || since < entry.Since || !database.IsCurrent(entry.Epoch))
        {
            return null;
        }

        if (since > entry.Since)
        {
            // Later calls ask from later instants (the caps' windows move with the clock): what fell out of the window goes.
            var counted = entry.Counted;
            for (var i = counted.Count - 1; i >= 0; i--)
            {
                if (counted[i].CreatedAt.UtcTicks < since)
                {
                    counted.RemoveAt(i);
                    entry.Snapshot = null;
                }
            }

            entry.Since = since;
        }

        // The copy handed out is kept until the entry changes: the caps of a customer are checked at every decision and hand-off.
        return entry.Counted.Count == 0 ? [] : entry.Snapshot ??= entry.Counted.ToArray();
    }

    /// <summary>Keeps what the table held for a customer, read at the current epoch inside a unit of work.</summary>
    /// <param name="database">The database.</param>
    /// <param name="customerId">The customer.</param>
    /// <param name="since">The start the rows were read from, in UTC ticks.</param>
    /// <param name="counted">The rows.</param>
    public void Fill(SqliteDatabase database, string customerId, long since, List<CappedDispatch> counted)
    {
        var epoch = database.Epoch;
        if (!database.IsCurrent(epoch))
        {
            return;
        }

        if (_byCustomer.Count >= Limit && !_byCustomer.ContainsKey(customerId))
        {
            _byCustomer.Clear();
        }

        _byCustomer[customerId] = new Entry(epoch, since, counted);
    }

    /// <summary>Whether the customer's entry answers from <paramref name="since"/> on now.</summary>
    /// <param name="database">The database.</param>
    /// <param name="customerId">The customer.</param>
    /// <param name="since">The inclusive start, in UTC ticks.</param>
    /// <returns>Whether the table need not be read.</returns>
    public bool Holds(SqliteDatabase database, string customerId, long since)
        => _byCustomer.TryGetValue(customerId, out var entry) && since >= entry.Since && database.IsCurrent(entry.Epoch);

    /// <summary>Applies a write the table took (an insert or an update of the whole record) to the customer's entry.</summary>
    /// <param name="database">The database.</param>
    /// <param name="record">The dispatch as written.</param>
    public void Written(SqliteDatabase database, DispatchRecord record)
    {
        lock (this)
        {
            Apply(database, record);
        }
    }

    private void Apply(SqliteDatabase database, DispatchRecord record)
    {
        if (!_byCustomer.TryGetValue(record.CustomerId.Value, out var entry))
        {
            return;
        }

        if (entry.Epoch != database.Epoch)
        {
            _byCustomer.Remove(record.CustomerId.Value);
            return;
        }

        // The channel and purpose columns are written by the insert only: an update keeps those of the row.
        var counted = entry.Counted;
        var channel = record.Channel;
        var purpose = record.Purpose;
        var index = -1;
        for (var i = 0; i < counted.Count; i++)
        {
            if (string.Equals(counted[i].DispatchId, record.DispatchId, StringComparison.Ordinal))
            {
                index = i;
                (channel, purpose) = (counted[i].Channel, counted[i].Purpose);
                break;
            }
        }

        var counts = DispatchRecords.CountsAgainstCaps(record) && record.CreatedAt.UtcTicks >= entry.Since;
        if (index >= 0 && counts && counted[index].CreatedAt.EqualsExact(record.CreatedAt))
        {
            // Still counted as it was (a claim or a settlement as sent): the entry, and the copy handed out, stand.
            return;
        }

        entry.Snapshot = null;
        if (index >= 0)
        {
            counted.RemoveAt(index);
        }

        if (counts)
        {
            counted.Add(new CappedDispatch(record.DispatchId, record.CreatedAt, channel, purpose));
        }
    }

    /// <summary>Forgets every entry (erasure).</summary>
    public void Clear()
    {
        lock (this)
        {
            _byCustomer.Clear();
        }
    }

    private sealed class Entry(int epoch, long since, List<CappedDispatch> counted)
    {
        public int Epoch { get; } = epoch;

        public long Since { get; set; } = since;

        public List<CappedDispatch> Counted { get; } = counted;

        // A copy of Counted as it stands, handed out until it changes.
        public CappedDispatch[]? Snapshot { get; set; }
    }
}
