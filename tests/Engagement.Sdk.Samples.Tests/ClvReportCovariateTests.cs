using System.Globalization;
using System.Text.Json;
using ClvReport;
using static Engagement.Sdk.Samples.Tests.ClvReportCommand;

namespace Engagement.Sdk.Samples.Tests;

/// <summary>ClvReport's covariate models (<c>--covariates</c>) and their likelihood-ratio tests.</summary>
public sealed class ClvReportCovariateTests : IDisposable
{
    private static readonly string[] Window = ["--calibration-end", "2024-12-29", "--holdout-end", "2025-12-28"];
    private readonly string _directory = Directory.CreateTempSubdirectory("clvreport-covariates-").FullName;

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    [Fact]
    public void Run_CovariateThatDoublesThePurchaseRate_IsEstimatedAndTheTestRejectsNoEffect()
    {
        var (transactions, covariates) = SimulateMixture(6_000, seed: 5);

        var (exit, stdout, stderr) = Run([.. Window, "--transactions", transactions, "--covariates", covariates, "--model", "bgnbd,pnbd", "--json", "--quiet"]);

        exit.Should().Be(0, stderr);
        using var document = JsonDocument.Parse(stdout);
        var root = document.RootElement;
        var plain = root.GetProperty("models").EnumerateArray().ToDictionary(m => m.GetProperty("name").GetString()!);
        var block = root.GetProperty("covariates");
        block.GetProperty("on").GetString().Should().Be("both");
        block.GetProperty("purchase").EnumerateArray().Select(e => e.GetString()).Should().Equal("paid_channel");
        block.GetProperty("distinctVectors").GetInt32().Should().Be(2);
        var models = block.GetProperty("models").EnumerateArray().ToDictionary(m => m.GetProperty("name").GetString()!);
        models.Keys.Should().BeEquivalentTo("bgnbd", "pnbd");

        // The simulated paid customers buy twice as often: the BG/NBD coefficient is ln 2 (its model is the true one).
        var bg = models["bgnbd"];
        bg.GetProperty("error").ValueKind.Should().Be(JsonValueKind.Null);
        bg.GetProperty("parameters").GetProperty("purchase:paid_channel").GetDouble().Should().BeApproximately(Math.Log(2), 0.15);
        foreach (var (name, df) in new[] { ("bgnbd", 3), ("pnbd", 2) })
        {
            var model = models[name];
            var test = model.GetProperty("likelihoodRatio");
            test.GetProperty("against").GetString().Should().Be(name);
            test.GetProperty("degreesOfFreedom").GetInt32().Should().Be(df);
            var expectedStatistic = 2 * (model.GetProperty("logLikelihood").GetDouble() - plain[name].GetProperty("logLikelihood").GetDouble());
            test.GetProperty("statistic").GetDouble().Should().BeApproximately(expectedStatistic, 1e-6 * Math.Abs(expectedStatistic));
            test.GetProperty("statistic").GetDouble().Should().BeGreaterThan(50);
            test.GetProperty("pValue").GetDouble().Should().BeLessThan(1e-9);
            model.GetProperty("aic").GetDouble().Should().BeLessThan(plain[name].GetProperty("aic").GetDouble());
        }
    }

    [Fact]
    public void Run_CovariateUnrelatedToBehaviour_IsNotSignificant()
    {
        var transactions = Path.Combine(_directory, "shop.csv");
        Run("simulate", "--customers", "4000", "--out", transactions, "--seed", "9").Exit.Should().Be(0);

        // A coin flip per customer, independent of the simulation.
        var random = new Random(17);
        var covariates = Write("covariates.csv", ["customer_id,coin", .. Enumerable.Range(0, 4000).Select(i => Simulation.CustomerName(i) + "," + random.Next(2).ToString(CultureInfo.InvariantCulture))]);

        var (exit, stdout, stderr) = Run([.. Window, "--transactions", transactions, "--covariates", covariates, "--covariates-on", "purchase", "--model", "bgnbd,pnbd", "--json", "--quiet"]);

        exit.Should().Be(0, stderr);
        using var document = JsonDocument.Parse(stdout);
        var block = document.RootElement.GetProperty("covariates");
        block.GetProperty("on").GetString().Should().Be("purchase");
        block.GetProperty("dropout").GetArrayLength().Should().Be(0);
        foreach (var model in block.GetProperty("models").EnumerateArray())
        {
            model.GetProperty("parameters").EnumerateObject().Select(p => p.Name).Should().Contain("purchase:coin").And.NotContain(n => n.StartsWith("dropout", StringComparison.Ordinal));
            var test = model.GetProperty("likelihoodRatio");
            test.GetProperty("degreesOfFreedom").GetInt32().Should().Be(1);
            test.GetProperty("pValue").GetDouble().Should().BeGreaterThan(0.01, "a coin flip explains nothing");
        }
    }

    [Fact]
    public void Run_CovariatesInText_ShowTheCoefficientsAndTheTest()
    {
        var (transactions, covariates) = SimulateMixture(3_000, seed: 6);

        var (exit, stdout, stderr) = Run([.. Window, "--transactions", transactions, "--covariates", covariates, "--model", "bgnbd", "--quiet"]);

        exit.Should().Be(0, stderr);
        stdout.Should().Contain("Covariates from " + covariates + " on both")
            .And.Contain("purchase:paid_channel")
            .And.Contain("LR test against bgnbd without covariates: chi2")
            .And.Contain("on 3 df");
    }

    [Fact]
    public void Run_PenalisedFits_ReportTheCovariateModelWithoutAnLrTestAndSayWhy()
    {
        var (transactions, covariates) = SimulateMixture(2_000, seed: 7);

        var (exit, stdout, stderr) = Run([.. Window, "--transactions", transactions, "--covariates", covariates, "--model", "bgnbd", "--penalty", "0.01", "--json", "--quiet"]);

        exit.Should().Be(0, stderr);
        using var document = JsonDocument.Parse(stdout);
        var model = document.RootElement.GetProperty("covariates").GetProperty("models")[0];
        model.GetProperty("logLikelihood").GetDouble().Should().BeNegative();
        model.GetProperty("likelihoodRatio").ValueKind.Should().Be(JsonValueKind.Null);
        model.GetProperty("likelihoodRatioError").GetString().Should().Contain("unpenalised");
    }

    [Fact]
    public void Run_ModelWithoutACovariateVersion_HasNoCovariateEntry()
    {
        var (transactions, covariates) = SimulateMixture(1_000, seed: 8);

        var (exit, stdout, stderr) = Run([.. Window, "--transactions", transactions, "--covariates", covariates, "--model", "mbgnbd", "--json", "--quiet"]);

        exit.Should().Be(0, stderr);
        using var document = JsonDocument.Parse(stdout);
        document.RootElement.GetProperty("covariates").GetProperty("models").GetArrayLength().Should().Be(0);
    }

    [Theory]
    [InlineData("no covariates row, the first 'c0000004'", "customer_id,x", "c0000000,1", "c0000001,0", "c0000002,1", "c0000003,0")]
    [InlineData("line 3: 'yes' (x) is not a finite number", "customer_id,x", "c0000000,1", "c0000001,yes")]
    [InlineData("line 3: customer 'c0000000' appears a second time", "customer_id,x", "c0000000,1", "c0000000,0")]
    [InlineData("no column 'customer_id' (--customer-column) in the covariates header", "client,x", "c0000000,1")]
    [InlineData("names only the customer column", "customer_id", "c0000000")]
    [InlineData("has a header but no customers", "customer_id,x")]
    public void Run_BadCovariatesFile_FailsAsBadInputNamingTheProblem(string expected, params string[] lines)
    {
        var transactions = Path.Combine(_directory, "shop.csv");
        Run("simulate", "--customers", "5", "--out", transactions, "--seed", "1").Exit.Should().Be(0);
        var covariates = Write("covariates.csv", lines);

        var (exit, stdout, stderr) = Run([.. Window, "--transactions", transactions, "--covariates", covariates, "--model", "bgnbd", "--quiet"]);

        exit.Should().Be(ClvReportApp.BadInput, stderr);
        stderr.Should().Contain(covariates).And.Contain(expected);
        stdout.Should().BeEmpty("nothing is fitted or reported from a bad covariates file");
    }

    [Fact]
    public void Run_UnknownCovariateTarget_IsABadArgument()
    {
        var (exit, _, stderr) = Run("--covariates-on", "lifetime");

        exit.Should().Be(ClvReportApp.BadArguments);
        stderr.Should().Contain("lifetime");
    }

    [Fact]
    public void Simulate_CovariatesOut_WritesOneRowPerCustomerWithFortyPercentPaid()
    {
        var (transactions, covariates) = SimulateMixture(1_000, seed: 2);

        var rows = File.ReadAllLines(covariates);

        rows[0].Should().Be("customer_id,paid_channel");
        rows.Skip(1).Select(r => r.Split(',')[0]).Should().Equal(Enumerable.Range(0, 1_000).Select(Simulation.CustomerName));
        rows.Skip(1).Count(r => r.EndsWith(",1", StringComparison.Ordinal)).Should().Be(400);
        File.ReadLines(transactions).Skip(1).Select(l => l.Split(',')[0]).Distinct().Should().HaveCount(1_000, "every simulated customer has a first purchase");
    }

    private (string Transactions, string Covariates) SimulateMixture(int customers, int seed)
    {
        var transactions = Path.Combine(_directory, $"mixture-{seed}.csv");
        var covariates = Path.Combine(_directory, $"mixture-{seed}-covariates.csv");
        var (exit, _, stderr) = Run("simulate", "--customers", customers.ToString(CultureInfo.InvariantCulture), "--out", transactions, "--covariates-out", covariates, "--seed", seed.ToString(CultureInfo.InvariantCulture));
        exit.Should().Be(0, stderr);
        return (transactions, covariates);
    }

    private string Write(string name, string[] lines)
    {
        var path = Path.Combine(_directory, name);
        File.WriteAllLines(path, lines);
        return path;
    }
}
