using System.Globalization;
using System.Text.Json;
using System.Xml.Linq;
using ClvReport;
using Engagement.Sdk.Value.Clv;
using static Engagement.Sdk.Samples.Tests.ClvReportCommand;

namespace Engagement.Sdk.Samples.Tests;

public sealed class ClvReportTests : IDisposable
{
    private static readonly XNamespace SvgNamespace = "http://www.w3.org/2000/svg";
    private readonly string _directory = Directory.CreateTempSubdirectory("clvreport-tests-").FullName;

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    [CdnowFact]
    public void Run_CdnowWithJson_ReportsThePublishedFits()
    {
        var (exit, stdout, _) = Run("--transactions", CdnowFactAttribute.CdnowFile!, "--calibration-end", "1997-09-30", "--holdout-end", "1998-06-30", "--json", "--quiet");

        exit.Should().Be(0);
        using var document = JsonDocument.Parse(stdout);
        var root = document.RootElement;
        root.GetProperty("customers").GetInt32().Should().Be(2357);
        root.GetProperty("repeatTransactions").GetInt32().Should().Be(2457);
        root.GetProperty("holdoutActual").GetInt32().Should().Be(1882);
        var models = root.GetProperty("models").EnumerateArray().ToDictionary(m => m.GetProperty("name").GetString()!);
        models.Keys.Should().BeEquivalentTo("bgnbd", "mbgnbd", "pnbd");
        models["bgnbd"].GetProperty("parameters").GetProperty("r").GetDouble().Should().BeApproximately(0.2426, 0.0003);
        models["bgnbd"].GetProperty("logLikelihood").GetDouble().Should().BeApproximately(-9582.43, 0.01);
        models["bgnbd"].GetProperty("aic").GetDouble().Should().BeApproximately((2 * 9582.4292) + 8, 0.01);
        models["bgnbd"].GetProperty("bic").GetDouble().Should().BeApproximately((2 * 9582.4292) + (4 * Math.Log(2357)), 0.01);
        models["pnbd"].GetProperty("parameters").GetProperty("beta").GetDouble().Should().BeApproximately(11.669, 0.012);
        foreach (var model in models.Values)
        {
            model.GetProperty("holdoutPredicted").GetDouble().Should().BeInRange(1000, 2500);
            model.GetProperty("meanPAlive").GetDouble().Should().BeInRange(0, 1);
            model.GetProperty("fitMilliseconds").GetDouble().Should().BePositive();
        }

        var spend = root.GetProperty("spend");
        spend.GetProperty("customers").GetInt32().Should().Be(946);
        spend.GetProperty("parameters").GetProperty("q").GetDouble().Should().BeApproximately(3.7442, 0.004);

        // The published holdout table by calibration frequency (FHL 2005): 1,411 customers with x = 0 made 334 holdout purchases.
        var byFrequency = root.GetProperty("holdoutByFrequency").EnumerateArray().ToList();
        byFrequency.Should().HaveCount(8);
        byFrequency[0].GetProperty("customers").GetInt32().Should().Be(1411);
        byFrequency[0].GetProperty("actual").GetInt32().Should().Be(334);
        byFrequency.Sum(r => r.GetProperty("actual").GetInt32()).Should().Be(1882);
        byFrequency.Sum(r => r.GetProperty("expected").GetProperty("bgnbd").GetDouble()).Should().BeApproximately(models["bgnbd"].GetProperty("holdoutPredicted").GetDouble(), 1e-6);
    }

    [Fact]
    public void Run_WithoutAFile_ReportsOnSimulatedData()
    {
        var (exit, stdout, stderr) = Run("--model", "bgnbd");

        exit.Should().Be(0, stderr);
        stdout.Should().Contain("simulated").And.Contain("bgnbd").And.Contain("Holdout").And.Contain("Segments").And.Contain("Top customers by");
    }

    [Fact]
    public void Run_Plots_WritesEveryDiagnosticAsWellFormedSvgWithTitleAxesAndLegend()
    {
        var plots = Path.Combine(_directory, "plots");

        var (exit, _, stderr) = Run("--plots", plots, "--quiet");

        exit.Should().Be(0, stderr);
        var expected = new Dictionary<string, string>
        {
            ["calibration-holdout.svg"] = "Holdout transactions by calibration frequency",
            ["tracking-cumulative.svg"] = "Cumulative repeat transactions by week",
            ["tracking-incremental.svg"] = "Repeat transactions per week",
            ["repeat-pmf.svg"] = "Repeat transactions in calibration",
            ["spend-density.svg"] = "Mean repeat spend of repeat buyers",
        };
        foreach (var model in new[] { "bgnbd", "mbgnbd", "pnbd" })
        {
            expected[$"palive-matrix-{model}.svg"] = $"P(alive) by frequency and recency ({model}";
            expected[$"expected-matrix-{model}.svg"] = "Expected transactions in the next";
        }

        Directory.GetFiles(plots).Select(Path.GetFileName).Should().BeEquivalentTo(expected.Keys);
        foreach (var (file, title) in expected)
        {
            var svg = XDocument.Load(Path.Combine(plots, file)); // throws when the file is not well-formed XML
            svg.Root!.Name.Should().Be(SvgNamespace + "svg", file);
            svg.Root.Element(SvgNamespace + "title")!.Value.Should().StartWith(title, file);
            var texts = svg.Descendants(SvgNamespace + "text").Select(t => t.Value.Trim()).ToList();
            var titleStart = title[..20];
            texts.Should().Contain(t => t.StartsWith(titleStart, StringComparison.Ordinal), $"{file} draws its title");
            texts.Count(t => double.TryParse(t, NumberStyles.Number, CultureInfo.InvariantCulture, out _)).Should().BeGreaterThan(5, $"{file} has numbered axis ticks");
            svg.Descendants(SvgNamespace + "path").Should().NotBeEmpty(file);
            if (!file.Contains("matrix", StringComparison.Ordinal))
            {
                texts.Should().Contain(t => t == "actual" || t.StartsWith("actual ", StringComparison.Ordinal), $"{file} has a legend naming the actual data");
            }
        }

        var holdout = XDocument.Load(Path.Combine(plots, "calibration-holdout.svg")).Descendants(SvgNamespace + "text").Select(t => t.Value.Trim()).ToList();
        holdout.Should().Contain(["bgnbd", "mbgnbd", "pnbd", "7+", "mean holdout transactions per customer", "repeat transactions in calibration (x)"]);
        var matrix = XDocument.Load(Path.Combine(plots, "palive-matrix-bgnbd.svg")).Descendants(SvgNamespace + "text").Select(t => t.Value.Trim()).ToList();
        matrix.Should().Contain("P(alive)", "the colour bar is labelled");
    }

    [Fact]
    public void Run_CsvExport_IsReadWithItsHeader()
    {
        var file = Write("customer_id,date,amount", "a,2025-01-01,10", "a,2025-02-01,12.5", "b,2025-01-03,8", "b,2025-01-20,9", "c,2025-01-05,30", "a,2025-05-01,11");

        var (exit, stdout, stderr) = Run("--transactions", file, "--calibration-end", "2025-03-31", "--unit", "days", "--model", "bgnbd", "--json");

        exit.Should().Be(0, stderr);
        using var document = JsonDocument.Parse(stdout);
        document.RootElement.GetProperty("customers").GetInt32().Should().Be(3);
        document.RootElement.GetProperty("repeatTransactions").GetInt32().Should().Be(2);
        document.RootElement.GetProperty("input").GetProperty("rows").GetInt64().Should().Be(6);
    }

    [Fact]
    public void Run_CsvWithQuotesExtraColumnsAndOtherNames_IsReadThroughTheHeaderMap()
    {
        // Quoted fields with the separator and quotes inside, columns in another order, columns the report does not use.
        var file = Write(
            "Order Date;Client;Note;Total;Channel",
            "2025-01-01;\"Smith, John\";\"said \"\"hi\"\"\";10.00;web",
            "2025-02-01T10:15:00;\"Smith, John\";;12.50;shop",
            "2025-01-03;b;\"multi",
            "line note\";8;web",
            "2025-01-20;b;x;9;web",
            "2025-01-05;c;;30;web",
            "2025-03-01;c;;20;web");
        var customers = Path.Combine(_directory, "customers.csv");

        var (exit, stdout, stderr) = Run("--transactions", file, "--customer-column", "client", "--date-column", "order date", "--amount-column", "TOTAL", "--calibration-end", "2025-03-31", "--unit", "days", "--model", "bgnbd", "--json", "--customers-out", customers);

        exit.Should().Be(0, stderr);
        using var document = JsonDocument.Parse(stdout);
        document.RootElement.GetProperty("customers").GetInt32().Should().Be(3);
        document.RootElement.GetProperty("repeatTransactions").GetInt32().Should().Be(3);
        var rows = File.ReadAllLines(customers);
        rows.Should().Contain(r => r.StartsWith("\"Smith, John\",1,31,89,", StringComparison.Ordinal), "the id keeps its separator, quoted");
    }

    [Fact]
    public void Run_OrderId_CountsARepeatedOrderOnceAndSaysSo()
    {
        string[] rows = ["o1,a,2025-01-01,10", "o2,a,2025-02-01,12.5", "o3,b,2025-01-03,8", "o4,b,2025-01-20,9", "o5,c,2025-01-05,30", "o6,c,2025-03-01,20", "o7,d,2025-01-09,5", "o8,d,2025-02-11,15"];
        var clean = Write(["order,customer_id,date,amount", .. rows]);
        var doubled = Write(["order,customer_id,date,amount", .. rows, .. rows.Take(4), "o2,a,2025-02-01,99"]);
        string[] args = ["--calibration-end", "2025-03-31", "--unit", "days", "--model", "bgnbd", "--json", "--order-id", "order"];

        var (cleanExit, cleanOut, cleanErr) = Run([.. args, "--transactions", clean]);
        var (doubledExit, doubledOut, doubledErr) = Run([.. args, "--transactions", doubled]);
        var (naiveExit, naiveOut, _) = Run(["--calibration-end", "2025-03-31", "--unit", "days", "--model", "bgnbd", "--json", "--transactions", doubled]);

        cleanExit.Should().Be(0, cleanErr);
        doubledExit.Should().Be(0, doubledErr);
        naiveExit.Should().Be(0);
        using var a = JsonDocument.Parse(cleanOut);
        using var b = JsonDocument.Parse(doubledOut);
        using var naive = JsonDocument.Parse(naiveOut);
        var input = b.RootElement.GetProperty("input");
        input.GetProperty("rows").GetInt64().Should().Be(13);
        input.GetProperty("transactions").GetInt32().Should().Be(8);
        input.GetProperty("duplicateOrders").GetInt64().Should().Be(5);
        input.GetProperty("conflictingDuplicates").GetInt64().Should().Be(1);
        input.GetProperty("orderIdColumn").GetString().Should().Be("order");
        b.RootElement.GetProperty("repeatTransactions").GetInt32().Should().Be(a.RootElement.GetProperty("repeatTransactions").GetInt32());
        b.RootElement.GetProperty("spend").GetProperty("parameters").GetProperty("p").GetDouble()
            .Should().Be(a.RootElement.GetProperty("spend").GetProperty("parameters").GetProperty("p").GetDouble());

        // Without the order id the same file doubles the repeat spend of a and b (same-day rows are summed).
        naive.RootElement.GetProperty("input").GetProperty("duplicateOrders").GetInt64().Should().Be(0);
        naive.RootElement.GetProperty("spend").GetProperty("parameters").GetProperty("p").GetDouble()
            .Should().NotBe(a.RootElement.GetProperty("spend").GetProperty("parameters").GetProperty("p").GetDouble());
    }

    [Fact]
    public void Run_OrderIdInText_SaysHowManyRowsWereCountedOnce()
    {
        var file = Write("order,customer_id,date,amount", "o1,a,2025-01-01,10", "o1,a,2025-01-01,10", "o2,a,2025-02-01,12", "o3,b,2025-01-03,8", "o4,b,2025-01-20,9", "o5,c,2025-01-05,30");

        var (exit, stdout, stderr) = Run("--transactions", file, "--calibration-end", "2025-03-31", "--unit", "days", "--model", "bgnbd", "--order-id", "order");

        exit.Should().Be(0, stderr);
        stdout.Should().Contain("Order ids in 'order': 1 rows repeated an order already read and were counted once.");
    }

    [Fact]
    public void Run_DegenerateData_FlagsTheFitAndAPenaltyTamesIt()
    {
        // Two identical customers: no heterogeneity to measure, so plain maximum likelihood runs a parameter away.
        var file = Write("customer_id,date,amount", "a,2025-01-01,10", "a,2025-02-01,12", "b,2025-01-01,10", "b,2025-02-01,12");
        string[] args = ["--transactions", file, "--calibration-end", "2025-03-31", "--unit", "days", "--model", "bgnbd", "--json", "--quiet"];

        var (exit, stdout, stderr) = Run(args);
        var (penalisedExit, penalised, penalisedErr) = Run([.. args, "--penalty", "0.01"]);
        var (textExit, text, _) = Run([.. args[..^2], "--quiet"]);

        exit.Should().Be(0, stderr);
        penalisedExit.Should().Be(0, penalisedErr);
        textExit.Should().Be(0);
        using var plain = JsonDocument.Parse(stdout);
        var model = plain.RootElement.GetProperty("models")[0];
        model.GetProperty("degenerate").GetBoolean().Should().BeTrue();
        model.GetProperty("issues").EnumerateArray().Should().NotBeEmpty()
            .And.OnlyContain(i => i.GetProperty("message").GetString()!.Length > 0 && i.GetProperty("kind").GetString()!.Length > 0);
        text.Should().Contain("          ! ");
        using var tamed = JsonDocument.Parse(penalised);
        var penalisedModel = tamed.RootElement.GetProperty("models")[0];
        penalisedModel.GetProperty("penalty").GetDouble().Should().Be(0.01);
        penalisedModel.GetProperty("parameters").EnumerateObject().Should().OnlyContain(p => p.Value.GetDouble() > 1e-4 && p.Value.GetDouble() < 1e4);
    }

    [Fact]
    public void Run_CustomersOut_WritesOneRowPerCustomerWithEveryModelsColumns()
    {
        var customers = Path.Combine(_directory, "customers.csv");

        var (exit, stdout, stderr) = Run("--customers-out", customers, "--json", "--quiet");

        exit.Should().Be(0, stderr);
        using var document = JsonDocument.Parse(stdout);
        var lines = File.ReadAllLines(customers);
        var header = lines[0].Split(',');
        header[..4].Should().Equal("customer_id", "x", "t_x", "T");
        foreach (var model in new[] { "bgnbd", "mbgnbd", "pnbd" })
        {
            header.Should().Contain([$"{model}.pAlive", $"{model}.expected", $"{model}.dert", $"{model}.clv"]);
        }

        header[^1].Should().Be("spend.expected");

        lines.Length.Should().Be(document.RootElement.GetProperty("customers").GetInt32() + 1);
        document.RootElement.GetProperty("outputs").GetProperty("customersFile").GetString().Should().Be(customers);
        var pAlive = Array.IndexOf(header, "pnbd.pAlive");
        var expected = Array.IndexOf(header, "pnbd.expected");
        var dert = Array.IndexOf(header, "pnbd.dert");
        var clv = Array.IndexOf(header, "pnbd.clv");
        var sum = 0.0;
        var clvSum = 0.0;
        foreach (var line in lines.Skip(1))
        {
            var fields = line.Split(',');
            fields.Should().HaveCount(header.Length);
            var x = int.Parse(fields[1], CultureInfo.InvariantCulture);
            var tx = double.Parse(fields[2], CultureInfo.InvariantCulture);
            var age = double.Parse(fields[3], CultureInfo.InvariantCulture);
            x.Should().BeGreaterThanOrEqualTo(0);
            tx.Should().BeInRange(0, age);
            double.Parse(fields[pAlive], CultureInfo.InvariantCulture).Should().BeInRange(0, 1);
            var e = double.Parse(fields[expected], CultureInfo.InvariantCulture);
            e.Should().BeGreaterThanOrEqualTo(0);
            sum += e;

            // CLV = margin (1 by default) × expected spend × DERT; DERT over an infinite horizon exceeds the holdout's expectation.
            var d = double.Parse(fields[dert], CultureInfo.InvariantCulture);
            var value = double.Parse(fields[clv], CultureInfo.InvariantCulture);
            d.Should().BeGreaterThan(e);
            value.Should().BeApproximately(d * double.Parse(fields[^1], CultureInfo.InvariantCulture), 1e-6 * value);
            clvSum += value;
        }

        // The per-customer expectations over the holdout add up to the model's holdout total in the JSON.
        var pnbd = document.RootElement.GetProperty("models").EnumerateArray().Single(m => m.GetProperty("name").GetString() == "pnbd");
        sum.Should().BeApproximately(pnbd.GetProperty("holdoutPredicted").GetDouble(), 1e-3);
        pnbd.GetProperty("clvTotal").GetDouble().Should().BeApproximately(clvSum, 1e-4 * clvSum);
        pnbd.GetProperty("dertMean").GetDouble().Should().BePositive();
    }

    [Fact]
    public void Run_Holdout_ReportsEachModelsErrorsPerCustomer()
    {
        var customers = Path.Combine(_directory, "customers.csv");

        var (exit, stdout, stderr) = Run("--customers-out", customers, "--json", "--quiet");

        exit.Should().Be(0, stderr);

        // The same simulated shop, summarised here: each customer's actual holdout transactions.
        var start = new DateOnly(2024, 1, 1);
        var summary = RfmSummary.FromTransactions([.. Simulation.Transactions(3000, seed: 7)], start.AddDays(363), start.AddDays(727));
        var actual = summary.Customers.ToDictionary(c => c.CustomerId, c => (double)c.HoldoutFrequency);
        var lines = File.ReadAllLines(customers);
        var header = lines[0].Split(',');
        using var document = JsonDocument.Parse(stdout);
        foreach (var model in document.RootElement.GetProperty("models").EnumerateArray())
        {
            var name = model.GetProperty("name").GetString();
            var column = Array.IndexOf(header, $"{name}.expected"); // the horizon defaults to the holdout
            double absolute = 0, squared = 0, log = 0, total = 0;
            foreach (var line in lines.Skip(1))
            {
                var fields = line.Split(',');
                var predicted = double.Parse(fields[column], CultureInfo.InvariantCulture);
                var error = predicted - actual[fields[0]];
                absolute += Math.Abs(error);
                squared += error * error;
                log += Math.Pow(Math.Log(1 + predicted) - Math.Log(1 + actual[fields[0]]), 2);
                total += predicted;
            }

            var n = lines.Length - 1;
            var errors = model.GetProperty("holdoutErrors");
            errors.GetProperty("mae").GetDouble().Should().BeApproximately(absolute / n, 1e-6, name);
            errors.GetProperty("rmse").GetDouble().Should().BeApproximately(Math.Sqrt(squared / n), 1e-6, name);
            errors.GetProperty("msle").GetDouble().Should().BeApproximately(log / n, 1e-6, name);
            errors.GetProperty("totalActual").GetDouble().Should().Be(summary.HoldoutTransactions);
            errors.GetProperty("totalPredicted").GetDouble().Should().BeApproximately(total, 1e-3);
            errors.GetProperty("totalError").GetDouble().Should().BeApproximately(total - summary.HoldoutTransactions, 1e-3);
        }
    }

    [Fact]
    public void Run_HoldoutInText_ShowsTheErrorTable()
    {
        var (exit, stdout, stderr) = Run("--model", "bgnbd,pnbd", "--quiet");

        exit.Should().Be(0, stderr);
        stdout.Should().Contain("Holdout errors per customer").And.Contain("MAE").And.Contain("RMSE").And.Contain("MSLE");
    }

    [Fact]
    public void Run_Intervals_AddBoundsAroundTheEstimatesAndAreSeeded()
    {
        var first = Path.Combine(_directory, "first.csv");
        var again = Path.Combine(_directory, "again.csv");
        var other = Path.Combine(_directory, "other.csv");

        var (exit, stdout, stderr) = Run("--model", "pnbd", "--intervals", "60", "--interval-seed", "3", "--customers-out", first, "--json", "--quiet");
        Run("--model", "pnbd", "--intervals", "60", "--interval-seed", "3", "--customers-out", again, "--quiet").Exit.Should().Be(0);
        Run("--model", "pnbd", "--intervals", "60", "--interval-seed", "4", "--customers-out", other, "--quiet").Exit.Should().Be(0);

        exit.Should().Be(0, stderr);
        File.ReadAllText(again).Should().Be(File.ReadAllText(first), "the same seed gives the same draws");
        File.ReadAllText(other).Should().NotBe(File.ReadAllText(first), "another seed gives other draws");
        using var document = JsonDocument.Parse(stdout);
        var intervals = document.RootElement.GetProperty("models")[0].GetProperty("intervals");
        intervals.GetProperty("draws").GetInt32().Should().Be(60);
        intervals.GetProperty("level").GetDouble().Should().Be(0.9);
        intervals.GetProperty("error").ValueKind.Should().Be(JsonValueKind.Null);
        var lines = File.ReadAllLines(first);
        var header = lines[0].Split(',');
        foreach (var quantity in new[] { "pAlive", "expected", "dert", "clv" })
        {
            header.Should().Contain([$"pnbd.{quantity}.lower", $"pnbd.{quantity}.upper"]);
            intervals.GetProperty("columns").EnumerateArray().Select(c => c.GetString()).Should().Contain($"pnbd.{quantity}.lower");
            var (estimate, lower, upper) = (Array.IndexOf(header, $"pnbd.{quantity}"), Array.IndexOf(header, $"pnbd.{quantity}.lower"), Array.IndexOf(header, $"pnbd.{quantity}.upper"));
            var inside = 0;
            var wide = 0;
            foreach (var line in lines.Skip(1))
            {
                var fields = line.Split(',').Skip(1).Select(f => double.Parse(f, CultureInfo.InvariantCulture)).Prepend(0).ToArray();
                fields[lower].Should().BeLessThanOrEqualTo(fields[upper]);
                inside += fields[lower] <= fields[estimate] * (1 + 1e-9) && fields[estimate] <= fields[upper] * (1 + 1e-9) ? 1 : 0;
                wide += fields[upper] > fields[lower] ? 1 : 0;
            }

            // The estimate lies inside its interval for (nearly) every customer, and the intervals have width.
            inside.Should().BeGreaterThan((lines.Length - 1) * 95 / 100, quantity);
            wide.Should().BeGreaterThan((lines.Length - 1) / 2, quantity);
        }
    }

    [Fact]
    public void Run_IntervalsInText_ShowTheTopCustomersRange()
    {
        var (exit, stdout, stderr) = Run("--model", "pnbd", "--intervals", "40", "--quiet");

        exit.Should().Be(0, stderr);
        stdout.Should().Contain("Intervals: 90 % from 40 draws");
        stdout.Split('\n').SkipWhile(l => !l.StartsWith("Top customers", StringComparison.Ordinal)).Skip(1).First().Should().MatchRegex(@"value +[0-9.]+  \[[0-9.]+, [0-9.]+\]");
    }

    [Fact]
    public void Run_Segments_CoverEveryCustomerOnceAndAllTheValue()
    {
        var (exit, stdout, stderr) = Run("--json", "--quiet", "--segments", "4");

        exit.Should().Be(0, stderr);
        using var document = JsonDocument.Parse(stdout);
        var segments = document.RootElement.GetProperty("segments");
        var cells = segments.GetProperty("cells").EnumerateArray().ToList();
        cells.Should().HaveCount(3 * 4);
        segments.GetProperty("valueCutoffs").GetArrayLength().Should().Be(3);
        cells.Sum(c => c.GetProperty("customers").GetInt32()).Should().Be(document.RootElement.GetProperty("customers").GetInt32());
        cells.Sum(c => c.GetProperty("valueShare").GetDouble()).Should().BeApproximately(1, 1e-9);
        foreach (var cell in cells.Where(c => c.GetProperty("customers").GetInt32() > 0))
        {
            var band = cell.GetProperty("activity").GetString();
            var p = cell.GetProperty("meanPAlive").GetDouble();
            (band switch { "active" => p >= 0.7, "at risk" => p is >= 0.3 and < 0.7, _ => p < 0.3 }).Should().BeTrue($"{band} has mean P(alive) {p}");
        }
    }

    [Fact]
    public void Run_Progress_GoesToStderrUnlessQuiet()
    {
        var (exit, stdout, stderr) = Run("--model", "bgnbd");
        var (quietExit, _, quietStderr) = Run("--model", "bgnbd", "--quiet");

        exit.Should().Be(0);
        quietExit.Should().Be(0);
        stderr.Should().Contain("fitting bgnbd").And.Contain("summarising").And.MatchRegex(@"\[\s*\d+\.\d s\]");
        stdout.Should().NotContain("fitting bgnbd");
        quietStderr.Should().BeEmpty();
    }

    [Fact]
    public void Simulate_WritesATransactionLogTheReportReads()
    {
        var file = Path.Combine(_directory, "shop.csv");

        var (exit, stdout, stderr) = Run("simulate", "--customers", "500", "--out", file, "--seed", "3");
        var (reportExit, report, reportErr) = Run("--transactions", file, "--calibration-end", "2024-12-29", "--holdout-end", "2025-12-28", "--json", "--quiet", "--model", "bgnbd");

        exit.Should().Be(0, stderr);
        stdout.Should().Contain("500 customers");
        File.ReadLines(file).First().Should().Be("customer_id,date,amount");
        reportExit.Should().Be(0, reportErr);
        using var document = JsonDocument.Parse(report);
        document.RootElement.GetProperty("customers").GetInt32().Should().Be(500);
    }

    [Theory]
    [InlineData("line 3", "customer_id,date,amount", "a,2025-01-01,10", "a,2025-01-02x,10")]
    [InlineData("line 2", "customer_id,date,amount", "a,01/02/2025,10")]
    [InlineData("negative", "customer_id,date,amount", "a,2025-01-01,10", "a,2025-01-09,-4")]
    [InlineData("not an amount", "customer_id,date,amount", "a,2025-01-01,ten")]
    [InlineData("no column 'customer_id'", "id;day;value", "a;2025-01-01;10")]
    [InlineData("empty", "")]
    [InlineData("line 3: the customer id (customer_id) is empty", "customer_id,date,amount", "a,2025-01-01,10", ",2025-01-02,10")]
    public void Run_BadInput_NamesTheLineAndProblemAndFails(string expected, params string[] lines)
    {
        var file = Write(lines);

        var (exit, _, stderr) = Run("--transactions", file, "--calibration-end", "2025-03-31");

        exit.Should().Be(3);
        stderr.Should().Contain(expected);
    }

    [Fact]
    public void Run_CsvRowWithMissingFields_FailsAsBadInput()
    {
        var file = Write("customer_id,date,amount", "a,2025-01-01,10", "a,2025-01-05");

        var (exit, _, stderr) = Run("--transactions", file, "--calibration-end", "2025-03-31", "--quiet");

        exit.Should().Be(3);
        stderr.Should().Contain(file);
    }

    [Fact]
    public void Run_CdnowLineWithABadDate_NamesTheLine()
    {
        var file = Write(" 00001 0001 19970101  1   10.00", " 00001 0001 19971341  1   10.00");

        var (exit, _, stderr) = Run("--transactions", file, "--calibration-end", "1997-09-30");

        exit.Should().Be(3);
        stderr.Should().Contain("line 2").And.Contain("19971341");
    }

    [Theory]
    [InlineData("--bogus")]
    [InlineData("--model", "xgboost")]
    [InlineData("--model", "bgnbd,xgboost")]
    [InlineData("--calibration-end", "30/09/1997")]
    [InlineData("--unit", "months")]
    [InlineData("--margin", "1.5")]
    [InlineData("--horizon", "-3")]
    [InlineData("--discount-rate", "-0.1")]
    [InlineData("--segments", "1")]
    [InlineData("--penalty", "-1")]
    [InlineData("--intervals", "1")]
    [InlineData("--interval-level", "1")]
    [InlineData("--transactions", "x.csv")]
    [InlineData("--calibration-end", "2025-03-31", "--holdout-end", "2025-03-01")]
    [InlineData("simulate")]
    public void Run_BadArguments_PrintsUsageAndFails(params string[] args)
    {
        var (exit, _, stderr) = Run(args);

        exit.Should().Be(2);
        stderr.Should().Contain("Usage");
    }

    [Fact]
    public void Run_UnwritableOutput_ExitsWith5()
    {
        var (exit, _, stderr) = Run("--model", "bgnbd", "--quiet", "--customers-out", Path.Combine(_directory, "missing", "folder", "c.csv"));

        exit.Should().Be(5);
        stderr.Should().Contain("Cannot write");
    }

    [Fact]
    public void Run_NoRepeatBuyers_ExplainsWhyNothingCanBeFitted()
    {
        var file = Write("customer_id,date,amount", "a,2025-01-01,10", "b,2025-01-03,8", "c,2025-01-05,30");

        var (exit, _, stderr) = Run("--transactions", file, "--calibration-end", "2025-03-31");

        exit.Should().Be(4);
        stderr.Should().Contain("no customer made a repeat purchase");
    }

    [Theory]
    [InlineData("--help")]
    [InlineData("-h")]
    [InlineData("--model", "bgnbd", "--help")]
    public void Run_Help_PrintsUsageAndEveryOptionAndSucceeds(params string[] args)
    {
        var (exit, stdout, stderr) = Run(args);

        exit.Should().Be(0);
        stdout.Should().Contain("Usage:").And.Contain("Exit codes: 0 success");
        foreach (var (option, words) in new[]
        {
            ("--transactions", "CSV with a header row"),
            ("--calibration-end", "last day (inclusive) of the calibration"),
            ("--holdout-end", "holdout"),
            ("--order-id", "counted once"),
            ("--customer-column", "customer id"),
            ("--customers-out", "one row per customer"),
            ("--horizon", "horizon"),
            ("--discount-rate", "continuous discount rate"),
            ("--plots", "diagnostic plots"),
            ("--segments", "quantiles"),
            ("--quiet", "progress"),
            ("--penalty", "L2 penalty"),
        })
        {
            stdout.Should().MatchRegex($"{option}[^\\n]*\\n?[^\\n]*{System.Text.RegularExpressions.Regex.Escape(words)}", $"{option} is explained");
        }

        stderr.Should().BeEmpty();
    }

    [Fact]
    public void Run_OneModelFails_ReportsItInTheJsonAndRunsTheOthers()
    {
        var file = Write("customer_id,date,amount", "a,2025-01-01,10", "a,2025-02-01,12.5", "b,2025-01-03,8", "b,2025-01-20,9", "c,2025-01-05,30", "c,2025-03-01,20", "a,2025-05-01,11");

        var (exit, stdout, stderr) = Run(FailingPareto, "--transactions", file, "--calibration-end", "2025-03-31", "--unit", "days", "--json");

        exit.Should().Be(0, stderr);
        using var document = JsonDocument.Parse(stdout);
        var models = document.RootElement.GetProperty("models").EnumerateArray().ToDictionary(m => m.GetProperty("name").GetString()!);
        models.Keys.Should().BeEquivalentTo("bgnbd", "mbgnbd", "pnbd");
        models["pnbd"].GetProperty("error").GetString().Should().Contain("diverged on purpose");
        models["pnbd"].GetProperty("logLikelihood").ValueKind.Should().Be(JsonValueKind.Null);
        models["pnbd"].GetProperty("parameters").EnumerateObject().Should().BeEmpty();
        foreach (var name in new[] { "bgnbd", "mbgnbd" })
        {
            models[name].GetProperty("error").ValueKind.Should().Be(JsonValueKind.Null);
            models[name].GetProperty("parameters").GetProperty("r").GetDouble().Should().BePositive();
            models[name].GetProperty("meanPAlive").GetDouble().Should().BeInRange(0, 1);
        }

        stderr.Should().Contain("pnbd failed: Pareto/NBD diverged on purpose");

        // Three customers cannot pin down four parameters: some standard errors are not finite, which JSON cannot hold (the
        // report used to crash here); they are null.
        new[] { "bgnbd", "mbgnbd" }.SelectMany(n => models[n].GetProperty("standardErrors").EnumerateObject())
            .Should().Contain(p => p.Value.ValueKind == JsonValueKind.Null);
    }

    [Fact]
    public void Run_OneModelFails_TheTextReportSaysSoAndShowsTheOthers()
    {
        var (exit, stdout, stderr) = Run(FailingPareto);

        exit.Should().Be(0, stderr);
        stdout.Should().Contain("pnbd    FAILED: Pareto/NBD diverged on purpose").And.Contain("Holdout").And.Contain("Top customers by");
        stdout.Should().MatchRegex(@"bgnbd\s+r \d");
    }

    [Fact]
    public void Run_EveryModelFails_ExitsWith4AndNamesEachModel()
    {
        var file = Write("customer_id,date,amount", "a,2025-01-01,10", "b,2025-01-03,8", "c,2025-01-05,30");

        var (exit, stdout, stderr) = Run("--transactions", file, "--calibration-end", "2025-03-31", "--json");

        exit.Should().Be(4);
        stdout.Should().BeEmpty();
        stderr.Should().Contain("Cannot fit bgnbd").And.Contain("Cannot fit mbgnbd").And.Contain("Cannot fit pnbd");
    }

    private static (ITransactionModel, ClvFit) FailingPareto(string name, RfmData data)
        => name switch
        {
            "bgnbd" => (BgNbdModel.Fit(data) is var bg ? (bg, bg.FitResult!) : default),
            "mbgnbd" => (BgNbdModel.Fit(data, modified: true) is var mbg ? (mbg, mbg.FitResult!) : default),
            _ => throw new ClvModelException("Pareto/NBD diverged on purpose."),
        };

    private string Write(params string[] lines)
    {
        var path = Path.Combine(_directory, Guid.NewGuid().ToString("N") + ".txt");
        File.WriteAllLines(path, lines);
        return path;
    }
}

/// <summary>A fact that needs the CDNOW sample from the shared data sets; skipped, with the reason, when it is absent.</summary>
public sealed class CdnowFactAttribute : FactAttribute
{
    public CdnowFactAttribute()
    {
        if (CdnowFile is null)
        {
            Skip = "The CDNOW sample (../shared/data/cdnow beside the repository, or ENGAGEMENT_SDK_SHARED_DATA) is absent; it is not redistributed with the code.";
        }
    }

    public static string? CdnowFile { get; } = Locate();

    private static string? Locate()
    {
        var root = Environment.GetEnvironmentVariable("ENGAGEMENT_SDK_SHARED_DATA");
        if (string.IsNullOrEmpty(root))
        {
            for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            {
                if (dir.EnumerateFiles("*.sln").Any())
                {
                    root = Path.Combine(dir.FullName, "..", "shared", "data");
                    break;
                }
            }
        }

        var file = root is null ? null : Path.GetFullPath(Path.Combine(root, "cdnow", "CDNOW_sample.txt"));
        return file is not null && File.Exists(file) ? file : null;
    }
}
