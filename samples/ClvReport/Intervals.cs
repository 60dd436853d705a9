using Engagement.Sdk;
using Engagement.Sdk.Value.Clv;

namespace ClvReport;

/// <summary>How the per-customer intervals are drawn.</summary>
/// <param name="Draws">Parameter draws per model (0: no intervals).</param>
/// <param name="Level">The probability each interval holds, in (0, 1).</param>
/// <param name="Seed">The random seed of the draws.</param>
/// <param name="Method"><c>bootstrap</c> (refits to resampled customers) or <c>normal</c> (the estimates' asymptotic normal distribution).</param>
internal sealed record IntervalOptions(int Draws, double Level, int Seed, string Method = IntervalOptions.Bootstrap)
{
    /// <summary>Refits to resampled customers.</summary>
    public const string Bootstrap = "bootstrap";

    /// <summary>Draws from the asymptotic normal distribution of the estimates.</summary>
    public const string Normal = "normal";

    /// <summary>How the method is described in the reports.</summary>
    public string Description => Method == Normal
        ? "asymptotic normal draws of the parameters (inverse Hessian, log scale)"
        : "refits to customers resampled with replacement (bootstrap, warm-started from the estimates)";

    /// <summary>The parameter draws of a transaction model fitted to <paramref name="data"/>.</summary>
    public ParameterDraws Draw(ITransactionModel model, ClvFit fit, RfmData data) => Method == Normal
        ? ParameterDraws.FromFit(fit, Draws, Seed)
        : model switch
        {
            BgNbdModel bg => ParameterDraws.Bootstrap(bg, data, Draws, Seed),
            ParetoNbdModel pareto => ParameterDraws.Bootstrap(pareto, data, Draws, Seed),
            _ => throw new ArgumentOutOfRangeException(nameof(model), model.Name, "no bootstrap for this model"),
        };
}

/// <summary>One interval bound column of the per-customer file.</summary>
/// <param name="Suffix">The column name after <c>&lt;model&gt;.</c>, e.g. <c>pAlive.lower</c>.</param>
/// <param name="Values">The values: per distinct history when <paramref name="RowOf"/> is set, else per customer.</param>
/// <param name="RowOf">Each customer's distinct history, or <see langword="null"/> when <paramref name="Values"/> is per customer.</param>
internal sealed record IntervalColumn(string Suffix, double[] Values, int[]? RowOf)
{
    /// <summary>The value for customer <paramref name="customer"/>.</summary>
    public double this[int customer] => RowOf is null ? Values[customer] : Values[RowOf[customer]];
}

/// <summary>A model's intervals, or why it has none.</summary>
/// <param name="Columns">The bound columns (empty on failure).</param>
/// <param name="Error">Why the intervals could not be drawn, or <see langword="null"/>.</param>
internal sealed record ModelIntervals(IReadOnlyList<IntervalColumn> Columns, string? Error)
{
    public static readonly ModelIntervals None = new([], null);

    /// <summary>The column with the suffix, or <see langword="null"/>.</summary>
    public IntervalColumn? Column(string suffix) => Columns.FirstOrDefault(c => c.Suffix == suffix);
}

/// <summary>
/// Per-customer intervals of a fitted model's predictions, from draws of its parameters (refits to resampled customers,
/// <see cref="ParameterDraws.Bootstrap(BgNbdModel, RfmData, int, int)"/>, or the estimates' asymptotic normal distribution,
/// <see cref="ParameterDraws.FromFit"/>), with the library's
/// <see cref="PredictionIntervals"/>, prepared once per model (<see cref="PredictionIntervals.Prepare"/>): P(alive), expected
/// transactions over the horizon, DERT and CLV (with the spend model's draws) per customer, each distinct history computed
/// once. They express the uncertainty of the estimates, not the randomness of a customer's future.
/// </summary>
internal static class Intervals
{
    /// <summary>Computes the intervals of one model, or reports why it cannot (for example a singular Hessian).</summary>
    public static ModelIntervals For(ModelRun run, RfmData data, RfmSummary summary, ParameterDraws? spendDraws, IntervalOptions options, double horizon, double discountRate, double margin)
    {
        var model = run.Model!;
        var fit = run.Fit!;
        try
        {
            var draws = options.Draw(model, fit, data);
            var customers = summary.Customers;
            var n = customers.Length;
            double[] x = new double[n], tx = new double[n], t = new double[n], meanSpend = new double[n];
            for (var i = 0; i < n; i++)
            {
                var c = customers[i];
                (x[i], tx[i], t[i], meanSpend[i]) = (c.Frequency, c.Recency, c.Age, c.Frequency > 0 ? (double)c.MeanRepeatSpend : 0);
            }

            // One preparation for all four kinds: the histories' shared parts once, DERT's tabulation once for DERT and CLV.
            var prepared = PredictionIntervals.Prepare(model, draws, x, tx, t);
            var columns = new List<IntervalColumn>();
            void PerCustomer(string name, Action<double[], double[]> compute)
            {
                var lower = new double[n];
                var upper = new double[n];
                compute(lower, upper);
                columns.Add(new IntervalColumn(name + ".lower", lower, null));
                columns.Add(new IntervalColumn(name + ".upper", upper, null));
            }

            PerCustomer("pAlive", (l, u) => prepared.ProbabilityAlive(options.Level, l, u));
            PerCustomer("expected", (l, u) => prepared.ConditionalExpectedTransactions(horizon, options.Level, l, u));
            if (run.Predictions!.Dert is not null)
            {
                PerCustomer("dert", (l, u) => prepared.DiscountedExpectedTransactions(discountRate, options.Level, l, u));
            }

            if (spendDraws is not null && run.Predictions.Dert is not null && discountRate > 0)
            {
                // CLV depends on the customer's own mean spend too. The spend model's draws are independent of the
                // transaction model's (separate fits), with their own seed.
                PerCustomer("clv", (l, u) => prepared.LifetimeValue(spendDraws, discountRate, margin, meanSpend, options.Level, l, u));
            }

            return new ModelIntervals(columns, null);
        }
        catch (Exception ex) when (ex is ClvModelException or EngagementValidationException or ArithmeticException)
        {
            return new ModelIntervals([], ex.Message);
        }
    }
}

/// <summary>Intervals of the Gamma-Gamma expected spend: per customer and for the population mean spend.</summary>
/// <param name="Draws">The spend model's parameter draws (also used for CLV), or <see langword="null"/> on failure.</param>
/// <param name="Lower">Per customer, the lower bound of E[M | x, m̄].</param>
/// <param name="Upper">Per customer, the upper bound.</param>
/// <param name="PopulationMean">The interval of the population mean spend pγ/(q − 1) (+∞ under draws with q ≤ 1).</param>
/// <param name="Error">Why there are no spend intervals, or <see langword="null"/>.</param>
internal sealed record SpendIntervals(ParameterDraws? Draws, double[] Lower, double[] Upper, (double Lower, double Upper) PopulationMean, string? Error)
{
    /// <summary>Draws the spend model's parameters (seed + 1, independent of the transaction models') and the spend intervals.</summary>
    public static SpendIntervals For(GammaGammaModel spend, IReadOnlyList<(int Frequency, double MeanSpend, double Weight)> rows, RfmSummary summary, IntervalOptions options)
    {
        try
        {
            var seed = unchecked(options.Seed + 1);
            var draws = options.Method == IntervalOptions.Normal
                ? ParameterDraws.FromFit(spend.FitResult!, options.Draws, seed)
                : ParameterDraws.Bootstrap(spend, rows, options.Draws, seed);
            var customers = summary.Customers;
            var n = customers.Length;
            var (frequency, meanSpend) = (new int[n], new double[n]);
            for (var i = 0; i < n; i++)
            {
                (frequency[i], meanSpend[i]) = (customers[i].Frequency, customers[i].Frequency > 0 ? (double)customers[i].MeanRepeatSpend : 0);
            }

            var (lower, upper) = (new double[n], new double[n]);
            PredictionIntervals.ExpectedSpend(draws, frequency, meanSpend, options.Level, lower, upper);
            var (popLower, popUpper) = (new double[1], new double[1]);
            PredictionIntervals.ExpectedSpend(draws, [0], [0.0], options.Level, popLower, popUpper);
            return new SpendIntervals(draws, lower, upper, (popLower[0], popUpper[0]), null);
        }
        catch (Exception ex) when (ex is ClvModelException or EngagementValidationException or ArithmeticException)
        {
            return new SpendIntervals(null, [], [], (double.NaN, double.NaN), ex.Message);
        }
    }
}
