using static Engagement.Sdk.Value.Clv.SpecialFunctions;

namespace Engagement.Sdk.Value.Clv;

/// <summary>
/// The Gamma-Gamma spend model (Colombo and Jiang 1999; Fader and Hardie 2013): each transaction's value is Gamma(p, ν),
/// and ν ~ Gamma(q, γ) across customers. Fitted on customers with at least one repeat purchase and their mean repeat spend
/// (the first purchase excluded); it predicts a customer's expected average spend as a credibility-weighted mean.
/// </summary>
public sealed class GammaGammaModel
{
    private static readonly string[] ParameterNames = ["p", "q", "gamma"];

    private GammaGammaModel(double p, double q, double gamma, ClvFit? fit)
    {
        P = p;
        Q = q;
        Gamma = gamma;
        FitResult = fit;
    }

    /// <summary>The shape of a transaction's value.</summary>
    public double P { get; }

    /// <summary>The shape of the value-rate distribution.</summary>
    public double Q { get; }

    /// <summary>The rate of the value-rate distribution.</summary>
    public double Gamma { get; }

    /// <summary>The fit, when fitted.</summary>
    public ClvFit? FitResult { get; }

    /// <summary>A model with given parameters.</summary>
    /// <param name="p">p &gt; 0.</param>
    /// <param name="q">q &gt; 0.</param>
    /// <param name="gamma">γ &gt; 0.</param>
    /// <returns>The model.</returns>
    public static GammaGammaModel FromParameters(double p, double q, double gamma)
    {
        ModelParameters.RequirePositive(("p", p), ("q", q), ("gamma", gamma));

        return new GammaGammaModel(p, q, gamma, null);
    }

    /// <summary>Fits the model on (x, mean repeat spend) pairs of customers with x ≥ 1.</summary>
    /// <param name="customers">Repeat-purchase counts and mean repeat spend, with weights.</param>
    /// <param name="options">The fitting options (penalty, iterations); <see langword="null"/> for the defaults.</param>
    /// <returns>The fitted model; <see cref="ClvFit.Diagnostics"/> says whether the data determine it.</returns>
    /// <exception cref="ClvModelException">Fewer than two customers, or a non-positive spend.</exception>
    public static GammaGammaModel Fit(IReadOnlyList<(int Frequency, double MeanSpend, double Weight)> customers, ClvFitOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(customers);
        for (var i = 0; i < customers.Count; i++)
        {
            var (frequency, meanSpend, weight) = customers[i];
            if (frequency > 0 && !(meanSpend > 0 && double.IsFinite(meanSpend)))
            {
                RequireSpend(meanSpend, $"customers[{i}]");
            }

            if (!(weight > 0))
            {
                throw new EngagementValidationException($"customers[{i}].weight", weight, "must be positive");
            }
        }

        var rows = customers.Where(c => c.Frequency > 0).ToArray();
        var total = rows.Sum(r => r.Weight);
        if (total < 2)
        {
            throw new ClvModelException("Gamma-Gamma needs at least two customers with a repeat purchase.");
        }

        var mean = rows.Sum(r => r.MeanSpend * r.Weight) / total;
        var prepared = new Rows(rows);
        var scale = Math.Max(mean, 1e-3);
        var fit = MaximumLikelihood.Fit(
            new MaximumLikelihood.Problem("Gamma-Gamma", ParameterNames, (par, g) => LogLikelihood(par, prepared, g), [1, 1, scale], total) { Scales = [1, 1, scale] },
            options);
        return new GammaGammaModel(fit.Values[0], fit.Values[1], fit.Values[2], fit);
    }

    /// <summary>Fits the model on the repeat buyers of a summary.</summary>
    /// <param name="summary">The summary.</param>
    /// <param name="options">The fitting options (penalty, iterations); <see langword="null"/> for the defaults.</param>
    /// <returns>The fitted model.</returns>
    /// <exception cref="ClvModelException">Fewer than two repeat buyers, or a repeat buyer whose mean repeat spend is not positive (named by customer id).</exception>
    public static GammaGammaModel Fit(RfmSummary summary, ClvFitOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(summary);
        foreach (var customer in summary.Customers)
        {
            if (customer.Frequency > 0)
            {
                RequireSpend((double)customer.MeanRepeatSpend, $"customer '{customer.CustomerId}'");
            }
        }

        return Fit([.. summary.Customers.Where(c => c.Frequency > 0).Select(c => (c.Frequency, (double)c.MeanRepeatSpend, 1.0))], options);
    }

    /// <summary>The repeat buyers' weights and their log-likelihood under other weights, for the refit bootstrap.</summary>
    internal static (double[] Weights, Func<double[], MaximumLikelihood.LogLikelihood> Likelihood) Resampling(IReadOnlyList<(int Frequency, double MeanSpend, double Weight)> customers)
    {
        var rows = new Rows(customers);
        return ([.. rows.W], weights =>
        {
            var reweighted = rows.Reweighted(weights);
            return (parameters, gradient) => LogLikelihood(parameters, reweighted, gradient);
        });
    }

    private static void RequireSpend(double meanSpend, string who)
    {
        if (!(meanSpend > 0) || !double.IsFinite(meanSpend))
        {
            throw new ClvModelException(string.Create(System.Globalization.CultureInfo.InvariantCulture, $"Gamma-Gamma needs a positive mean spend for every repeat buyer; {who} has {meanSpend}. Leave out customers whose repeat purchases were all free, or net them differently."));
        }
    }

    /// <summary>The total log-likelihood of the mean spends and its gradient in (p, q, γ).</summary>
    /// <param name="parameters">p, q, γ.</param>
    /// <param name="customers">(x, mean spend, weight) rows with x ≥ 1.</param>
    /// <param name="gradient">Receives the gradient; may be empty.</param>
    /// <returns>The log-likelihood.</returns>
    public static double LogLikelihood(ReadOnlySpan<double> parameters, IReadOnlyList<(int Frequency, double MeanSpend, double Weight)> customers, Span<double> gradient)
    {
        ArgumentNullException.ThrowIfNull(customers);
        return LogLikelihood(parameters, new Rows(customers), gradient);
    }

    private static double LogLikelihood(ReadOnlySpan<double> parameters, Rows rows, Span<double> gradient)
    {
        double p = parameters[0], q = parameters[1], g = parameters[2];
        var wantGradient = gradient.Length >= 3;

        // Every term that depends on x only (ln Γ(px + q) − ln Γ(px) and the digammas) is tabulated once per distinct x and
        // ln m̄, ln x once per row, so a row costs one logarithm per evaluation; rows are summed in parallel chunks, in a
        // fixed order.
        var byX = FrequencyTerms(p, q, rows.Frequencies, wantGradient);
        var lgQ = LogGamma(q);
        var psiQ = wantGradient ? Digamma(q) : 0;
        var logG = Math.Log(g);
        var sums = ParallelSum.Run(rows.Count, 4, (from, to, acc) =>
        {
            double total = 0, gp = 0, gq = 0, gg = 0;
            for (var i = from; i < to; i++)
            {
                var w = rows.W[i];
                if (w == 0)
                {
                    // A buyer no customer of a bootstrap resample fell on (about a third of them): adds nothing.
                    continue;
                }

                double x = rows.X[i], m = rows.M[i], logM = rows.LogM[i], logX = rows.LogX[i];
                var px = p * x;
                var logGmx = Math.Log(g + (m * x));
                var k = rows.FrequencyIndex[i] * 3;
                total += w * (byX[k] - lgQ + (q * logG) + ((px - 1) * logM) + (px * logX) - ((px + q) * logGmx));
                if (wantGradient)
                {
                    var psiPxq = byX[k + 1];
                    gp += w * x * (psiPxq - byX[k + 2] + logM + logX - logGmx);
                    gq += w * (psiPxq - psiQ + logG - logGmx);
                    gg += w * ((q / g) - ((px + q) / (g + (m * x))));
                }
            }

            acc[0] += total;
            acc[1] += gp;
            acc[2] += gq;
            acc[3] += gg;
        });

        if (wantGradient)
        {
            gradient[0] = sums[1];
            gradient[1] = sums[2];
            gradient[2] = sums[3];
        }

        return sums[0];
    }

    /// <summary>Per distinct x: ln Γ(px + q) − ln Γ(px), ψ(px + q) and ψ(px) (the digammas only for a gradient), three slots each.</summary>
    private static double[] FrequencyTerms(double p, double q, int[] frequencies, bool wantGradient)
    {
        var table = new double[frequencies.Length * 3];
        for (var k = 0; k < frequencies.Length; k++)
        {
            var px = p * frequencies[k];
            table[k * 3] = LogGamma(px + q) - LogGamma(px);
            if (wantGradient)
            {
                table[(k * 3) + 1] = Digamma(px + q);
                table[(k * 3) + 2] = Digamma(px);
            }
        }

        return table;
    }

    /// <summary>The rows with x ≥ 1 as arrays, with the logarithms that do not depend on the parameters.</summary>
    private sealed class Rows
    {
        public Rows(IReadOnlyList<(int Frequency, double MeanSpend, double Weight)> customers)
        {
            var n = 0;
            foreach (var c in customers)
            {
                n += c.Frequency > 0 ? 1 : 0;
            }

            X = new int[n];
            FrequencyIndex = new int[n];
            var distinct = new Dictionary<int, int>();
            M = new double[n];
            W = new double[n];
            LogM = new double[n];
            LogX = new double[n];
            var k = 0;
            foreach (var (frequency, m, w) in customers)
            {
                if (frequency <= 0)
                {
                    continue;
                }

                X[k] = frequency;
                if (!distinct.TryGetValue(frequency, out var index))
                {
                    index = distinct.Count;
                    distinct.Add(frequency, index);
                }

                FrequencyIndex[k] = index;
                M[k] = m;
                W[k] = w;
                LogM[k] = Math.Log(m);
                LogX[k] = Math.Log(frequency);
                k++;
            }

            Frequencies = new int[distinct.Count];
            foreach (var (frequency, index) in distinct)
            {
                Frequencies[index] = frequency;
            }
        }

        /// <summary>The same rows with other weights (0 allowed), sharing the other arrays.</summary>
        private Rows(Rows rows, double[] weights)
        {
            (X, Frequencies, FrequencyIndex, M, LogM, LogX) = (rows.X, rows.Frequencies, rows.FrequencyIndex, rows.M, rows.LogM, rows.LogX);
            W = weights;
        }

        public int Count => X.Length;

        public Rows Reweighted(double[] weights) => new(this, weights);

        public int[] X { get; }

        /// <summary>The distinct frequencies, in order of first appearance.</summary>
        public int[] Frequencies { get; }

        /// <summary>Each row's index into <see cref="Frequencies"/>.</summary>
        public int[] FrequencyIndex { get; }

        public double[] M { get; }

        public double[] W { get; }

        public double[] LogM { get; }

        public double[] LogX { get; }
    }

    /// <summary>The population mean spend pγ/(q − 1); needs q &gt; 1.</summary>
    public double PopulationMeanSpend => Q > 1 ? P * Gamma / (Q - 1) : throw new ClvModelException($"The population mean spend is infinite when q ≤ 1 (q = {Q}).");

    /// <summary>E[M | x, m̄]: a customer's expected average spend given x repeat purchases with mean m̄ (the population mean for x = 0).</summary>
    /// <param name="frequency">x.</param>
    /// <param name="meanSpend">m̄.</param>
    /// <returns>The expected average spend.</returns>
    /// <exception cref="EngagementValidationException"><paramref name="frequency"/> is negative, or <paramref name="meanSpend"/> is negative, NaN or infinite.</exception>
    public double ExpectedAverageSpend(int frequency, double meanSpend)
    {
        if (frequency < 0)
        {
            throw new EngagementValidationException("frequency", frequency, "must be a number of repeat transactions, at least 0");
        }

        if (!(meanSpend >= 0) || double.IsInfinity(meanSpend))
        {
            throw new EngagementValidationException("meanSpend", meanSpend, "must be a finite mean spend, at least 0");
        }

        if (Q <= 1)
        {
            throw new ClvModelException($"Expected spend is infinite when q ≤ 1 (q = {Q}).");
        }

        if (frequency <= 0)
        {
            return PopulationMeanSpend;
        }

        var px = P * frequency;
        return (((Q - 1) / (px + Q - 1)) * PopulationMeanSpend) + ((px / (px + Q - 1)) * meanSpend);
    }

    /// <summary>
    /// The interval in which a customer's own expected spend per transaction, p/ν, lies with probability
    /// <paramref name="level"/> given x repeat purchases with mean m̄: ν's posterior is Gamma(q + px, γ + x m̄), so the
    /// bounds are p(γ + x m̄) over its upper and lower quantiles (equal tails). The estimate is
    /// <see cref="ExpectedAverageSpend"/>. For x = 0 it is the population's spread (prior ν ~ Gamma(q, γ)).
    /// </summary>
    /// <param name="frequency">x, at least 0.</param>
    /// <param name="meanSpend">m̄, at least 0 and finite.</param>
    /// <param name="level">The probability the interval holds, strictly between 0 and 1 (0.9 for a 90 % interval).</param>
    /// <returns>The estimate and the interval.</returns>
    /// <exception cref="EngagementValidationException">An input breaks its rule; the exception names it.</exception>
    /// <exception cref="ClvModelException">q ≤ 1: the expected spend is infinite.</exception>
    public PredictionInterval ExpectedAverageSpendInterval(int frequency, double meanSpend, double level = 0.9)
    {
        PredictionInputs.Level(level);
        var estimate = ExpectedAverageSpend(frequency, meanSpend);
        var shape = Q + (P * frequency);
        var rate = Gamma + (frequency * meanSpend);
        var tail = (1 - level) / 2;
        return new PredictionInterval(estimate, P * rate / Distributions.GammaQuantile(shape, 1 - tail), P * rate / Distributions.GammaQuantile(shape, tail), level);
    }

    /// <summary>Simulates (x, mean spend) for customers with the given repeat counts.</summary>
    /// <param name="frequencies">The repeat counts (each at least 1).</param>
    /// <param name="seed">The random seed.</param>
    /// <returns>The rows.</returns>
    public IReadOnlyList<(int Frequency, double MeanSpend, double Weight)> Simulate(IEnumerable<int> frequencies, int seed)
    {
        ArgumentNullException.ThrowIfNull(frequencies);
        var random = new Random(seed);
        var rows = new List<(int, double, double)>();
        foreach (var x in frequencies)
        {
            var nu = RandomVariates.Gamma(random, Q) / Gamma;
            var sum = 0.0;
            for (var i = 0; i < x; i++)
            {
                sum += RandomVariates.Gamma(random, P) / nu;
            }

            rows.Add((x, sum / x, 1));
        }

        return rows;
    }
}
