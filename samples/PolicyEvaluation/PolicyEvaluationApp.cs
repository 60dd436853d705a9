using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using Engagement.Sdk;
using Engagement.Sdk.Decisioning.Evaluation;
using Engagement.Sdk.Decisioning.Learning;
using Engagement.Sdk.OpenBandit;

namespace PolicyEvaluation;

/// <summary>
/// Evaluates a policy offline on logged decisions: IPW, SNIPW, DM, DR and Switch-DR with bootstrap intervals and the effective
/// sample size. With <c>--logs</c> and <c>--policy</c> it reads an Open Bandit Dataset log and a context-free policy per
/// position; without them it runs the built-in simulated market (regret of Thompson sampling, greedy and random against the
/// oracle, then an offline evaluation of the oracle policy on uniformly random logs, whose true value is known).
/// </summary>
public static class PolicyEvaluationApp
{
    private static readonly CultureInfo Inv = CultureInfo.InvariantCulture;

    /// <summary>Runs the program.</summary>
    /// <param name="args">The command line.</param>
    /// <param name="stdout">Where the report goes.</param>
    /// <param name="stderr">Where errors go.</param>
    /// <returns>0 on success (also for <c>--help</c>), 2 for bad arguments, 3 for bad input files.</returns>
    public static int Run(string[] args, TextWriter stdout, TextWriter stderr)
    {
        ArgumentNullException.ThrowIfNull(args);
        ArgumentNullException.ThrowIfNull(stdout);
        ArgumentNullException.ThrowIfNull(stderr);
        var logs = new Option<FileInfo?>("--logs") { Description = "A log in the Open Bandit Dataset CSV format (index, timestamp, item_id, position, click, propensity_score, feature columns)." };
        var policy = new Option<FileInfo?>("--policy") { Description = "The policy to evaluate: a CSV item_id,position,probability; the probabilities of each position sum to 1." };
        var json = new Option<bool>("--json") { Description = "Print the report as JSON." };
        var bootstrap = new Option<int>("--bootstrap") { Description = "Bootstrap resamples for the 95% intervals (0 for none).", DefaultValueFactory = _ => 1_000 };
        var seed = new Option<ulong>("--seed") { Description = "The seed of the bootstrap (and of the simulation).", DefaultValueFactory = _ => 0 };
        bootstrap.Validators.Add(result =>
        {
            if (result.GetValueOrDefault<int>() is < 0 or > 100_000)
            {
                result.AddError("--bootstrap must be between 0 and 100000.");
            }
        });
        var root = new RootCommand("Off-policy evaluation of a policy on logged decisions (IPW, SNIPW, DM, DR, Switch-DR).") { logs, policy, json, bootstrap, seed };
        root.SetAction(parsed =>
        {
            var logFile = parsed.GetValue(logs);
            var policyFile = parsed.GetValue(policy);
            var options = new OffPolicyEvaluationOptions { BootstrapResamples = parsed.GetValue(bootstrap), Seed = parsed.GetValue(seed) };
            if ((logFile is null) != (policyFile is null))
            {
                stderr.WriteLine("--logs and --policy go together: give both, or neither to run the simulated example.");
                return 2;
            }

            return logFile is null
                ? Simulate(options, parsed.GetValue(json), stdout)
                : Evaluate(logFile.FullName, policyFile!.FullName, options, parsed.GetValue(json), stdout, stderr);
        });

        var parsed = root.Parse(args);
        if (parsed.Errors.Count > 0)
        {
            foreach (var error in parsed.Errors)
            {
                stderr.WriteLine(error.Message);
            }

            stderr.WriteLine("Usage: PolicyEvaluation --logs FILE --policy FILE [--json] [--bootstrap N] [--seed S]");
            return 2;
        }

        return parsed.Invoke(new InvocationConfiguration { Output = stdout, Error = stderr });
    }

    private static int Evaluate(string logFile, string policyFile, OffPolicyEvaluationOptions options, bool json, TextWriter stdout, TextWriter stderr)
    {
        DecisionLog log;
        EvaluationPolicy policy;
        try
        {
            log = OpenBanditDataset.ReadLog(logFile);
        }
        catch (Exception ex) when (ex is DecisionLogException or IOException or UnauthorizedAccessException)
        {
            stderr.WriteLine($"{logFile}: {ex.Message}");
            return 3;
        }

        try
        {
            policy = PolicyFile.Read(policyFile);
        }
        catch (Exception ex) when (ex is DecisionLogException or EngagementValidationException or IOException or UnauthorizedAccessException)
        {
            stderr.WriteLine($"{policyFile}: {ex.Message}");
            return 3;
        }

        if (log.Count == 0)
        {
            stderr.WriteLine($"{logFile}: the log has no rounds.");
            return 3;
        }

        OffPolicyEvaluation result;
        try
        {
            result = OffPolicyEvaluator.Evaluate(log, policy, options: options);
        }
        catch (EngagementValidationException ex)
        {
            stderr.WriteLine($"{policyFile}: {ex.Message} (position {ex.Value})");
            return 3;
        }

        if (json)
        {
            WriteJson(result, stdout);
        }
        else
        {
            stdout.WriteLine($"Logs: {logFile}");
            stdout.WriteLine($"Policy: {policyFile}");
            WriteText(result, stdout);
        }

        return 0;
    }

    private static int Simulate(OffPolicyEvaluationOptions options, bool json, TextWriter stdout)
    {
        var market = SimulatedMarket.CreateExample();
        var simulation = new BanditSimulationOptions { Seed = options.Seed };

        // Uniformly random logs of the same market, on which the oracle policy (true value known) is evaluated offline.
        var logged = BanditSimulator.Run(market, UniformRandomPolicy.Instance, new BanditSimulationOptions { Seed = options.Seed + 1, Decisions = 100_000, LogDecisions = true, Checkpoints = [] });
        var oracle = new EvaluationPolicy.Builder();
        for (var s = 0; s < market.Segments.Length; s++)
        {
            var best = Enumerable.Range(0, market.Arms.Length).MaxBy(a => market.TrueRate(s, a));
            oracle.Set(market.Segments[s], market.Arms[best], 1);
        }

        var evaluation = OffPolicyEvaluator.Evaluate(logged.Log!, oracle.Build(), options: options);
        if (json)
        {
            WriteJson(evaluation, stdout);
            return 0;
        }

        stdout.WriteLine("Simulated market (no --logs given): 4 segments x 5 actions x 3 channels, true click rates known.");
        stdout.WriteLine(string.Create(Inv, $"Oracle click rate: {market.OracleClickRate:P2}. Seed {options.Seed}."));
        stdout.WriteLine();
        stdout.WriteLine("Cumulative regret (expected clicks lost to the oracle) and click rate as a share of the oracle's:");
        stdout.WriteLine(string.Create(Inv, $"{"policy",-26}{"1,000",18}{"10,000",18}{"100,000",18}"));
        (string Name, IBanditPolicy Policy)[] policies =
        [
            ("thompson, floor 0.05", new ThompsonSamplingPolicy(new ThompsonSamplingOptions { Floor = 0.05, ComputeProbability = false })),
            ("thompson, no floor", new ThompsonSamplingPolicy(new ThompsonSamplingOptions { Floor = 0, ComputeProbability = false })),
            ("thompson, banks, floor 0.05", new ThompsonSamplingPolicy(new ThompsonSamplingOptions { Floor = 0.05 })),
            ("greedy", GreedyPolicy.Instance),
            ("uniform random", UniformRandomPolicy.Instance),
        ];
        foreach (var (name, policy) in policies)
        {
            var banked = name.Contains("banks", StringComparison.Ordinal);
            var run = BanditSimulator.Run(market, policy, banked ? new BanditSimulationOptions { Seed = simulation.Seed, SampleBankSize = 1_024, SampleBankRefresh = 100 } : simulation);
            stdout.Write($"{name,-26}");
            foreach (var c in run.Checkpoints)
            {
                stdout.Write(string.Create(Inv, $"{$"{c.CumulativeRegret:0.0} ({c.ShareOfOracle:P1})",18}"));
            }

            stdout.WriteLine();
        }

        stdout.WriteLine();
        stdout.WriteLine(string.Create(Inv, $"Offline evaluation of the oracle policy on 100,000 uniformly random decisions (true value {market.OracleClickRate:P3}):"));
        WriteText(evaluation, stdout);
        return 0;
    }

    private static void WriteText(OffPolicyEvaluation result, TextWriter stdout)
    {
        stdout.WriteLine(string.Create(Inv, $"Rounds: {result.Rounds:N0}; logging policy's own mean reward {result.OnPolicyMeanReward:P3}."));
        stdout.WriteLine(string.Create(Inv, $"Effective sample size {result.EffectiveSampleSize:N0} ({result.EffectiveSampleSize / result.Rounds:P1} of the rounds); largest weight {result.MaxWeight:0.###}; mean weight {result.MeanWeight:0.###}."));
        if (!result.IsReliable)
        {
            stdout.WriteLine("Warning: the effective sample size is below 1% of the rounds; the estimates rest on a few rounds.");
        }

        var level = result.ConfidenceLevel.ToString("P0", Inv);
        stdout.WriteLine(string.Create(Inv, $"{"estimator",-11}{"value",11}{"std. error",12}   {level} bootstrap interval ({result.BootstrapResamples:N0} resamples)"));
        foreach (var e in result.Estimates)
        {
            var interval = double.IsNaN(e.CiLow) ? "-" : string.Create(Inv, $"[{e.CiLow:P3}, {e.CiHigh:P3}]");
            stdout.WriteLine(string.Create(Inv, $"{e.Name,-11}{e.Value,11:P3}{e.StandardError,12:P3}   {interval}"));
        }
    }

    private static void WriteJson(OffPolicyEvaluation result, TextWriter stdout)
    {
        string[] contract = [OffPolicyEstimators.Ipw, OffPolicyEstimators.Snipw, OffPolicyEstimators.Dm, OffPolicyEstimators.Dr];
        var estimators = contract.Select(name => result[name]).Select(e => new EstimatorJson(e.Name, e.Value, Finite(e.CiLow), Finite(e.CiHigh))).ToList();
        stdout.WriteLine(JsonSerializer.Serialize(new ReportJson(result.Rounds, result.OnPolicyMeanReward, result.EffectiveSampleSize, estimators), ReportJsonContext.Default.ReportJson));

        static double? Finite(double x) => double.IsFinite(x) ? x : null;
    }
}
