using System.Globalization;
using System.Text.Json;
using System.Xml.Linq;
using ClvReport;
using Engagement.Sdk.Value.Clv;
using static Engagement.Sdk.Samples.Tests.ClvReportCommand;

namespace Engagement.Sdk.Samples.Tests;

public sealed class ClvReportBgBbTests : IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("clvreport-bgbb-tests-").FullName;

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    [DonationsFact]
    public void BgBb_Donations_ReproducesThePublishedFitAndTheRepeatDistribution()
    {
        var customers = Path.Combine(_directory, "donors.csv");
        var plots = Path.Combine(_directory, "plots");

        var (exit, stdout, stderr) = Run("bgbb", "--patterns", DonationsFactAttribute.DonationsFile!, "--customers-out", customers, "--plots", plots, "--json", "--quiet");

        exit.Should().Be(0, stderr);
        using var document = JsonDocument.Parse(stdout);
        var root = document.RootElement;

        // Fader, Hardie and Shang (2010): α 1.204, β 0.750, γ 0.657, δ 2.783 on 11,104 donors.
        root.GetProperty("customers").GetDouble().Should().Be(11_104);
        var parameters = root.GetProperty("parameters");
        parameters.GetProperty("alpha").GetDouble().Should().BeApproximately(1.2035, 0.001);
        parameters.GetProperty("beta").GetDouble().Should().BeApproximately(0.7497, 0.001);
        parameters.GetProperty("gamma").GetDouble().Should().BeApproximately(0.6567, 0.001);
        parameters.GetProperty("delta").GetDouble().Should().BeApproximately(2.7834, 0.003);
        root.GetProperty("logLikelihood").GetDouble().Should().BeApproximately(-33225.58, 0.01);
        root.GetProperty("lifetimeTransactions").ValueKind.Should().Be(JsonValueKind.Null, "γ < 1: a new donor's expected lifetime donations are infinite");

        // Actual donors by x, and the model's expectation that sums to all donors.
        var rows = root.GetProperty("repeatDistribution").EnumerateArray().ToList();
        rows.Should().HaveCount(7);
        rows[0].GetProperty("actual").GetDouble().Should().Be(3464);
        rows.Sum(r => r.GetProperty("actual").GetDouble()).Should().Be(11_104);
        rows.Sum(r => r.GetProperty("expected").GetDouble()).Should().BeApproximately(11_104, 1e-6);

        // One row per pattern with the model's predictions.
        var model = BgBbModel.FromParameters(parameters.GetProperty("alpha").GetDouble(), parameters.GetProperty("beta").GetDouble(), parameters.GetProperty("gamma").GetDouble(), parameters.GetProperty("delta").GetDouble());
        var lines = File.ReadAllLines(customers);
        lines[0].Should().Be("customer_id,x,t_x,n,weight,bgbb.pAlive,bgbb.expected,bgbb.dert");
        lines.Should().HaveCount(23);
        foreach (var line in lines.Skip(1))
        {
            var f = line.Split(',').Select(v => double.Parse(v, CultureInfo.InvariantCulture)).ToArray();
            var (x, tx, n) = ((int)f[1], (int)f[2], (int)f[3]);
            f[5].Should().BeApproximately(model.ProbabilityAlive(x, tx, n), 1e-8);
            f[6].Should().BeApproximately(model.ConditionalExpectedTransactions(1, x, tx, n), 1e-8);
            f[7].Should().BeApproximately(model.DiscountedExpectedTransactions(0.1, x, tx, n), 1e-7);
        }

        var svg = XDocument.Load(Path.Combine(plots, "bgbb-repeat-pmf.svg"));
        svg.Root!.Name.LocalName.Should().Be("svg");
        svg.Descendants().Should().Contain(e => e.Name.LocalName == "title" && e.Value.Contains("BG/BB", StringComparison.Ordinal));
    }

    [Fact]
    public void BgBb_TransactionsCutIntoPeriods_GiveEachCustomersPatternAndTheHoldout()
    {
        // a: first 2023, buys 2024 and 2026 → x 2, t_x 3, n 3; holdout 2027-2028: 2027 → 1.
        // b: first 2024, nothing after → x 0, t_x 0, n 2; holdout 2028 → 1.
        // c: first purchase after the calibration end → left out.
        var file = Write(
            "customer_id,date,amount",
            "a,2023-03-01,10",
            "a,2023-05-01,10",
            "a,2024-01-15,10",
            "a,2026-12-31,10",
            "a,2027-06-01,10",
            "b,2024-07-01,5",
            "b,2028-02-01,5",
            "c,2027-01-01,5");

        var rows = BgBbReport.FromTransactions([.. ReadTransactions(file)], new DateOnly(2026, 12, 31), new DateOnly(2028, 12, 31), "year");

        rows.HoldoutOpportunities.Should().Be(2);
        rows.Customers.Should().Equal(
            new DiscreteCustomer("a", 2, 3, 3, 1, 1),
            new DiscreteCustomer("b", 0, 0, 2, 1, 1));
    }

    [Theory]
    [InlineData("month")]
    [InlineData("quarter")]
    [InlineData("week")]
    public void BgBb_Periods_AreCalendarPeriods(string period)
    {
        // 2024-01-01 is a Monday: Sunday 2024-01-07 is in its week, Monday 2024-01-08 in the next; 2024-01-31 and
        // 2024-02-01 are in different months; 2024-03-31 and 2024-04-01 in different quarters.
        var (same, next) = period switch
        {
            "month" => (new DateOnly(2024, 1, 31), new DateOnly(2024, 2, 1)),
            "quarter" => (new DateOnly(2024, 3, 31), new DateOnly(2024, 4, 1)),
            _ => (new DateOnly(2024, 1, 7), new DateOnly(2024, 1, 8)),
        };
        var first = period == "week" ? new DateOnly(2024, 1, 1) : same.AddDays(-20);
        Transaction[] transactions = [new("a", first, 1), new("a", same, 1), new("b", first, 1), new("b", next, 1)];

        var (customers, _) = BgBbReport.FromTransactions(transactions, next, null, period);

        customers.Single(c => c.Id == "a").X.Should().Be(0, $"{same} is in the period of {first}");
        customers.Single(c => c.Id == "b").X.Should().Be(1, $"{next} starts the next period");
        customers.Single(c => c.Id == "b").N.Should().Be(1);
    }

    [Fact]
    public void BgBb_SimulatedYearlyShop_RecoversItsParametersAndForecastsTheHoldout()
    {
        // A BG/BB population over 10 yearly opportunities, written as transactions: 6 calibration years, 4 holdout years.
        var truth = BgBbModel.FromParameters(1.2, 0.75, 0.66, 2.8);
        var random = new Random(3);
        var lines = new List<string> { "customer_id,date,amount" };
        for (var i = 0; i < 20_000; i++)
        {
            var p = Beta(random, 1.2, 0.75);
            var theta = Beta(random, 0.66, 2.8);
            lines.Add($"c{i},2015-06-01,10");
            for (var year = 2016; year <= 2025; year++)
            {
                if (random.NextDouble() < theta)
                {
                    break;
                }

                if (random.NextDouble() < p)
                {
                    lines.Add($"c{i},{year}-06-01,10");
                }
            }
        }

        var file = Write([.. lines]);

        var (exit, stdout, stderr) = Run("bgbb", "--transactions", file, "--calibration-end", "2021-12-31", "--holdout-end", "2025-12-31", "--json", "--quiet");

        exit.Should().Be(0, stderr);
        using var document = JsonDocument.Parse(stdout);
        var root = document.RootElement;
        root.GetProperty("customers").GetDouble().Should().Be(20_000);
        root.GetProperty("maxOpportunities").GetInt32().Should().Be(6);
        root.GetProperty("holdoutOpportunities").GetInt32().Should().Be(4);
        var parameters = root.GetProperty("parameters");
        parameters.GetProperty("alpha").GetDouble().Should().BeApproximately(truth.Alpha, 0.25 * truth.Alpha);
        parameters.GetProperty("gamma").GetDouble().Should().BeApproximately(truth.Gamma, 0.25 * truth.Gamma);

        // The holdout forecast of a correctly specified model is close to what happened, and the errors are reported.
        var actual = root.GetProperty("holdoutActual").GetDouble();
        root.GetProperty("holdoutPredicted").GetDouble().Should().BeApproximately(actual, 0.05 * actual);
        root.GetProperty("holdoutErrors").GetProperty("mae").GetDouble().Should().BePositive();
        root.GetProperty("holdoutByFrequency").EnumerateArray().Sum(r => r.GetProperty("actual").GetDouble()).Should().Be(actual);
    }

    [Theory]
    [InlineData("bgbb")]
    [InlineData("bgbb", "--transactions", "x.csv")]
    [InlineData("bgbb", "--period", "decade")]
    [InlineData("bgbb", "--horizon", "0")]
    public void BgBb_BadArguments_Fail(params string[] args)
    {
        Run(args).Exit.Should().Be(2);
    }

    [Theory]
    [InlineData("frequency,recency,periods,weights", "2,1,6,10")] // x > t_x
    [InlineData("frequency,recency,periods,weights", "1,7,6,10")] // t_x > n
    [InlineData("frequency,recency,periods,weights", "1,1,6,-1")] // weight
    [InlineData("frequency,periods", "1,6")] // no recency column
    public void BgBb_BadPatterns_NameTheLine(string header, string row)
    {
        var file = Write(header, "0,0,6,5", row);

        var (exit, _, stderr) = Run("bgbb", "--patterns", file);

        exit.Should().Be(3);
        stderr.Should().Contain(header.Contains("recency", StringComparison.Ordinal) ? "line 3" : "recency");
    }

    private static double Beta(Random random, double a, double b)
    {
        var x = Gamma(random, a);
        return x / (x + Gamma(random, b));
    }

    /// <summary>Marsaglia and Tsang's gamma variate (with the boost for a shape below 1).</summary>
    private static double Gamma(Random random, double shape)
    {
        if (shape < 1)
        {
            return Gamma(random, shape + 1) * Math.Pow(random.NextDouble(), 1 / shape);
        }

        var d = shape - (1.0 / 3);
        var c = 1 / Math.Sqrt(9 * d);
        while (true)
        {
            double z, v;
            do
            {
                var u1 = 1 - random.NextDouble();
                var u2 = random.NextDouble();
                z = Math.Sqrt(-2 * Math.Log(u1)) * Math.Cos(2 * Math.PI * u2);
                v = 1 + (c * z);
            }
            while (v <= 0);

            v = v * v * v;
            var u = random.NextDouble();
            if (Math.Log(u) < (0.5 * z * z) + d - (d * v) + (d * Math.Log(v)))
            {
                return d * v;
            }
        }
    }

    private static IReadOnlyList<Transaction> ReadTransactions(string file) => TransactionFile.Read(file, "csv").Transactions;

    private string Write(params string[] lines)
    {
        var path = Path.Combine(_directory, Guid.NewGuid().ToString("N") + ".csv");
        File.WriteAllLines(path, lines);
        return path;
    }
}

public sealed class DonationsFactAttribute : FactAttribute
{
    public DonationsFactAttribute()
    {
        if (DonationsFile is null)
        {
            Skip = "The donations data (../shared/data/donations beside the repository, or ENGAGEMENT_SDK_SHARED_DATA) is absent; it is not redistributed with the code.";
        }
    }

    public static string? DonationsFile { get; } = CdnowFactAttribute.CdnowFile is { } cdnow
        ? Existing(Path.Combine(Path.GetDirectoryName(Path.GetDirectoryName(cdnow)!)!, "donations", "donations.csv"))
        : null;

    private static string? Existing(string path) => File.Exists(path) ? path : null;
}
