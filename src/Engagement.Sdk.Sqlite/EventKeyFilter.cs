namespace Engagement.Sdk.Sqlite;

/// <summary>
/// A Bloom filter of the event keys (<see cref="EventKey"/>) in the events table, kept by the connection that appends: a key
/// the filter has never seen is certainly not in the table, so the append skips the look-up by id that every tracked event
/// otherwise runs before its insert. The filter only ever answers "absent" or "maybe": it holds every key this connection
/// inserted since it was built (a rolled-back or deleted row leaves its key behind, which costs a look-up, never a wrong
/// answer), and it is trusted only while no other connection has committed since it was built (the database's count of
/// other writers' commits, read under the write lock) — keys another process inserted are not in it.
/// </summary>
/// <remarks>
/// Built by reading every key in the id index: once when the table holds no more rows than a threshold's worth of appends
/// paid the look-up since the filter was last valid (so that the build costs no more than the look-ups it saves), and again
/// at double the size when it fills. 16 bits per key and three probes: about one look-up in 200 is still needed for a new
/// id. At most <see cref="MaxBits"/> bits (16 MiB); beyond about 8 million events the share of look-ups grows, the
/// answers stay right.
/// </remarks>
internal sealed class EventKeyFilter
{
    /// <summary>The largest filter, in bits (2^27 bits, 16 MiB).</summary>
    internal const int MaxBitsLog2 = 27;

    private const long MaxBits = 1L << MaxBitsLog2;
    private const int MinBitsLog2 = 20; // 128 KiB: 65,536 keys
    private const int BitsPerKey = 16;

    private ulong[]? _bits;
    private long _mask;
    private long _keys;
    private long _capacity;
    private int _builtAt = -1;
    private long _lookUps;

    /// <summary>Whether the filter is built and current at <paramref name="othersEpoch"/>.</summary>
    /// <param name="othersEpoch">The database's count of commits seen from other connections.</param>
    /// <returns>Whether it can be asked.</returns>
    internal bool IsValid(int othersEpoch) => _bits is not null && _builtAt == othersEpoch;

    /// <summary>
    /// Whether the filter should be (re)built now: it is not current and enough appends have paid the look-up since (at least
    /// <paramref name="rowsEstimate"/>/16, and 1,000), or it has filled up and may still grow.
    /// </summary>
    /// <param name="othersEpoch">The database's count of commits seen from other connections.</param>
    /// <param name="rowsEstimate">An upper bound of the rows in the table (its highest rowid).</param>
    /// <returns>Whether to build.</returns>
    internal bool ShouldBuild(int othersEpoch, Func<long> rowsEstimate)
    {
        if (IsValid(othersEpoch))
        {
            return _keys > _capacity && _capacity * BitsPerKey < MaxBits;
        }

        _lookUps++;
        return _lookUps >= 1_000 && _lookUps >= rowsEstimate() / 16;
    }

    /// <summary>Starts over from the keys in the table, sized for at least twice their number.</summary>
    /// <param name="keys">Every key in the table.</param>
    /// <param name="count">How many keys there are.</param>
    /// <param name="othersEpoch">The database's count of commits seen from other connections, under the write lock.</param>
    internal void Build(IEnumerable<long> keys, long count, int othersEpoch)
    {
        var log2 = MinBitsLog2;
        while (log2 < MaxBitsLog2 && (1L << log2) < count * 2 * BitsPerKey)
        {
            log2++;
        }

        _bits = new ulong[(1L << log2) / 64];
        _mask = (1L << log2) - 1;
        _capacity = (1L << log2) / BitsPerKey;
        _keys = 0;
        foreach (var key in keys)
        {
            Add(key);
        }

        _builtAt = othersEpoch;
        _lookUps = 0;
    }

    /// <summary>Records a key this connection inserted (whether or not the filter is current: it must hold every insert).</summary>
    /// <param name="key">The key.</param>
    internal void Add(long key)
    {
        if (_bits is not { } bits)
        {
            return;
        }

        var (h1, h2) = Probes(key);
        for (var i = 0; i < 3; i++)
        {
            var bit = (h1 + (i * h2)) & _mask;
            bits[bit >> 6] |= 1UL << (int)(bit & 63);
        }

        _keys++;
    }

    /// <summary>Whether <paramref name="key"/> is certainly not in the table (only when <see cref="IsValid"/>).</summary>
    /// <param name="key">The key.</param>
    /// <returns><see langword="true"/> when no row has the key; <see langword="false"/> when one may.</returns>
    internal bool SurelyAbsent(long key)
    {
        var bits = _bits!;
        var (h1, h2) = Probes(key);
        for (var i = 0; i < 3; i++)
        {
            var bit = (h1 + (i * h2)) & _mask;
            if ((bits[bit >> 6] & (1UL << (int)(bit & 63))) == 0)
            {
                return true;
            }
        }

        return false;
    }

    // Two independent positions from the key (its bits mixed again: keys of ids from a counter share their high bits).
    private static (long H1, long H2) Probes(long key)
    {
        var h = (ulong)key * 0x9E3779B97F4A7C15UL;
        h ^= h >> 29;
        h *= 0xBF58476D1CE4E5B9UL;
        h ^= h >> 32;
        return ((long)(h & 0x7FFF_FFFF_FFFF), (long)((h >> 32) | 1));
    }
}
