using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;
using Engagement.Sdk;
using Engagement.Sdk.Value.Clv;
using ScottPlot;

namespace ClvReport;

/// <summary>The <c>bgbb</c> command's options.</summary>
internal sealed record BgBbOptions(
    string? Patterns,
    string? Transactions,
    string? Format,
    CsvColumns Columns,
    DateOnly? CalibrationEnd,
    DateOnly? HoldoutEnd,
    string Period,
    int? Horizon,
    double DiscountRate,
    double Penalty,
    IntervalOptions Intervals,
    string? CustomersOut,
    string? Plots,
    bool Json,
    bool Quiet);

/// <summary>One customer (or, from a pattern file, one pattern of many customers) in discrete time.</summary>
/// <param name="Id">The customer id, or the pattern's row number in the file.</param>
/// <param name="X">Transactions at the opportunities after the first.</param>
/// <param name="Tx">The opportunity of the last transaction (0 without one).</param>
/// <param name="N">Opportunities after the first transaction, to the calibration end.</param>
/// <param name="Weight">How many customers the row stands for.</param>
/// <param name="Holdout">Transactions at the holdout's opportunities, or -1 without a holdout.</param>
internal readonly record struct DiscreteCustomer(string Id, int X, int Tx, int N, double Weight, int Holdout);

/// <summary>
/// The BG/BB report (Fader, Hardie and Shang 2010) for purchases that can only happen at discrete opportunities (a yearly
/// donation, an annual event, a monthly box): from a pattern file (<c>frequency,recency,periods,weights</c>, as the
/// published donations data) or from transactions cut into calendar periods. Fit with standard errors and information
/// criteria, the repeat-transaction distribution against the model's, holdout actual against expected with errors, per
/// customer P(alive), expected transactions and discounted expected transactions, and plots.
/// </summary>
internal static class BgBbReport
{
    private static readonly CultureInfo Inv = CultureInfo.InvariantCulture;

    public static int Run(BgBbOptions options, TextWriter stdout, TextWriter stderr)
    {
        if ((options.Patterns is null) == (options.Transactions is null))
        {
            stderr.WriteLine("bgbb: give either --patterns FILE or --transactions FILE with --calibration-end.");
            return ClvReportApp.BadArguments;
        }

        if (options.Transactions is not null && options.CalibrationEnd is null)
        {
            stderr.WriteLine("bgbb: --calibration-end is required with --transactions.");
            return ClvReportApp.BadArguments;
        }

        if (options.HoldoutEnd is { } h && options.CalibrationEnd is { } c && h <= c)
        {
            stderr.WriteLine($"bgbb: --holdout-end {h:yyyy-MM-dd} must be later than --calibration-end {c:yyyy-MM-dd}.");
            return ClvReportApp.BadArguments;
        }

        var progress = new Progress(options.Quiet ? null : stderr);
        List<DiscreteCustomer> customers;
        int holdoutOpportunities;
        string source;
        try
        {
            if (options.Patterns is { } patterns)
            {
                customers = progress.Step($"reading {patterns}", () => ReadPatterns(patterns));
                holdoutOpportunities = 0;
                source = patterns;
            }
            else
            {
                var read = progress.Step($"reading {options.Transactions}", () => TransactionFile.Read(options.Transactions!, options.Format, options.Columns));
                (customers, holdoutOpportunities) = progress.Step("cutting the transactions into periods", () => FromTransactions(read.Transactions, options.CalibrationEnd!.Value, options.HoldoutEnd, options.Period));
                source = $"{options.Transactions} (one opportunity a {options.Period})";
            }
        }
        catch (Exception ex) when (ex is InputException or IOException or UnauthorizedAccessException)
        {
            stderr.WriteLine($"{options.Patterns ?? options.Transactions}: {ex.Message}");
            return ClvReportApp.BadInput;
        }

        if (customers.Count == 0)
        {
            stderr.WriteLine("No customer made a first purchase on or before the calibration end: there is nothing to fit.");
            return ClvReportApp.BadInput;
        }

        BgBbModel model;
        List<(int X, int Tx, int N, double Weight)> rows;
        try
        {
            rows = customers.GroupBy(c => (c.X, c.Tx, c.N)).Select(g => (g.Key.X, g.Key.Tx, g.Key.N, g.Sum(c => c.Weight))).ToList();
            model = progress.Step($"fitting bgbb to {rows.Count:N0} distinct patterns", () => BgBbModel.Fit(rows, options.Penalty > 0 ? new ClvFitOptions { Penalty = options.Penalty } : null));
        }
        catch (Exception ex) when (ex is ClvModelException or EngagementValidationException or ArithmeticException)
        {
            stderr.WriteLine($"Cannot fit bgbb: {ex.Message}");
            return ClvReportApp.NoModelFitted;
        }

        var horizon = options.Horizon ?? (holdoutOpportunities > 0 ? holdoutOpportunities : 1);
        var predictions = progress.Step("predicting", () => Predict(model, customers, horizon, holdoutOpportunities, options.DiscountRate));
        var intervals = options.Intervals.Draws == 0
            ? null
            : progress.Step(string.Create(Inv, $"{options.Intervals.Level:P0} intervals from {options.Intervals.Draws} {options.Intervals.Method} draws (seed {options.Intervals.Seed})"), () => Intervals(model, rows, customers, horizon, options));
        string? customersFile = null;
        var plots = new List<string>();
        try
        {
            if (options.CustomersOut is { } path)
            {
                WriteCustomers(path, customers, predictions, holdoutOpportunities > 0, intervals);
                customersFile = path;
            }

            if (options.Plots is { } directory)
            {
                Directory.CreateDirectory(directory);
                var pmf = Path.Combine(directory, "bgbb-repeat-pmf.svg");
                const string PmfTitle = "Repeat transactions in calibration: customers, actual and BG/BB";
                File.WriteAllText(pmf, DiagnosticPlots.Svg(Distribution(model, customers, PmfTitle), PmfTitle));
                plots.Add(pmf);
                if (holdoutOpportunities > 0)
                {
                    var holdout = Path.Combine(directory, "bgbb-calibration-holdout.svg");
                    const string HoldoutTitle = "Holdout transactions by calibration frequency: actual and BG/BB";
                    File.WriteAllText(holdout, DiagnosticPlots.Svg(CalibrationHoldout(customers, predictions, HoldoutTitle), HoldoutTitle));
                    plots.Add(holdout);
                }
            }
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            stderr.WriteLine($"Cannot write the output: {ex.Message}");
            return ClvReportApp.OutputFailed;
        }

        var document = Document(model, customers, predictions, source, options, horizon, holdoutOpportunities, new OutputReport(customersFile, plots)) with
        {
            Intervals = intervals is null ? null : new IntervalReport(
                options.Intervals.Draws,
                options.Intervals.Level,
                options.Intervals.Seed,
                options.Intervals.Description,
                intervals.Error is null ? [.. intervals.Columns.Select(c => "bgbb." + c.Name)] : [],
                intervals.Error),
        };
        if (options.Json)
        {
            stdout.WriteLine(JsonSerializer.Serialize(document, BgBbJsonContext.Default.BgBbReportDocument));
        }
        else
        {
            WriteText(stdout, document);
        }

        return ClvReportApp.Success;
    }

    /// <summary>A pattern file: a header naming <c>frequency</c>, <c>recency</c>, <c>periods</c> and optionally <c>weights</c>.</summary>
    internal static List<DiscreteCustomer> ReadPatterns(string path)
    {
        var lines = File.ReadAllLines(path);
        var header = lines.Length == 0 ? [] : lines[0].Split(',').Select(h => h.Trim().ToLowerInvariant()).ToArray();
        int Column(string name) => Array.IndexOf(header, name) is var i && i >= 0 ? i : throw new InputException(1, $"no column '{name}' in the header; a pattern file has frequency,recency,periods[,weights]");
        var (fx, ftx, fn) = (Column("frequency"), Column("recency"), Column("periods"));
        var fw = Array.IndexOf(header, "weights");
        var result = new List<DiscreteCustomer>();
        for (var l = 1; l < lines.Length; l++)
        {
            if (string.IsNullOrWhiteSpace(lines[l]))
            {
                continue;
            }

            var f = lines[l].Split(',');
            if (f.Length < header.Length)
            {
                throw new InputException(l + 1, $"expected {header.Length} fields, found {f.Length}");
            }

            int Int(int column) => int.TryParse(f[column].Trim(), NumberStyles.Integer, Inv, out var v) && v >= 0 ? v : throw new InputException(l + 1, $"'{f[column]}' ({header[column]}) is not a whole number of at least 0");
            var (x, tx, n) = (Int(fx), Int(ftx), Int(fn));
            if (x > tx || tx > n || (x == 0) != (tx == 0))
            {
                throw new InputException(l + 1, $"frequency {x}, recency {tx}, periods {n}: a pattern needs frequency ≤ recency ≤ periods, and recency 0 exactly when frequency is 0");
            }

            var weight = fw < 0 ? 1 : double.TryParse(f[fw].Trim(), NumberStyles.Float, Inv, out var w) && w > 0 && double.IsFinite(w) ? w : throw new InputException(l + 1, $"'{f[fw]}' (weights) is not a positive number");
            result.Add(new DiscreteCustomer((l + 1).ToString(Inv), x, tx, n, weight, -1));
        }

        if (result.Count == 0)
        {
            throw new InputException(1, "the file has a header but no patterns");
        }

        return result;
    }

    /// <summary>
    /// Cuts each customer's purchases into calendar periods (year, quarter, month, ISO week or day): the period of the first
    /// purchase is the start, each later period to the calibration end's is an opportunity (n), and a period with at least
    /// one purchase is a transaction (x, its last tₓ); the periods after the calibration end's to the holdout end's are the
    /// holdout's opportunities.
    /// </summary>
    internal static (List<DiscreteCustomer> Customers, int HoldoutOpportunities) FromTransactions(IReadOnlyList<Transaction> transactions, DateOnly calibrationEnd, DateOnly? holdoutEnd, string period)
    {
        var calibrationPeriod = Period(calibrationEnd, period);
        var holdoutPeriod = holdoutEnd is { } h ? Period(h, period) : calibrationPeriod;
        var byCustomer = new Dictionary<string, List<int>>(StringComparer.Ordinal);
        var order = new List<string>();
        foreach (var t in transactions)
        {
            if (!byCustomer.TryGetValue(t.CustomerId, out var periods))
            {
                byCustomer[t.CustomerId] = periods = [];
                order.Add(t.CustomerId);
            }

            periods.Add(Period(t.Date, period));
        }

        var result = new List<DiscreteCustomer>(order.Count);
        foreach (var id in order)
        {
            var periods = byCustomer[id].Distinct().Order().ToList();
            var first = periods[0];
            if (first > calibrationPeriod)
            {
                continue;
            }

            var calibration = periods.Where(p => p <= calibrationPeriod).ToList();
            var x = calibration.Count - 1;
            var holdout = holdoutEnd is null ? -1 : periods.Count(p => p > calibrationPeriod && p <= holdoutPeriod);
            result.Add(new DiscreteCustomer(id, x, x == 0 ? 0 : calibration[^1] - first, calibrationPeriod - first, 1, holdout));
        }

        return (result, holdoutPeriod - calibrationPeriod);
    }

    /// <summary>The period's number: consecutive periods have consecutive numbers.</summary>
    private static int Period(DateOnly date, string period) => period switch
    {
        "year" => date.Year,
        "quarter" => (date.Year * 4) + ((date.Month - 1) / 3),
        "month" => (date.Year * 12) + date.Month - 1,
        "week" => date.DayNumber / 7, // day 0 (0001-01-01) is a Monday: weeks run Monday to Sunday
        _ => date.DayNumber,
    };

    /// <summary>Per-customer intervals of P(alive), the expected transactions over the horizon and DERT, or why there are none.</summary>
    private static DiscreteIntervals Intervals(BgBbModel model, List<(int X, int Tx, int N, double Weight)> rows, List<DiscreteCustomer> customers, int horizon, BgBbOptions options)
    {
        var o = options.Intervals;
        try
        {
            var draws = o.Method == IntervalOptions.Normal
                ? ParameterDraws.FromFit(model.FitResult!, o.Draws, o.Seed)
                : ParameterDraws.Bootstrap(model, rows, o.Draws, o.Seed);
            int[] x = [.. customers.Select(c => c.X)], tx = [.. customers.Select(c => c.Tx)], n = [.. customers.Select(c => c.N)];
            var columns = new List<(string Name, double[] Values)>();
            void Add(string name, Action<double[], double[]> compute)
            {
                var (lower, upper) = (new double[x.Length], new double[x.Length]);
                compute(lower, upper);
                columns.Add((name + ".lower", lower));
                columns.Add((name + ".upper", upper));
            }

            Add("pAlive", (l, u) => PredictionIntervals.BgBbProbabilityAlive(draws, 1, x, tx, n, o.Level, l, u));
            Add("expected", (l, u) => PredictionIntervals.BgBbConditionalExpectedTransactions(draws, horizon, x, tx, n, o.Level, l, u));
            if (options.DiscountRate > 0)
            {
                Add("dert", (l, u) => PredictionIntervals.BgBbDiscountedExpectedTransactions(draws, options.DiscountRate, x, tx, n, o.Level, l, u));
            }

            return new DiscreteIntervals(columns, null);
        }
        catch (Exception ex) when (ex is ClvModelException or EngagementValidationException or ArithmeticException)
        {
            return new DiscreteIntervals([], ex.Message);
        }
    }

    /// <summary>Per row: P(alive), E[transactions in the horizon], E[holdout transactions] and DERT.</summary>
    private static (double[] PAlive, double[] Expected, double[]? Holdout, double[] Dert) Predict(BgBbModel model, List<DiscreteCustomer> customers, int horizon, int holdoutOpportunities, double discountRate)
    {
        var n = customers.Count;
        var (pAlive, expected, dert) = (new double[n], new double[n], new double[n]);
        var holdout = holdoutOpportunities > 0 ? new double[n] : null;
        var cache = new Dictionary<(int, int, int), (double, double, double, double)>();
        for (var i = 0; i < n; i++)
        {
            var c = customers[i];
            if (!cache.TryGetValue((c.X, c.Tx, c.N), out var values))
            {
                values = (
                    model.ProbabilityAlive(c.X, c.Tx, c.N),
                    model.ConditionalExpectedTransactions(horizon, c.X, c.Tx, c.N),
                    holdoutOpportunities > 0 ? model.ConditionalExpectedTransactions(holdoutOpportunities, c.X, c.Tx, c.N) : 0,
                    model.DiscountedExpectedTransactions(discountRate, c.X, c.Tx, c.N));
                cache[(c.X, c.Tx, c.N)] = values;
            }

            (pAlive[i], expected[i], var h, dert[i]) = values;
            if (holdout is not null)
            {
                holdout[i] = h;
            }
        }

        return (pAlive, expected, holdout, dert);
    }

    private static BgBbReportDocument Document(BgBbModel model, List<DiscreteCustomer> customers, (double[] PAlive, double[] Expected, double[]? Holdout, double[] Dert) p, string source, BgBbOptions options, int horizon, int holdoutOpportunities, OutputReport outputs)
    {
        var fit = model.FitResult!;
        var total = customers.Sum(c => c.Weight);
        var maxN = customers.Max(c => c.N);

        // The repeat-transaction distribution: actual customers with x = k against Σ weight · P(X(n) = k) over each row's n.
        var distribution = new List<CountRow>();
        var byN = customers.GroupBy(c => c.N).Select(g => (N: g.Key, Weight: g.Sum(c => c.Weight))).ToList();
        for (var k = 0; k <= maxN; k++)
        {
            var expected = byN.Where(g => k <= g.N).Sum(g => g.Weight * model.ProbabilityOfTransactions(k, g.N));
            distribution.Add(new CountRow(k, customers.Where(c => c.X == k).Sum(c => c.Weight), expected));
        }

        HoldoutErrorsReport? errors = null;
        List<CountRow>? byFrequency = null;
        if (p.Holdout is { } holdout)
        {
            // Customers are rows of weight 1 here (transactions, not patterns), so the per-customer errors are plain means.
            var e = ModelComparison.Holdout([.. customers.Select(c => (double)c.Holdout)], holdout);
            errors = new HoldoutErrorsReport(e.MeanAbsoluteError, e.RootMeanSquaredError, e.MeanSquaredLogError, e.TotalActual, e.TotalPredicted, e.TotalError, double.IsFinite(e.RelativeTotalError) ? e.RelativeTotalError : null);
            byFrequency = [.. Enumerable.Range(0, maxN + 1).Select(k => new CountRow(k, customers.Where(c => c.X == k).Sum(c => (double)c.Holdout), customers.Select((c, i) => (c, i)).Where(t => t.c.X == k).Sum(t => holdout[t.i])))];
        }

        return new BgBbReportDocument(
            source,
            total,
            customers.Sum(c => c.X * c.Weight),
            maxN,
            fit.Names.Zip(fit.Values).ToDictionary(x => x.First, x => x.Second),
            fit.Names.Zip(fit.StandardErrors).ToDictionary(x => x.First, x => double.IsFinite(x.Second) ? x.Second : (double?)null),
            fit.LogLikelihood,
            fit.Aic,
            fit.Bic,
            fit.Diagnostics.IsDegenerate,
            [.. fit.Diagnostics.Issues.Select(i => new IssueReport(JsonNamingPolicy.CamelCase.ConvertName(i.Kind.ToString()), i.Parameters, i.Message))],
            Weighted(customers, p.PAlive) / total,
            horizon,
            Weighted(customers, p.Expected),
            options.DiscountRate,
            Weighted(customers, p.Dert) / total,
            double.IsFinite(model.ExpectedTransactions(int.MaxValue)) ? model.ExpectedTransactions(int.MaxValue) : null,
            distribution,
            holdoutOpportunities > 0 ? holdoutOpportunities : null,
            p.Holdout is null ? null : customers.Sum(c => c.Holdout * c.Weight),
            p.Holdout is null ? null : Weighted(customers, p.Holdout),
            byFrequency,
            errors,
            outputs);
    }

    private static double Weighted(List<DiscreteCustomer> customers, double[] values)
    {
        var sum = 0.0;
        for (var i = 0; i < values.Length; i++)
        {
            sum += customers[i].Weight * values[i];
        }

        return sum;
    }

    private static void WriteText(TextWriter o, BgBbReportDocument d)
    {
        o.WriteLine($"Data: {d.Data}");
        o.WriteLine(string.Create(Inv, $"{d.Customers:N0} customers, {d.RepeatTransactions:N0} repeat transactions, up to {d.MaxOpportunities} opportunities after the first"));
        o.WriteLine();
        o.WriteLine("BG/BB (standard errors in brackets)");
        var parameters = string.Join("  ", d.Parameters.Select(p => string.Create(Inv, $"{p.Key} {p.Value:F4} ({d.StandardErrors[p.Key]:F4})")));
        o.WriteLine(string.Create(Inv, $"  bgbb    {parameters}   LL {d.LogLikelihood:F2}   AIC {d.Aic:F1}   BIC {d.Bic:F1}"));
        foreach (var issue in d.Issues)
        {
            o.WriteLine($"          ! {issue.Kind}: {issue.Message}");
        }

        o.WriteLine(string.Create(Inv, $"  mean P(alive) {d.MeanPAlive:F3}; expected transactions at the next {d.Horizon} opportunities {d.ExpectedTotal:N1}; mean DERT at {d.DiscountRate:P1} per opportunity {d.DertMean:F3}; a new customer's lifetime transactions {(d.LifetimeTransactions is { } l ? l.ToString("F3", Inv) : "infinite (gamma <= 1)")}"));
        if (d.Intervals is { } intervals)
        {
            o.WriteLine(intervals.Error is null
                ? string.Create(Inv, $"  Intervals: {intervals.Level:P0} from {intervals.Draws:N0} draws ({intervals.Method}, seed {intervals.Seed}) per customer in {string.Join(", ", intervals.Columns)}")
                : $"  no intervals: {intervals.Error}");
        }

        o.WriteLine();
        o.WriteLine("Repeat transactions in calibration: customers, actual vs expected");
        o.WriteLine("  x        actual    expected");
        foreach (var row in d.RepeatDistribution)
        {
            o.WriteLine(string.Create(Inv, $"  {row.Frequency,-4} {row.Actual,10:N0} {row.Expected,11:F1}"));
        }

        if (d.HoldoutByFrequency is { } holdout)
        {
            o.WriteLine();
            o.WriteLine(string.Create(Inv, $"Holdout ({d.HoldoutOpportunities} opportunities): transactions by calibration frequency, actual vs expected"));
            o.WriteLine("  x        actual    expected");
            foreach (var row in holdout)
            {
                o.WriteLine(string.Create(Inv, $"  {row.Frequency,-4} {row.Actual,10:N0} {row.Expected,11:F1}"));
            }

            o.WriteLine(string.Create(Inv, $"  total {d.HoldoutActual,9:N0} {d.HoldoutPredicted,11:F1}"));
            if (d.HoldoutErrors is { } e)
            {
                o.WriteLine(string.Create(Inv, $"  per customer: MAE {e.Mae:F4}  RMSE {e.Rmse:F4}  MSLE {e.Msle:F4}  total error {e.RelativeTotalError:+0.0 %;-0.0 %;0.0 %}"));
            }
        }

        if (d.Outputs.CustomersFile is not null)
        {
            o.WriteLine();
            o.WriteLine($"Per-customer predictions written to {d.Outputs.CustomersFile}.");
        }

        if (d.Outputs.Plots.Count > 0)
        {
            o.WriteLine();
            o.WriteLine($"Plots: {string.Join(", ", d.Outputs.Plots.Select(Path.GetFileName))} in {Path.GetDirectoryName(d.Outputs.Plots[0])}.");
        }
    }

    private static void WriteCustomers(string path, List<DiscreteCustomer> customers, (double[] PAlive, double[] Expected, double[]? Holdout, double[] Dert) p, bool holdout, DiscreteIntervals? intervals)
    {
        using var writer = new StreamWriter(path, append: false, new UTF8Encoding(false));
        var bounds = intervals?.Columns ?? [];
        writer.WriteLine("customer_id,x,t_x,n,weight,bgbb.pAlive,bgbb.expected,bgbb.dert" + (holdout ? ",holdout.actual,bgbb.holdout" : string.Empty) + string.Concat(bounds.Select(c => ",bgbb." + c.Name)));
        for (var i = 0; i < customers.Count; i++)
        {
            var c = customers[i];
            var id = c.Id.AsSpan().IndexOfAny(",\"\r\n") < 0 ? c.Id : "\"" + c.Id.Replace("\"", "\"\"", StringComparison.Ordinal) + "\"";
            writer.Write(string.Create(Inv, $"{id},{c.X},{c.Tx},{c.N},{c.Weight:G10},{p.PAlive[i]:G10},{p.Expected[i]:G10},{p.Dert[i]:G10}"));
            writer.Write(holdout ? string.Create(Inv, $",{c.Holdout},{p.Holdout![i]:G10}") : string.Empty);
            foreach (var column in bounds)
            {
                writer.Write(string.Create(Inv, $",{column.Values[i]:G10}"));
            }

            writer.Write('\n');
        }
    }

    private static Plot Distribution(BgBbModel model, List<DiscreteCustomer> customers, string title)
    {
        var maxN = customers.Max(c => c.N);
        var byN = customers.GroupBy(c => c.N).Select(g => (N: g.Key, Weight: g.Sum(c => c.Weight))).ToList();
        var plot = DiagnosticPlots.NewPlot(title, "repeat transactions in calibration (x)", "customers");
        var actual = Enumerable.Range(0, maxN + 1).Select(k => customers.Where(c => c.X == k).Sum(c => c.Weight)).ToArray();
        var expected = Enumerable.Range(0, maxN + 1).Select(k => byN.Where(g => k <= g.N).Sum(g => g.Weight * model.ProbabilityOfTransactions(k, g.N))).ToArray();
        AddBars(plot, actual, expected);
        return plot;
    }

    private static Plot CalibrationHoldout(List<DiscreteCustomer> customers, (double[] PAlive, double[] Expected, double[]? Holdout, double[] Dert) p, string title)
    {
        var maxN = customers.Max(c => c.N);
        var plot = DiagnosticPlots.NewPlot(title, "repeat transactions in calibration (x)", "holdout transactions");
        var actual = Enumerable.Range(0, maxN + 1).Select(k => customers.Where(c => c.X == k).Sum(c => (double)c.Holdout)).ToArray();
        var expected = Enumerable.Range(0, maxN + 1).Select(k => customers.Select((c, i) => (c, i)).Where(t => t.c.X == k).Sum(t => p.Holdout![t.i])).ToArray();
        AddBars(plot, actual, expected);
        return plot;
    }

    private static void AddBars(Plot plot, double[] actual, double[] expected)
    {
        foreach (var (values, name, colour, offset) in new[] { (actual, "actual", Colors.Black.WithAlpha(0.75), -0.2), (expected, "BG/BB", Color.FromHex("#d62728").WithAlpha(0.8), 0.2) })
        {
            var bars = plot.Add.Bars(values.Select((v, k) => new Bar { Position = k + offset, Value = v, Size = 0.38, FillColor = colour, LineWidth = 0 }).ToArray());
            bars.LegendText = name;
            bars.Color = colour;
        }

        plot.Axes.Bottom.TickGenerator = new ScottPlot.TickGenerators.NumericManual(
            [.. Enumerable.Range(0, actual.Length).Select(i => (double)i)],
            [.. Enumerable.Range(0, actual.Length).Select(i => i.ToString(Inv))]);
        plot.Axes.Margins(bottom: 0);
        plot.ShowLegend(Alignment.UpperRight);
    }
}

/// <summary>The BG/BB report as JSON.</summary>
/// <param name="Data">The input.</param>
/// <param name="Customers">Customers (Σ weights).</param>
/// <param name="RepeatTransactions">Σ x.</param>
/// <param name="MaxOpportunities">The most opportunities after the first of any customer.</param>
/// <param name="Parameters">α, β, γ, δ.</param>
/// <param name="StandardErrors">Their standard errors (null where not finite).</param>
/// <param name="LogLikelihood">The log-likelihood.</param>
/// <param name="Aic">−2 LL + 2k.</param>
/// <param name="Bic">−2 LL + k ln n.</param>
/// <param name="Degenerate">Whether the data do not determine the estimates (see <paramref name="Issues"/>).</param>
/// <param name="Issues">The fit's diagnostics.</param>
/// <param name="MeanPAlive">Mean P(alive).</param>
/// <param name="Horizon">The opportunities of <paramref name="ExpectedTotal"/>.</param>
/// <param name="ExpectedTotal">Σ expected transactions over the horizon.</param>
/// <param name="DiscountRate">The discount rate per opportunity of DERT.</param>
/// <param name="DertMean">Mean discounted expected residual transactions.</param>
/// <param name="LifetimeTransactions">A new customer's expected transactions over an unbounded future, or null when infinite (γ ≤ 1).</param>
/// <param name="RepeatDistribution">Customers by x: actual and Σ P(X(n) = x).</param>
/// <param name="HoldoutOpportunities">The holdout's opportunities, or null without a holdout.</param>
/// <param name="HoldoutActual">Σ holdout transactions, or null.</param>
/// <param name="HoldoutPredicted">Σ expected holdout transactions, or null.</param>
/// <param name="HoldoutByFrequency">Holdout transactions by calibration x: actual and expected, or null.</param>
/// <param name="HoldoutErrors">Per-customer holdout errors, or null.</param>
/// <param name="Outputs">The files written.</param>
public sealed record BgBbReportDocument(
    string Data,
    double Customers,
    double RepeatTransactions,
    int MaxOpportunities,
    IReadOnlyDictionary<string, double> Parameters,
    IReadOnlyDictionary<string, double?> StandardErrors,
    double LogLikelihood,
    double Aic,
    double Bic,
    bool Degenerate,
    IReadOnlyList<IssueReport> Issues,
    double MeanPAlive,
    int Horizon,
    double ExpectedTotal,
    double DiscountRate,
    double DertMean,
    double? LifetimeTransactions,
    IReadOnlyList<CountRow> RepeatDistribution,
    int? HoldoutOpportunities,
    double? HoldoutActual,
    double? HoldoutPredicted,
    IReadOnlyList<CountRow>? HoldoutByFrequency,
    HoldoutErrorsReport? HoldoutErrors,
    OutputReport Outputs)
{
    /// <summary>The per-customer intervals (<c>--intervals</c>), or null when none were asked for.</summary>
    public IntervalReport? Intervals { get; init; }
}

/// <summary>The BG/BB per-customer interval columns (name without the model prefix, values per customer), or why there are none.</summary>
/// <param name="Columns">The bound columns.</param>
/// <param name="Error">Why there are no intervals, or null.</param>
internal sealed record DiscreteIntervals(IReadOnlyList<(string Name, double[] Values)> Columns, string? Error);

/// <summary>Actual and expected for one value of x.</summary>
/// <param name="Frequency">x.</param>
/// <param name="Actual">The actual count.</param>
/// <param name="Expected">The model's expectation.</param>
public sealed record CountRow(int Frequency, double Actual, double Expected);

/// <summary>Source-generated JSON for the BG/BB report.</summary>
[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase, WriteIndented = true, DefaultIgnoreCondition = JsonIgnoreCondition.Never)]
[JsonSerializable(typeof(BgBbReportDocument))]
public sealed partial class BgBbJsonContext : JsonSerializerContext
{
}
