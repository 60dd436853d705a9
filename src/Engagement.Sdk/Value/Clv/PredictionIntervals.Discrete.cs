using System.Globalization;

namespace Engagement.Sdk.Value.Clv;

/// <summary>Intervals for the BG/BB model (discrete opportunities) and for Gamma-Gamma expected spend.</summary>
public static partial class PredictionIntervals
{
    /// <summary>Intervals for the BG/BB P(alive) at opportunity n + <paramref name="opportunitiesAhead"/>, per customer pattern (x, tₓ, n).</summary>
    /// <param name="draws">Draws of (α, β, γ, δ), for example from <see cref="ParameterDraws.Bootstrap(BgBbModel, IReadOnlyList{ValueTuple{int, int, int, double}}, int, int)"/>.</param>
    /// <param name="opportunitiesAhead">m ≥ 0: 0 for alive at n, 1 for the next opportunity.</param>
    /// <param name="x">Transactions per customer.</param>
    /// <param name="tx">Opportunity of the last transaction per customer (0 if none).</param>
    /// <param name="n">Opportunities per customer.</param>
    /// <param name="level">The probability the interval holds, strictly between 0 and 1.</param>
    /// <param name="lower">Receives the lower bounds.</param>
    /// <param name="upper">Receives the upper bounds.</param>
    /// <exception cref="EngagementValidationException">An input breaks its rule; the exception names it.</exception>
    public static void BgBbProbabilityAlive(ParameterDraws draws, int opportunitiesAhead, ReadOnlySpan<int> x, ReadOnlySpan<int> tx, ReadOnlySpan<int> n, double level, Span<double> lower, Span<double> upper)
    {
        if (opportunitiesAhead < 0)
        {
            throw new EngagementValidationException(nameof(opportunitiesAhead), opportunitiesAhead, "must be a number of opportunities, at least 0");
        }

        BgBb(draws, (m, xi, ti, ni) => m.ProbabilityAliveAt(opportunitiesAhead, xi, ti, ni), x, tx, n, level, lower, upper);
    }

    /// <summary>Intervals for the BG/BB expected transactions over the next <paramref name="futureOpportunities"/> opportunities, per customer pattern.</summary>
    /// <param name="draws">Draws of (α, β, γ, δ).</param>
    /// <param name="futureOpportunities">n* ≥ 0.</param>
    /// <param name="x">Transactions per customer.</param>
    /// <param name="tx">Opportunity of the last transaction per customer (0 if none).</param>
    /// <param name="n">Opportunities per customer.</param>
    /// <param name="level">The probability the interval holds, strictly between 0 and 1.</param>
    /// <param name="lower">Receives the lower bounds.</param>
    /// <param name="upper">Receives the upper bounds.</param>
    /// <exception cref="EngagementValidationException">An input breaks its rule; the exception names it.</exception>
    public static void BgBbConditionalExpectedTransactions(ParameterDraws draws, int futureOpportunities, ReadOnlySpan<int> x, ReadOnlySpan<int> tx, ReadOnlySpan<int> n, double level, Span<double> lower, Span<double> upper)
    {
        if (futureOpportunities < 0)
        {
            throw new EngagementValidationException(nameof(futureOpportunities), futureOpportunities, "must be a number of opportunities, at least 0");
        }

        BgBb(draws, (m, xi, ti, ni) => m.ConditionalExpectedTransactions(futureOpportunities, xi, ti, ni), x, tx, n, level, lower, upper);
    }

    /// <summary>Intervals for the BG/BB DERT at discount rate d per opportunity, per customer pattern.</summary>
    /// <param name="draws">Draws of (α, β, γ, δ).</param>
    /// <param name="discountRate">d per opportunity, greater than 0 and finite.</param>
    /// <param name="x">Transactions per customer.</param>
    /// <param name="tx">Opportunity of the last transaction per customer (0 if none).</param>
    /// <param name="n">Opportunities per customer.</param>
    /// <param name="level">The probability the interval holds, strictly between 0 and 1.</param>
    /// <param name="lower">Receives the lower bounds.</param>
    /// <param name="upper">Receives the upper bounds.</param>
    /// <exception cref="EngagementValidationException">An input breaks its rule; the exception names it.</exception>
    public static void BgBbDiscountedExpectedTransactions(ParameterDraws draws, double discountRate, ReadOnlySpan<int> x, ReadOnlySpan<int> tx, ReadOnlySpan<int> n, double level, Span<double> lower, Span<double> upper)
    {
        if (!(discountRate > 0) || double.IsInfinity(discountRate))
        {
            throw new EngagementValidationException(nameof(discountRate), discountRate, "must be a discount rate per opportunity, greater than 0 and finite");
        }

        BgBb(draws, (m, xi, ti, ni) => m.DiscountedExpectedTransactions(discountRate, xi, ti, ni), x, tx, n, level, lower, upper);
    }

    /// <summary>
    /// Intervals for a customer's expected spend per transaction, E[M | x, m̄], under draws of the Gamma-Gamma parameters:
    /// the uncertainty of the estimates (what <see cref="GammaGammaModel.ExpectedAverageSpendInterval"/> does not cover; that
    /// one is the spread of the customer's own mean given fixed parameters).
    /// </summary>
    /// <param name="spendDraws">Draws of (p, q, γ), for example from <see cref="ParameterDraws.Bootstrap(GammaGammaModel, IReadOnlyList{ValueTuple{int, double, double}}, int, int)"/>.</param>
    /// <param name="frequency">Repeat transactions per customer, at least 0 (0: the population mean).</param>
    /// <param name="meanSpend">Mean repeat spend per customer, at least 0 and finite.</param>
    /// <param name="level">The probability the interval holds, strictly between 0 and 1.</param>
    /// <param name="lower">Receives the lower bounds (+∞ under a draw with q ≤ 1 counts as an infinite value).</param>
    /// <param name="upper">Receives the upper bounds.</param>
    /// <exception cref="EngagementValidationException">An input breaks its rule; the exception names it.</exception>
    public static void ExpectedSpend(ParameterDraws spendDraws, ReadOnlySpan<int> frequency, ReadOnlySpan<double> meanSpend, double level, Span<double> lower, Span<double> upper)
    {
        ArgumentNullException.ThrowIfNull(spendDraws);
        RequireDrawNames(spendDraws, "p", "q", "gamma");
        PredictionInputs.Level(level);
        RequireLengths(frequency.Length, meanSpend.Length, nameof(meanSpend), lower.Length, upper.Length);
        for (var i = 0; i < frequency.Length; i++)
        {
            if (frequency[i] < 0)
            {
                throw new EngagementValidationException($"frequency[{i}]", frequency[i], "must be a number of repeat transactions, at least 0");
            }

            if (!(meanSpend[i] >= 0) || double.IsInfinity(meanSpend[i]))
            {
                throw new EngagementValidationException($"meanSpend[{i}]", meanSpend[i], "must be a finite mean spend, at least 0");
            }
        }

        var b = spendDraws.Count;
        var parameters = new double[b * 3];
        for (var d = 0; d < b; d++)
        {
            spendDraws[d].CopyTo(parameters.AsSpan(d * 3, 3));
        }

        var count = frequency.Length;
        var (xs, ms, lo, hi) = (frequency.ToArray(), meanSpend.ToArray(), new double[count], new double[count]);
        var chunks = (count + Chunk - 1) / Chunk;
        ClvParallel.For(0, chunks, chunk =>
        {
            var values = new double[b];
            for (var i = chunk * Chunk; i < Math.Min(count, (chunk + 1) * Chunk); i++)
            {
                var (x, m) = ((double)xs[i], xs[i] > 0 ? ms[i] : 0);
                for (var d = 0; d < b; d++)
                {
                    double p = parameters[d * 3], q = parameters[(d * 3) + 1], gamma = parameters[(d * 3) + 2];
                    var px = p * x;
                    var denominator = px + q - 1;
                    values[d] = q > 1 && denominator > 0 ? ((p * gamma) + (px * m)) / denominator : double.PositiveInfinity;
                }

                (lo[i], hi[i]) = Bounds(values, level);
            }
        });

        lo.CopyTo(lower);
        hi.CopyTo(upper);
    }

    private static void BgBb(ParameterDraws draws, Func<BgBbModel, int, int, int, double> prediction, ReadOnlySpan<int> x, ReadOnlySpan<int> tx, ReadOnlySpan<int> n, double level, Span<double> lower, Span<double> upper)
    {
        ArgumentNullException.ThrowIfNull(draws);
        RequireDrawNames(draws, "alpha", "beta", "gamma", "delta");
        PredictionInputs.Level(level);
        RequireLengths(x.Length, tx.Length, nameof(tx), lower.Length, upper.Length);
        if (n.Length != x.Length)
        {
            throw new EngagementValidationException(nameof(n), n.Length, "must hold one number of opportunities per customer");
        }

        // The predictions depend on the pattern only: one value per distinct pattern and draw.
        var patterns = new Dictionary<(int, int, int), int>();
        var list = new List<(int X, int Tx, int N)>();
        var position = new int[x.Length];
        for (var i = 0; i < x.Length; i++)
        {
            var (xi, ti, ni) = (x[i], tx[i], n[i]);
            if (ni < 1 || xi < 0 || xi > ni || ti < 0 || ti > ni || (xi == 0) != (ti == 0) || (xi > 0 && ti < xi))
            {
                throw new EngagementValidationException($"customers[{i}]", string.Create(CultureInfo.InvariantCulture, $"x={xi}, t_x={ti}, n={ni}"), "needs 0 ≤ x ≤ t_x ≤ n, n ≥ 1, and t_x = 0 exactly when x = 0");
            }

            if (!patterns.TryGetValue((xi, ti, ni), out var p))
            {
                p = list.Count;
                patterns.Add((xi, ti, ni), p);
                list.Add((xi, ti, ni));
            }

            position[i] = p;
        }

        var b = draws.Count;
        var values = new double[list.Count * b];
        var models = Enumerable.Range(0, b).Select(d => BgBbModel.FromParameters(draws[d][0], draws[d][1], draws[d][2], draws[d][3])).ToArray();
        ClvParallel.For(0, b, d =>
        {
            for (var k = 0; k < list.Count; k++)
            {
                values[(k * b) + d] = prediction(models[d], list[k].X, list[k].Tx, list[k].N);
            }
        });

        var bounds = new (double Lower, double Upper)[list.Count];
        var buffer = new double[b];
        for (var k = 0; k < list.Count; k++)
        {
            Array.Copy(values, k * b, buffer, 0, b);
            bounds[k] = Bounds(buffer, level);
        }

        for (var i = 0; i < x.Length; i++)
        {
            (lower[i], upper[i]) = bounds[position[i]];
        }
    }

    private static void RequireDrawNames(ParameterDraws draws, params string[] names)
    {
        if (!draws.Names.SequenceEqual(names))
        {
            throw new EngagementValidationException(nameof(draws), string.Join(", ", draws.Names), "must be draws of the model's parameters (" + string.Join(", ", names) + ")");
        }
    }

    private static void RequireLengths(int count, int second, string secondName, int lower, int upper)
    {
        if (second != count)
        {
            throw new EngagementValidationException(secondName, second, "must hold one value per customer (" + count.ToString(CultureInfo.InvariantCulture) + ")");
        }

        if (lower < count)
        {
            throw new EngagementValidationException(nameof(lower), lower, "must hold one value per customer");
        }

        if (upper < count)
        {
            throw new EngagementValidationException(nameof(upper), upper, "must hold one value per customer");
        }
    }
}
