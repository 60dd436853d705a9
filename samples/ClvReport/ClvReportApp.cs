using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Json;
using Engagement.Sdk.Value.Clv;

namespace ClvReport;

/// <summary>
/// Fits lifetime-value models to a transaction export and reports them the way the papers do: parameters with standard
/// errors and log-likelihood, holdout actual against predicted in total and by calibration frequency, the most valuable
/// customers, and optionally JSON and an SVG tracking chart.
/// </summary>
public static class ClvReportApp
{
    private const string Usage = "Usage: ClvReport [--transactions FILE] --calibration-end YYYY-MM-DD [--holdout-end YYYY-MM-DD] [--model bgnbd|mbgnbd|pnbd|all] [--unit weeks|days] [--format csv|cdnow] [--json] [--plot FILE.svg] [--help]";
    private static readonly CultureInfo Inv = CultureInfo.InvariantCulture;

    /// <summary>Runs the report.</summary>
    /// <param name="args">The command line.</param>
    /// <param name="stdout">Where the report goes.</param>
    /// <param name="stderr">Where errors go.</param>
    /// <returns>
    /// 0 on success (also for <c>--help</c>, and when some but not all models failed: each failure is in the report), 2 for
    /// bad arguments, 3 for bad input, 4 when no requested model can be fitted.
    /// </returns>
    public static int Run(string[] args, TextWriter stdout, TextWriter stderr) => Run(args, stdout, stderr, FitModel);

    /// <summary>Runs the report with a given way of fitting each transaction model (<c>bgnbd</c>, <c>mbgnbd</c>, <c>pnbd</c>).</summary>
    /// <param name="args">The command line.</param>
    /// <param name="stdout">Where the report goes.</param>
    /// <param name="stderr">Where errors go.</param>
    /// <param name="fit">Fits the named model to the data.</param>
    /// <returns>The exit code, as for <see cref="Run(string[], TextWriter, TextWriter)"/>.</returns>
    internal static int Run(string[] args, TextWriter stdout, TextWriter stderr, Func<string, RfmData, (ITransactionModel Model, ClvFit Fit)> fit)
    {
        ArgumentNullException.ThrowIfNull(args);
        ArgumentNullException.ThrowIfNull(stdout);
        ArgumentNullException.ThrowIfNull(stderr);
        string? file = null, format = null, plot = null;
        DateOnly? calibrationEnd = null, holdoutEnd = null;
        var models = "all";
        var unit = TimeUnit.Weeks;
        var json = false;
        for (var i = 0; i < args.Length; i++)
        {
            string Next() => i + 1 < args.Length ? args[++i] : throw new ArgumentException($"{args[i]} needs a value");
            try
            {
                switch (args[i])
                {
                    case "--transactions": file = Next(); break;
                    case "--calibration-end": calibrationEnd = Date(Next(), "--calibration-end"); break;
                    case "--holdout-end": holdoutEnd = Date(Next(), "--holdout-end"); break;
                    case "--model": models = Next() is "bgnbd" or "mbgnbd" or "pnbd" or "all" ? args[i] : throw new ArgumentException($"unknown model '{args[i]}'"); break;
                    case "--unit": unit = Next() switch { "weeks" => TimeUnit.Weeks, "days" => TimeUnit.Days, var u => throw new ArgumentException($"unknown unit '{u}'") }; break;
                    case "--format": format = Next() is "csv" or "cdnow" ? args[i] : throw new ArgumentException($"unknown format '{args[i]}'"); break;
                    case "--json": json = true; break;
                    case "--plot": plot = Next(); break;
                    case "--help" or "-h":
                        stdout.WriteLine(Usage);
                        return 0;
                    default: throw new ArgumentException($"unknown argument '{args[i]}'");
                }
            }
            catch (ArgumentException ex)
            {
                stderr.WriteLine(ex.Message);
                stderr.WriteLine(Usage);
                return 2;
            }
        }

        List<Transaction> transactions;
        string source;
        if (file is null)
        {
            var start = new DateOnly(2024, 1, 1);
            var truth = BgNbdModel.FromParameters(0.35, 5.5, 0.8, 2.6);
            transactions = [.. truth.SimulateTransactions(3000, start, start.AddDays(2 * 364 - 1), 84, GammaGammaModel.FromParameters(6, 3.8, 15), TimeUnit.Weeks, seed: 7)];
            calibrationEnd ??= start.AddDays(364 - 1);
            holdoutEnd ??= start.AddDays(2 * 364 - 1);
            source = "simulated (no --transactions given): 3,000 customers from a seeded BG/NBD population, two years";
        }
        else
        {
            if (calibrationEnd is null)
            {
                stderr.WriteLine("--calibration-end is required with --transactions.");
                stderr.WriteLine(Usage);
                return 2;
            }

            try
            {
                transactions = TransactionFile.Read(file, format);
            }
            catch (InputException ex)
            {
                stderr.WriteLine($"{file}: {ex.Message}");
                return 3;
            }
            catch (IOException ex)
            {
                stderr.WriteLine($"{file}: {ex.Message}");
                return 3;
            }

            source = file;
        }

        RfmSummary summary;
        try
        {
            summary = RfmSummary.FromTransactions(transactions, calibrationEnd!.Value, holdoutEnd, unit);
        }
        catch (Engagement.Sdk.EngagementValidationException ex)
        {
            stderr.WriteLine(ex.Message);
            return 3;
        }

        // Each model runs on its own: a model that cannot be fitted, or whose predictions fail, is reported as such and the
        // others still run. Only when no requested model can be fitted is the run a failure (exit 4).
        var data = summary.ToData();
        var runs = new List<ModelRun>();
        foreach (var name in models == "all" ? ["bgnbd", "mbgnbd", "pnbd"] : new[] { models })
        {
            try
            {
                var (model, modelFit) = fit(name, data);
                (double Total, double[] ByFrequency)? holdout = summary.HoldoutEnd is null ? null : HoldoutPredicted(model, summary);
                var meanPAlive = summary.Customers.Average(c => model.ProbabilityAlive(c.Frequency, c.Recency, c.Age));
                runs.Add(new ModelRun(name, model, modelFit, holdout, meanPAlive, null));
            }
            catch (ClvModelException ex)
            {
                runs.Add(new ModelRun(name, null, null, null, null, ex.Message));
            }
        }

        if (runs.All(r => r.Error is not null))
        {
            foreach (var run in runs)
            {
                stderr.WriteLine($"Cannot fit {run.Name}: {run.Error}");
            }

            return 4;
        }

        GammaGammaModel? spend = null;
        string? spendError = null;
        try
        {
            if (summary.Customers.Count(c => c.Frequency > 0 && c.MeanRepeatSpend > 0) >= 2)
            {
                spend = GammaGammaModel.Fit([.. summary.Customers.Where(c => c.Frequency > 0 && c.MeanRepeatSpend > 0).Select(c => (c.Frequency, (double)c.MeanRepeatSpend, 1.0))]);
            }
        }
        catch (ClvModelException ex)
        {
            spendError = ex.Message;
        }

        var fitted = runs.Where(r => r.Error is null).ToList();
        if (json)
        {
            stdout.WriteLine(JsonSerializer.Serialize(Document(summary, runs, spend, spendError, source), ReportJsonContext.Default.ReportDocument));
        }
        else
        {
            WriteText(stdout, summary, runs, spend, spendError, source);
        }

        if (plot is not null)
        {
            File.WriteAllText(plot, TrackingChart.Svg(transactions, summary, fitted.Select(f => f.Model!).ToList()));
            if (!json)
            {
                stdout.WriteLine($"Tracking chart written to {plot}.");
            }
        }

        return 0;
    }

    private static (ITransactionModel Model, ClvFit Fit) FitModel(string name, RfmData data)
    {
        switch (name)
        {
            case "bgnbd":
                var bg = BgNbdModel.Fit(data);
                return (bg, bg.FitResult!);
            case "mbgnbd":
                var mbg = BgNbdModel.Fit(data, modified: true);
                return (mbg, mbg.FitResult!);
            default:
                var pnbd = ParetoNbdModel.Fit(data);
                return (pnbd, pnbd.FitResult!);
        }
    }

    private static ReportDocument Document(RfmSummary summary, List<ModelRun> runs, GammaGammaModel? spend, string? spendError, string source)
        => new(
            summary.Customers.Length,
            summary.RepeatTransactions,
            summary.HoldoutEnd is null ? null : summary.HoldoutTransactions,
            summary.Unit.ToString().ToLowerInvariant(),
            source,
            [.. runs.Select(r => r.Fit is not { } fit
                ? new ModelReport(r.Name, new Dictionary<string, double?>(), new Dictionary<string, double?>(), null, null, null, null, false, r.Error)
                : new ModelReport(
                    r.Name,
                    fit.Names.Zip(fit.Values).ToDictionary(p => p.First, p => Finite(p.Second)),
                    fit.Names.Zip(fit.StandardErrors).ToDictionary(p => p.First, p => Finite(p.Second)),
                    Finite(fit.LogLikelihood),
                    Finite(r.Holdout?.Total),
                    Finite(r.MeanPAlive),
                    fit.Diagnostics.Elapsed.TotalMilliseconds,
                    fit.Diagnostics.Converged,
                    null))],
            spend is null ? null : new SpendReport(new Dictionary<string, double> { ["p"] = spend.P, ["q"] = spend.Q, ["gamma"] = spend.Gamma }, (int)spend.FitResult!.Customers, spend.FitResult.LogLikelihood),
            spendError);

    /// <summary>JSON has no NaN or infinity: such a number is reported as null.</summary>
    private static double? Finite(double? value) => value is { } v && double.IsFinite(v) ? v : null;

    private static (double Total, double[] ByFrequency) HoldoutPredicted(ITransactionModel model, RfmSummary summary)
    {
        var byFrequency = new double[8];
        var total = 0.0;
        foreach (var c in summary.Customers)
        {
            var e = model.ConditionalExpectedTransactions(summary.HoldoutLength, c.Frequency, c.Recency, c.Age);
            total += e;
            byFrequency[Math.Min(c.Frequency, 7)] += e;
        }

        return (total, byFrequency);
    }

    private static void WriteText(TextWriter o, RfmSummary summary, List<ModelRun> runs, GammaGammaModel? spend, string? spendError, string source)
    {
        var fitted = runs.Where(r => r.Error is null).ToList();
        o.WriteLine($"Data: {source}");
        o.WriteLine(string.Create(Inv, $"{summary.Customers.Length:N0} customers, {summary.RepeatTransactions:N0} repeat transactions to {summary.CalibrationEnd:yyyy-MM-dd} (time in {summary.Unit.ToString().ToLowerInvariant()})"));
        o.WriteLine();
        o.WriteLine("Models (standard errors in brackets)");
        foreach (var run in runs)
        {
            if (run.Error is not null)
            {
                o.WriteLine($"  {run.Name,-7} FAILED: {run.Error}");
                continue;
            }

            var (model, fit) = (run.Model!, run.Fit!);
            var parameters = string.Join("  ", fit.Names.Select((n, i) => string.Create(Inv, $"{n} {fit.Values[i]:F4} ({fit.StandardErrors[i]:F4})")));
            o.WriteLine(string.Create(Inv, $"  {model.Name,-7} {parameters}   LL {fit.LogLikelihood:F2}   {fit.Diagnostics.Elapsed.TotalMilliseconds:F0} ms{(fit.Diagnostics.Converged ? string.Empty : "   NOT CONVERGED")}"));
        }

        if (spend is not null)
        {
            o.WriteLine(string.Create(Inv, $"  spend   p {spend.P:F4} ({spend.FitResult!.StandardErrors[0]:F4})  q {spend.Q:F4} ({spend.FitResult.StandardErrors[1]:F4})  gamma {spend.Gamma:F4} ({spend.FitResult.StandardErrors[2]:F4})   LL {spend.FitResult.LogLikelihood:F2}   on {spend.FitResult.Customers:N0} repeat buyers"));
        }

        if (spendError is not null)
        {
            o.WriteLine($"  spend   FAILED: {spendError}");
        }

        if (summary.HoldoutEnd is { } holdoutEnd)
        {
            o.WriteLine();
            o.WriteLine(string.Create(Inv, $"Holdout {summary.CalibrationEnd.AddDays(1):yyyy-MM-dd} .. {holdoutEnd:yyyy-MM-dd}: repeat transactions, actual vs predicted"));
            var header = new StringBuilder("  x in calibration   customers     actual");
            foreach (var run in fitted)
            {
                header.Append(CultureInfo.InvariantCulture, $" {run.Model!.Name,10}");
            }

            o.WriteLine(header);
            var predictions = fitted.Select(f => f.Holdout!.Value).ToList();
            for (var x = 0; x <= 7; x++)
            {
                var group = summary.Customers.Where(c => Math.Min(c.Frequency, 7) == x).ToList();
                var row = new StringBuilder(string.Create(Inv, $"  {(x == 7 ? "7+" : x.ToString(Inv)),-18} {group.Count,9:N0} {group.Sum(c => c.HoldoutFrequency),10:N0}"));
                foreach (var p in predictions)
                {
                    row.Append(CultureInfo.InvariantCulture, $" {p.ByFrequency[x],10:F1}");
                }

                o.WriteLine(row);
            }

            var totals = new StringBuilder(string.Create(Inv, $"  {"total",-18} {summary.Customers.Length,9:N0} {summary.HoldoutTransactions,10:N0}"));
            foreach (var p in predictions)
            {
                totals.Append(CultureInfo.InvariantCulture, $" {p.Total,10:F1}");
            }

            o.WriteLine(totals);
        }

        if (spend is not null && fitted.Count > 0 && spend.Q > 1)
        {
            var model = fitted[0].Model!;
            var unitsPerMonth = summary.Unit == TimeUnit.Weeks ? 4.345 : 30.0;
            o.WriteLine();
            o.WriteLine($"Top customers by 12-month CLV ({model.Name} + Gamma-Gamma, 30% margin, 1% monthly discount)");
            List<(CustomerRfm Customer, double Clv)> top;
            try
            {
                top = [.. summary.Customers
                    .Select(c => (Customer: c, Clv: CustomerLifetimeValue.Compute(model, spend, c, 12, unitsPerMonth, 0.01, 0.30)))
                    .OrderByDescending(t => t.Clv).ThenBy(t => t.Customer.CustomerId, StringComparer.Ordinal).Take(10)];
            }
            catch (ClvModelException ex)
            {
                o.WriteLine($"  FAILED: {ex.Message}");
                return;
            }

            foreach (var (c, clv) in top)
            {
                o.WriteLine(string.Create(Inv, $"  {c.CustomerId,-10} x {c.Frequency,3}  P(alive) {model.ProbabilityAlive(c.Frequency, c.Recency, c.Age):F3}  mean spend {c.MeanRepeatSpend,8:F2}  CLV {clv,9:F2}"));
            }
        }
    }

    private static DateOnly Date(string text, string option)
        => DateOnly.TryParseExact(text, "yyyy-MM-dd", Inv, DateTimeStyles.None, out var date) ? date : throw new ArgumentException($"{option}: '{text}' is not a date in yyyy-mm-dd form");
}

/// <summary>One transaction model's run: the fit and its predictions, or why it failed.</summary>
internal sealed record ModelRun(string Name, ITransactionModel? Model, ClvFit? Fit, (double Total, double[] ByFrequency)? Holdout, double? MeanPAlive, string? Error);
