using System.Collections.Immutable;
using System.Globalization;

namespace Engagement.Sdk.Value.Clv;

/// <summary>
/// Parameter vectors drawn to express a fit's uncertainty, for the per-customer intervals of <see cref="PredictionIntervals"/>:
/// either from the estimates' asymptotic normal distribution (in the fitted scale, log for positive parameters: fast, and what
/// the standard errors say) or by refitting the model to customers resampled with replacement (the nonparametric bootstrap:
/// no normality assumption, but one fit per draw). Seeded: the same seed gives the same draws.
/// </summary>
public sealed class ParameterDraws
{
    private readonly double[] _values;

    private ParameterDraws(ImmutableArray<string> names, double[] values, int count)
    {
        Names = names;
        _values = values;
        Count = count;
    }

    /// <summary>The parameters' names, in order.</summary>
    public ImmutableArray<string> Names { get; }

    /// <summary>How many draws.</summary>
    public int Count { get; }

    /// <summary>One draw's parameter vector.</summary>
    /// <param name="draw">The draw, in [0, <see cref="Count"/>).</param>
    /// <returns>The parameters, in the order of <see cref="Names"/>.</returns>
    /// <exception cref="EngagementValidationException"><paramref name="draw"/> is out of range.</exception>
    public ReadOnlySpan<double> this[int draw]
    {
        get
        {
            if (draw < 0 || draw >= Count)
            {
                throw new EngagementValidationException(nameof(draw), draw, "must be a draw in [0, " + Count.ToString(CultureInfo.InvariantCulture) + ")");
            }

            return _values.AsSpan(draw * Names.Length, Names.Length);
        }
    }

    /// <summary>
    /// Draws from the estimates' asymptotic distribution: normal in the fitted scale (the logarithm of each positive
    /// parameter, covariate coefficients as they are) with the covariance of the inverse Hessian, mapped back, so every
    /// draw of a positive parameter is positive.
    /// </summary>
    /// <param name="fit">The fit.</param>
    /// <param name="count">How many draws, at least 2.</param>
    /// <param name="seed">The random seed.</param>
    /// <returns>The draws.</returns>
    /// <exception cref="EngagementValidationException"><paramref name="count"/> is below 2.</exception>
    /// <exception cref="ClvModelException">The fit has no covariance (a singular Hessian: see its diagnostics).</exception>
    public static ParameterDraws FromFit(ClvFit fit, int count, int seed)
    {
        ArgumentNullException.ThrowIfNull(fit);
        RequireCount(count);
        var n = fit.ParameterCount;
        if (fit.WorkingCovariance.Length != n * n || fit.WorkingCovariance.Any(v => !double.IsFinite(v)))
        {
            throw new ClvModelException("The fit has no covariance to draw from (" + fit.Diagnostics.Summary() + "); refit with a penalty, or resample customers.");
        }

        var cholesky = Cholesky(fit.WorkingCovariance, n)
            ?? throw new ClvModelException("The fit's covariance is not positive definite (" + fit.Diagnostics.Summary() + ").");
        var mean = new double[n];
        for (var i = 0; i < n; i++)
        {
            mean[i] = i < fit.LogScaleCount ? Math.Log(fit.Values[i]) : fit.Values[i];
        }

        var random = new Random(seed);
        var values = new double[count * n];
        var z = new double[n];
        for (var d = 0; d < count; d++)
        {
            for (var i = 0; i < n; i++)
            {
                z[i] = RandomVariates.Normal(random);
            }

            for (var i = 0; i < n; i++)
            {
                var u = mean[i];
                for (var j = 0; j <= i; j++)
                {
                    u += cholesky[(i * n) + j] * z[j];
                }

                values[(d * n) + i] = i < fit.LogScaleCount ? Math.Exp(u) : u;
            }
        }

        return new ParameterDraws(fit.Names, values, count);
    }

    /// <summary>
    /// The nonparametric bootstrap: each draw refits the model to as many customers as <paramref name="data"/> holds, drawn
    /// from it with replacement (identical histories are merged, so a draw costs one fit of the distinct rows). A resample
    /// that cannot be fitted is replaced by another; more than <paramref name="count"/> failures stop with the last error.
    /// </summary>
    /// <param name="data">The calibration data.</param>
    /// <param name="refit">How to fit one resample, for example <c>d =&gt; BgNbdModel.Fit(d).FitResult!</c>.</param>
    /// <param name="count">How many draws, at least 2.</param>
    /// <param name="seed">The random seed.</param>
    /// <returns>The draws.</returns>
    /// <exception cref="EngagementValidationException"><paramref name="count"/> is below 2.</exception>
    /// <exception cref="ClvModelException">Too many resamples could not be fitted.</exception>
    public static ParameterDraws FromResampledCustomers(RfmData data, Func<RfmData, ClvFit> refit, int count, int seed)
    {
        ArgumentNullException.ThrowIfNull(data);
        ArgumentNullException.ThrowIfNull(refit);
        RequireCount(count);
        var random = new Random(seed);
        var customers = (long)Math.Round(data.TotalWeight);
        var sampler = new AliasSampler(data.Weight);
        ImmutableArray<string> names = default;
        var values = new List<double>();
        var failures = 0;
        var weights = new double[data.Rows];
        for (var drawn = 0; drawn < count;)
        {
            Array.Clear(weights);
            for (long c = 0; c < customers; c++)
            {
                weights[sampler.Next(random)]++;
            }

            ClvFit fit;
            try
            {
                fit = refit(data.WithWeights(weights));
            }
            catch (ClvModelException) when (++failures <= count)
            {
                continue;
            }

            names = names.IsDefault ? fit.Names : names;
            values.AddRange(fit.Values);
            drawn++;
        }

        return new ParameterDraws(names, [.. values], count);
    }

    /// <summary>
    /// The refit bootstrap of a fitted BG/NBD or MBG/NBD model: each draw refits the model to as many customers as
    /// <paramref name="data"/> holds, drawn from it with replacement. The resample is a multinomial reweighting of the
    /// distinct (x, tₓ, T) rows (one count per row from the seeded random stream), and its fit starts from the model's
    /// estimates with their inverse Hessian, so it converges in a few likelihood evaluations; the penalty of the original
    /// fit is kept. Unlike <see cref="FromFit"/> it assumes no normality of the estimates. Seeded: the same seed gives the
    /// same draws, whatever the number of threads.
    /// </summary>
    /// <param name="model">The model fitted to <paramref name="data"/> (its <see cref="BgNbdModel.FitResult"/> is the start).</param>
    /// <param name="data">The data the model was fitted to.</param>
    /// <param name="count">How many draws, at least 2.</param>
    /// <param name="seed">The random seed.</param>
    /// <returns>The draws of (r, α, a, b).</returns>
    /// <exception cref="EngagementValidationException">The model was not fitted, <paramref name="data"/> holds another number of customers than it was fitted to, or <paramref name="count"/> is below 2.</exception>
    /// <exception cref="ClvModelException">Twenty resamples in a row could not be refitted.</exception>
    public static ParameterDraws Bootstrap(BgNbdModel model, RfmData data, int count, int seed)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(data);
        var modified = model.IsModified;
        return Refits(model.FitResult, data.Weight, w =>
        {
            var resample = data.Reweighted(w);
            return (p, g) => BgNbdModel.LogLikelihood(p, resample, g, modified);
        }, count, seed);
    }

    /// <summary>The refit bootstrap of a fitted Pareto/NBD model (see <see cref="Bootstrap(BgNbdModel, RfmData, int, int)"/>).</summary>
    /// <param name="model">The model fitted to <paramref name="data"/>.</param>
    /// <param name="data">The data the model was fitted to.</param>
    /// <param name="count">How many draws, at least 2.</param>
    /// <param name="seed">The random seed.</param>
    /// <returns>The draws of (r, α, s, β).</returns>
    /// <exception cref="EngagementValidationException">The model was not fitted, <paramref name="data"/> holds another number of customers than it was fitted to, or <paramref name="count"/> is below 2.</exception>
    /// <exception cref="ClvModelException">Twenty resamples in a row could not be refitted.</exception>
    public static ParameterDraws Bootstrap(ParetoNbdModel model, RfmData data, int count, int seed)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(data);
        return Refits(model.FitResult, data.Weight, w =>
        {
            var resample = data.Reweighted(w);
            return (p, g) => ParetoNbdModel.LogLikelihood(p, resample, g);
        }, count, seed);
    }

    /// <summary>The refit bootstrap of a fitted BG/BB model, resampling donors over the (x, tₓ, n) patterns (see <see cref="Bootstrap(BgNbdModel, RfmData, int, int)"/>).</summary>
    /// <param name="model">The model fitted to <paramref name="patterns"/>.</param>
    /// <param name="patterns">The (x, tₓ, n, weight) rows the model was fitted to.</param>
    /// <param name="count">How many draws, at least 2.</param>
    /// <param name="seed">The random seed.</param>
    /// <returns>The draws of (α, β, γ, δ).</returns>
    /// <exception cref="EngagementValidationException">The model was not fitted, the patterns hold another number of customers than it was fitted to, or <paramref name="count"/> is below 2.</exception>
    /// <exception cref="ClvModelException">Twenty resamples in a row could not be refitted.</exception>
    public static ParameterDraws Bootstrap(BgBbModel model, IReadOnlyList<(int X, int Tx, int N, double Weight)> patterns, int count, int seed)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(patterns);
        var rows = patterns.ToArray();
        return Refits(model.FitResult, [.. rows.Select(p => p.Weight)], w =>
        {
            var resample = rows.Select((p, i) => (p.X, p.Tx, p.N, w[i])).Where(p => p.Item4 > 0).ToArray();
            return (p, g) => BgBbModel.LogLikelihood(p, resample, g);
        }, count, seed);
    }

    /// <summary>The refit bootstrap of a fitted Gamma-Gamma spend model, resampling the repeat buyers (see <see cref="Bootstrap(BgNbdModel, RfmData, int, int)"/>).</summary>
    /// <param name="model">The model fitted to <paramref name="customers"/>.</param>
    /// <param name="customers">The (x, mean spend, weight) rows the model was fitted to (rows with x = 0 are left out, as in the fit).</param>
    /// <param name="count">How many draws, at least 2.</param>
    /// <param name="seed">The random seed.</param>
    /// <returns>The draws of (p, q, γ).</returns>
    /// <exception cref="EngagementValidationException">The model was not fitted, the rows hold another number of repeat buyers than it was fitted to, or <paramref name="count"/> is below 2.</exception>
    /// <exception cref="ClvModelException">Twenty resamples in a row could not be refitted.</exception>
    public static ParameterDraws Bootstrap(GammaGammaModel model, IReadOnlyList<(int Frequency, double MeanSpend, double Weight)> customers, int count, int seed)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(customers);
        var (weights, likelihood) = GammaGammaModel.Resampling(customers);
        return Refits(model.FitResult, weights, likelihood, count, seed);
    }

    private static ParameterDraws Refits(ClvFit? fit, double[] weights, Func<double[], MaximumLikelihood.LogLikelihood> likelihood, int count, int seed)
    {
        if (fit is null)
        {
            throw new EngagementValidationException("model", "not fitted", "must be a fitted model: its estimates are where each refit starts");
        }

        RequireCount(count);
        return new ParameterDraws(fit.Names, Resampling.Refits(fit, weights, likelihood, count, seed), count);
    }

    private static void RequireCount(int count)
    {
        if (count < 2)
        {
            throw new EngagementValidationException(nameof(count), count, "must be at least 2 draws");
        }
    }

    /// <summary>The lower-triangular L with L Lᵀ = the matrix, or null when it is not positive definite.</summary>
    private static double[]? Cholesky(ImmutableArray<double> matrix, int n)
    {
        var l = new double[n * n];
        for (var i = 0; i < n; i++)
        {
            for (var j = 0; j <= i; j++)
            {
                var sum = matrix[(i * n) + j];
                for (var k = 0; k < j; k++)
                {
                    sum -= l[(i * n) + k] * l[(j * n) + k];
                }

                if (i == j)
                {
                    if (!(sum > 0))
                    {
                        return null;
                    }

                    l[(i * n) + i] = Math.Sqrt(sum);
                }
                else
                {
                    l[(i * n) + j] = sum / l[(j * n) + j];
                }
            }
        }

        return l;
    }

    /// <summary>Walker's alias method: draws row i with probability weight[i]/Σ weights in constant time.</summary>
    private sealed class AliasSampler
    {
        private readonly double[] _probability;
        private readonly int[] _alias;

        public AliasSampler(double[] weights) => (_probability, _alias) = MultinomialSampler.Alias(weights);

        public int Next(Random random)
        {
            var i = random.Next(_probability.Length);
            return random.NextDouble() < _probability[i] ? i : _alias[i];
        }
    }
}
