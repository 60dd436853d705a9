using System.Text.Json.Serialization;

namespace ClvReport;

/// <summary>The JSON report.</summary>
/// <param name="Customers">Customers in the calibration summary.</param>
/// <param name="RepeatTransactions">Σ x.</param>
/// <param name="HoldoutActual">Repeat transactions in the holdout, or null without one.</param>
/// <param name="Unit">The time unit (<c>weeks</c> or <c>days</c>).</param>
/// <param name="Data">The input file, or a description of the simulated data.</param>
/// <param name="Models">The transaction models, fitted or failed.</param>
/// <param name="Spend">The spend model, or null.</param>
/// <param name="SpendError">Why the spend model could not be fitted, or null.</param>
/// <param name="Input">What was read from the file, or null for simulated data.</param>
/// <param name="Horizon">The horizon of <c>expected</c> (per-customer file, segments), in time units.</param>
/// <param name="DiscountRate">The continuous discount rate per time unit of DERT and CLV.</param>
/// <param name="Margin">The margin applied to spend in CLV.</param>
/// <param name="HoldoutByFrequency">Holdout actual and expected by calibration frequency, or null without a holdout.</param>
/// <param name="Segments">The P(alive) × value segments, or null when no model was fitted.</param>
/// <param name="Outputs">The files written.</param>
public sealed record ReportDocument(
    int Customers,
    int RepeatTransactions,
    int? HoldoutActual,
    string Unit,
    string Data,
    IReadOnlyList<ModelReport> Models,
    SpendReport? Spend,
    string? SpendError,
    InputReport? Input,
    double Horizon,
    double DiscountRate,
    double Margin,
    IReadOnlyList<FrequencyRow>? HoldoutByFrequency,
    SegmentReport? Segments,
    OutputReport Outputs)
{
    /// <summary>The covariate models and their likelihood-ratio tests (<c>--covariates</c>), or null when none were asked for.</summary>
    public CovariateReport? Covariates { get; init; }
}

/// <summary>
/// One transaction model in the JSON report; a model that failed has <c>error</c> set, empty parameters and null numbers. A
/// number that is not finite (a standard error of a model the data cannot pin down) is null.
/// </summary>
/// <param name="Name">The model (<c>bgnbd</c>, <c>mbgnbd</c>, <c>pnbd</c>).</param>
/// <param name="Parameters">The fitted parameters.</param>
/// <param name="StandardErrors">Their standard errors.</param>
/// <param name="LogLikelihood">The log-likelihood.</param>
/// <param name="HoldoutPredicted">Σ expected holdout transactions, or null without a holdout.</param>
/// <param name="MeanPAlive">Mean P(alive) over the customers.</param>
/// <param name="FitMilliseconds">The fit's time.</param>
/// <param name="Converged">Whether the optimiser converged.</param>
/// <param name="Error">Why the model failed, or null.</param>
/// <param name="Aic">Akaike's information criterion, −2 LL + 2k (lower is better).</param>
/// <param name="Bic">Schwarz's Bayesian information criterion, −2 LL + k ln n (lower is better).</param>
/// <param name="Iterations">The optimiser's iterations.</param>
/// <param name="GradientNorm">The gradient's norm at the end.</param>
/// <param name="ExpectedTotal">Σ expected transactions over the horizon.</param>
/// <param name="DertMean">Mean DERT, or null where the model has none.</param>
/// <param name="ClvTotal">Σ CLV, or null without DERT or spend model.</param>
public sealed record ModelReport(
    string Name,
    IReadOnlyDictionary<string, double?> Parameters,
    IReadOnlyDictionary<string, double?> StandardErrors,
    double? LogLikelihood,
    double? HoldoutPredicted,
    double? MeanPAlive,
    double? FitMilliseconds,
    bool Converged,
    string? Error,
    double? Aic,
    double? Bic,
    int? Iterations,
    double? GradientNorm,
    double? ExpectedTotal,
    double? DertMean,
    double? ClvTotal)
{
    /// <summary>Whether the data do not determine the estimates (a parameter at a boundary, a flat likelihood, a singular Hessian): see <see cref="Issues"/>.</summary>
    public bool Degenerate { get; init; }

    /// <summary>What the fit's diagnostics found: empty for a well-determined fit.</summary>
    public IReadOnlyList<IssueReport> Issues { get; init; } = [];

    /// <summary>The L2 penalty the fit used (0: plain maximum likelihood).</summary>
    public double Penalty { get; init; }

    /// <summary>Per-customer holdout errors of the expected holdout transactions, or null without a holdout.</summary>
    public HoldoutErrorsReport? HoldoutErrors { get; init; }

    /// <summary>The per-customer intervals (<c>--intervals</c>), or null when none were asked for.</summary>
    public IntervalReport? Intervals { get; init; }
}

/// <summary>A model's per-customer holdout errors: each customer's expected holdout transactions against their actual count.</summary>
/// <param name="Mae">Mean absolute error.</param>
/// <param name="Rmse">Root mean squared error.</param>
/// <param name="Msle">Mean squared logarithmic error, mean of (ln(1 + predicted) − ln(1 + actual))².</param>
/// <param name="TotalActual">Σ actual holdout transactions.</param>
/// <param name="TotalPredicted">Σ expected holdout transactions.</param>
/// <param name="TotalError">Σ expected − Σ actual.</param>
/// <param name="RelativeTotalError">The total error as a share of Σ actual, or null when Σ actual is 0.</param>
public sealed record HoldoutErrorsReport(double Mae, double Rmse, double Msle, double TotalActual, double TotalPredicted, double TotalError, double? RelativeTotalError);

/// <summary>How a model's per-customer intervals were drawn, and which columns hold them.</summary>
/// <param name="Draws">Parameter draws.</param>
/// <param name="Level">The probability each interval holds.</param>
/// <param name="Seed">The random seed.</param>
/// <param name="Method">How the parameters were drawn.</param>
/// <param name="Columns">The interval columns of the per-customer file.</param>
/// <param name="Error">Why the model has no intervals (for example a singular Hessian), or null.</param>
public sealed record IntervalReport(int Draws, double Level, int Seed, string Method, IReadOnlyList<string> Columns, string? Error);

/// <summary>One problem the fit's diagnostics found.</summary>
/// <param name="Kind"><c>notConverged</c>, <c>parameterAtBoundary</c>, <c>flatLikelihood</c> or <c>singularHessian</c>.</param>
/// <param name="Parameters">The parameters involved.</param>
/// <param name="Message">What was found, with the numbers.</param>
public sealed record IssueReport(string Kind, IReadOnlyList<string> Parameters, string Message);

/// <summary>The spend model in the JSON report.</summary>
/// <param name="Parameters">p, q, γ.</param>
/// <param name="Customers">The repeat buyers it was fitted on.</param>
/// <param name="LogLikelihood">The log-likelihood.</param>
/// <param name="PopulationMeanSpend">pγ/(q − 1), or null when q ≤ 1.</param>
public sealed record SpendReport(IReadOnlyDictionary<string, double> Parameters, int Customers, double LogLikelihood, double? PopulationMeanSpend)
{
    /// <summary>The expected-spend intervals (<c>--intervals</c>), or null when none were asked for.</summary>
    public SpendIntervalReport? Intervals { get; init; }
}

/// <summary>How the spend model's intervals were drawn, the population mean spend's interval, and the per-customer columns.</summary>
/// <param name="Draws">Parameter draws.</param>
/// <param name="Level">The probability each interval holds.</param>
/// <param name="Seed">The random seed (the transaction models' seed + 1).</param>
/// <param name="Method">How the parameters were drawn.</param>
/// <param name="Columns">The interval columns of the per-customer file.</param>
/// <param name="PopulationMeanLower">The lower bound of the population mean spend pγ/(q − 1), or null when infinite or failed.</param>
/// <param name="PopulationMeanUpper">The upper bound, or null when infinite (draws with q ≤ 1) or failed.</param>
/// <param name="Error">Why there are no spend intervals, or null.</param>
public sealed record SpendIntervalReport(int Draws, double Level, int Seed, string Method, IReadOnlyList<string> Columns, double? PopulationMeanLower, double? PopulationMeanUpper, string? Error);

/// <summary>What was read from the input file.</summary>
/// <param name="Format"><c>csv</c> or <c>cdnow</c>.</param>
/// <param name="Rows">Data rows read.</param>
/// <param name="Transactions">Transactions kept (rows less duplicate orders).</param>
/// <param name="OrderIdColumn">The order id column, or null when none was given (then every row is a purchase).</param>
/// <param name="DuplicateOrders">Rows that repeated an order id already read: counted once.</param>
/// <param name="ConflictingDuplicates">Of those, rows that differed from their order's first row.</param>
public sealed record InputReport(string Format, long Rows, int Transactions, string? OrderIdColumn, long DuplicateOrders, long ConflictingDuplicates);

/// <summary>Holdout transactions for the customers with one calibration frequency (7 stands for 7 or more).</summary>
/// <param name="Frequency">x in calibration (7 = 7+).</param>
/// <param name="Customers">How many customers.</param>
/// <param name="Actual">Their holdout transactions.</param>
/// <param name="Expected">Each fitted model's expected holdout transactions for them.</param>
public sealed record FrequencyRow(int Frequency, int Customers, int Actual, IReadOnlyDictionary<string, double> Expected);

/// <summary>The files the run wrote.</summary>
/// <param name="CustomersFile">The per-customer CSV, or null.</param>
/// <param name="Plots">The plot files.</param>
public sealed record OutputReport(string? CustomersFile, IReadOnlyList<string> Plots);

/// <summary>The covariate models fitted with <c>--covariates</c>.</summary>
/// <param name="File">The covariates file.</param>
/// <param name="On">Which processes the covariates act on: <c>both</c>, <c>purchase</c> or <c>dropout</c>.</param>
/// <param name="Purchase">The covariates of the purchase process.</param>
/// <param name="Dropout">The covariates of the drop-out process.</param>
/// <param name="DistinctVectors">How many distinct covariate vectors the customers have.</param>
/// <param name="Models">One entry per fitted model that has a covariate version (<c>bgnbd</c>, <c>pnbd</c>).</param>
public sealed record CovariateReport(string File, string On, IReadOnlyList<string> Purchase, IReadOnlyList<string> Dropout, int DistinctVectors, IReadOnlyList<CovariateModelReport> Models);

/// <summary>
/// One model fitted with covariates. Purchase coefficients are named <c>purchase:NAME</c>; for Pareto/NBD the drop-out ones
/// <c>dropout:NAME</c>, for BG/NBD <c>dropout.a:NAME</c> and <c>dropout.b:NAME</c>. A positive purchase coefficient raises
/// the purchase rate.
/// </summary>
/// <param name="Name">The model (<c>bgnbd</c>, <c>pnbd</c>).</param>
/// <param name="Parameters">The fitted parameters and coefficients.</param>
/// <param name="StandardErrors">Their standard errors.</param>
/// <param name="LogLikelihood">The log-likelihood, or null when the fit failed.</param>
/// <param name="Aic">Akaike's information criterion (compare with the model's <c>aic</c> without covariates).</param>
/// <param name="Bic">Schwarz's Bayesian information criterion.</param>
/// <param name="Converged">Whether the optimiser converged.</param>
/// <param name="LikelihoodRatio">The test against the same model without covariates, or null when it could not be made (see <paramref name="LikelihoodRatioError"/>).</param>
/// <param name="LikelihoodRatioError">Why there is no test (for example penalised fits), or null.</param>
/// <param name="Error">Why the model could not be fitted with covariates, or null.</param>
public sealed record CovariateModelReport(
    string Name,
    IReadOnlyDictionary<string, double?> Parameters,
    IReadOnlyDictionary<string, double?> StandardErrors,
    double? LogLikelihood,
    double? Aic,
    double? Bic,
    bool Converged,
    LikelihoodRatioReport? LikelihoodRatio,
    string? LikelihoodRatioError,
    string? Error)
{
    /// <summary>A model that could not be fitted with covariates.</summary>
    /// <param name="name">The model.</param>
    /// <param name="error">Why.</param>
    /// <returns>The entry.</returns>
    public static CovariateModelReport Failed(string name, string error)
        => new(name, new Dictionary<string, double?>(), new Dictionary<string, double?>(), null, null, null, false, null, null, error);
}

/// <summary>A likelihood-ratio test of a model without covariates against the same model with them.</summary>
/// <param name="Against">The model without covariates (its entry in <c>models</c>).</param>
/// <param name="Statistic">2 (LL with covariates − LL without).</param>
/// <param name="DegreesOfFreedom">The number of coefficients.</param>
/// <param name="PValue">P(χ² ≥ statistic): small values say the covariates explain the customers' behaviour.</param>
public sealed record LikelihoodRatioReport(string Against, double Statistic, int DegreesOfFreedom, double PValue);

/// <summary>Source-generated JSON for the report.</summary>
[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase, WriteIndented = true, DefaultIgnoreCondition = JsonIgnoreCondition.Never)]
[JsonSerializable(typeof(ReportDocument))]
public sealed partial class ReportJsonContext : JsonSerializerContext
{
}
