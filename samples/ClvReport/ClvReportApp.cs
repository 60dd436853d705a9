using System.CommandLine;
using System.CommandLine.Help;
using System.CommandLine.Parsing;
using System.Globalization;
using System.Text;
using System.Text.Json;
using Engagement.Sdk;
using Engagement.Sdk.Value.Clv;

namespace ClvReport;

/// <summary>
/// Fits lifetime-value models to a transaction export and reports them the way analysts read them: parameters with standard
/// errors, log-likelihood and information criteria; holdout actual against expected, in total and by calibration
/// frequency; per-customer P(alive), expected transactions, DERT and CLV; P(alive) × value segments; and diagnostic plots.
/// </summary>
public static class ClvReportApp
{
    /// <summary>Exit code: the report was produced (also for <c>--help</c>, and when some but not all models failed).</summary>
    public const int Success = 0;

    /// <summary>Exit code: an unexpected failure (a defect; the message is on stderr).</summary>
    public const int UnexpectedFailure = 1;

    /// <summary>Exit code: bad arguments (what is wrong, and the usage, on stderr).</summary>
    public const int BadArguments = 2;

    /// <summary>Exit code: bad input (the file and line, and the problem, on stderr).</summary>
    public const int BadInput = 3;

    /// <summary>Exit code: no requested model could be fitted (each model's reason on stderr).</summary>
    public const int NoModelFitted = 4;

    /// <summary>Exit code: an output (per-customer file, plot) could not be written.</summary>
    public const int OutputFailed = 5;

    private const string UsageLine = "Usage: ClvReport [--transactions FILE --calibration-end YYYY-MM-DD] [options]   (ClvReport --help lists every option)";
    private static readonly CultureInfo Inv = CultureInfo.InvariantCulture;

    /// <summary>Runs the report.</summary>
    /// <param name="args">The command line.</param>
    /// <param name="stdout">Where the report goes.</param>
    /// <param name="stderr">Where progress and errors go.</param>
    /// <returns>The exit code: <see cref="Success"/>, <see cref="BadArguments"/>, <see cref="BadInput"/>, <see cref="NoModelFitted"/>, <see cref="OutputFailed"/> or <see cref="UnexpectedFailure"/>.</returns>
    public static int Run(string[] args, TextWriter stdout, TextWriter stderr) => Run(args, stdout, stderr, null);

    /// <summary>Runs the report with a given way of fitting each transaction model (<c>bgnbd</c>, <c>mbgnbd</c>, <c>pnbd</c>).</summary>
    /// <param name="args">The command line.</param>
    /// <param name="stdout">Where the report goes.</param>
    /// <param name="stderr">Where progress and errors go.</param>
    /// <param name="fit">Fits the named model to the data, or <see langword="null"/> for the library's fits with the command line's options.</param>
    /// <returns>The exit code, as for <see cref="Run(string[], TextWriter, TextWriter)"/>.</returns>
    internal static int Run(string[] args, TextWriter stdout, TextWriter stderr, Func<string, RfmData, (ITransactionModel Model, ClvFit Fit)>? fit)
    {
        ArgumentNullException.ThrowIfNull(args);
        ArgumentNullException.ThrowIfNull(stdout);
        ArgumentNullException.ThrowIfNull(stderr);
        var cli = new Cli();
        cli.Root.SetAction(result => Report(cli.Options(result), stdout, stderr, fit));
        cli.Simulate.SetAction(result => Simulation.Write(cli.SimulationOptions(result), stdout, stderr));
        cli.BgBb.SetAction(result => BgBbReport.Run(cli.BgBbOptions(result), stdout, stderr));
        var parsed = cli.Root.Parse(args);
        if (parsed.Errors.Count > 0 && parsed.Action is not HelpAction)
        {
            foreach (var error in parsed.Errors)
            {
                stderr.WriteLine(error.Message);
            }

            stderr.WriteLine(UsageLine);
            return BadArguments;
        }

        try
        {
            return parsed.Invoke(new InvocationConfiguration { Output = stdout, Error = stderr, EnableDefaultExceptionHandler = false });
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            stderr.WriteLine($"Unexpected failure ({ex.GetType().Name}): {ex.Message}");
            return UnexpectedFailure;
        }
    }

    private static int Report(ReportOptions options, TextWriter stdout, TextWriter stderr, Func<string, RfmData, (ITransactionModel, ClvFit)>? fit)
    {
        var fitOptions = options.Penalty > 0 ? new ClvFitOptions { Penalty = options.Penalty } : null;
        fit ??= (name, data) => ModelRuns.Fit(name, data, fitOptions);
        if (options.Transactions is not null && options.CalibrationEnd is null)
        {
            stderr.WriteLine("--calibration-end is required with --transactions.");
            stderr.WriteLine(UsageLine);
            return BadArguments;
        }

        if (options.HoldoutEnd is { } h && options.CalibrationEnd is { } c && h <= c)
        {
            stderr.WriteLine($"--holdout-end {h:yyyy-MM-dd} must be later than --calibration-end {c:yyyy-MM-dd}.");
            stderr.WriteLine(UsageLine);
            return BadArguments;
        }

        var progress = new Progress(options.Quiet ? null : stderr);

        // Input: the file, or a seeded simulated shop.
        Transaction[] transactions;
        InputReport? input = null;
        string source;
        DateOnly calibrationEnd;
        DateOnly? holdoutEnd;
        if (options.Transactions is { } file)
        {
            try
            {
                var read = progress.Step($"reading {file}", () => TransactionFile.Read(file, options.Format, options.Columns, rows => progress.Report($"reading {file}: {rows:N0} rows")));
                transactions = read.Transactions;
                input = new InputReport(read.Format, read.Rows, read.Transactions.Length, options.Columns.OrderId, read.DuplicateOrders, read.ConflictingDuplicates);
            }
            catch (Exception ex) when (ex is InputException or IOException or UnauthorizedAccessException)
            {
                stderr.WriteLine($"{file}: {ex.Message}");
                return BadInput;
            }

            source = file;
            calibrationEnd = options.CalibrationEnd!.Value;
            holdoutEnd = options.HoldoutEnd;
        }
        else
        {
            var start = new DateOnly(2024, 1, 1);
            calibrationEnd = options.CalibrationEnd ?? start.AddDays(364 - 1);
            holdoutEnd = options.HoldoutEnd ?? (options.CalibrationEnd is null ? start.AddDays((2 * 364) - 1) : null);
            transactions = [.. progress.Step("simulating", () => Simulation.Transactions(3000, seed: 7))];
            source = "simulated (no --transactions given): 3,000 customers from a seeded BG/NBD population, two years";
        }

        RfmSummary summary;
        try
        {
            summary = progress.Step($"summarising {transactions.Length:N0} transactions", () => RfmSummary.FromTransactions(transactions, calibrationEnd, holdoutEnd, options.Unit));
        }
        catch (EngagementValidationException ex)
        {
            stderr.WriteLine(ex.Message);
            return BadInput;
        }

        if (summary.Customers.Length == 0)
        {
            stderr.WriteLine($"No customer made a first purchase on or before the calibration end {calibrationEnd:yyyy-MM-dd}: there is nothing to fit.");
            return BadInput;
        }

        CovariateTable? covariateTable = null;
        CovariateRfmData? covariateData = null;
        if (options.Covariates is { } covariatesFile)
        {
            // Read and matched to the customers before any fit, so that a bad file fails at once.
            try
            {
                covariateTable = progress.Step($"reading {covariatesFile}", () => CovariateTable.Read(covariatesFile, options.Columns.Customer, null));
                var table = covariateTable;
                covariateData = progress.Step("matching the covariates to the customers", () => table.Data(summary, options.CovariatesOn));
            }
            catch (Exception ex) when (ex is InputException or IOException or UnauthorizedAccessException)
            {
                stderr.WriteLine($"{covariatesFile}: {ex.Message}");
                return BadInput;
            }
        }

        var (histories, data) = progress.Step($"indexing the distinct histories of {summary.Customers.Length:N0} customers", () =>
        {
            var h = new Histories(summary);
            return (h, h.ToData());
        });
        var unitsPerYear = options.Unit == TimeUnit.Weeks ? 52.0 : 365.0;
        var horizon = options.Horizon ?? (summary.HoldoutEnd is null ? unitsPerYear : summary.HoldoutLength);
        var discountRate = options.DiscountRate ?? (Math.Log(1.10) / unitsPerYear);
        double? holdout = summary.HoldoutEnd is null ? null : summary.HoldoutLength;

        // Each model runs on its own: a model that cannot be fitted, or whose predictions fail, is reported as such and the
        // others still run. Only when no requested model can be fitted is the run a failure (exit 4).
        var runs = options.Models.Select(name => ModelRuns.Run(name, data, histories, horizon, holdout, discountRate, fit, progress)).ToList();
        if (runs.All(r => !r.Succeeded))
        {
            foreach (var run in runs)
            {
                stderr.WriteLine($"Cannot fit {run.Name}: {run.Error}");
            }

            return NoModelFitted;
        }

        var covariates = covariateData is null ? null : CovariateRuns.Run(covariateTable!, options.CovariatesOn, covariateData, runs, fitOptions, progress);
        var (spend, spendError, expectedSpend, spendRows) = progress.Step("fitting the spend model", () => FitSpend(summary, fitOptions));
        var spendIntervals = spend is null || options.Intervals.Draws == 0
            ? null
            : progress.Step(string.Create(Inv, $"{options.Intervals.Level:P0} spend intervals from {options.Intervals.Draws} {options.Intervals.Method} draws (seed {unchecked(options.Intervals.Seed + 1)})"), () => SpendIntervals.For(spend, spendRows!, summary, options.Intervals));
        var fitted = runs.Where(r => r.Succeeded).ToList();
        var columns = fitted.Select(r => new CustomerColumns(
            r,
            Clv(r, summary, histories, expectedSpend, options.Margin),
            options.Intervals.Draws == 0
                ? ModelIntervals.None
                : progress.Step(string.Create(Inv, $"{options.Intervals.Level:P0} intervals for {r.Name} from {options.Intervals.Draws} {options.Intervals.Method} draws (seed {options.Intervals.Seed})"), () => Intervals.For(r, data, summary, spendIntervals?.Draws, options.Intervals, horizon, discountRate, options.Margin)))).ToList();
        var segmentRun = columns.FirstOrDefault(c => c.Run.Name == options.SegmentModel) ?? columns[0];
        var segments = Segment(segmentRun, summary, histories, expectedSpend, options);

        string? customersFile = null;
        IReadOnlyList<string> plots = [];
        try
        {
            if (options.CustomersOut is { } path)
            {
                progress.Step($"writing {summary.Customers.Length:N0} customers to {path}", () =>
                {
                    CustomerCsv.Write(path, summary, histories, columns, expectedSpend, spendIntervals);
                    return path;
                });
                customersFile = path;
            }

            if (options.Plots is { } directory)
            {
                plots = progress.Step("drawing the plots", () => DiagnosticPlots.Write(directory, new PlotInput(summary, histories, runs, spend, horizon), progress));
            }
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            stderr.WriteLine($"Cannot write the output: {ex.Message}");
            return OutputFailed;
        }

        var report = new Report(summary, histories, source, input, runs, columns, spend, spendError, expectedSpend, horizon, discountRate, options.Margin, segments, new OutputReport(customersFile, plots), options.Intervals) { SpendIntervals = spendIntervals, Covariates = covariates };
        if (options.Json)
        {
            stdout.WriteLine(JsonSerializer.Serialize(report.Document(), ReportJsonContext.Default.ReportDocument));
        }
        else
        {
            report.WriteText(stdout);
        }

        return Success;
    }

    private static (GammaGammaModel? Spend, string? Error, double[]? ExpectedSpend, (int, double, double)[]? Rows) FitSpend(RfmSummary summary, ClvFitOptions? options)
    {
        var buyers = summary.Customers.Where(c => c.Frequency > 0 && c.MeanRepeatSpend > 0).ToList();
        if (buyers.Count < 2)
        {
            return (null, $"Gamma-Gamma needs at least two repeat buyers with a positive spend; there are {buyers.Count}.", null, null);
        }

        try
        {
            // One row per buyer: the likelihood tabulates what depends on x alone, so a row costs two logarithms, less than
            // grouping equal (x, mean spend) rows would.
            var rows = new (int, double, double)[buyers.Count];
            for (var i = 0; i < rows.Length; i++)
            {
                rows[i] = (buyers[i].Frequency, (double)buyers[i].MeanRepeatSpend, 1.0);
            }

            var spend = GammaGammaModel.Fit(rows, options);
            var expected = new double[summary.Customers.Length];
            for (var i = 0; i < expected.Length; i++)
            {
                var c = summary.Customers[i];
                expected[i] = spend.ExpectedAverageSpend(c.Frequency, (double)c.MeanRepeatSpend);
            }

            return (spend, null, expected, rows);
        }
        catch (ClvModelException ex)
        {
            return (null, ex.Message, null, null);
        }
    }

    /// <summary>CLV per customer: margin × expected spend × DERT, or <see langword="null"/> without DERT or spend model.</summary>
    private static double[]? Clv(ModelRun run, RfmSummary summary, Histories histories, double[]? expectedSpend, double margin)
    {
        if (run.Predictions!.Dert is not { } dert || expectedSpend is null)
        {
            return null;
        }

        var clv = new double[summary.Customers.Length];
        for (var i = 0; i < clv.Length; i++)
        {
            clv[i] = margin * expectedSpend[i] * dert[histories.RowOf[i]];
        }

        return clv;
    }

    private static SegmentReport Segment(CustomerColumns columns, RfmSummary summary, Histories histories, double[]? expectedSpend, ReportOptions options)
    {
        var n = summary.Customers.Length;
        var p = columns.Run.Predictions!;
        var pAlive = new double[n];
        var expected = new double[n];
        for (var i = 0; i < n; i++)
        {
            pAlive[i] = p.PAlive[histories.RowOf[i]];
            expected[i] = p.Expected[histories.RowOf[i]];
        }

        var (measure, value) = columns.Clv is { } clv ? ("clv", clv)
            : expectedSpend is not null ? ("expectedRevenue", expected.Select((e, i) => e * expectedSpend[i] * options.Margin).ToArray())
            : ("expectedTransactions", expected);
        return Segments.Build(columns.Run.Name, measure, pAlive, expected, value, options.ValueQuantiles);
    }

    /// <summary>The command line: the report (root command) and <c>simulate</c>.</summary>
    private sealed class Cli
    {
        private readonly Option<string?> _transactions = new("--transactions", "-t") { HelpName = "FILE", Description = "The transactions: CSV with a header row (see the column options), or the CDNOW text format. Without it, a seeded simulated shop is reported." };
        private readonly Option<string?> _format = new("--format") { HelpName = "csv|cdnow", Description = "The file format; detected from the first line when not given." };
        private readonly Option<string> _customerColumn = new("--customer-column") { HelpName = "NAME", Description = "The CSV column with the customer id (case ignored).", DefaultValueFactory = _ => "customer_id" };
        private readonly Option<string> _dateColumn = new("--date-column") { HelpName = "NAME", Description = "The CSV column with the purchase date: ISO yyyy-mm-dd, or an ISO date and time (its date is taken), or --date-format.", DefaultValueFactory = _ => "date" };
        private readonly Option<string> _amountColumn = new("--amount-column") { HelpName = "NAME", Description = "The CSV column with the amount ('.' for decimals, not negative).", DefaultValueFactory = _ => "amount" };
        private readonly Option<string?> _orderId = new("--order-id") { HelpName = "NAME", Description = "The CSV column with an order id: rows repeating an order id already read are counted once, and the report says how many there were." };
        private readonly Option<string?> _dateFormat = new("--date-format") { HelpName = "FORMAT", Description = "A .NET date format for the date column, e.g. dd/MM/yyyy." };
        private readonly Option<char?> _separator = new("--separator") { HelpName = "CHAR", Description = "The CSV field separator; detected from the header when not given." };
        private readonly Option<DateOnly?> _calibrationEnd = new("--calibration-end", "-c") { HelpName = "YYYY-MM-DD", Description = "The last day (inclusive) of the calibration period the models are fitted on. Required with --transactions.", CustomParser = Date };
        private readonly Option<DateOnly?> _holdoutEnd = new("--holdout-end") { HelpName = "YYYY-MM-DD", Description = "The last day (inclusive) of the holdout period: the report compares the models' expectations with what happened.", CustomParser = Date };
        private readonly Option<string> _model = new("--model", "-m") { HelpName = "bgnbd|mbgnbd|pnbd|all", Description = "The transaction models, comma separated, or all.", DefaultValueFactory = _ => "all" };
        private readonly Option<string> _unit = new("--unit") { HelpName = "weeks|days", Description = "The time unit of recency, age, --horizon and --discount-rate.", DefaultValueFactory = _ => "weeks" };
        private readonly Option<double?> _horizon = new("--horizon") { HelpName = "UNITS", Description = "The horizon of the expected transactions per customer, in time units. Default: the holdout's length, or a year (52 weeks, 365 days) without a holdout." };
        private readonly Option<double?> _discountRate = new("--discount-rate") { HelpName = "RATE", Description = "The continuous discount rate per time unit for DERT and CLV. Default: ln(1.10) a year (10 % a year), i.e. 0.001833 per week or 0.000261 per day." };
        private readonly Option<double> _margin = new("--margin") { HelpName = "FRACTION", Description = "The margin on spend in CLV, in [0, 1]; 1 reports expected revenue.", DefaultValueFactory = _ => 1.0 };
        private readonly Option<double> _penalty = new("--penalty") { HelpName = "LAMBDA", Description = "An L2 penalty on the log-parameters of every fit, for data that cannot pin the parameters down (the report flags such fits); 0.001 to 0.1 is typical. Default 0: plain maximum likelihood, as published.", DefaultValueFactory = _ => 0.0 };
        private readonly Option<int> _segments = new("--segments") { HelpName = "N", Description = "Value quantiles in the P(alive) × value segments (2 to 10).", DefaultValueFactory = _ => 3 };
        private readonly Option<string?> _segmentModel = new("--segment-model") { HelpName = "MODEL", Description = "The model whose P(alive) and value the segments use; default the first fitted." };
        private readonly Option<int> _intervals = new("--intervals") { HelpName = "DRAWS", Description = "Adds per-customer intervals to the customers file (<model>.pAlive.lower/.upper, .expected, .dert, .clv) and the top customers: each prediction under DRAWS draws of the model's parameters (see --interval-method), 200 is typical; with a spend model also spend.expected.lower/.upper. They show the uncertainty of the estimates. Default 0: none.", DefaultValueFactory = _ => 0 };
        private readonly Option<double> _intervalLevel = new("--interval-level") { HelpName = "LEVEL", Description = "The probability each interval holds, in (0, 1).", DefaultValueFactory = _ => 0.9 };
        private readonly Option<string> _intervalMethod = new("--interval-method") { HelpName = "bootstrap|normal", Description = "How the parameters are drawn: bootstrap refits each model to the customers resampled with replacement (seeded; no normality assumed), normal draws from the estimates' asymptotic normal distribution (the inverse Hessian; faster, needs a regular Hessian).", DefaultValueFactory = _ => IntervalOptions.Bootstrap };
        private readonly Option<int> _intervalSeed = new("--interval-seed") { HelpName = "N", Description = "The random seed of the parameter draws: the same seed gives the same intervals.", DefaultValueFactory = _ => 1 };
        private readonly Option<string?> _customersOut = new("--customers-out") { HelpName = "FILE.csv", Description = "Writes one row per customer: customer_id,x,t_x,T, then per model <model>.pAlive, .expected, .dert and .clv (and their .lower/.upper with --intervals), and spend.expected." };
        private readonly Option<string?> _plots = new("--plots") { HelpName = "DIR", Description = "Writes the diagnostic plots as SVG into DIR (created when missing)." };
        private readonly Option<string?> _covariates = new("--covariates") { HelpName = "FILE.csv", Description = "Time-invariant covariates per customer (a header with the --customer-column and numeric columns; a categorical covariate as 0/1 columns): fits BG/NBD and Pareto/NBD with them as well and tests each against the model without them (likelihood ratio). Every customer needs a row." };
        private readonly Option<string> _covariatesOn = new("--covariates-on") { HelpName = "both|purchase|dropout", Description = "The processes the covariates act on.", DefaultValueFactory = _ => "both" };
        private readonly Option<string?> _covariatesOut = new("--covariates-out") { HelpName = "FILE.csv", Description = "Also writes a covariates file (customer_id,paid_channel): the simulated population is then a mixture in which the 40 % of customers with paid_channel 1 buy twice as often, for trying --covariates." };
        private readonly Option<bool> _json = new("--json") { Description = "Prints the report as one JSON document instead of text." };
        private readonly Option<bool> _quiet = new("--quiet", "-q") { Description = "No progress lines on stderr." };

        private readonly Option<string?> _patterns = new("--patterns") { HelpName = "FILE.csv", Description = "A pattern file: a header naming frequency,recency,periods[,weights] (x, t_x, n and how many customers share them), as the published donations data." };
        private readonly Option<string> _period = new("--period") { HelpName = "year|quarter|month|week|day", Description = "With --transactions: the calendar period of one opportunity to transact.", DefaultValueFactory = _ => "year" };
        private readonly Option<int?> _opportunities = new("--horizon") { HelpName = "OPPORTUNITIES", Description = "The future opportunities of the expected transactions per customer. Default: the holdout's, or 1 without a holdout." };
        private readonly Option<double> _discreteDiscount = new("--discount-rate") { HelpName = "RATE", Description = "The discount rate per opportunity of DERT (0.1: 10 % a period).", DefaultValueFactory = _ => 0.1 };
        private readonly Option<int> _customers = new("--customers") { HelpName = "N", Description = "How many customers.", DefaultValueFactory = _ => 3000 };
        private readonly Option<string> _out = new("--out", "-o") { HelpName = "FILE.csv", Description = "The CSV file to write (customer_id,date,amount).", Required = true };
        private readonly Option<int> _seed = new("--seed") { HelpName = "N", Description = "The random seed.", DefaultValueFactory = _ => 7 };

        public Cli()
        {
            _format.AcceptOnlyFromAmong("csv", "cdnow");
            _unit.AcceptOnlyFromAmong("weeks", "days");
            _model.Validators.Add(result =>
            {
                var value = result.GetValueOrDefault<string>();
                if (value != "all" && (value.Length == 0 || value.Split(',').Any(m => !ModelRuns.Names.Contains(m))))
                {
                    result.AddError($"--model: '{value}' is not a list of {string.Join(", ", ModelRuns.Names)}, or all");
                }
            });
            _horizon.Validators.Add(result => Positive(result, "--horizon", allowZero: false));
            _penalty.Validators.Add(result =>
            {
                if (result.GetValueOrDefault<double>() is var p && !(p >= 0 && double.IsFinite(p)))
                {
                    result.AddError($"--penalty: {p.ToString(Inv)} must be a finite number of at least 0");
                }
            });
            _discountRate.Validators.Add(result => Positive(result, "--discount-rate", allowZero: true));
            _margin.Validators.Add(result =>
            {
                if (result.GetValueOrDefault<double>() is var m && !(m >= 0 && m <= 1))
                {
                    result.AddError($"--margin: {m.ToString(Inv)} is not a fraction in [0, 1]");
                }
            });
            _segments.Validators.Add(result =>
            {
                if (result.GetValueOrDefault<int>() is var q && (q < 2 || q > 10))
                {
                    result.AddError($"--segments: {q} is not between 2 and 10");
                }
            });
            _intervals.Validators.Add(result =>
            {
                if (result.GetValueOrDefault<int>() is var d && d != 0 && (d < 2 || d > 100_000))
                {
                    result.AddError($"--intervals: {d} is not 0 (none) or a number of draws from 2 to 100000");
                }
            });
            _intervalLevel.Validators.Add(result =>
            {
                if (result.GetValueOrDefault<double>() is var l && !(l > 0 && l < 1))
                {
                    result.AddError($"--interval-level: {l.ToString(Inv)} is not a probability strictly between 0 and 1");
                }
            });
            _intervalMethod.AcceptOnlyFromAmong(IntervalOptions.Bootstrap, IntervalOptions.Normal);
            _covariatesOn.AcceptOnlyFromAmong("both", "purchase", "dropout");
            _customers.Validators.Add(result =>
            {
                if (result.GetValueOrDefault<int>() < 2)
                {
                    result.AddError("--customers: at least 2");
                }
            });

            Root = new RootCommand("Fits customer-lifetime-value models (BG/NBD, MBG/NBD, Pareto/NBD, Gamma-Gamma spend; BG/BB for discrete opportunities with the bgbb command) to a transaction export and reports fits, holdout accuracy, per-customer P(alive), expected transactions, DERT and CLV, segments and diagnostic plots.\n\nExit codes: 0 success (also --help, and when some models failed), 1 unexpected failure, 2 bad arguments, 3 bad input, 4 no model could be fitted, 5 an output could not be written.");
            foreach (var option in new Option[] { _transactions, _format, _customerColumn, _dateColumn, _amountColumn, _orderId, _dateFormat, _separator, _calibrationEnd, _holdoutEnd, _model, _unit, _horizon, _discountRate, _margin, _penalty, _segments, _segmentModel, _intervals, _intervalLevel, _intervalSeed, _intervalMethod, _customersOut, _plots, _covariates, _covariatesOn, _json, _quiet })
            {
                Root.Options.Add(option);
            }

            Simulate = new Command("simulate", "Writes a seeded simulated transaction log (a BG/NBD population with Gamma-Gamma spend, two years from 2024-01-01, first purchases over the first 12 weeks) as CSV, for trying the report and measuring it at scale.");
            Simulate.Options.Add(_customers);
            Simulate.Options.Add(_out);
            Simulate.Options.Add(_seed);
            Simulate.Options.Add(_covariatesOut);
            Root.Subcommands.Add(Simulate);

            _period.AcceptOnlyFromAmong("year", "quarter", "month", "week", "day");
            _opportunities.Validators.Add(result =>
            {
                if (result.GetValueOrDefault<int?>() is { } h && h < 1)
                {
                    result.AddError($"--horizon: {h} is not a number of opportunities of at least 1");
                }
            });
            _discreteDiscount.Validators.Add(result =>
            {
                if (result.GetValueOrDefault<double>() is var d && !(d >= 0 && double.IsFinite(d)))
                {
                    result.AddError($"--discount-rate: {d.ToString(Inv)} must be a finite rate of at least 0");
                }
            });
            BgBb = new Command("bgbb", "Fits the BG/BB model (Fader, Hardie and Shang 2010) for purchases that can only happen at discrete opportunities (a yearly donation, an annual event, a monthly box), from a pattern file or from transactions cut into calendar periods, and reports the fit, the repeat-transaction distribution, the holdout and per-customer P(alive), expected transactions and DERT. Exit codes as for the report.");
            foreach (var option in new Option[] { _patterns, _transactions, _format, _customerColumn, _dateColumn, _amountColumn, _orderId, _dateFormat, _separator, _calibrationEnd, _holdoutEnd, _period, _opportunities, _discreteDiscount, _penalty, _intervals, _intervalLevel, _intervalSeed, _intervalMethod, _customersOut, _plots, _json, _quiet })
            {
                BgBb.Options.Add(option);
            }

            Root.Subcommands.Add(BgBb);
        }

        public Command BgBb { get; }

        public BgBbOptions BgBbOptions(ParseResult r) => new(
            r.GetValue(_patterns),
            r.GetValue(_transactions),
            r.GetValue(_format),
            new CsvColumns(r.GetValue(_customerColumn)!, r.GetValue(_dateColumn)!, r.GetValue(_amountColumn)!, r.GetValue(_orderId), r.GetValue(_dateFormat), r.GetValue(_separator)),
            r.GetValue(_calibrationEnd),
            r.GetValue(_holdoutEnd),
            r.GetValue(_period)!,
            r.GetValue(_opportunities),
            r.GetValue(_discreteDiscount),
            r.GetValue(_penalty),
            new IntervalOptions(r.GetValue(_intervals), r.GetValue(_intervalLevel), r.GetValue(_intervalSeed), r.GetValue(_intervalMethod)!),
            r.GetValue(_customersOut),
            r.GetValue(_plots),
            r.GetValue(_json),
            r.GetValue(_quiet));

        public RootCommand Root { get; }

        public Command Simulate { get; }

        public ReportOptions Options(ParseResult r)
        {
            var models = r.GetValue(_model)!;
            return new ReportOptions(
                r.GetValue(_transactions),
                r.GetValue(_format),
                new CsvColumns(r.GetValue(_customerColumn)!, r.GetValue(_dateColumn)!, r.GetValue(_amountColumn)!, r.GetValue(_orderId), r.GetValue(_dateFormat), r.GetValue(_separator)),
                r.GetValue(_calibrationEnd),
                r.GetValue(_holdoutEnd),
                models == "all" ? ModelRuns.Names : models.Split(',').Distinct().ToArray(),
                r.GetValue(_unit) == "days" ? TimeUnit.Days : TimeUnit.Weeks,
                r.GetValue(_horizon),
                r.GetValue(_discountRate),
                r.GetValue(_margin),
                r.GetValue(_penalty),
                r.GetValue(_segments),
                r.GetValue(_segmentModel),
                new IntervalOptions(r.GetValue(_intervals), r.GetValue(_intervalLevel), r.GetValue(_intervalSeed), r.GetValue(_intervalMethod)!),
                r.GetValue(_customersOut),
                r.GetValue(_plots),
                r.GetValue(_json),
                r.GetValue(_quiet))
            {
                Covariates = r.GetValue(_covariates),
                CovariatesOn = Enum.Parse<CovariateTarget>(r.GetValue(_covariatesOn)!, ignoreCase: true),
            };
        }

        public SimulationOptions SimulationOptions(ParseResult r) => new(r.GetValue(_customers), r.GetValue(_out)!, r.GetValue(_seed), r.GetValue(_covariatesOut));

        private static DateOnly? Date(ArgumentResult result)
        {
            var text = result.Tokens.Count > 0 ? result.Tokens[0].Value : string.Empty;
            if (DateOnly.TryParseExact(text, "yyyy-MM-dd", Inv, DateTimeStyles.None, out var date))
            {
                return date;
            }

            result.AddError($"{(result.Parent as OptionResult)?.Option.Name}: '{text}' is not a date in yyyy-mm-dd form");
            return null;
        }

        private static void Positive(OptionResult result, string name, bool allowZero)
        {
            if (result.GetValueOrDefault<double?>() is { } v && !(allowZero ? v >= 0 : v > 0) | !double.IsFinite(v))
            {
                result.AddError($"{name}: {v.ToString(Inv)} must be a finite number {(allowZero ? "of at least 0" : "above 0")}");
            }
        }
    }
}

/// <summary>The report's options, parsed and validated.</summary>
internal sealed record ReportOptions(
    string? Transactions,
    string? Format,
    CsvColumns Columns,
    DateOnly? CalibrationEnd,
    DateOnly? HoldoutEnd,
    string[] Models,
    TimeUnit Unit,
    double? Horizon,
    double? DiscountRate,
    double Margin,
    double Penalty,
    int ValueQuantiles,
    string? SegmentModel,
    IntervalOptions Intervals,
    string? CustomersOut,
    string? Plots,
    bool Json,
    bool Quiet)
{
    /// <summary>The covariates file (<c>--covariates</c>), or <see langword="null"/>.</summary>
    public string? Covariates { get; init; }

    /// <summary>Which processes the covariates act on.</summary>
    public CovariateTarget CovariatesOn { get; init; }
}

/// <summary>The <c>simulate</c> command's options.</summary>
/// <param name="Customers">How many customers.</param>
/// <param name="Out">The transactions file.</param>
/// <param name="Seed">The random seed.</param>
/// <param name="CovariatesOut">With it, a covariates file: the population is then a mixture in which the customers with <c>paid_channel</c> 1 buy twice as often.</param>
internal sealed record SimulationOptions(int Customers, string Out, int Seed, string? CovariatesOut = null);

/// <summary>The seeded simulated shop.</summary>
internal static class Simulation
{
    private static readonly DateOnly Start = new(2024, 1, 1);

    /// <summary>A BG/NBD population (r 0.35, α 5.5, a 0.8, b 2.6 in weeks) with Gamma-Gamma spend (p 6, q 3.8, γ 15), first purchases over 12 weeks, two years.</summary>
    public static IReadOnlyList<Transaction> Transactions(int customers, int seed)
        => BgNbdModel.FromParameters(0.35, 5.5, 0.8, 2.6).SimulateTransactions(customers, Start, Start.AddDays((2 * 364) - 1), 84, GammaGammaModel.FromParameters(6, 3.8, 15), TimeUnit.Weeks, seed);

    /// <summary>
    /// A mixture for trying covariates: the first 60 % of the customers as <see cref="Transactions"/>, the other 40 %
    /// (<c>paid_channel</c> 1) with α halved, i.e. buying twice as often (a purchase coefficient of ln 2 ≈ 0.693 in the
    /// covariate models); drop-out the same for both.
    /// </summary>
    public static (IReadOnlyList<Transaction> Transactions, bool[] Paid) Mixture(int customers, int seed)
    {
        var paid = customers * 2 / 5;
        var organic = customers - paid;
        var list = new List<Transaction>(BgNbdModel.FromParameters(0.35, 5.5, 0.8, 2.6).SimulateTransactions(organic, Start, Start.AddDays((2 * 364) - 1), 84, GammaGammaModel.FromParameters(6, 3.8, 15), TimeUnit.Weeks, seed));
        if (paid > 0)
        {
            // The second group's ids continue after the first's.
            foreach (var t in BgNbdModel.FromParameters(0.35, 5.5 / 2, 0.8, 2.6).SimulateTransactions(paid, Start, Start.AddDays((2 * 364) - 1), 84, GammaGammaModel.FromParameters(6, 3.8, 15), TimeUnit.Weeks, unchecked(seed + 1)))
            {
                list.Add(t with { CustomerId = CustomerName(int.Parse(t.CustomerId.AsSpan(1), CultureInfo.InvariantCulture) + organic) });
            }
        }

        list.Sort(static (x, y) => x.Date.CompareTo(y.Date));
        return (list, [.. Enumerable.Range(0, customers).Select(i => i >= organic)]);
    }

    /// <summary>The simulators' customer id of index <paramref name="i"/>.</summary>
    public static string CustomerName(int i) => "c" + i.ToString("D7", CultureInfo.InvariantCulture);

    public static int Write(SimulationOptions options, TextWriter stdout, TextWriter stderr)
    {
        var (transactions, paid) = options.CovariatesOut is null ? (Transactions(options.Customers, options.Seed), null) : Mixture(options.Customers, options.Seed);
        try
        {
            if (options.CovariatesOut is { } covariatesOut)
            {
                using var covariates = new StreamWriter(covariatesOut, append: false, new UTF8Encoding(false), bufferSize: 1 << 16);
                covariates.WriteLine("customer_id,paid_channel");
                for (var i = 0; i < paid!.Length; i++)
                {
                    covariates.Write(CustomerName(i));
                    covariates.Write(paid[i] ? ",1\n" : ",0\n");
                }
            }

            using var writer = new StreamWriter(options.Out, append: false, new UTF8Encoding(false), bufferSize: 1 << 16);
            writer.WriteLine("customer_id,date,amount");
            foreach (var t in transactions)
            {
                writer.Write(t.CustomerId);
                writer.Write(',');
                writer.Write(t.Date.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture));
                writer.Write(',');
                writer.Write(t.Amount.ToString(CultureInfo.InvariantCulture));
                writer.Write('\n');
            }
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            stderr.WriteLine($"Cannot write the simulated data: {ex.Message}");
            return ClvReportApp.OutputFailed;
        }

        stdout.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{transactions.Count:N0} transactions of {options.Customers:N0} customers written to {options.Out}{(options.CovariatesOut is { } c ? $" and their covariates to {c}" : string.Empty)}; report with --calibration-end {Start.AddDays(364 - 1):yyyy-MM-dd} --holdout-end {Start.AddDays((2 * 364) - 1):yyyy-MM-dd}"));
        return ClvReportApp.Success;
    }
}
