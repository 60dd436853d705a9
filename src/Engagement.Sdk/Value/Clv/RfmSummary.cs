using System.Collections.Immutable;

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
public sealed record CustomerRfm(string CustomerId, int Frequency, double Recency, double Age, decimal MeanRepeatSpend, int HoldoutFrequency, DateOnly FirstPurchase);

/// <summary>
/// Per-customer (x, tₓ, T, mean repeat spend) for a calibration end, and holdout counts, built from transactions with the
/// convention of the published CLV literature: a customer's purchases on one calendar day are one transaction (amounts
/// summed); the calibration end is inclusive; customers whose first purchase is after it are left out.
/// </summary>
public sealed class RfmSummary
{
    private RfmSummary(ImmutableArray<CustomerRfm> customers, DateOnly calibrationEnd, DateOnly? holdoutEnd, TimeUnit unit)
    {
        Customers = customers;
        CalibrationEnd = calibrationEnd;
        HoldoutEnd = holdoutEnd;
        Unit = unit;
        foreach (var c in customers)
        {
            RepeatTransactions += c.Frequency;
            HoldoutTransactions += c.HoldoutFrequency;
        }
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

        // Customers become dense indices in order of first appearance; a counting sort groups each customer's
        // transactions in O(n), and only each customer's few transactions are sorted by day.
        var customerOf = new int[transactions.Count];
        var names = MapCustomers(transactions, customerOf);
        var start = new int[names.Count + 1];
        foreach (var c in customerOf)
        {
            start[c + 1]++;
        }

        for (var c = 0; c < names.Count; c++)
        {
            start[c + 1] += start[c];
        }

        // Group days and amounts by customer (sequential reads, scattered writes), so the next pass reads sequentially.
        var groupedDays = new int[transactions.Count];
        var groupedAmounts = new decimal[transactions.Count];
        var next = (int[])start.Clone();
        for (var i = 0; i < customerOf.Length; i++)
        {
            var at = next[customerOf[i]]++;
            var t = transactions[i];
            groupedDays[at] = t.Date.DayNumber;
            groupedAmounts[at] = t.Amount;
        }

        var calibrationDay = calibrationEnd.DayNumber;
        var holdoutDay = holdoutEnd?.DayNumber ?? calibrationDay;
        var summaries = new CustomerRfm?[names.Count];
        void Summarise(int c)
        {
            var count = start[c + 1] - start[c];
            var days = groupedDays.AsSpan(start[c], count);
            var amounts = groupedAmounts.AsSpan(start[c], count);
            SortByDay(days, amounts);
            var first = days[0];
            if (first > calibrationDay)
            {
                return;
            }

            var x = -1;
            var last = first;
            var holdout = 0;
            decimal repeatSpend = 0;
            for (var k = 0; k < count;)
            {
                var day = days[k];
                decimal dayAmount = 0;
                while (k < count && days[k] == day)
                {
                    dayAmount += amounts[k];
                    k++;
                }

                if (day <= calibrationDay)
                {
                    x++;
                    last = day;
                    if (x > 0)
                    {
                        repeatSpend += dayAmount;
                    }
                }
                else if (day <= holdoutDay)
                {
                    holdout++;
                }
            }

            summaries[c] = new CustomerRfm(
                names[c],
                x,
                x == 0 ? 0 : Convert(last - first, unit),
                Convert(calibrationDay - first, unit),
                x == 0 ? 0 : repeatSpend / x,
                holdout,
                DateOnly.FromDayNumber(first));
        }

        if (names.Count > 50_000)
        {
            Parallel.For(0, names.Count, Summarise);
        }
        else
        {
            for (var c = 0; c < names.Count; c++)
            {
                Summarise(c);
            }
        }

        var customers = ImmutableArray.CreateBuilder<CustomerRfm>(names.Count);
        foreach (var summary in summaries)
        {
            if (summary is not null)
            {
                customers.Add(summary);
            }
        }

        var result = customers.ToImmutable();
        return new RfmSummary(result, calibrationEnd, holdoutEnd, unit);
    }

    /// <summary>The calibration data as weighted model input.</summary>
    /// <returns>The data.</returns>
    public RfmData ToData() => RfmData.FromCustomers(Customers);

    /// <summary>
    /// Validates the transactions and numbers the customers densely in order of first
    /// appearance. Large inputs are split into consecutive slices mapped in parallel, each with its own dictionary; the
    /// slices' customers are then numbered in slice order, which is the order of first appearance over the whole input.
    /// </summary>
    private static List<string> MapCustomers(IReadOnlyList<Transaction> transactions, int[] customerOf)
    {
        var n = transactions.Count;
        var slices = n >= 1_000_000 ? Math.Min(Environment.ProcessorCount, 8) : 1;
        var local = new (Dictionary<string, int> Index, List<string> Names)[slices];
        void MapSlice(int slice)
        {
            var (from, to) = ((int)((long)n * slice / slices), (int)((long)n * (slice + 1) / slices));
            var index = new Dictionary<string, int>(StringComparer.Ordinal);
            var names = new List<string>();
            for (var i = from; i < to; i++)
            {
                var t = transactions[i];
                if (string.IsNullOrEmpty(t.CustomerId))
                {
                    throw new EngagementValidationException($"transactions[{i}].customerId", t.CustomerId, "must not be empty");
                }

                if (t.Amount < 0)
                {
                    throw new EngagementValidationException($"transactions[{i}].amount", t.Amount, "must not be negative (net refunds out before summarising)");
                }

                ref var slot = ref System.Runtime.InteropServices.CollectionsMarshal.GetValueRefOrAddDefault(index, t.CustomerId, out var exists);
                if (!exists)
                {
                    slot = names.Count;
                    names.Add(t.CustomerId);
                }

                customerOf[i] = slot;
            }

            local[slice] = (index, names);
        }

        if (slices == 1)
        {
            MapSlice(0);
            return local[0].Names;
        }

        // Each slice stops at its first bad transaction; the lowest slice's error is the first in the input, as a sequential
        // pass would report it.
        var errors = new EngagementValidationException?[slices];
        Parallel.For(0, slices, slice =>
        {
            try
            {
                MapSlice(slice);
            }
            catch (EngagementValidationException e)
            {
                errors[slice] = e;
            }
        });
        if (errors.FirstOrDefault(e => e is not null) is { } first)
        {
            throw first;
        }

        var (global, all) = local[0];
        for (var slice = 1; slice < slices; slice++)
        {
            var (_, sliceNames) = local[slice];
            var remap = new int[sliceNames.Count];
            for (var k = 0; k < sliceNames.Count; k++)
            {
                ref var slot = ref System.Runtime.InteropServices.CollectionsMarshal.GetValueRefOrAddDefault(global, sliceNames[k], out var exists);
                if (!exists)
                {
                    slot = all.Count;
                    all.Add(sliceNames[k]);
                }

                remap[k] = slot;
            }

            var (from, to) = ((int)((long)n * slice / slices), (int)((long)n * (slice + 1) / slices));
            for (var i = from; i < to; i++)
            {
                customerOf[i] = remap[customerOf[i]];
            }
        }

        return all;
    }

    /// <summary>Sorts a customer's purchases by day: insertion sort for the usual handful, introsort beyond.</summary>
    private static void SortByDay(Span<int> days, Span<decimal> amounts)
    {
        if (days.Length > 32)
        {
            days.Sort(amounts);
            return;
        }

        for (var i = 1; i < days.Length; i++)
        {
            var day = days[i];
            var amount = amounts[i];
            var j = i - 1;
            while (j >= 0 && days[j] > day)
            {
                days[j + 1] = days[j];
                amounts[j + 1] = amounts[j];
                j--;
            }

            days[j + 1] = day;
            amounts[j + 1] = amount;
        }
    }

    private static double Convert(int days, TimeUnit unit) => unit == TimeUnit.Weeks ? days / 7.0 : days;
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
