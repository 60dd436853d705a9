namespace Engagement.Sdk.Value.Clv;

/// <summary>
/// Numbers distinct (x, y) pairs of doubles in order of first appearance: an open-addressing table keyed by the values' bits
/// (so 0.0 and −0.0 count as two pairs, which only costs a duplicate computation). Batch predictions look every customer up
/// here — millions of lookups into a table of the distinct histories — where a general dictionary spends most of the time.
/// Not thread-safe: one per thread.
/// </summary>
internal sealed class PairIndex
{
    private Entry[] _entries = new Entry[1 << 10];

    /// <summary>The pairs, by position.</summary>
    public List<(double X, double Y)> Pairs { get; } = [];

    /// <summary>The position of (x, y), adding the pair when it is new.</summary>
    public int Position(double x, double y)
    {
        var (xb, yb) = (BitConverter.DoubleToInt64Bits(x), BitConverter.DoubleToInt64Bits(y));
        var mask = _entries.Length - 1;
        for (var s = Slot(xb, yb, mask); ; s = (s + 1) & mask)
        {
            ref var entry = ref _entries[s];
            if (entry.PositionPlusOne == 0)
            {
                entry = new Entry(xb, yb, Pairs.Count + 1);
                Pairs.Add((x, y));
                if (Pairs.Count * 2 > _entries.Length)
                {
                    Grow();
                }

                return Pairs.Count - 1;
            }

            if (entry.X == xb && entry.Y == yb)
            {
                return entry.PositionPlusOne - 1;
            }
        }
    }

    // The bits of whole-number doubles are all in the high half, so every bit is mixed into every other (MurmurHash3's
    // finaliser) before the table's bits are taken.
    private static int Slot(long x, long y, int mask) => (int)Mix(Mix((ulong)x) ^ (ulong)y) & mask;

    private static ulong Mix(ulong h)
    {
        h ^= h >> 33;
        h *= 0xFF51AFD7ED558CCDUL;
        h ^= h >> 33;
        h *= 0xC4CEB9FE1A85EC53UL;
        return h ^ (h >> 33);
    }

    private void Grow()
    {
        var grown = new Entry[_entries.Length * 2];
        var mask = grown.Length - 1;
        foreach (var entry in _entries)
        {
            if (entry.PositionPlusOne == 0)
            {
                continue;
            }

            var s = Slot(entry.X, entry.Y, mask);
            while (grown[s].PositionPlusOne != 0)
            {
                s = (s + 1) & mask;
            }

            grown[s] = entry;
        }

        _entries = grown;
    }

    private readonly record struct Entry(long X, long Y, int PositionPlusOne);
}

/// <summary>
/// The distinct pairs of a batch of customers, found in parallel: one consecutive slice of customers per core, each with its
/// own <see cref="PairIndex"/>; the slices' pairs are then numbered into the first slice's index, and each later slice gets
/// a table from its own positions to those.
/// </summary>
internal sealed class BatchPairs
{
    /// <summary>Batches smaller than this are handled on one thread, and customers are combined in chunks of this size.</summary>
    public const int Chunk = 32_768;

    private readonly int[]?[] _remaps;
    private readonly int[] _bounds;

    private BatchPairs(PairIndex all, int[]?[] remaps, int[] bounds)
    {
        All = all;
        _remaps = remaps;
        _bounds = bounds;
    }

    /// <summary>Every distinct pair, numbered.</summary>
    public PairIndex All { get; }

    /// <summary>
    /// Finds the pairs of <paramref name="n"/> customers: <paramref name="find"/>(index, from, to) looks up customers
    /// [from, to) in the slice's index and parks their positions where <see cref="Combine"/> will find them.
    /// </summary>
    public static BatchPairs Find(int n, Action<PairIndex, int, int> find)
    {
        var slices = n >= 2 * Chunk ? Math.Min(Environment.ProcessorCount, 8) : 1;
        var bounds = new int[slices + 1];
        for (var slice = 0; slice <= slices; slice++)
        {
            bounds[slice] = (int)((long)n * slice / slices);
        }

        var local = new PairIndex[slices];
        if (slices == 1)
        {
            local[0] = new PairIndex();
            find(local[0], 0, n);
        }
        else
        {
            ClvParallel.For(0, slices, slice =>
            {
                local[slice] = new PairIndex();
                find(local[slice], bounds[slice], bounds[slice + 1]);
            });
        }

        var remaps = new int[]?[slices];
        for (var slice = 1; slice < slices; slice++)
        {
            var pairs = local[slice].Pairs;
            var remap = remaps[slice] = new int[pairs.Count];
            for (var k = 0; k < pairs.Count; k++)
            {
                remap[k] = local[0].Position(pairs[k].X, pairs[k].Y);
            }
        }

        return new BatchPairs(local[0], remaps, bounds);
    }

    /// <summary>Runs <paramref name="compute"/> for each of the <see cref="All"/> pairs, in parallel when there are many.</summary>
    public void ForEachPair(Action<int> compute)
    {
        var count = All.Pairs.Count;
        if (count > 4096)
        {
            ClvParallel.For(0, count, compute);
            return;
        }

        for (var k = 0; k < count; k++)
        {
            compute(k);
        }
    }

    /// <summary>Runs <paramref name="body"/> over [0, n) in chunks, in parallel when there are several.</summary>
    public static void ForEachChunk(int n, Action<int, int> body)
    {
        var chunks = (n + Chunk - 1) / Chunk;
        if (chunks > 1)
        {
            ClvParallel.For(0, chunks, chunk => body(chunk * Chunk, Math.Min(n, (chunk + 1) * Chunk)));
        }
        else if (n > 0)
        {
            body(0, n);
        }
    }

    /// <summary>
    /// Splits customers [from, to) at the slice bounds and calls <paramref name="body"/>(from, to, remap) for each part, with
    /// the table that turns the part's parked positions into positions in <see cref="All"/> (<see langword="null"/> when
    /// they already are).
    /// </summary>
    public void Combine(int from, int to, Action<int, int, int[]?> body)
    {
        for (var slice = 0; slice + 1 < _bounds.Length && from < to; slice++)
        {
            var end = Math.Min(to, _bounds[slice + 1]);
            if (from < end)
            {
                body(from, end, _remaps[slice]);
                from = end;
            }
        }
    }
}
