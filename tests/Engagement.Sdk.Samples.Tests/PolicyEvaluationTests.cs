using System.Globalization;
using System.Text.Json;
using Engagement.Sdk.Tests;
using PolicyEvaluation;

namespace Engagement.Sdk.Samples.Tests;

public sealed class PolicyEvaluationTests : IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("policyevaluation-tests-").FullName;

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    [ObdTheory]
    [InlineData("men")]
    [InlineData("women")]
    public void Run_BtsPolicyOnRandomLogs_IntervalsCoverTheBtsLogsOwnMeanClick(string campaign)
    {
        var bts = ReadObd(ObdFile("bts", campaign));
        var policy = WriteEmpiricalPolicy(bts);
        var truth = bts.Average(r => r.Click);

        var (exit, stdout, stderr) = Run("--logs", ObdFile("random", campaign), "--policy", policy, "--json", "--bootstrap", "1000", "--seed", "42");

        exit.Should().Be(0, stderr);
        using var document = JsonDocument.Parse(stdout);
        var estimators = document.RootElement.GetProperty("estimators").EnumerateArray().ToDictionary(e => e.GetProperty("name").GetString()!);
        estimators.Keys.Should().Equal("ipw", "snipw", "dm", "dr");
        foreach (var name in new[] { "ipw", "snipw", "dr" })
        {
            var e = estimators[name];
            truth.Should().BeInRange(e.GetProperty("ciLow").GetDouble(), e.GetProperty("ciHigh").GetDouble(), $"{name} on {campaign}");
        }
    }

    [ObdTheory]
    [InlineData("random", "men")]
    [InlineData("bts", "women")]
    public void Run_Json_EqualsIndependentComputationsFromTheFiles(string logging, string campaign)
    {
        var logs = ReadObd(ObdFile(logging, campaign));
        var target = ReadObd(ObdFile(logging == "bts" ? "random" : "bts", campaign));
        var policyFile = WriteEmpiricalPolicy(target);
        var pi = target.GroupBy(r => r.Position).SelectMany(p => p.GroupBy(r => r.Item).Select(i => (Key: (p.Key, i.Key), P: i.Count() / (double)p.Count()))).ToDictionary(x => x.Key, x => x.P);

        var (exit, stdout, stderr) = Run("--logs", ObdFile(logging, campaign), "--policy", policyFile, "--json", "--bootstrap", "0");

        exit.Should().Be(0, stderr);
        var w = logs.Select(r => pi.GetValueOrDefault((r.Position, r.Item)) / r.Propensity).ToArray();
        var ipw = logs.Select((r, i) => w[i] * r.Click).Sum() / logs.Count;
        var snipw = logs.Select((r, i) => w[i] * r.Click).Sum() / w.Sum();
        var ess = w.Sum() * w.Sum() / w.Sum(x => x * x);
        using var document = JsonDocument.Parse(stdout);
        var root = document.RootElement;
        root.GetProperty("rounds").GetInt32().Should().Be(logs.Count);
        root.GetProperty("onPolicyMeanReward").GetDouble().Should().BeApproximately(logs.Average(r => r.Click), 1e-15);
        root.GetProperty("effectiveSampleSize").GetDouble().Should().BeApproximately(ess, 1e-6 * ess);
        var estimators = root.GetProperty("estimators").EnumerateArray().ToDictionary(e => e.GetProperty("name").GetString()!);
        estimators["ipw"].GetProperty("value").GetDouble().Should().BeApproximately(ipw, 1e-12);
        estimators["snipw"].GetProperty("value").GetDouble().Should().BeApproximately(snipw, 1e-12);
        estimators["ipw"].GetProperty("ciLow").ValueKind.Should().Be(JsonValueKind.Null, "no resamples were asked for");
    }

    [Fact]
    public void Run_SmallFiles_ReportsEveryEstimatorAsText()
    {
        var logs = WriteLogs("0,2019-11-24 00:00:01+00:00,0,1,1,0.5,x", "1,2019-11-24 00:00:02+00:00,1,1,0,0.5,x", "2,2019-11-24 00:00:03+00:00,0,1,0,0.5,x", "3,2019-11-24 00:00:04+00:00,1,1,1,0.5,x");
        var policy = Write("policy.csv", "item_id,position,probability", "0,1,0.25", "1,1,0.75");

        var (exit, stdout, stderr) = Run("--logs", logs, "--policy", policy, "--bootstrap", "200", "--seed", "3");

        exit.Should().Be(0, stderr);
        stdout.Should().Contain("ipw").And.Contain("snipw").And.Contain("dm").And.Contain("dr").And.Contain("switch-dr").And.Contain("Effective sample size 3 (80.0 %");
        stdout.Should().NotContain("NaN");
        // IPW = mean(w·click) = (0.5·1 + 1.5·1) / 4 = 0.5.
        stdout.Should().Contain("50.000 %");
    }

    [Fact]
    public void Run_PolicyNotSummingToOne_FailsNamingThePosition()
    {
        var logs = WriteLogs("0,2019-11-24 00:00:01+00:00,0,1,1,0.5,x");
        var policy = Write("policy.csv", "item_id,position,probability", "0,1,0.5", "1,1,0.3", "0,2,1");

        var (exit, _, stderr) = Run("--logs", logs, "--policy", policy);

        exit.Should().Be(3);
        stderr.Should().Contain("policy[1]").And.Contain("0.8").And.Contain("sum to 1");
    }

    [Fact]
    public void Run_PolicyMissingALoggedPosition_FailsNamingIt()
    {
        var logs = WriteLogs("0,2019-11-24 00:00:01+00:00,0,1,1,0.5,x", "1,2019-11-24 00:00:02+00:00,0,2,0,0.5,x");
        var policy = Write("policy.csv", "item_id,position,probability", "0,1,1");

        var (exit, _, stderr) = Run("--logs", logs, "--policy", policy);

        exit.Should().Be(3);
        stderr.Should().Contain("position 2");
    }

    [Theory]
    [InlineData("0,2019-11-24 00:00:01+00:00,0,1,1,0,x", "Line 3, propensity_score '0'")]
    [InlineData("0,2019-11-24 00:00:01+00:00,0,1,1,1.2,x", "Line 3, propensity_score '1.2'")]
    [InlineData("0,2019-11-24 00:00:01+00:00,0,1,3,0.5,x", "Line 3, click '3'")]
    public void Run_BadLogRow_FailsNamingTheLineAndField(string badRow, string expected)
    {
        var logs = WriteLogs("0,2019-11-24 00:00:01+00:00,0,1,1,0.5,x", badRow);
        var policy = Write("policy.csv", "item_id,position,probability", "0,1,1");

        var (exit, _, stderr) = Run("--logs", logs, "--policy", policy);

        exit.Should().Be(3);
        stderr.Should().Contain(expected);
    }

    [Theory]
    [InlineData("--logs", "x.csv")]
    [InlineData("--bootstrap", "-1")]
    [InlineData("--seed", "minus")]
    [InlineData("--unknown")]
    public void Run_BadArguments_ExitWithTwo(params string[] args)
    {
        var (exit, _, stderr) = Run(args);

        exit.Should().Be(2);
        stderr.Should().NotBeEmpty();
    }

    [Fact]
    public void Run_Help_PrintsTheOptions()
    {
        var (exit, stdout, _) = Run("--help");

        exit.Should().Be(0);
        stdout.Should().Contain("--logs").And.Contain("--policy").And.Contain("--bootstrap").And.Contain("--seed");
    }

    [Fact]
    public void Run_WithoutFiles_SimulatesAndEvaluatesTheOracleWithinItsInterval()
    {
        var (exit, stdout, stderr) = Run("--seed", "1", "--bootstrap", "300");

        exit.Should().Be(0, stderr);
        stdout.Should().Contain("thompson, floor 0.05").And.Contain("greedy").And.Contain("uniform random").And.Contain("Offline evaluation of the oracle");

        var (jsonExit, json, _) = Run("--seed", "1", "--bootstrap", "300", "--json");
        jsonExit.Should().Be(0);
        using var document = JsonDocument.Parse(json);
        var dr = document.RootElement.GetProperty("estimators").EnumerateArray().Single(e => e.GetProperty("name").GetString() == "dr");
        var oracle = Engagement.Sdk.Decisioning.Evaluation.SimulatedMarket.CreateExample().OracleClickRate;
        oracle.Should().BeInRange(dr.GetProperty("ciLow").GetDouble(), dr.GetProperty("ciHigh").GetDouble());
    }

    private static string ObdFile(string behaviour, string campaign) => SharedData.File(Path.Combine("obd", behaviour, campaign, campaign + ".csv"));

    /// <summary>Reads the columns the tests need with plain string splitting, independently of the reader under test.</summary>
    private static List<(int Item, int Position, int Click, double Propensity)> ReadObd(string file)
        => [.. File.ReadLines(file).Skip(1).Select(line => line.Split(',')).Select(f => (int.Parse(f[2], CultureInfo.InvariantCulture), int.Parse(f[3], CultureInfo.InvariantCulture), int.Parse(f[4], CultureInfo.InvariantCulture), double.Parse(f[5], CultureInfo.InvariantCulture)))];

    private string WriteEmpiricalPolicy(List<(int Item, int Position, int Click, double Propensity)> rounds)
    {
        var lines = new List<string> { "item_id,position,probability" };
        foreach (var position in rounds.GroupBy(r => r.Position))
        {
            foreach (var item in position.GroupBy(r => r.Item))
            {
                lines.Add(string.Create(CultureInfo.InvariantCulture, $"{item.Key},{position.Key},{item.Count() / (double)position.Count():R}"));
            }
        }

        return Write("policy.csv", [.. lines]);
    }

    private string WriteLogs(params string[] rows) => Write("logs.csv", [",timestamp,item_id,position,click,propensity_score,user_feature_0", .. rows]);

    private string Write(string name, params string[] lines)
    {
        var path = Path.Combine(_directory, name);
        File.WriteAllLines(path, lines);
        return path;
    }

    private static (int Exit, string Stdout, string Stderr) Run(params string[] args)
    {
        using var stdout = new StringWriter();
        using var stderr = new StringWriter();
        var exit = PolicyEvaluationApp.Run(args, stdout, stderr);
        return (exit, stdout.ToString(), stderr.ToString());
    }
}

/// <summary>A theory that needs the Open Bandit Dataset sample; skipped, with the reason, when it is absent.</summary>
public sealed class ObdTheoryAttribute : TheoryAttribute
{
    public ObdTheoryAttribute()
    {
        if (SharedData.Directory is null || !Directory.Exists(Path.Combine(SharedData.Directory, "obd")))
        {
            Skip = "The Open Bandit Dataset sample (../shared/data/obd beside the repository, or ENGAGEMENT_SDK_SHARED_DATA) is absent; it is not redistributed with the code.";
        }
    }
}
