using System.Runtime.Intrinsics;
using System.Globalization;

namespace Engagement.Sdk.Value.Clv;

/// <summary>
/// Per-customer intervals for the predictions of a transaction model, from <see cref="ParameterDraws"/>: each customer's
/// prediction is computed under every parameter draw, and the interval is the central <c>level</c> share of those values
/// (equal tails, quantiles interpolated between order statistics). They express the uncertainty of the estimates, not the
/// randomness of the customer's future behaviour. For BG/NBD, MBG/NBD and Pareto/NBD.
/// <para>
/// Everything that depends on (x, T) only is computed once per distinct pair and draw, laid out so that a customer's values
/// under all draws are adjacent in memory; customers are then processed in parallel chunks, each with one exponential per
/// draw. A million customers with 200 draws take a few seconds (see the benchmarks).
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
        => Run(model, draws, Quantity.ProbabilityAlive, 0, x, tx, age, level, lower, upper, null);

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
        Run(model, draws, Quantity.Expected, t, x, tx, age, level, lower, upper, null);
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
        Run(model, draws, Quantity.Discounted, discountRate, x, tx, age, level, lower, upper, null);
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
        if (!(discountRate > 0) || double.IsInfinity(discountRate))
        {
            throw new EngagementValidationException(nameof(discountRate), discountRate, "must be a continuous discount rate per time unit, greater than 0 and finite");
        }

        if (!(margin >= 0 && margin <= 1))
        {
            throw new EngagementValidationException(nameof(margin), margin, "must be a fraction between 0 and 1");
        }

        if (!spendDraws.Names.SequenceEqual(["p", "q", "gamma"]) || spendDraws.Count != draws.Count)
        {
            throw new EngagementValidationException(nameof(spendDraws), string.Join(", ", spendDraws.Names), "must be " + draws.Count.ToString(CultureInfo.InvariantCulture) + " draws of the Gamma-Gamma parameters (p, q, gamma)");
        }

        if (meanSpend.Length != x.Length)
        {
            throw new EngagementValidationException(nameof(meanSpend), meanSpend.Length, "must hold one mean spend per customer");
        }

        for (var i = 0; i < meanSpend.Length; i++)
        {
            if (!(meanSpend[i] >= 0) || double.IsInfinity(meanSpend[i]))
            {
                throw new EngagementValidationException($"meanSpend[{i}]", meanSpend[i], "must be a finite mean spend, at least 0");
            }
        }

        Run(model, draws, Quantity.Discounted, discountRate, x, tx, age, level, lower, upper, new Spend(spendDraws, meanSpend.ToArray(), margin));
    }

    private static void Run(ITransactionModel model, ParameterDraws draws, Quantity quantity, double argument, ReadOnlySpan<double> x, ReadOnlySpan<double> tx, ReadOnlySpan<double> age, double level, Span<double> lower, Span<double> upper, Spend? spend)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(draws);
        PredictionInputs.Level(level);
        PredictionInputs.Batch(x, tx, age, lower);
        if (upper.Length < x.Length)
        {
            throw new EngagementValidationException(nameof(upper), upper.Length, "must hold one value per customer");
        }

        if (model is not BgNbdModel and not ParetoNbdModel)
        {
            throw new EngagementValidationException(nameof(model), model.Name, "must be a BG/NBD, MBG/NBD or Pareto/NBD model");
        }

        // Customers with the same history (and mean spend) have the same interval: compute it once per distinct history.
        var (row, xs, txs, ages, spends) = Distinct(x, tx, age, spend?.MeanSpend);
        spend = spend is null ? null : new Spend(spend.Draws, spends!, spend.Margin);
        Prepared prepared = model switch
        {
            BgNbdModel bg => new BgNbdPrepared(bg, draws, quantity, argument, xs, txs, ages),
            _ => new ParetoPrepared((ParetoNbdModel)model, draws, quantity, argument, xs, txs, ages),
        };

        var n = xs.Length;
        var b = draws.Count;
        var (lo, hi) = (new double[n], new double[n]);
        var chunks = (n + Chunk - 1) / Chunk;
        ClvParallel.For(0, chunks, chunk =>
        {
            var values = new double[b];
            for (var i = chunk * Chunk; i < Math.Min(n, (chunk + 1) * Chunk); i++)
            {
                prepared.Fill(i, values);
                spend?.Apply(xs[i], i, values);
                (lo[i], hi[i]) = Bounds(values, level);
            }
        });

        for (var i = 0; i < row.Length; i++)
        {
            lower[i] = lo[row[i]];
            upper[i] = hi[row[i]];
        }
    }

    /// <summary>The distinct (x, tₓ, T[, mean spend]) histories in order of first appearance, and each customer's position among them.</summary>
    private static (int[] Row, double[] X, double[] Tx, double[] Age, double[]? MeanSpend) Distinct(ReadOnlySpan<double> x, ReadOnlySpan<double> tx, ReadOnlySpan<double> age, double[]? meanSpend)
    {
        var n = x.Length;
        var row = new int[n];
        var positions = new Dictionary<(double, double, double, double), int>(Math.Min(n, 1 << 16));
        var (dx, dtx, dage, dspend) = (new List<double>(), new List<double>(), new List<double>(), meanSpend is null ? null : new List<double>());
        for (var i = 0; i < n; i++)
        {
            var m = meanSpend is null ? 0 : meanSpend[i];
            if (!positions.TryGetValue((x[i], tx[i], age[i], m), out var at))
            {
                at = dx.Count;
                positions.Add((x[i], tx[i], age[i], m), at);
                dx.Add(x[i]);
                dtx.Add(tx[i]);
                dage.Add(age[i]);
                dspend?.Add(m);
            }

            row[i] = at;
        }

        return (row, [.. dx], [.. dtx], [.. dage], dspend is null ? null : [.. dspend]);
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

    private enum Quantity
    {
        ProbabilityAlive,
        Expected,
        Discounted,
    }

    private abstract class Prepared
    {
        /// <summary>Writes customer <paramref name="customer"/>'s prediction under each draw.</summary>
        public abstract void Fill(int customer, double[] values);

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
        private readonly double[] _numerator;
        private readonly double[] _lead;
        private readonly double[]? _logAlphaTx;
        private readonly double[] _r;
        private readonly double[] _alpha;
        private readonly double[] _tx;

        public BgNbdPrepared(BgNbdModel model, ParameterDraws draws, Quantity quantity, double argument, ReadOnlySpan<double> x, ReadOnlySpan<double> tx, ReadOnlySpan<double> age)
        {
            RequireNames(draws, "r", "alpha", "a", "b");
            var b = _draws = draws.Count;
            _x = x.ToArray();
            var pairs = new PairIndex();
            _pair = Number(pairs, x, age);
            var recencies = new PairIndex();
            _recency = Number(recencies, tx, new double[tx.Length]);
            var models = Enumerable.Range(0, b).Select(d => BgNbdModel.FromParameters(draws[d][0], draws[d][1], draws[d][2], draws[d][3], model.IsModified)).ToArray();
            _r = [.. models.Select(m => m.R)];
            var pairList = pairs.Pairs;
            _numerator = new double[pairList.Count * b];
            _lead = new double[pairList.Count * b];
            var minAge = age.Length == 0 ? 0 : pairList.Min(p => p.Y);
            var shift = model.IsModified ? 1.0 : 0.0;
            ClvParallel.For(0, b, d =>
            {
                var m = models[d];
                var discounted = quantity == Quantity.Discounted ? m.DiscountedNumerator(argument, minAge) : null;
                for (var k = 0; k < pairList.Count; k++)
                {
                    var (xi, ti) = pairList[k];
                    _numerator[(k * b) + d] = quantity switch
                    {
                        Quantity.ProbabilityAlive => 1,
                        Quantity.Expected => argument == 0 ? 0 : m.Numerator(argument, xi, ti),
                        _ => discounted!(xi, ti),
                    };
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

        public override void Fill(int customer, double[] values)
        {
            var b = _draws;
            var pair = _pair[customer] * b;
            var x = _x[customer];
            if (double.IsNaN(_lead[pair]))
            {
                // A BG/NBD customer without repeat purchases is alive under every draw.
                Array.Copy(_numerator, pair, values, 0, b);
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
                    (Vector256.LoadUnsafe(ref _numerator[pair + d0]) / alive).StoreUnsafe(ref values[d0]);
                }
            }

            for (var d = d0; d < b; d++)
            {
                values[d] = _numerator[pair + d] / (1 + Math.Exp(_lead[pair + d] - ((_r[d] + x) * logAlphaTx[recency + d])));
            }

            Infinities(values, _numerator, pair);
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
        private readonly double[] _scale;
        private readonly double[] _leadTerm;

        public ParetoPrepared(ParetoNbdModel model, ParameterDraws draws, Quantity quantity, double argument, ReadOnlySpan<double> x, ReadOnlySpan<double> tx, ReadOnlySpan<double> age)
        {
            RequireNames(draws, "r", "alpha", "s", "beta");
            var b = _draws = draws.Count;
            var pairs = new PairIndex();
            _pairT = Number(pairs, x, age);
            _pairTx = Number(pairs, x, tx);
            var isT = new bool[pairs.Pairs.Count];
            foreach (var p in _pairT)
            {
                isT[p] = true;
            }

            var models = Enumerable.Range(0, b).Select(d => ParetoNbdModel.FromParameters(draws[d][0], draws[d][1], draws[d][2], draws[d][3])).ToArray();
            var pairList = pairs.Pairs;
            _term = new double[pairList.Count * b];
            _lead = new double[pairList.Count * b];
            _scale = new double[pairList.Count * b];
            _leadTerm = new double[pairList.Count * b];
            ClvParallel.For(0, b, d =>
            {
                var m = models[d];
                var byAge = new Dictionary<double, double>();
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
                    _scale[(k * b) + d] = quantity switch
                    {
                        Quantity.ProbabilityAlive => 1,
                        Quantity.Expected => argument == 0 ? 0 : m.AliveExpectation(argument, xi, y),
                        _ => (m.R + xi) / (m.Alpha + y) * (byAge.TryGetValue(y, out var h) ? h : byAge[y] = m.DiscountedAliveExpectation(argument, 0, y) * (m.Alpha + y) / m.R),
                    };
                }
            });
        }

        public override void Fill(int customer, double[] values)
        {
            var b = _draws;
            var t = _pairT[customer] * b;
            var tx = _pairTx[customer] * b;
            if (t == tx)
            {
                // tₓ = T makes A₀ = 0 (the same term twice), so P(alive) = 1.
                Array.Copy(_scale, t, values, 0, b);
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
                    (Vector256.LoadUnsafe(ref _scale[t + d0]) / inverse).StoreUnsafe(ref values[d0]);
                }
            }

            for (var d = d0; d < b; d++)
            {
                var (termTx, termT) = (_term[tx + d], _term[t + d]);
                var inverse = termTx - termT < 1e-3
                    ? 1 + Math.Exp(_lead[t + d] + SpecialFunctions.LogDiffExp(termTx, termT))
                    : 1 + Math.Exp(_lead[t + d] + termTx) - _leadTerm[t + d];
                values[d] = _scale[t + d] / inverse;
            }

            Infinities(values, _scale, t);
        }
    }

    /// <summary>Multiplies each draw's DERT by margin · E[M | x, m̄] under the paired Gamma-Gamma draw.</summary>
    private sealed class Spend(ParameterDraws draws, double[] meanSpend, double margin)
    {
        public ParameterDraws Draws => draws;

        public double[] MeanSpend => meanSpend;

        public double Margin => margin;

        public void Apply(double x, int customer, double[] values)
        {
            var m = meanSpend[customer];
            for (var d = 0; d < values.Length; d++)
            {
                var parameters = draws[d];
                double p = parameters[0], q = parameters[1], gamma = parameters[2];
                var px = p * x;
                var denominator = px + q - 1;
                var spend = denominator > 0 ? ((p * gamma) + (px * m)) / denominator : double.PositiveInfinity;
                values[d] *= margin * spend;
            }
        }
    }
}
