using System.Globalization;
using System.Text;
using System.Text.Json;
using Engagement.Sdk.Value.Clv;

namespace ClvReport;

/// <summary>Everything the run found, printed as text or as the JSON document.</summary>
internal sealed class Report(
    RfmSummary summary,
    Histories histories,
    string source,
    InputReport? input,
    IReadOnlyList<ModelRun> runs,
    IReadOnlyList<CustomerColumns> columns,
    GammaGammaModel? spend,
    string? spendError,
    double[]? expectedSpend,
    double horizon,
    double discountRate,
    double margin,
    SegmentReport segments,
    OutputReport outputs,
    IntervalOptions intervals)
{
    private readonly Dictionary<string, HoldoutErrors?> _holdoutErrors = [];

    private const int Buckets = 8;
    private static readonly CultureInfo Inv = CultureInfo.InvariantCulture;

    private string Unit => summary.Unit == TimeUnit.Weeks ? "weeks" : "days";

    /// <summary>The spend model's intervals (with <c>--intervals</c> and a spend model), or <see langword="null"/>.</summary>
    public SpendIntervals? SpendIntervals { get; init; }

    /// <summary>The covariate models (with <c>--covariates</c>), or <see langword="null"/>.</summary>
    public CovariateReport? Covariates { get; init; }

    public ReportDocument Document()
        => new(
            summary.Customers.Length,
            summary.RepeatTransactions,
            summary.HoldoutEnd is null ? null : summary.HoldoutTransactions,
            Unit,
            source,
            [.. runs.Select(ModelDocument)],
            spend is null ? null : new SpendReport(
                new Dictionary<string, double> { ["p"] = spend.P, ["q"] = spend.Q, ["gamma"] = spend.Gamma },
                (int)spend.FitResult!.Customers,
                spend.FitResult.LogLikelihood,
                spend.Q > 1 ? spend.PopulationMeanSpend : null)
            {
                Intervals = SpendIntervals is not { } si ? null : new SpendIntervalReport(
                    intervals.Draws,
                    intervals.Level,
                    unchecked(intervals.Seed + 1),
                    intervals.Description,
                    si.Error is null ? ["spend.expected.lower", "spend.expected.upper"] : [],
                    si.Error is null && double.IsFinite(si.PopulationMean.Lower) ? si.PopulationMean.Lower : null,
                    si.Error is null && double.IsFinite(si.PopulationMean.Upper) ? si.PopulationMean.Upper : null,
                    si.Error),
            },
            spendError,
            input,
            horizon,
            discountRate,
            margin,
            summary.HoldoutEnd is null ? null : ByFrequency(),
            segments,
            outputs)
        {
            Covariates = Covariates,
        };

    private ModelReport ModelDocument(ModelRun run)
    {
        if (run.Fit is not { } fit || run.Predictions is not { } p)
        {
            return new ModelReport(run.Name, new Dictionary<string, double?>(), new Dictionary<string, double?>(), null, null, null, null, false, run.Error, null, null, null, null, null, null, null);
        }

        var modelColumns = columns.First(c => c.Run == run);
        var clv = modelColumns.Clv;
        return new ModelReport(
            run.Name,
            fit.Names.Zip(fit.Values).ToDictionary(x => x.First, x => Finite(x.Second)),
            fit.Names.Zip(fit.StandardErrors).ToDictionary(x => x.First, x => Finite(x.Second)),
            Finite(fit.LogLikelihood),
            p.Holdout is null ? null : Finite(PerCustomer(p.Holdout).Sum()),
            Finite(PerCustomer(p.PAlive).Average()),
            fit.Diagnostics.Elapsed.TotalMilliseconds,
            fit.Diagnostics.Converged,
            null,
            Finite(fit.Aic),
            Finite(fit.Bic),
            fit.Diagnostics.Iterations,
            Finite(fit.Diagnostics.GradientNorm),
            Finite(PerCustomer(p.Expected).Sum()),
            p.Dert is null ? null : Finite(PerCustomer(p.Dert).Average()),
            clv is null ? null : Finite(clv.Sum()))
        {
            Degenerate = fit.Diagnostics.IsDegenerate,
            Issues = [.. fit.Diagnostics.Issues.Select(i => new IssueReport(JsonNamingPolicy.CamelCase.ConvertName(i.Kind.ToString()), i.Parameters, i.Message))],
            Penalty = fit.Diagnostics.Penalty,
            HoldoutErrors = Errors(run) is { } e
                ? new HoldoutErrorsReport(e.MeanAbsoluteError, e.RootMeanSquaredError, e.MeanSquaredLogError, e.TotalActual, e.TotalPredicted, e.TotalError, Finite(e.RelativeTotalError))
                : null,
            Intervals = intervals.Draws == 0 ? null : new IntervalReport(
                intervals.Draws,
                intervals.Level,
                intervals.Seed,
                intervals.Description,
                [.. modelColumns.Intervals.Columns.Select(c => $"{run.Name}.{c.Suffix}")],
                modelColumns.Intervals.Error),
        };
    }

    /// <summary>
    /// Per-customer holdout errors of a model's expected holdout transactions against each customer's actual count (MAE,
    /// RMSE, MSLE, total), or <see langword="null"/> without a holdout or when a prediction is not finite.
    /// </summary>
    private HoldoutErrors? Errors(ModelRun run)
    {
        if (summary.HoldoutEnd is null || run.Predictions?.Holdout is not { } holdout)
        {
            return null;
        }

        if (!_holdoutErrors.TryGetValue(run.Name, out var errors))
        {
            var customers = summary.Customers;
            var actual = new double[customers.Length];
            var predicted = new double[customers.Length];
            for (var i = 0; i < actual.Length; i++)
            {
                actual[i] = customers[i].HoldoutFrequency;
                predicted[i] = holdout[RowOf[i]];
            }

            try
            {
                errors = ModelComparison.Holdout(actual, predicted);
            }
            catch (Engagement.Sdk.EngagementValidationException)
            {
                errors = null;
            }

            _holdoutErrors[run.Name] = errors;
        }

        return errors;
    }

    /// <summary>A per-history array read per customer.</summary>
    private IEnumerable<double> PerCustomer(double[] byHistory)
    {
        return RowOf.Select(r => byHistory[r]);
    }

    private int[] RowOf => histories.RowOf;

    private List<FrequencyRow> ByFrequency()
    {
        var rows = new List<FrequencyRow>();
        var customers = summary.Customers;
        for (var x = 0; x < Buckets; x++)
        {
            var expected = new Dictionary<string, double>();
            foreach (var run in runs.Where(r => r.Succeeded))
            {
                var holdout = run.Predictions!.Holdout!;
                var sum = 0.0;
                for (var i = 0; i < customers.Length; i++)
                {
                    if (Math.Min(customers[i].Frequency, Buckets - 1) == x)
                    {
                        sum += holdout[RowOf[i]];
                    }
                }

                expected[run.Name] = sum;
            }

            var group = customers.Where(c => Math.Min(c.Frequency, Buckets - 1) == x).ToList();
            rows.Add(new FrequencyRow(x, group.Count, group.Sum(c => c.HoldoutFrequency), expected));
        }

        return rows;
    }

    /// <summary>JSON has no NaN or infinity: such a number is reported as null.</summary>
    private void WriteCovariates(TextWriter o)
    {
        if (Covariates is not { } c)
        {
            return;
        }

        o.WriteLine();
        o.WriteLine(string.Create(Inv, $"Covariates from {c.File} on {c.On} ({c.DistinctVectors:N0} distinct vectors), tested against each model without them (likelihood ratio)"));
        if (c.Models.Count == 0)
        {
            o.WriteLine("  No fitted model has a covariate version (BG/NBD and Pareto/NBD have).");
        }

        foreach (var m in c.Models)
        {
            if (m.Error is not null)
            {
                o.WriteLine($"  {m.Name,-7} FAILED: {m.Error}");
                continue;
            }

            var coefficients = string.Join("  ", m.Parameters.Where(p => p.Key.Contains(':', StringComparison.Ordinal)).Select(p => string.Create(Inv, $"{p.Key} {p.Value:F4} ({m.StandardErrors[p.Key]:F4})")));
            o.WriteLine(string.Create(Inv, $"  {m.Name,-7} {coefficients}   LL {m.LogLikelihood:F2}   AIC {m.Aic:F1}   BIC {m.Bic:F1}{(m.Converged ? string.Empty : "   NOT CONVERGED")}"));
            o.WriteLine(m.LikelihoodRatio is { } lr
                ? string.Create(Inv, $"          LR test against {lr.Against} without covariates: chi2 {lr.Statistic:F2} on {lr.DegreesOfFreedom} df, p = {lr.PValue:G3}{(lr.PValue < 0.05 ? " (the covariates matter at the 5 % level)" : " (no evidence at the 5 % level that they matter)")}")
                : $"          no LR test: {m.LikelihoodRatioError}");
        }
    }

    internal static double? Finite(double? value) => value is { } v && double.IsFinite(v) ? v : null;

    public void WriteText(TextWriter o)
    {
        var fitted = runs.Where(r => r.Succeeded).ToList();
        o.WriteLine($"Data: {source}");
        if (input is not null)
        {
            o.WriteLine(string.Create(Inv, $"  {input.Rows:N0} rows read ({input.Format})"));
            o.WriteLine(input.OrderIdColumn is null
                ? "  No order id column: every row counts as a purchase (give --order-id to count an order repeated in the file once)."
                : string.Create(Inv, $"  Order ids in '{input.OrderIdColumn}': {input.DuplicateOrders:N0} rows repeated an order already read and were counted once{(input.ConflictingDuplicates > 0 ? $" ({input.ConflictingDuplicates:N0} of them differed from their order's first row: customer, day or amount)" : string.Empty)}."));
        }

        o.WriteLine(string.Create(Inv, $"{summary.Customers.Length:N0} customers, {summary.RepeatTransactions:N0} repeat transactions to {summary.CalibrationEnd:yyyy-MM-dd} (time in {Unit})"));
        o.WriteLine();
        o.WriteLine("Models (standard errors in brackets)");
        foreach (var run in runs)
        {
            if (run.Error is not null)
            {
                o.WriteLine($"  {run.Name,-7} FAILED: {run.Error}");
                continue;
            }

            var fit = run.Fit!;
            var (aic, bic) = (fit.Aic, fit.Bic);
            var parameters = string.Join("  ", fit.Names.Select((n, i) => string.Create(Inv, $"{n} {fit.Values[i]:F4} ({fit.StandardErrors[i]:F4})")));
            o.WriteLine(string.Create(Inv, $"  {run.Name,-7} {parameters}   LL {fit.LogLikelihood:F2}   AIC {aic:F1}   BIC {bic:F1}   {fit.Diagnostics.Elapsed.TotalMilliseconds:F0} ms{(fit.Diagnostics.Converged ? string.Empty : "   NOT CONVERGED")}{(fit.Diagnostics.Penalty > 0 ? string.Create(Inv, $"   penalty {fit.Diagnostics.Penalty:G3}") : string.Empty)}"));
            foreach (var issue in fit.Diagnostics.Issues)
            {
                o.WriteLine($"          ! {issue.Kind}: {issue.Message}");
            }
        }

        if (spend is not null)
        {
            o.WriteLine(string.Create(Inv, $"  spend   p {spend.P:F4} ({spend.FitResult!.StandardErrors[0]:F4})  q {spend.Q:F4} ({spend.FitResult.StandardErrors[1]:F4})  gamma {spend.Gamma:F4} ({spend.FitResult.StandardErrors[2]:F4})   LL {spend.FitResult.LogLikelihood:F2}   on {spend.FitResult.Customers:N0} repeat buyers with a positive spend"));
        }

        if (spendError is not null)
        {
            o.WriteLine($"  spend   FAILED: {spendError}");
        }

        if (intervals.Draws > 0)
        {
            o.WriteLine(string.Create(Inv, $"  Intervals: {intervals.Level:P0} from {intervals.Draws:N0} draws of each model's parameters ({intervals.Description}, seed {intervals.Seed}); they show the uncertainty of the estimates."));
            if (SpendIntervals is { } si)
            {
                o.WriteLine(si.Error is null
                    ? string.Create(Inv, $"  spend   population mean spend {(spend!.Q > 1 ? spend.PopulationMeanSpend : double.PositiveInfinity):F2}, {intervals.Level:P0} interval {si.PopulationMean.Lower:F2} .. {si.PopulationMean.Upper:F2}; per customer in spend.expected.lower/.upper")
                    : $"  spend   no intervals: {si.Error}");
            }
            foreach (var c in columns.Where(c => c.Intervals.Error is not null))
            {
                o.WriteLine($"  {c.Run.Name,-7} no intervals: {c.Intervals.Error}");
            }
        }

        WriteCovariates(o);
        if (summary.HoldoutEnd is { } holdoutEnd)
        {
            o.WriteLine();
            o.WriteLine(string.Create(Inv, $"Holdout {summary.CalibrationEnd.AddDays(1):yyyy-MM-dd} .. {holdoutEnd:yyyy-MM-dd}: repeat transactions, actual vs expected"));
            var header = new StringBuilder("  x in calibration   customers     actual");
            foreach (var run in fitted)
            {
                header.Append(Inv, $" {run.Name,10}");
            }

            o.WriteLine(header);
            foreach (var row in ByFrequency())
            {
                var line = new StringBuilder(string.Create(Inv, $"  {(row.Frequency == Buckets - 1 ? "7+" : row.Frequency.ToString(Inv)),-18} {row.Customers,9:N0} {row.Actual,10:N0}"));
                foreach (var run in fitted)
                {
                    line.Append(Inv, $" {row.Expected[run.Name],10:F1}");
                }

                o.WriteLine(line);
            }

            var totals = new StringBuilder(string.Create(Inv, $"  {"total",-18} {summary.Customers.Length,9:N0} {summary.HoldoutTransactions,10:N0}"));
            foreach (var run in fitted)
            {
                totals.Append(Inv, $" {PerCustomer(run.Predictions!.Holdout!).Sum(),10:F1}");
            }

            o.WriteLine(totals);
            o.WriteLine();
            o.WriteLine("Holdout errors per customer (expected vs actual holdout transactions; lower is better)");
            o.WriteLine("  model           MAE       RMSE       MSLE   total expected   total error");
            foreach (var run in fitted)
            {
                if (Errors(run) is { } e)
                {
                    o.WriteLine(string.Create(Inv, $"  {run.Name,-8} {e.MeanAbsoluteError,10:F4} {e.RootMeanSquaredError,10:F4} {e.MeanSquaredLogError,10:F4} {e.TotalPredicted,16:F1} {e.RelativeTotalError,13:+0.0 %;-0.0 %;0.0 %}"));
                }
                else
                {
                    o.WriteLine($"  {run.Name,-8} (a prediction is not finite: no errors)");
                }
            }
        }

        WriteSegments(o);
        WriteTopCustomers(o);
        if (outputs.CustomersFile is not null)
        {
            o.WriteLine();
            o.WriteLine($"Per-customer predictions written to {outputs.CustomersFile}.");
        }

        if (outputs.Plots.Count > 0)
        {
            o.WriteLine();
            o.WriteLine($"Plots: {string.Join(", ", outputs.Plots.Select(Path.GetFileName))} in {Path.GetDirectoryName(outputs.Plots[0])}.");
        }
    }

    private string ValueName => segments.ValueMeasure switch
    {
        "clv" => "CLV",
        "expectedRevenue" => string.Create(Inv, $"expected revenue in {horizon:0.#} {Unit}"),
        _ => string.Create(Inv, $"expected transactions in {horizon:0.#} {Unit}"),
    };

    private void WriteSegments(TextWriter o)
    {
        o.WriteLine();
        o.WriteLine(string.Create(Inv, $"Segments ({segments.Model}: P(alive) below 0.3 likely lost, 0.3-0.7 at risk, 0.7+ active x {ValueName} quantiles; cut-offs {string.Join(", ", segments.ValueCutoffs.Select(c => c.ToString("G4", Inv)))})"));
        o.WriteLine("  activity     value     customers   share   mean P(alive)   mean expected      total value   value share");
        foreach (var c in segments.Cells)
        {
            o.WriteLine(string.Create(Inv, $"  {c.Activity,-12} {c.Value,-8} {c.Customers,10:N0} {c.Share,7:P1} {c.MeanPAlive,15:F3} {c.MeanExpected,15:F3} {c.TotalValue,16:N2} {c.ValueShare,13:P1}"));
        }
    }

    private void WriteTopCustomers(TextWriter o)
    {
        var primary = columns.FirstOrDefault(c => c.Run.Name == segments.Model) ?? columns[0];
        var p = primary.Run.Predictions!;
        var customers = summary.Customers;
        Func<int, double> value = primary.Clv is { } clv ? i => clv[i]
            : expectedSpend is not null ? i => p.Expected[RowOf[i]] * expectedSpend[i] * margin
            : i => p.Expected[RowOf[i]];
        o.WriteLine();
        o.WriteLine(string.Create(Inv, $"Top customers by {ValueName} ({primary.Run.Name}{(expectedSpend is null ? string.Empty : " + Gamma-Gamma")}, margin {margin:P0}{(primary.Clv is null ? string.Empty : $", continuous discount {discountRate:G4} per {Unit[..^1]}")})"));
        // The ten highest in one pass (a sort of a million customers would cost more than the rest of the report).
        var top = new List<int>(11);
        for (var i = 0; i < customers.Length; i++)
        {
            var v = value(i);
            if (top.Count == 10 && !Above(i, top[^1]))
            {
                continue;
            }

            var at = top.FindIndex(j => Above(i, j));
            top.Insert(at < 0 ? top.Count : at, i);
            if (top.Count > 10)
            {
                top.RemoveAt(10);
            }
        }

        bool Above(int i, int j) => value(i) > value(j) || (value(i) == value(j) && string.CompareOrdinal(customers[i].CustomerId, customers[j].CustomerId) < 0);

        foreach (var i in top)
        {
            var c = customers[i];
            var range = primary.Clv is not null && primary.Intervals.Column("clv.lower") is { } low && primary.Intervals.Column("clv.upper") is { } high
                ? string.Create(Inv, $"  [{low[i]:F2}, {high[i]:F2}]")
                : string.Empty;
            o.WriteLine(string.Create(Inv, $"  {c.CustomerId,-10} x {c.Frequency,3}  P(alive) {p.PAlive[RowOf[i]]:F3}  expected {p.Expected[RowOf[i]],6:F2}  mean spend {c.MeanRepeatSpend,8:F2}  value {value(i),9:F2}{range}"));
        }
    }
}
