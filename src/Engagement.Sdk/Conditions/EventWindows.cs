using System.Collections.Frozen;
using System.Collections.Immutable;

namespace Engagement.Sdk.Conditions;

/// <summary>
/// What the windowed event conditions of a set of definitions need kept per customer, per event key (slot): the most recent
/// timestamps (enough of them to decide every count threshold exactly) and, for sums and large counts, counts and sums per
/// time bucket (an hour for windows up to two days, a day for longer ones), kept as long as the longest window on the slot.
/// </summary>
internal sealed class EventWindowLayout
{
    /// <summary>The most recent timestamps kept per slot at most; larger counts are kept in buckets.</summary>
    public const int MaxRing = 64;

    private readonly FrozenDictionary<string, int> _slots;

    public EventWindowLayout(IReadOnlyList<string> keys, IReadOnlyList<int> ringCapacity, IReadOnlyList<long> bucketWidth, IReadOnlyList<long> horizon)
    {
        Keys = [.. keys];
        RingCapacity = [.. ringCapacity];
        BucketWidth = [.. bucketWidth];
        Horizon = [.. horizon];
        RingOffset = new int[Keys.Length];
        var offset = 0;
        for (var i = 0; i < Keys.Length; i++)
        {
            RingOffset[i] = offset;
            offset += RingCapacity[i];
        }

        RingLength = offset;
        _slots = Keys.Select((k, i) => KeyValuePair.Create(k, i)).ToFrozenDictionary(StringComparer.Ordinal);
    }

    /// <summary>A layout that keeps nothing.</summary>
    public static EventWindowLayout Empty { get; } = new([], [], [], []);

    /// <summary>The event key of each slot.</summary>
    public ImmutableArray<string> Keys { get; }

    /// <summary>The most recent timestamps kept per slot (0: none).</summary>
    public int[] RingCapacity { get; }

    /// <summary>Where each slot's timestamps start in <see cref="EventWindows"/>' array.</summary>
    public int[] RingOffset { get; }

    /// <summary>The bucket width per slot in ticks (0: no buckets).</summary>
    public long[] BucketWidth { get; }

    /// <summary>The longest window on each slot, in ticks: older data can never count again.</summary>
    public long[] Horizon { get; }

    /// <summary>The number of timestamps kept per customer.</summary>
    public int RingLength { get; }

    /// <summary>The slot of an event key, or -1.</summary>
    public int SlotOf(string key) => Keys.Length != 0 && _slots.TryGetValue(key, out var slot) ? slot : -1; // most layouts count nothing: no hash

    /// <summary>Whether counters of this layout hold the same data in the same places as counters of <paramref name="other"/> (horizons aside).</summary>
    public bool SameShape(EventWindowLayout other)
        => ReferenceEquals(this, other)
            || (Keys.SequenceEqual(other.Keys) && RingCapacity.AsSpan().SequenceEqual(other.RingCapacity) && BucketWidth.AsSpan().SequenceEqual(other.BucketWidth));
}

/// <summary>
/// One customer's windowed event counters: kept up to date as events arrive (a new or late event is inserted in order),
/// merged when profiles merge, and read by windowed event conditions without reading the event store. Not thread-safe: a
/// customer's counters are changed under the customer's lock, on a private copy (<see cref="Clone"/>).
/// </summary>
public sealed class EventWindows
{
    private static readonly System.Collections.Concurrent.ConcurrentDictionary<string, EventWindowLayout> ImportedLayouts = new(StringComparer.Ordinal);
    private long[] _recent;
    private Bucket[] _buckets;
    private int _bucketCount;
    private bool _imported;

    internal EventWindows(EventWindowLayout layout)
    {
        Layout = layout;
        _recent = layout.RingLength == 0 ? [] : new long[layout.RingLength];
        _recent.AsSpan().Fill(long.MinValue);
        _buckets = [];
    }

    /// <summary>Counters that keep nothing.</summary>
    public static EventWindows None { get; } = new(EventWindowLayout.Empty);

    internal EventWindowLayout Layout { get; private set; }

    /// <summary>The event keys counted.</summary>
    public ImmutableArray<string> Keys => Layout.Keys;

    /// <summary>Whether nothing has been counted.</summary>
    public bool IsEmpty => _bucketCount == 0 && (_recent.Length == 0 || Array.TrueForAll(_recent, static t => t == long.MinValue));

    /// <summary>The most recent timestamps kept for an event key, newest first (UTC ticks).</summary>
    /// <param name="key">The event key.</param>
    /// <returns>The timestamps.</returns>
    public ImmutableArray<long> RecentTicks(string key)
    {
        var slot = Layout.SlotOf(key);
        if (slot < 0)
        {
            return [];
        }

        var segment = Segment(slot);
        var length = 0;
        while (length < segment.Length && segment[length] != long.MinValue)
        {
            length++;
        }

        return [.. segment[..length]];
    }

    /// <summary>The buckets kept for an event key: start (UTC ticks), width (ticks), count and sum.</summary>
    /// <param name="key">The event key.</param>
    /// <returns>The buckets, oldest first.</returns>
    public ImmutableArray<(long Start, long Width, int Count, decimal Sum)> BucketsOf(string key)
    {
        var slot = Layout.SlotOf(key);
        if (slot < 0)
        {
            return [];
        }

        var width = Layout.BucketWidth[slot];
        var list = ImmutableArray.CreateBuilder<(long, long, int, decimal)>();
        for (var i = 0; i < _bucketCount; i++)
        {
            if (_buckets[i].Slot == slot)
            {
                list.Add((_buckets[i].Index * width, width, _buckets[i].Count, _buckets[i].Sum));
            }
        }

        return list.ToImmutable();
    }

    /// <summary>A copy that can be changed without changing this one.</summary>
    /// <returns>The copy.</returns>
    public EventWindows Clone()
    {
        var copy = (EventWindows)MemberwiseClone();
        copy._recent = (long[])_recent.Clone();
        copy._buckets = _bucketCount == 0 ? [] : _buckets.AsSpan(0, _bucketCount).ToArray();
        return copy;
    }

    internal Span<long> Segment(int slot) => _recent.AsSpan(Layout.RingOffset[slot], Layout.RingCapacity[slot]);

    /// <summary>Counts an event, if its key is counted; returns whether it was.</summary>
    internal bool Record(Events.EngagementEvent engagementEvent, long nowTicks)
    {
        var slot = Layout.SlotOf(ConditionSchema.EventKey(engagementEvent));
        if (slot < 0)
        {
            return false;
        }

        Record(slot, engagementEvent.Timestamp.UtcTicks, ConditionSchema.AmountOf(engagementEvent), nowTicks);
        return true;
    }

    /// <summary>Counts one event of a slot at <paramref name="ticks"/> with <paramref name="amount"/>, as of <paramref name="nowTicks"/>.</summary>
    internal void Record(int slot, long ticks, decimal amount, long nowTicks)
    {
        var segment = Segment(slot);
        if (segment.Length > 0)
        {
            var at = 0;
            while (at < segment.Length && segment[at] >= ticks)
            {
                at++;
            }

            if (at < segment.Length)
            {
                segment[at..^1].CopyTo(segment[(at + 1)..]);
                segment[at] = ticks;
            }
        }

        var width = Layout.BucketWidth[slot];
        if (width > 0)
        {
            var index = FloorDiv(ticks, width);
            var horizon = Layout.Horizon[slot];
            if (((index + 1) * width) + horizon > nowTicks)
            {
                AddToBucket(slot, index, 1, amount);
            }

            Prune(slot, width, horizon, nowTicks);
        }
    }

    /// <summary>How many of the slot's kept timestamps are after <paramref name="startExclusive"/> (at most the ring's capacity).</summary>
    internal int RingCount(int slot, long startExclusive)
    {
        var segment = Segment(slot);
        var count = 0;
        while (count < segment.Length && segment[count] != long.MinValue && segment[count] > startExclusive)
        {
            count++;
        }

        return count;
    }

    /// <summary>The instant at which the slot's <paramref name="index"/>-th most recent timestamp leaves a window of <paramref name="window"/> ticks, or <see cref="long.MaxValue"/>.</summary>
    internal long RingLeaves(int slot, int index, long startExclusive, long window)
    {
        var segment = Segment(slot);
        if (index < 0 || index >= segment.Length)
        {
            return long.MaxValue;
        }

        var ticks = segment[index];
        return ticks != long.MinValue && ticks > startExclusive ? ticks + window : long.MaxValue;
    }

    /// <summary>The count and sum of the slot's buckets that end after <paramref name="startExclusive"/>.</summary>
    internal (long Count, decimal Sum) BucketTotals(int slot, long startExclusive)
    {
        var width = Layout.BucketWidth[slot];
        long count = 0;
        var sum = 0m;
        for (var i = 0; i < _bucketCount; i++)
        {
            ref readonly var bucket = ref _buckets[i];
            if (bucket.Slot == slot && ((bucket.Index + 1) * width) > startExclusive)
            {
                count += bucket.Count;
                sum += bucket.Sum;
            }
        }

        return (count, sum);
    }

    /// <summary>The instant the next of the slot's counted buckets leaves a window of <paramref name="window"/> ticks, or <see cref="long.MaxValue"/>.</summary>
    internal long BucketLeaves(int slot, long startExclusive, long window)
    {
        var width = Layout.BucketWidth[slot];
        var next = long.MaxValue;
        for (var i = 0; i < _bucketCount; i++)
        {
            ref readonly var bucket = ref _buckets[i];
            var end = (bucket.Index + 1) * width;
            if (bucket.Slot == slot && end > startExclusive && end + window < next)
            {
                next = end + window;
            }
        }

        return next;
    }

    /// <summary>Adds another customer's counters of the same layout (a merged profile's).</summary>
    internal void MergeFrom(EventWindows other)
    {
        var theirs = other.Layout == Layout ? other : other.Rebind(Layout);
        for (var slot = 0; slot < Layout.Keys.Length; slot++)
        {
            var segment = Segment(slot);
            foreach (var ticks in theirs.Segment(slot))
            {
                if (ticks == long.MinValue)
                {
                    break;
                }

                var at = 0;
                while (at < segment.Length && segment[at] >= ticks)
                {
                    at++;
                }

                if (at < segment.Length)
                {
                    segment[at..^1].CopyTo(segment[(at + 1)..]);
                    segment[at] = ticks;
                }
            }
        }

        for (var i = 0; i < theirs._bucketCount; i++)
        {
            var bucket = theirs._buckets[i];
            AddToBucket(bucket.Slot, bucket.Index, bucket.Count, bucket.Sum);
        }
    }

    /// <summary>These counters in another layout: slots matched by event key, timestamps kept as far as the new capacity allows, buckets re-cut.</summary>
    internal EventWindows Rebind(EventWindowLayout layout)
    {
        if (layout == Layout)
        {
            return this;
        }

        if (_imported && Layout.SameShape(layout))
        {
            // Read back from storage just now and laid out as the definitions lay it out: adopt their layout as it is.
            Layout = layout;
            _imported = false;
            return this;
        }

        var bound = new EventWindows(layout);
        for (var slot = 0; slot < layout.Keys.Length; slot++)
        {
            var old = Layout.SlotOf(layout.Keys[slot]);
            if (old < 0)
            {
                continue;
            }

            var from = Segment(old);
            var to = bound.Segment(slot);
            from[..Math.Min(from.Length, to.Length)].CopyTo(to);
            var oldWidth = Layout.BucketWidth[old];
            var newWidth = layout.BucketWidth[slot];
            if (oldWidth == 0 || newWidth == 0)
            {
                continue;
            }

            for (var i = 0; i < _bucketCount; i++)
            {
                if (_buckets[i].Slot == old)
                {
                    // Cut by the bucket's end, so that nothing leaves a window earlier than it would have.
                    var index = FloorDiv(((_buckets[i].Index + 1) * oldWidth) - 1, newWidth);
                    bound.AddToBucket(slot, index, _buckets[i].Count, _buckets[i].Sum);
                }
            }
        }

        return bound;
    }

    /// <summary>Every slot's data, for storage: key, timestamps (newest first), bucket width and buckets.</summary>
    internal IEnumerable<(string Key, long[] Recent, int Capacity, long Width, (long Index, int Count, decimal Sum)[] Buckets)> Export()
    {
        for (var slot = 0; slot < Layout.Keys.Length; slot++)
        {
            var segment = Segment(slot);
            var length = 0;
            while (length < segment.Length && segment[length] != long.MinValue)
            {
                length++;
            }

            var buckets = new List<(long, int, decimal)>();
            for (var i = 0; i < _bucketCount; i++)
            {
                if (_buckets[i].Slot == slot)
                {
                    buckets.Add((_buckets[i].Index, _buckets[i].Count, _buckets[i].Sum));
                }
            }

            if (length > 0 || buckets.Count > 0)
            {
                yield return (Layout.Keys[slot], segment[..length].ToArray(), segment.Length, Layout.BucketWidth[slot], [.. buckets]);
            }
        }
    }

    /// <summary>Counters read back from storage, in a layout of their own (rebind them to the definitions' layout).</summary>
    internal static EventWindows Import(IReadOnlyList<(string Key, long[] Recent, int Capacity, long Width, (long Index, int Count, decimal Sum)[] Buckets)> slots)
    {
        // Records of one set of definitions share a few shapes: their layouts are made once.
        var signature = string.Join('|', slots.Select(s =>  s.Key + ":" + s.Capacity.ToString(System.Globalization.CultureInfo.InvariantCulture) + ":" + s.Width.ToString(System.Globalization.CultureInfo.InvariantCulture)));
        var layout = ImportedLayouts.Count < 1024 || ImportedLayouts.ContainsKey(signature)
            ? ImportedLayouts.GetOrAdd(signature, static (_, slots) => New(slots), slots)
            : New(slots);
        var windows = new EventWindows(layout) { _imported = true };
        for (var slot = 0; slot < slots.Count; slot++)
        {
            var recent = slots[slot].Recent;
            recent.AsSpan().Sort(static (a, b) => b.CompareTo(a));
            recent.CopyTo(windows.Segment(slot));
            foreach (var (index, count, sum) in slots[slot].Buckets)
            {
                windows.AddToBucket(slot, index, count, sum);
            }
        }

        return windows;
    }

    private static EventWindowLayout New(IReadOnlyList<(string Key, long[] Recent, int Capacity, long Width, (long Index, int Count, decimal Sum)[] Buckets)> slots)
        => new(
            [.. slots.Select(s => s.Key)],
            [.. slots.Select(s => Math.Max(s.Capacity, s.Recent.Length))],
            [.. slots.Select(s => s.Width)],
            [.. slots.Select(_ => long.MaxValue / 4)]);

    private void AddToBucket(int slot, long index, int count, decimal sum)
    {
        var lo = 0;
        var hi = _bucketCount - 1;
        while (lo <= hi)
        {
            var mid = (lo + hi) >>> 1;
            var c = Compare(_buckets[mid], slot, index);
            if (c == 0)
            {
                _buckets[mid].Count += count;
                _buckets[mid].Sum += sum;
                return;
            }

            if (c < 0)
            {
                lo = mid + 1;
            }
            else
            {
                hi = mid - 1;
            }
        }

        if (_bucketCount == _buckets.Length)
        {
            Array.Resize(ref _buckets, Math.Max(4, _buckets.Length * 2));
        }

        Array.Copy(_buckets, lo, _buckets, lo + 1, _bucketCount - lo);
        _buckets[lo] = new Bucket { Slot = slot, Index = index, Count = count, Sum = sum };
        _bucketCount++;
    }

    private void Prune(int slot, long width, long horizon, long nowTicks)
    {
        var write = 0;
        for (var read = 0; read < _bucketCount; read++)
        {
            var bucket = _buckets[read];
            if (bucket.Slot == slot && ((bucket.Index + 1) * width) + horizon <= nowTicks)
            {
                continue;
            }

            _buckets[write++] = bucket;
        }

        _bucketCount = write;
    }

    private static int Compare(in Bucket bucket, int slot, long index)
        => bucket.Slot != slot ? bucket.Slot.CompareTo(slot) : bucket.Index.CompareTo(index);

    private static long FloorDiv(long a, long b) => a >= 0 ? a / b : -((-a + b - 1) / b);

    private struct Bucket
    {
        public int Slot;
        public int Count;
        public long Index;
        public decimal Sum;
    }
}
