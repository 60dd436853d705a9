using System.Collections.Immutable;
using System.Numerics;
using System.Runtime.InteropServices;

namespace Engagement.Sdk.Value.Clv;

/// <summary>One purchase: who, on which day, for how much.</summary>
/// <param name="CustomerId">The customer.</param>
/// <param name="Date">The calendar day.</param>
/// <param name="Amount">The amount (not negative; net refunds out before summarising).</param>
public readonly record struct Transaction(string CustomerId, DateOnly Date, decimal Amount);

/// <summary>The unit that recency and age are measured in.</summary>
public enum TimeUnit
{
    /// <summary>Days.</summary>
    Days,

    /// <summary>Weeks (days ÷ 7).</summary>
    Weeks,
}

/// <summary>One customer's calibration summary.</summary>
/// <param name="CustomerId">The customer.</param>
/// <param name="Frequency">x: repeat purchase days in the calibration period (distinct purchase days − 1).</param>
/// <param name="Recency">tₓ: last − first purchase day, in the chosen unit (0 when x = 0).</param>
/// <param name="Age">T: calibration end − first purchase day, in the chosen unit.</param>
/// <param name="MeanRepeatSpend">The mean amount per repeat purchase day (the first day excluded); 0 when x = 0.</param>
/// <param name="HoldoutFrequency">Purchase days after the calibration end up to the holdout end; 0 without a holdout.</param>
/// <param name="FirstPurchase">The first purchase day.</param>
public readonly record struct CustomerRfm(string CustomerId, int Frequency, double Recency, double Age, decimal MeanRepeatSpend, int HoldoutFrequency, DateOnly FirstPurchase);

/// <summary>
/// Per-customer (x, tₓ, T, mean repeat spend) for a calibration end, and holdout counts, built from transactions with the
/// convention of the published CLV literature: a customer's purchases on one calendar day are one transaction (amounts
/// summed); the calibration end is inclusive; customers whose first purchase is after it are left out.
/// </summary>
public sealed class RfmSummary
{
    /// <summary>From this many transactions on, the passes are split over the cores.</summary>
    private const int ParallelThreshold = 200_000;

    private RfmSummary(ImmutableArray<CustomerRfm> customers, DateOnly calibrationEnd, DateOnly? holdoutEnd, TimeUnit unit, ImmutableArray<int> repeatTransactionsByDay)
    {
        Customers = customers;
        RepeatTransactionsByDay = repeatTransactionsByDay;
        var first = calibrationEnd.DayNumber;
        CalibrationEnd = calibrationEnd;
        HoldoutEnd = holdoutEnd;
        Unit = unit;
        foreach (var c in customers)
        {
            RepeatTransactions += c.Frequency;
            HoldoutTransactions += c.HoldoutFrequency;
            first = Math.Min(first, c.FirstPurchase.DayNumber);
        }

        FirstPurchase = DateOnly.FromDayNumber(first);
    }

    /// <summary>The customers, in the order they first appear in the transactions.</summary>
    public ImmutableArray<CustomerRfm> Customers { get; }

    /// <summary>The inclusive calibration end.</summary>
    public DateOnly CalibrationEnd { get; }

    /// <summary>The inclusive holdout end, if any.</summary>
    public DateOnly? HoldoutEnd { get; }

    /// <summary>The time unit of recency and age.</summary>
    public TimeUnit Unit { get; }

    /// <summary>Σ x.</summary>
    public int RepeatTransactions { get; }

    /// <summary>Σ holdout purchase days.</summary>
    public int HoldoutTransactions { get; }

    /// <summary>
    /// The repeat transactions (a customer's purchase days after their first, as in x and the holdout counts) of the summarised
    /// customers per calendar day, from the earliest first purchase (<see cref="FirstPurchase"/>, index 0) to the holdout end, or
    /// the calibration end without a holdout: the actual side of a tracking chart, without another pass over the transactions.
    /// </summary>
    public ImmutableArray<int> RepeatTransactionsByDay { get; }

    /// <summary>The earliest first purchase of the summarised customers: the day of <see cref="RepeatTransactionsByDay"/>[0] (the calibration end when there are none).</summary>
    public DateOnly FirstPurchase { get; }

    /// <summary>The length of the holdout period in the chosen unit (0 without one).</summary>
    public double HoldoutLength => HoldoutEnd is { } end ? Convert(end.DayNumber - CalibrationEnd.DayNumber, Unit) : 0;

    /// <summary>Summarises transactions.</summary>
    /// <param name="transactions">The transactions, in any order.</param>
    /// <param name="calibrationEnd">The inclusive end of the calibration period.</param>
    /// <param name="holdoutEnd">The inclusive end of the holdout period, or <see langword="null"/>.</param>
    /// <param name="unit">The time unit.</param>
    /// <returns>The summary.</returns>
    /// <exception cref="EngagementValidationException">An amount is negative, a customer id is empty, or the holdout ends before the calibration.</exception>
    public static RfmSummary FromTransactions(IReadOnlyList<Transaction> transactions, DateOnly calibrationEnd, DateOnly? holdoutEnd = null, TimeUnit unit = TimeUnit.Weeks)
    {
        ArgumentNullException.ThrowIfNull(transactions);
        if (holdoutEnd is { } h && h <= calibrationEnd)
        {
            throw new EngagementValidationException("holdoutEnd", h.ToString("yyyy-MM-dd", System.Globalization.CultureInfo.InvariantCulture), "must be later than the calibration end");
        }

        return transactions is Transaction[] array
            ? Summarise(new ArraySource(array), calibrationEnd, holdoutEnd, unit)
            : Summarise(new ListSource(transactions), calibrationEnd, holdoutEnd, unit);
    }

    /// <summary>The calibration data as weighted model input.</summary>
    /// <returns>The data.</returns>
    public RfmData ToData() => RfmData.FromCustomers(Customers);

    /// <summary>
    /// The summary in five passes, each split over the cores for large inputs: validate and hash the customer ids; find
    /// each transaction's customer (its first transaction) in hash tables partitioned by the hash's top bits, so that no
    /// two threads share a table; number the customers in order of first appearance; group the transaction indices by
    /// customer (a counting sort with a histogram per slice, which keeps the input order within a customer); and summarise
    /// each customer's handful of transactions. Only the per-transaction index arrays grow with the input.
    /// </summary>
    private static RfmSummary Summarise<TSource>(TSource transactions, DateOnly calibrationEnd, DateOnly? holdoutEnd, TimeUnit unit)
        where TSource : struct, ITransactionSource
    {
        var n = transactions.Count;
        var slices = n >= ParallelThreshold ? Math.Min(Environment.ProcessorCount, 16) : 1;
        var hashes = new int[n];
        HashCustomers(transactions, hashes, slices);

        // customerOf[i] is first the index of customer i's first transaction, then the customer's dense number.
        var customerOf = new int[n];
        FindFirstTransactions(transactions, hashes, customerOf, slices);
        var rank = hashes; // no longer needed as hashes: reused for the rank of each first transaction
        var customers = 0;
        for (var i = 0; i < n; i++)
        {
            if (customerOf[i] == i)
            {
                rank[i] = customers++;
            }
        }

        var names = new string[customers];
        ForEachSlice(n, slices, (slice, from, to) =>
        {
            for (var i = from; i < to; i++)
            {
                var first = customerOf[i];
                if (first == i)
                {
                    names[rank[i]] = transactions[i].CustomerId;
                }

                customerOf[i] = rank[first];
            }
        });

        // Counting sort of the transaction indices by customer: each slice counts its own, so that each can scatter its
        // own indices to positions computed up front.
        var histograms = new int[slices][];
        ForEachSlice(n, slices, (slice, from, to) =>
        {
            var histogram = new int[customers];
            for (var i = from; i < to; i++)
            {
                histogram[customerOf[i]]++;
            }

            histograms[slice] = histogram;
        });
        var start = new int[customers + 1];
        var running = 0;
        for (var c = 0; c < customers; c++)
        {
            start[c] = running;
            foreach (var histogram in histograms)
            {
                var count = histogram[c];
                histogram[c] = running;
                running += count;
            }
        }

        start[customers] = running;
        var grouped = rank; // the ranks were read in the numbering pass: reused for the grouped transaction indices
        ForEachSlice(n, slices, (slice, from, to) =>
        {
            var next = histograms[slice];
            for (var i = from; i < to; i++)
            {
                grouped[next[customerOf[i]]++] = i;
            }
        });

        var calibrationDay = calibrationEnd.DayNumber;
        var holdoutDay = holdoutEnd?.DayNumber ?? calibrationDay;
        var summaries = new CustomerRfm[customers];
        var summarySlices = customers >= ParallelThreshold / 10 ? slices : 1;
        var byDay = new DayCounts[summarySlices];
        ForEachSlice(customers, summarySlices, (slice, from, to) =>
        {
            var days = byDay[slice] = new DayCounts(holdoutDay);
            Span<DayAmount> buffer = stackalloc DayAmount[32];
            for (var c = from; c < to; c++)
            {
                var count = start[c + 1] - start[c];
                var purchases = count <= buffer.Length ? buffer[..count] : new DayAmount[count];
                for (var k = 0; k < count; k++)
                {
                    var t = transactions[grouped[start[c] + k]];
                    purchases[k] = new DayAmount(t.Date.DayNumber, t.Amount);
                }

                summaries[c] = Summarise(names[c], purchases, calibrationDay, holdoutDay, unit, days);
            }
        });

        // Customers whose first purchase is after the calibration end are left out (their id is null).
        var kept = 0;
        foreach (var summary in summaries)
        {
            if (summary.CustomerId is not null)
            {
                summaries[kept++] = summary;
            }
        }

        if (kept < summaries.Length)
        {
            Array.Resize(ref summaries, kept);
        }

        var firstDay = calibrationDay;
        for (var c = 0; c < kept; c++)
        {
            firstDay = Math.Min(firstDay, summaries[c].FirstPurchase.DayNumber);
        }

        return new RfmSummary(ImmutableCollectionsMarshal.AsImmutableArray(summaries), calibrationEnd, holdoutEnd, unit, DayCounts.Merge(byDay, firstDay, holdoutDay));
    }

    /// <summary>One customer's summary from their purchases (in input order), or a default value when the first is after the calibration end; counts the repeat days into <paramref name="days"/>.</summary>
    private static CustomerRfm Summarise(string customerId, Span<DayAmount> purchases, int calibrationDay, int holdoutDay, TimeUnit unit, DayCounts days)
    {
        SortByDay(purchases);
        var first = purchases[0].Day;
        if (first > calibrationDay)
        {
            return default;
        }

        var x = -1;
        var last = first;
        var holdout = 0;
        decimal repeatSpend = 0;
        for (var k = 0; k < purchases.Length;)
        {
            var day = purchases[k].Day;
            decimal dayAmount = 0;
            while (k < purchases.Length && purchases[k].Day == day)
            {
                dayAmount += purchases[k].Amount;
                k++;
            }

            if (day <= calibrationDay)
            {
                x++;
                last = day;
                if (x > 0)
                {
                    repeatSpend += dayAmount;
                    days.Add(day);
                }
            }
            else if (day <= holdoutDay)
            {
                holdout++;
                days.Add(day);
            }
        }

        return new CustomerRfm(
            customerId,
            x,
            x == 0 ? 0 : Convert(last - first, unit),
            Convert(calibrationDay - first, unit),
            x == 0 ? 0 : repeatSpend / x,
            holdout,
            DateOnly.FromDayNumber(first));
    }

    /// <summary>
    /// Validates every transaction and stores the hash of its customer id. Each slice stops at its first bad transaction;
    /// the lowest slice's error is the first in the input, as a sequential pass would report it.
    /// </summary>
    private static void HashCustomers<TSource>(TSource transactions, int[] hashes, int slices)
        where TSource : struct, ITransactionSource
    {
        var errors = new EngagementValidationException?[slices];
        ForEachSlice(transactions.Count, slices, (slice, from, to) =>
        {
            // In blocks: the validation reads every id's length, which brings the ids (scattered over the heap) into the
            // cache many at a time, so that hashing them next does not wait for memory one id at a time.
            for (var block = from; block < to; block += 64)
            {
                var end = Math.Min(to, block + 64);
                for (var i = block; i < end; i++)
                {
                    var t = transactions[i];
                    if (string.IsNullOrEmpty(t.CustomerId))
                    {
                        errors[slice] = new EngagementValidationException($"transactions[{i}].customerId", t.CustomerId, "must not be empty");
                        return;
                    }

                    if (t.Amount < 0)
                    {
                        errors[slice] = new EngagementValidationException($"transactions[{i}].amount", t.Amount, "must not be negative (net refunds out before summarising)");
                        return;
                    }
                }

                for (var i = block; i < end; i++)
                {
                    hashes[i] = string.GetHashCode(transactions[i].CustomerId.AsSpan());
                }
            }
        });
        if (Array.Find(errors, e => e is not null) is { } firstError)
        {
            throw firstError;
        }
    }

    /// <summary>
    /// Sets <paramref name="firstOf"/>[i] to the index of the first transaction of transaction i's customer. The customers
    /// are split by the top bits of their hash into partitions, one open-addressing table each, so the partitions run in
    /// parallel without sharing anything.
    /// </summary>
    private static void FindFirstTransactions<TSource>(TSource transactions, int[] hashes, int[] firstOf, int slices)
        where TSource : struct, ITransactionSource
    {
        var bits = slices == 1 ? 0 : BitOperations.Log2(BitOperations.RoundUpToPowerOf2((uint)slices * 2));
        ClvParallel.For(0, 1 << bits, partition =>
        {
            var n = hashes.Length;
            var slots = new CustomerSlot[1 << 10];
            var used = 0;
            for (var i = 0; i < n; i++)
            {
                var hash = hashes[i];
                if (bits > 0 && (int)((uint)hash >> (32 - bits)) != partition)
                {
                    continue;
                }

                var id = transactions[i].CustomerId;
                var mask = slots.Length - 1;
                for (var s = hash & mask; ; s = (s + 1) & mask)
                {
                    ref var slot = ref slots[s];
                    if (slot.CustomerId is null)
                    {
                        slot = new CustomerSlot(hash, i, id);
                        firstOf[i] = i;
                        if (++used * 2 > slots.Length)
                        {
                            slots = Grow(slots);
                        }

                        break;
                    }

                    if (slot.Hash == hash && string.Equals(slot.CustomerId, id, StringComparison.Ordinal))
                    {
                        firstOf[i] = slot.FirstTransaction;
                        break;
                    }
                }
            }
        }, slices);

        static CustomerSlot[] Grow(CustomerSlot[] slots)
        {
            var grown = new CustomerSlot[slots.Length * 2];
            var mask = grown.Length - 1;
            foreach (var slot in slots)
            {
                if (slot.CustomerId is null)
                {
                    continue;
                }

                var s = slot.Hash & mask;
                while (grown[s].CustomerId is not null)
                {
                    s = (s + 1) & mask;
                }

                grown[s] = slot;
            }

            return grown;
        }
    }

    /// <summary>Runs <paramref name="body"/> over <paramref name="slices"/> consecutive ranges of [0, <paramref name="n"/>), in parallel when there are several.</summary>
    private static void ForEachSlice(int n, int slices, Action<int, int, int> body)
    {
        if (slices == 1)
        {
            body(0, 0, n);
            return;
        }

        ClvParallel.For(0, slices, slice => body(slice, (int)((long)n * slice / slices), (int)((long)n * (slice + 1) / slices)), slices);
    }

    /// <summary>Sorts a customer's purchases by day: insertion sort for the usual handful, introsort beyond.</summary>
    private static void SortByDay(Span<DayAmount> purchases)
    {
        if (purchases.Length > 32)
        {
            purchases.Sort(static (a, b) => a.Day.CompareTo(b.Day));
            return;
        }

        for (var i = 1; i < purchases.Length; i++)
        {
            var purchase = purchases[i];
            var j = i - 1;
            while (j >= 0 && purchases[j].Day > purchase.Day)
            {
                purchases[j + 1] = purchases[j];
                j--;
            }

            purchases[j + 1] = purchase;
        }
    }

    private static double Convert(int days, TimeUnit unit) => unit == TimeUnit.Weeks ? days / 7.0 : days;

    private readonly record struct DayAmount(int Day, decimal Amount);

    /// <summary>Counts per day backwards from the last day (index 0), growing as earlier days come: one per slice, merged at the end.</summary>
    private sealed class DayCounts(int lastDay)
    {
        private int[] _counts = new int[512];

        public void Add(int day)
        {
            var index = lastDay - day;
            if (index >= _counts.Length)
            {
                Array.Resize(ref _counts, Math.Max(_counts.Length * 2, index + 1));
            }

            _counts[index]++;
        }

        /// <summary>The slices' counts summed, for the days from <paramref name="fromDay"/> to <paramref name="toDay"/> (every slice's last day) in calendar order.</summary>
        public static ImmutableArray<int> Merge(DayCounts?[] slices, int fromDay, int toDay)
        {
            var result = new int[toDay - fromDay + 1];
            foreach (var slice in slices)
            {
                if (slice is null)
                {
                    continue;
                }

                var n = Math.Min(slice._counts.Length, result.Length);
                for (var i = 0; i < n; i++)
                {
                    result[result.Length - 1 - i] += slice._counts[i];
                }
            }

            return ImmutableCollectionsMarshal.AsImmutableArray(result);
        }
    }

    private readonly record struct CustomerSlot(int Hash, int FirstTransaction, string CustomerId);

    /// <summary>Read access to the transactions; a struct per source, so that arrays are read without interface calls.</summary>
    private interface ITransactionSource
    {
        int Count { get; }

        Transaction this[int index] { get; }
    }

    private readonly struct ArraySource(Transaction[] transactions) : ITransactionSource
    {
        public int Count => transactions.Length;

        public Transaction this[int index] => transactions[index];
    }

    private readonly struct ListSource(IReadOnlyList<Transaction> transactions) : ITransactionSource
    {
        public int Count => transactions.Count;

        public Transaction this[int index] => transactions[index];
    }
}

/// <summary>
/// Model input: rows of (x, tₓ, T) with weights (a row may stand for many customers). Identical rows are merged, so large
/// populations with repeated patterns fit fast.
/// </summary>
public sealed class RfmData
{
    internal RfmData(double[] x, double[] tx, double[] t, double[] weight)
    {
        X = x;
        Tx = tx;
        T = t;
        Weight = weight;
        foreach (var w in weight)
        {
            TotalWeight += w;
        }

        XInt = new int[x.Length];
        for (var i = 0; i < x.Length; i++)
        {
            XInt[i] = (int)x[i];
            MaxX = Math.Max(MaxX, XInt[i]);
        }

        (DistinctT, TIndex) = Index(t);
        (DistinctTx, TxIndex) = Index(tx);
        (PairXT, PairXTIndex) = Pairs(XInt, TIndex);
        (PairXTx, PairXTxIndex) = Pairs(XInt, TxIndex);
    }

    /// <summary>The same rows with other weights (0 allowed), sharing every table: a resample that costs only its weights.</summary>
    private RfmData(RfmData rows, double[] weight)
    {
        (X, Tx, T, XInt, MaxX) = (rows.X, rows.Tx, rows.T, rows.XInt, rows.MaxX);
        (DistinctT, TIndex, DistinctTx, TxIndex) = (rows.DistinctT, rows.TIndex, rows.DistinctTx, rows.TxIndex);
        (PairXT, PairXTIndex, PairXTx, PairXTxIndex) = (rows.PairXT, rows.PairXTIndex, rows.PairXTx, rows.PairXTxIndex);
        Weight = weight;
        foreach (var w in weight)
        {
            TotalWeight += w;
        }
    }

    internal int[] XInt { get; }

    internal int MaxX { get; }

    /// <summary>The distinct values of T, and each row's index into them.</summary>
    internal double[] DistinctT { get; }

    internal int[] TIndex { get; }

    /// <summary>The distinct values of tₓ, and each row's index into them.</summary>
    internal double[] DistinctTx { get; }

    internal int[] TxIndex { get; }

    /// <summary>The distinct (x, T) pairs (as x and index into <see cref="DistinctT"/>), and each row's index into them.</summary>
    internal (int X, int Y)[] PairXT { get; }

    internal int[] PairXTIndex { get; }

    /// <summary>The distinct (x, tₓ) pairs, and each row's index into them.</summary>
    internal (int X, int Y)[] PairXTx { get; }

    internal int[] PairXTxIndex { get; }

    private static (double[] Distinct, int[] Index) Index(double[] values)
    {
        var distinct = values.Distinct().Order().ToArray();
        var position = new Dictionary<double, int>(distinct.Length);
        for (var i = 0; i < distinct.Length; i++)
        {
            position[distinct[i]] = i;
        }

        return (distinct, values.Select(v => position[v]).ToArray());
    }

    private static ((int, int)[] Pairs, int[] Index) Pairs(int[] x, int[] y)
    {
        var position = new Dictionary<(int, int), int>();
        var pairs = new List<(int, int)>();
        var index = new int[x.Length];
        for (var i = 0; i < x.Length; i++)
        {
            var key = (x[i], y[i]);
            if (!position.TryGetValue(key, out var p))
            {
                p = pairs.Count;
                position.Add(key, p);
                pairs.Add(key);
            }

            index[i] = p;
        }

        return ([.. pairs], index);
    }

    internal double[] X { get; }

    internal double[] Tx { get; }

    internal double[] T { get; }

    internal double[] Weight { get; }

    /// <summary>The number of distinct rows.</summary>
    public int Rows => X.Length;

    /// <summary>The number of customers (Σ weights).</summary>
    public double TotalWeight { get; }

    /// <summary>The weighted mean age T.</summary>
    internal double MeanAge
    {
        get
        {
            var sum = 0.0;
            for (var i = 0; i < T.Length; i++)
            {
                sum += T[i] * Weight[i];
            }

            return sum / TotalWeight;
        }
    }

    /// <summary>Builds model input from (x, tₓ, T, weight) rows, validating each and merging identical ones.</summary>
    /// <param name="rows">The rows.</param>
    /// <returns>The data.</returns>
    /// <exception cref="EngagementValidationException">A row breaks a rule (negative or non-integer x, tₓ outside [0, T], non-positive weight, NaN).</exception>
    public static RfmData Create(IEnumerable<(double X, double Tx, double T, double Weight)> rows)
    {
        ArgumentNullException.ThrowIfNull(rows);
        var merged = new Dictionary<(double, double, double), double>();
        var i = 0;
        foreach (var (x, tx, t, w) in rows)
        {
            var at = $"rows[{i++}]";
            if (!(x >= 0) || x != Math.Floor(x) || double.IsInfinity(x))
            {
                throw new EngagementValidationException(at + ".x", x, "must be a whole number of repeat transactions, at least 0");
            }

            if (!(t >= 0) || double.IsInfinity(t))
            {
                throw new EngagementValidationException(at + ".T", t, "must be a finite age, at least 0");
            }

            if (!(tx >= 0) || tx > t)
            {
                throw new EngagementValidationException(at + ".t_x", tx, $"must be in [0, T = {t}]");
            }

            if (x == 0 && tx != 0)
            {
                throw new EngagementValidationException(at + ".t_x", tx, "must be 0 when there are no repeat transactions");
            }

            if (!(w > 0) || double.IsInfinity(w))
            {
                throw new EngagementValidationException(at + ".weight", w, "must be a positive number of customers");
            }

            merged[(x, tx, t)] = merged.GetValueOrDefault((x, tx, t)) + w;
        }

        var keys = merged.Keys.OrderBy(k => k.Item1).ThenBy(k => k.Item2).ThenBy(k => k.Item3).ToArray();
        return new RfmData(
            [.. keys.Select(k => k.Item1)],
            [.. keys.Select(k => k.Item2)],
            [.. keys.Select(k => k.Item3)],
            [.. keys.Select(k => merged[k])]);
    }

    /// <summary>The same rows with other weights (rows of weight 0 left out): a resample of the customers.</summary>
    internal RfmData WithWeights(double[] weights)
    {
        var keep = Enumerable.Range(0, X.Length).Where(i => weights[i] > 0).ToArray();
        return new RfmData([.. keep.Select(i => X[i])], [.. keep.Select(i => Tx[i])], [.. keep.Select(i => T[i])], [.. keep.Select(i => weights[i])]);
    }

    /// <summary>The same rows with other weights, one per row (0 for a row no customer of a resample fell on), sharing the tables.</summary>
    internal RfmData Reweighted(double[] weights) => new(this, weights);

    /// <summary>Builds model input from customer summaries.</summary>
    /// <param name="customers">The customers.</param>
    /// <returns>The data.</returns>
    public static RfmData FromCustomers(IEnumerable<CustomerRfm> customers)
    {
        ArgumentNullException.ThrowIfNull(customers);
        return Create(customers.Select(c => ((double)c.Frequency, c.Recency, c.Age, 1.0)));
    }

    internal void RequireFittable(string model)
    {
        if (X.Length == 0)
        {
            throw new ClvModelException($"{model} cannot be fitted to no customers.");
        }

        if (TotalWeight < 2)
        {
            throw new ClvModelException($"{model} cannot be fitted to one customer: the population's heterogeneity is not identified.");
        }

        if (X.All(x => x == 0))
        {
            throw new ClvModelException($"{model} cannot be fitted when no customer made a repeat purchase: the purchase rate is not identified (the likelihood grows without bound as it goes to zero).");
        }

        if (T.All(t => t == 0))
        {
            throw new ClvModelException($"{model} cannot be fitted when every customer's age T is 0: nobody has been observed for any time.");
        }
    }
}
