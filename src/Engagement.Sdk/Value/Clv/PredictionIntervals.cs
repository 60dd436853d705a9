using System.Runtime.Intrinsics;

namespace Engagement.Sdk.Value.Clv;

/// <summary>
/// Per-customer intervals for the predictions of a transaction model, from <see cref="ParameterDraws"/>: each customer's
/// prediction is computed under every parameter draw, and the interval is the central <c>level</c> share of those values
/// (equal tails, quantiles interpolated between order statistics). They express the uncertainty of the estimates, not the
/// randomness of the customer's future behaviour. For BG/NBD, MBG/NBD and Pareto/NBD.
/// <para>
/// Everything that depends on (x, T) only is computed once per distinct pair and draw, laid out so that a customer's values
/// under all draws are adjacent in memory; distinct histories are then processed in parallel chunks, each with one
/// exponential per draw. <see cref="Prepare"/> keeps that work for several kinds of intervals of the same customers. A
/// million customers with 200 draws take a few seconds (see the benchmarks).
/// </para>
/// </summary>
public static partial class PredictionIntervals
{
    private const int Chunk = 8_192;

    /// <summary>Intervals for P(alive | x, tₓ, T).</summary>
    /// <param name="model">The fitted model (BG/NBD, MBG/NBD or Pareto/NBD): its kind is used with each draw.</param>
    /// <param name="draws">Draws of the model's parameters.</param>
    /// <param name="x">Repeat transactions per customer.</param>
    /// <param name="tx">Recency per customer.</param>
    /// <param name="age">Age T per customer.</param>
    /// <param name="level">The probability the interval holds, strictly between 0 and 1.</param>
    /// <param name="lower">Receives the lower bounds.</param>
    /// <param name="upper">Receives the upper bounds.</param>
    /// <exception cref="EngagementValidationException">An input breaks its rule; the exception names it.</exception>
    public static void ProbabilityAlive(ITransactionModel model, ParameterDraws draws, ReadOnlySpan<double> x, ReadOnlySpan<double> tx, ReadOnlySpan<double> age, double level, Span<double> lower, Span<double> upper)
    {
        PredictionInputs.Level(level);
        Prepare(model, draws, x, tx, age).ProbabilityAlive(level, lower, upper);
    }

    /// <summary>Intervals for E[Y(t) | x, tₓ, T], the expected transactions in the next t.</summary>
    /// <param name="model">The fitted model (BG/NBD, MBG/NBD or Pareto/NBD).</param>
    /// <param name="draws">Draws of the model's parameters.</param>
    /// <param name="t">The horizon, at least 0 (+∞ allowed).</param>
    /// <param name="x">Repeat transactions per customer.</param>
    /// <param name="tx">Recency per customer.</param>
    /// <param name="age">Age T per customer.</param>
    /// <param name="level">The probability the interval holds, strictly between 0 and 1.</param>
    /// <param name="lower">Receives the lower bounds.</param>
    /// <param name="upper">Receives the upper bounds.</param>
    /// <exception cref="EngagementValidationException">An input breaks its rule; the exception names it.</exception>
    public static void ConditionalExpectedTransactions(ITransactionModel model, ParameterDraws draws, double t, ReadOnlySpan<double> x, ReadOnlySpan<double> tx, ReadOnlySpan<double> age, double level, Span<double> lower, Span<double> upper)
    {
        PredictionInputs.Horizon(t);
        PredictionInputs.Level(level);
        Prepare(model, draws, x, tx, age).ConditionalExpectedTransactions(t, level, lower, upper);
    }

    /// <summary>Intervals for DERT at continuous discount rate δ per time unit.</summary>
    /// <param name="model">The fitted model (BG/NBD, MBG/NBD or Pareto/NBD).</param>
    /// <param name="draws">Draws of the model's parameters.</param>
    /// <param name="discountRate">δ per time unit, at least 0 and finite.</param>
    /// <param name="x">Repeat transactions per customer.</param>
    /// <param name="tx">Recency per customer.</param>
    /// <param name="age">Age T per customer.</param>
    /// <param name="level">The probability the interval holds, strictly between 0 and 1.</param>
    /// <param name="lower">Receives the lower bounds.</param>
    /// <param name="upper">Receives the upper bounds.</param>
    /// <exception cref="EngagementValidationException">An input breaks its rule; the exception names it.</exception>
    public static void DiscountedExpectedTransactions(ITransactionModel model, ParameterDraws draws, double discountRate, ReadOnlySpan<double> x, ReadOnlySpan<double> tx, ReadOnlySpan<double> age, double level, Span<double> lower, Span<double> upper)
    {
        PredictionInputs.DiscountRate(discountRate);
        PredictionInputs.Level(level);
        Prepare(model, draws, x, tx, age).DiscountedExpectedTransactions(discountRate, level, lower, upper);
    }

    /// <summary>
    /// Intervals for the continuous-time residual lifetime value, margin · E[M | x, m̄] · DERT(δ), with the transaction
    /// model's and the spend model's draws paired by index (they come from separate fits, so independent draws).
    /// </summary>
    /// <param name="model">The fitted transaction model (BG/NBD, MBG/NBD or Pareto/NBD).</param>
    /// <param name="draws">Draws of its parameters.</param>
    /// <param name="spendDraws">Draws of the Gamma-Gamma parameters (p, q, γ), as many as <paramref name="draws"/>.</param>
    /// <param name="discountRate">δ per time unit, greater than 0 and finite.</param>
    /// <param name="margin">The margin as a fraction of spend, in [0, 1].</param>
    /// <param name="x">Repeat transactions per customer.</param>
    /// <param name="tx">Recency per customer.</param>
    /// <param name="age">Age T per customer.</param>
    /// <param name="meanSpend">The mean repeat spend per customer (0 when x = 0).</param>
    /// <param name="level">The probability the interval holds, strictly between 0 and 1.</param>
    /// <param name="lower">Receives the lower bounds.</param>
    /// <param name="upper">Receives the upper bounds.</param>
    /// <exception cref="EngagementValidationException">An input breaks its rule; the exception names it.</exception>
    public static void LifetimeValue(ITransactionModel model, ParameterDraws draws, ParameterDraws spendDraws, double discountRate, double margin, ReadOnlySpan<double> x, ReadOnlySpan<double> tx, ReadOnlySpan<double> age, ReadOnlySpan<double> meanSpend, double level, Span<double> lower, Span<double> upper)
    {
        ArgumentNullException.ThrowIfNull(spendDraws);
        ArgumentNullException.ThrowIfNull(draws);
        CustomerIntervals.LifetimeValueInputs(spendDraws, draws.Count, discountRate, margin, meanSpend, x.Length);
        PredictionInputs.Level(level);
        Prepare(model, draws, x, tx, age).LifetimeValueChecked(spendDraws, discountRate, margin, meanSpend, level, lower, upper);
    }

    /// <summary>
    /// Prepares intervals of several predictions for the same customers under the same draws: what depends on the histories
    /// alone — their distinct (x, tₓ, T), and per (x, T) pair and draw the lead of P(alive) (for Pareto/NBD also its
    /// hypergeometric terms) — is computed once here and shared by every interval asked of the result, and each quantity's
    /// own factor (for example DERT's, shared by the DERT and CLV intervals at one rate) once per quantity. The static
    /// methods above prepare anew on each call.
    /// </summary>
    /// <param name="model">The fitted model (BG/NBD, MBG/NBD or Pareto/NBD): its kind is used with each draw.</param>
    /// <param name="draws">Draws of the model's parameters.</param>
    /// <param name="x">Repeat transactions per customer.</param>
    /// <param name="tx">Recency per customer.</param>
    /// <param name="age">Age T per customer.</param>
    /// <returns>The prepared intervals of these customers.</returns>
    /// <exception cref="EngagementValidationException">An input breaks its rule; the exception names it.</exception>
    public static CustomerIntervals Prepare(ITransactionModel model, ParameterDraws draws, ReadOnlySpan<double> x, ReadOnlySpan<double> tx, ReadOnlySpan<double> age)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(draws);
        PredictionInputs.Histories(x, tx, age);
        if (model is not BgNbdModel and not ParetoNbdModel)
        {
            throw new EngagementValidationException(nameof(model), model.Name, "must be a BG/NBD, MBG/NBD or Pareto/NBD model");
        }

        // Customers with the same history have the same interval (the spend factor of CLV aside): computed once per history.
        var (row, xs, txs, ages) = Distinct(x, tx, age);
        Prepared prepared = model switch
        {
            BgNbdModel bg => new BgNbdPrepared(bg, draws, xs, txs, ages),
            _ => new ParetoPrepared((ParetoNbdModel)model, draws, xs, txs, ages),
        };

        return new CustomerIntervals(prepared, row, xs, draws.Count);
    }

    /// <summary>
    /// The lower and upper bounds of every distinct history (<paramref name="perCustomer"/> null) or of every customer
    /// (CLV: the history's values times each customer's spend factor, customers grouped by history so that each history's
    /// values are computed once).
    /// </summary>
    internal static void Run(Prepared prepared, int[] row, double[] xs, int draws, Quantity quantity, double argument, double level, Span<double> lower, Span<double> upper, (SpendFactor Factor, double[] MeanSpend)? perCustomer)
    {
        var numerators = prepared.Numerators(quantity, argument);
        var n = xs.Length;
        var b = draws;
        var chunks = (n + Chunk - 1) / Chunk;
        if (perCustomer is not { } spend)
        {
            var (lo, hi) = (new double[n], new double[n]);
            ClvParallel.For(0, chunks, chunk =>
            {
                var values = new double[b];
                for (var i = chunk * Chunk; i < Math.Min(n, (chunk + 1) * Chunk); i++)
                {
                    prepared.Fill(i, numerators, values);
                    (lo[i], hi[i]) = Bounds(values, level);
                }
            });

            for (var i = 0; i < row.Length; i++)
            {
                lower[i] = lo[row[i]];
                upper[i] = hi[row[i]];
            }

            return;
        }

        // Customers in order of their history (a counting sort), each history's values filled once.
        var start = new int[n + 1];
        foreach (var r in row)
        {
            start[r + 1]++;
        }

        for (var i = 0; i < n; i++)
        {
            start[i + 1] += start[i];
        }

        var order = new int[row.Length];
        var next = start[..n];
        for (var c = 0; c < row.Length; c++)
        {
            order[next[row[c]]++] = c;
        }

        var (clo, chi) = (new double[row.Length], new double[row.Length]);
        ClvParallel.For(0, chunks, chunk =>
        {
            var (values, scaled) = (new double[b], new double[b]);
            for (var i = chunk * Chunk; i < Math.Min(n, (chunk + 1) * Chunk); i++)
            {
                prepared.Fill(i, numerators, values);
                var (lastSpend, lastBounds) = (double.NaN, (Lower: 0.0, Upper: 0.0));
                for (var k = start[i]; k < start[i + 1]; k++)
                {
                    var c = order[k];
                    var m = spend.MeanSpend[c];
                    if (m != lastSpend)
                    {
                        Array.Copy(values, scaled, b);
                        spend.Factor.Apply(xs[i], m, scaled);
                        (lastSpend, lastBounds) = (m, Bounds(scaled, level));
                    }

                    (clo[c], chi[c]) = lastBounds;
                }
            }
        });

        clo.AsSpan().CopyTo(lower);
        chi.AsSpan().CopyTo(upper);
    }

    /// <summary>The distinct (x, tₓ, T) histories in order of first appearance, and each customer's position among them.</summary>
    private static (int[] Row, double[] X, double[] Tx, double[] Age) Distinct(ReadOnlySpan<double> x, ReadOnlySpan<double> tx, ReadOnlySpan<double> age)
    {
        var n = x.Length;
        var row = new int[n];
        var positions = new Dictionary<(double, double, double), int>(Math.Min(n, 1 << 16));
        var (dx, dtx, dage) = (new List<double>(), new List<double>(), new List<double>());
        for (var i = 0; i < n; i++)
        {
            if (!positions.TryGetValue((x[i], tx[i], age[i]), out var at))
            {
                at = dx.Count;
                positions.Add((x[i], tx[i], age[i]), at);
                dx.Add(x[i]);
                dtx.Add(tx[i]);
                dage.Add(age[i]);
            }

            row[i] = at;
        }

        return (row, [.. dx], [.. dtx], [.. dage]);
    }

    /// <summary>The (1 − level)/2 and (1 + level)/2 quantiles, interpolated between order statistics (R's type 7).</summary>
    internal static (double Lower, double Upper) Bounds(double[] values, double level)
    {
        var n = values.Length;
        var low = (n - 1) * (1 - level) / 2;
        var high = (n - 1) * (1 + level) / 2;
        var kLow = (int)Math.Floor(low);
        var kHigh = (int)Math.Floor(high);

        // Usually only a few values in each tail matter (10 of 200 for 90 %): keep the smallest and the largest in small
        // sorted buffers, one pass, instead of selecting twice.
        var smallest = Math.Min(n, kLow + 2);
        var largest = Math.Min(n, n - kHigh);
        if (smallest + largest > n / 2)
        {
            return (Quantile(values, (1 - level) / 2), Quantile(values, (1 + level) / 2));
        }

        Span<double> small = stackalloc double[smallest];
        Span<double> large = stackalloc double[largest];
        int smallCount = 0, largeCount = 0;
        foreach (var v in values)
        {
            if (smallCount < smallest || v < small[smallCount - 1])
            {
                var i = smallCount < smallest ? smallCount++ : smallest - 1;
                while (i > 0 && small[i - 1] > v)
                {
                    small[i] = small[i - 1];
                    i--;
                }

                small[i] = v;
            }

            if (largeCount < largest || v > large[largeCount - 1])
            {
                var i = largeCount < largest ? largeCount++ : largest - 1;
                while (i > 0 && large[i - 1] < v)
                {
                    large[i] = large[i - 1];
                    i--;
                }

                large[i] = v;
            }
        }

        // The k-th smallest is small[k]; the k-th smallest is also the (n − 1 − k)-th largest, large[n − 1 − k].
        var lower = kLow + 1 < n ? small[kLow] + ((low - kLow) * (small[kLow + 1] - small[kLow])) : small[kLow];
        var above = n - 1 - kHigh;
        var upper = kHigh + 1 < n ? large[above] + ((high - kHigh) * (large[above - 1] - large[above])) : large[above];
        return (lower, upper);
    }

    private static double Quantile(double[] values, double q)
    {
        var h = (values.Length - 1) * q;
        var k = (int)Math.Floor(h);
        var below = Select(values, k);
        if (k + 1 >= values.Length)
        {
            return below;
        }

        // After the selection every value past k is at least values[k]: the next order statistic is their minimum.
        var next = double.PositiveInfinity;
        for (var i = k + 1; i < values.Length; i++)
        {
            next = Math.Min(next, values[i]);
        }

        var fraction = h - k;
        return fraction == 0 ? below : below + (fraction * (next - below));
    }

    /// <summary>Rearranges <paramref name="values"/> so that values[k] is the k-th smallest, smaller ones before it and larger after (Hoare's selection).</summary>
    private static double Select(double[] values, int k)
    {
        int left = 0, right = values.Length - 1;
        while (left < right)
        {
            var pivot = values[(left + right) >>> 1];
            int i = left, j = right;
            while (i <= j)
            {
                while (values[i] < pivot)
                {
                    i++;
                }

                while (values[j] > pivot)
                {
                    j--;
                }

                if (i <= j)
                {
                    (values[i], values[j]) = (values[j], values[i]);
                    i++;
                    j--;
                }
            }

            if (k <= j)
            {
                right = j;
            }
            else if (k >= i)
            {
                left = i;
            }
            else
            {
                break;
            }
        }

        return values[k];
    }

    internal enum Quantity
    {
        ProbabilityAlive,
        Expected,
        Discounted,
    }

    internal abstract class Prepared
    {
        private readonly Dictionary<(Quantity, double), double[]> _numerators = [];

        /// <summary>The per-(x, T) pair and draw factor of a quantity (1 for P(alive)), computed once per quantity and argument.</summary>
        public double[] Numerators(Quantity quantity, double argument)
        {
            lock (_numerators)
            {
                if (!_numerators.TryGetValue((quantity, argument), out var numerators))
                {
                    numerators = ComputeNumerators(quantity, argument);
                    _numerators[(quantity, argument)] = numerators;
                }

                return numerators;
            }
        }

        /// <summary>Writes history <paramref name="customer"/>'s prediction under each draw, given the quantity's <see cref="Numerators"/>.</summary>
        public abstract void Fill(int customer, double[] numerators, double[] values);

        /// <summary>Computes a quantity's factor per (x, T) pair and draw.</summary>
        protected abstract double[] ComputeNumerators(Quantity quantity, double argument);

        protected static void RequireNames(ParameterDraws draws, params string[] names)
        {
            if (!draws.Names.SequenceEqual(names))
            {
                throw new EngagementValidationException(nameof(draws), string.Join(", ", draws.Names), "must be draws of the model's parameters (" + string.Join(", ", names) + ")");
            }
        }

        /// <summary>An infinite numerator (an infinite horizon with no finite mean lifetime) stays +∞ where P(alive) underflowed (∞/∞, ∞·0).</summary>
        protected static void Infinities(double[] values, double[] numerators, int offset)
        {
            for (var d = 0; d < values.Length; d++)
            {
                if (double.IsNaN(values[d]) && double.IsPositiveInfinity(numerators[offset + d]))
                {
                    values[d] = double.PositiveInfinity;
                }
            }
        }

        /// <summary>Numbers the distinct (x, y) pairs and returns each customer's pair.</summary>
        protected static int[] Number(PairIndex index, ReadOnlySpan<double> x, ReadOnlySpan<double> y)
        {
            var positions = new int[x.Length];
            for (var i = 0; i < x.Length; i++)
            {
                positions[i] = index.Position(x[i], y[i]);
            }

            return positions;
        }
    }

    /// <summary>BG/NBD and MBG/NBD: per (x, T) pair and draw the numerator and the log-lead of P(alive); per distinct tₓ and draw ln(α + tₓ).</summary>
    private sealed class BgNbdPrepared : Prepared
    {
        private readonly int _draws;
        private readonly double[] _x;
        private readonly int[] _pair;
        private readonly int[] _recency;
        private readonly BgNbdModel[] _models;
        private readonly IReadOnlyList<(double X, double Y)> _pairs;
        private readonly double _minAge;
        private readonly double[] _lead;
        private readonly double[]? _logAlphaTx;
        private readonly double[] _r;
        private readonly double[] _alpha;
        private readonly double[] _tx;

        public BgNbdPrepared(BgNbdModel model, ParameterDraws draws, ReadOnlySpan<double> x, ReadOnlySpan<double> tx, ReadOnlySpan<double> age)
        {
            RequireNames(draws, "r", "alpha", "a", "b");
            var b = _draws = draws.Count;
            _x = x.ToArray();
            var pairs = new PairIndex();
            _pair = Number(pairs, x, age);
            var recencies = new PairIndex();
            _recency = Number(recencies, tx, new double[tx.Length]);
            var models = _models = Enumerable.Range(0, b).Select(d => BgNbdModel.FromParameters(draws[d][0], draws[d][1], draws[d][2], draws[d][3], model.IsModified)).ToArray();
            _r = [.. models.Select(m => m.R)];
            var pairList = _pairs = pairs.Pairs;
            _lead = new double[pairList.Count * b];
            _minAge = age.Length == 0 ? 0 : pairList.Min(p => p.Y);
            var shift = model.IsModified ? 1.0 : 0.0;
            ClvParallel.For(0, b, d =>
            {
                var m = models[d];
                for (var k = 0; k < pairList.Count; k++)
                {
                    var (xi, ti) = pairList[k];
                    _lead[(k * b) + d] = model.IsModified || xi > 0 ? Math.Log(m.A) - Math.Log(m.B + xi - 1 + shift) + ((m.R + xi) * Math.Log(m.Alpha + ti)) : double.NaN;
                }
            });

            // ln(α + tₓ) per distinct tₓ and draw, unless there are so many distinct recencies (continuous times) that the
            // table would be larger than computing the logarithm per customer.
            var recencyList = recencies.Pairs;
            _alpha = [.. models.Select(m => m.Alpha)];
            _tx = tx.ToArray();
            if ((long)recencyList.Count * b <= 16_000_000)
            {
                _logAlphaTx = new double[recencyList.Count * b];
                for (var k = 0; k < recencyList.Count; k++)
                {
                    for (var d = 0; d < b; d++)
                    {
                        _logAlphaTx[(k * b) + d] = Math.Log(models[d].Alpha + recencyList[k].X);
                    }
                }
            }
        }

        /// <inheritdoc />
        protected override double[] ComputeNumerators(Quantity quantity, double argument)
        {
            var b = _draws;
            var pairList = _pairs;
            var numerator = new double[pairList.Count * b];
            ClvParallel.For(0, b, d =>
            {
                var m = _models[d];
                var discounted = quantity == Quantity.Discounted ? m.DiscountedNumerator(argument, _minAge) : null;
                for (var k = 0; k < pairList.Count; k++)
                {
                    var (xi, ti) = pairList[k];
                    numerator[(k * b) + d] = quantity switch
                    {
                        Quantity.ProbabilityAlive => 1,
                        Quantity.Expected => argument == 0 ? 0 : m.Numerator(argument, xi, ti),
                        _ => discounted!(xi, ti),
                    };
                }
            });

            return numerator;
        }

        public override void Fill(int customer, double[] numerators, double[] values)
        {
            var b = _draws;
            var pair = _pair[customer] * b;
            var x = _x[customer];
            if (double.IsNaN(_lead[pair]))
            {
                // A BG/NBD customer without repeat purchases is alive under every draw.
                Array.Copy(numerators, pair, values, 0, b);
                return;
            }

            var logAlphaTx = _logAlphaTx;
            if (logAlphaTx is null)
            {
                logAlphaTx = new double[b];
                for (var d = 0; d < b; d++)
                {
                    logAlphaTx[d] = Math.Log(_alpha[d] + _tx[customer]);
                }
            }

            var recency = _logAlphaTx is null ? 0 : _recency[customer] * b;
            var d0 = 0;
            if (Vector256.IsHardwareAccelerated)
            {
                var vx = Vector256.Create(x);
                for (; d0 + 4 <= b; d0 += 4)
                {
                    var exponent = Vector256.LoadUnsafe(ref _lead[pair + d0]) - ((Vector256.LoadUnsafe(ref _r[d0]) + vx) * Vector256.LoadUnsafe(ref logAlphaTx[recency + d0]));
                    var alive = Vector256<double>.One + Vector256.Exp(exponent);
                    (Vector256.LoadUnsafe(ref numerators[pair + d0]) / alive).StoreUnsafe(ref values[d0]);
                }
            }

            for (var d = d0; d < b; d++)
            {
                values[d] = numerators[pair + d] / (1 + Math.Exp(_lead[pair + d] - ((_r[d] + x) * logAlphaTx[recency + d])));
            }

            Infinities(values, numerators, pair);
        }
    }

    /// <summary>Pareto/NBD: per (x, y) pair and draw the hypergeometric term; per (x, T) pair and draw the lead of P(alive) and the scale.</summary>
    private sealed class ParetoPrepared : Prepared
    {
        private readonly int _draws;
        private readonly int[] _pairT;
        private readonly int[] _pairTx;
        private readonly double[] _term;
        private readonly double[] _lead;
        private readonly double[] _leadTerm;
        private readonly ParetoNbdModel[] _models;
        private readonly IReadOnlyList<(double X, double Y)> _pairs;
        private readonly bool[] _isT;

        public ParetoPrepared(ParetoNbdModel model, ParameterDraws draws, ReadOnlySpan<double> x, ReadOnlySpan<double> tx, ReadOnlySpan<double> age)
        {
            RequireNames(draws, "r", "alpha", "s", "beta");
            var b = _draws = draws.Count;
            var pairs = new PairIndex();
            _pairT = Number(pairs, x, age);
            _pairTx = Number(pairs, x, tx);
            var isT = _isT = new bool[pairs.Pairs.Count];
            foreach (var p in _pairT)
            {
                isT[p] = true;
            }

            var models = _models = Enumerable.Range(0, b).Select(d => ParetoNbdModel.FromParameters(draws[d][0], draws[d][1], draws[d][2], draws[d][3])).ToArray();
            var pairList = _pairs = pairs.Pairs;
            _term = new double[pairList.Count * b];
            _lead = new double[pairList.Count * b];
            _leadTerm = new double[pairList.Count * b];
            ClvParallel.For(0, b, d =>
            {
                var m = models[d];
                for (var k = 0; k < pairList.Count; k++)
                {
                    var (xi, y) = pairList[k];
                    var rsx = m.R + m.S + xi;
                    _term[(k * b) + d] = m.Alpha >= m.Beta
                        ? SpecialFunctions.LogHypergeometric2F1Value(rsx, m.S + 1, rsx + 1, (m.Alpha - m.Beta) / (m.Alpha + y)) - (rsx * Math.Log(m.Alpha + y))
                        : SpecialFunctions.LogHypergeometric2F1Value(rsx, m.R + xi, rsx + 1, (m.Beta - m.Alpha) / (m.Beta + y)) - (rsx * Math.Log(m.Beta + y));
                    if (!isT[k])
                    {
                        continue;
                    }

                    _lead[(k * b) + d] = Math.Log(m.S) - Math.Log(rsx) + ((m.R + xi) * Math.Log(m.Alpha + y)) + (m.S * Math.Log(m.Beta + y));
                    _leadTerm[(k * b) + d] = Math.Exp(_lead[(k * b) + d] + _term[(k * b) + d]);
                }
            });
        }

        /// <inheritdoc />
        protected override double[] ComputeNumerators(Quantity quantity, double argument)
        {
            var b = _draws;
            var pairList = _pairs;
            var scale = new double[pairList.Count * b];
            ClvParallel.For(0, b, d =>
            {
                var m = _models[d];
                var byAge = new Dictionary<double, double>();
                for (var k = 0; k < pairList.Count; k++)
                {
                    if (!_isT[k])
                    {
                        continue;
                    }

                    var (xi, y) = pairList[k];
                    scale[(k * b) + d] = quantity switch
                    {
                        Quantity.ProbabilityAlive => 1,
                        Quantity.Expected => argument == 0 ? 0 : m.AliveExpectation(argument, xi, y),
                        _ => (m.R + xi) / (m.Alpha + y) * (byAge.TryGetValue(y, out var h) ? h : byAge[y] = m.DiscountedAliveExpectation(argument, 0, y) * (m.Alpha + y) / m.R),
                    };
                }
            });

            return scale;
        }

        public override void Fill(int customer, double[] scale, double[] values)
        {
            var b = _draws;
            var t = _pairT[customer] * b;
            var tx = _pairTx[customer] * b;
            if (t == tx)
            {
                // tₓ = T makes A₀ = 0 (the same term twice), so P(alive) = 1.
                Array.Copy(scale, t, values, 0, b);
                return;
            }

            // 1/P(alive) = 1 + e^(lead + ln A₀) = 1 + e^(lead + term(tₓ)) − e^(lead + term(T)), the second exponential per pair
            // and draw. The difference loses digits only when the two terms are close (tₓ near T): there the exact
            // log-difference is used.
            var d0 = 0;
            if (Vector256.IsHardwareAccelerated)
            {
                var close = Vector256.Create(1e-3);
                for (; d0 + 4 <= b; d0 += 4)
                {
                    var termTx = Vector256.LoadUnsafe(ref _term[tx + d0]);
                    var termT = Vector256.LoadUnsafe(ref _term[t + d0]);
                    if (Vector256.LessThanAny(termTx - termT, close))
                    {
                        break;
                    }

                    var inverse = Vector256<double>.One + Vector256.Exp(Vector256.LoadUnsafe(ref _lead[t + d0]) + termTx) - Vector256.LoadUnsafe(ref _leadTerm[t + d0]);
                    (Vector256.LoadUnsafe(ref scale[t + d0]) / inverse).StoreUnsafe(ref values[d0]);
                }
            }

            for (var d = d0; d < b; d++)
            {
                var (termTx, termT) = (_term[tx + d], _term[t + d]);
                var inverse = termTx - termT < 1e-3
                    ? 1 + Math.Exp(_lead[t + d] + SpecialFunctions.LogDiffExp(termTx, termT))
                    : 1 + Math.Exp(_lead[t + d] + termTx) - _leadTerm[t + d];
                values[d] = scale[t + d] / inverse;
            }

            Infinities(values, scale, t);
        }
    }

    /// <summary>Multiplies each draw's DERT by margin · E[M | x, m̄] under the paired Gamma-Gamma draw.</summary>
    internal sealed class SpendFactor
    {
        private readonly double[] _p;
        private readonly double[] _q;
        private readonly double[] _gamma;
        private readonly double _margin;

        public SpendFactor(ParameterDraws draws, double margin)
        {
            (_p, _q, _gamma) = (new double[draws.Count], new double[draws.Count], new double[draws.Count]);
            for (var d = 0; d < draws.Count; d++)
            {
                (_p[d], _q[d], _gamma[d]) = (draws[d][0], draws[d][1], draws[d][2]);
            }

            _margin = margin;
        }

        public void Apply(double x, double meanSpend, double[] values)
        {
            for (var d = 0; d < values.Length; d++)
            {
                var px = _p[d] * x;
                var denominator = px + _q[d] - 1;
                var spend = denominator > 0 ? ((_p[d] * _gamma[d]) + (px * meanSpend)) / denominator : double.PositiveInfinity;
                values[d] *= _margin * spend;
            }
        }
    }
}
