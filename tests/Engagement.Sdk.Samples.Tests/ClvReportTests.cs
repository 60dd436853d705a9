using System.Text.Json;
using ClvReport;
using Engagement.Sdk.Value.Clv;

namespace Engagement.Sdk.Samples.Tests;

public sealed class ClvReportTests : IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("clvreport-tests-").FullName;

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    [CdnowFact]
    public void Run_CdnowWithJson_ReportsThePublishedFits()
    {
        var (exit, stdout, _) = Run("--transactions", CdnowFactAttribute.CdnowFile!, "--calibration-end", "1997-09-30", "--holdout-end", "1998-06-30", "--json");

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
    }

    [Fact]
    public void Run_WithoutAFile_ReportsOnSimulatedDataAndDrawsTheChart()
    {
        var plot = Path.Combine(_directory, "tracking.svg");

        var (exit, stdout, stderr) = Run("--model", "bgnbd", "--plot", plot);

        exit.Should().Be(0, stderr);
        stdout.Should().Contain("simulated").And.Contain("bgnbd").And.Contain("Holdout").And.Contain("Top customers by 12-month CLV");
        var svg = File.ReadAllText(plot);
        svg.Should().StartWith("<svg").And.Contain("<path").And.Contain("bgnbd").And.Contain("end of calibration");
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
    }

    [Theory]
    [InlineData("line 3", "customer_id,date,amount", "a,2025-01-01,10", "a;2025-01-02;10")]
    [InlineData("line 2", "customer_id,date,amount", "a,01/02/2025,10")]
    [InlineData("negative", "customer_id,date,amount", "a,2025-01-01,10", "a,2025-01-09,-4")]
    [InlineData("not an amount", "customer_id,date,amount", "a,2025-01-01,ten")]
    [InlineData("header", "id;day;value", "a;2025-01-01;10")]
    [InlineData("empty", "")]
    public void Run_BadInput_NamesTheLineAndProblemAndFails(string expected, params string[] lines)
    {
        var file = Write(lines);

        var (exit, _, stderr) = Run("--transactions", file, "--calibration-end", "2025-03-31");

        exit.Should().Be(3);
        stderr.Should().Contain(expected);
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
    [InlineData("--calibration-end", "30/09/1997")]
    public void Run_BadArguments_PrintsUsageAndFails(params string[] args)
    {
        var (exit, _, stderr) = Run(args);

        exit.Should().Be(2);
        stderr.Should().Contain("Usage");
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
    public void Run_Help_PrintsUsageAndSucceeds(params string[] args)
    {
        var (exit, stdout, stderr) = Run(args);

        exit.Should().Be(0);
        stdout.Should().StartWith("Usage: ClvReport").And.Contain("--calibration-end");
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
        stdout.Should().Contain("pnbd    FAILED: Pareto/NBD diverged on purpose").And.Contain("Holdout").And.Contain("Top customers by 12-month CLV");
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

    private static (int Exit, string Stdout, string Stderr) Run(params string[] args)
    {
        using var stdout = new StringWriter();
        using var stderr = new StringWriter();
        var exit = ClvReportApp.Run(args, stdout, stderr);
        return (exit, stdout.ToString(), stderr.ToString());
    }

    private static (int Exit, string Stdout, string Stderr) Run(Func<string, RfmData, (ITransactionModel, ClvFit)> fit, params string[] args)
    {
        using var stdout = new StringWriter();
        using var stderr = new StringWriter();
        var exit = ClvReportApp.Run(args, stdout, stderr, fit);
        return (exit, stdout.ToString(), stderr.ToString());
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
