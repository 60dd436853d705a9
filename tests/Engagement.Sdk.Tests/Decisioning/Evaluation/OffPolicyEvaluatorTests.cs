using Engagement.Sdk.Channels;
using Engagement.Sdk.Decisioning.Evaluation;
using Engagement.Sdk.Decisioning.Learning;

namespace Engagement.Sdk.Tests.Decisioning.Evaluation;

public sealed class OffPolicyEvaluatorTests
{
    private static readonly DecisionArm A = new("a", Channel.Email);
    private static readonly DecisionArm B = new("b", Channel.Email);
    private static readonly DecisionArm C = new("c", Channel.Sms);

    [Theory]
    [InlineData(0.0, 1.0, "propensity")]
    [InlineData(1.2, 1.0, "propensity")]
    [InlineData(double.NaN, 0.0, "propensity")]
    [InlineData(0.5, 2.0, "reward")]
    [InlineData(0.5, 0.5, "reward")]
    public void Builder_BadRow_NamesTheRowAndTheField(double propensity, double reward, string field)
    {
        var builder = new DecisionLog.Builder().Add(new LoggedDecision("s", "a", Channel.Email, 0.5, 1));

        var act = () => builder.Add(new LoggedDecision("s", "a", Channel.Email, propensity, reward));

        var error = act.Should().Throw<DecisionLogException>().Which;
        error.Line.Should().Be(2);
        error.Field.Should().Be(field);
    }

    [Fact]
    public void PolicyBuilder_ProbabilitiesNotSummingToOne_ThrowsNamingTheContext()
    {
        var act = () => new EvaluationPolicy.Builder().Set("s", A, 0.5).Set("s", B, 0.4).Build();

        act.Should().Throw<EngagementValidationException>().Which.Field.Should().Be("policy[s]");
    }

    [Fact]
    public void Evaluate_PolicyMissingALoggedContext_Throws()
    {
        var log = DecisionLog.Create([new LoggedDecision("s", "a", Channel.Email, 0.5, 1), new LoggedDecision("t", "a", Channel.Email, 0.5, 0)]);
        var policy = new EvaluationPolicy.Builder().Set("s", A, 1).Build();

        var act = () => OffPolicyEvaluator.Evaluate(log, policy);

        act.Should().Throw<EngagementValidationException>().Which.Value.Should().Be("t");
    }

    [Fact]
    public void Evaluate_LoggingPolicyItself_WeightsAreOneAndEveryEstimatorIsTheMeanReward()
    {
        var log = UniformLog(30_000, seed: 4, out _);
        var uniform = new EvaluationPolicy.Builder();
        foreach (var context in new[] { "s1", "s2" })
        {
            uniform.Set(context, A, 1.0 / 3).Set(context, B, 1.0 / 3).Set(context, C, 1.0 / 3);
        }

        var result = OffPolicyEvaluator.Evaluate(log, uniform.Build(), options: new OffPolicyEvaluationOptions { BootstrapResamples = 0 });

        result.MaxWeight.Should().BeApproximately(1, 1e-12);
        result.EffectiveSampleSize.Should().BeApproximately(log.Count, 1e-6);
        result[OffPolicyEstimators.Ipw].Value.Should().BeApproximately(log.MeanReward, 1e-12);
        result[OffPolicyEstimators.Snipw].Value.Should().BeApproximately(log.MeanReward, 1e-12);
        result[OffPolicyEstimators.Dr].Value.Should().BeApproximately(log.MeanReward, 1e-3);
        double.IsNaN(result[OffPolicyEstimators.Ipw].CiLow).Should().BeTrue("no resamples were asked for");
    }

    [Fact]
    public void Evaluate_DeterministicPolicyOnUniformLogs_IntervalsCoverTheTruth()
    {
        var log = UniformLog(60_000, seed: 9, out var rates);
        var policy = new EvaluationPolicy.Builder().Set("s1", B, 1).Set("s2", C, 1).Build();
        var truth = 0.5 * (rates[("s1", B)] + rates[("s2", C)]);

        var result = OffPolicyEvaluator.Evaluate(log, policy, options: new OffPolicyEvaluationOptions { Seed = 3 });

        foreach (var estimate in result.Estimates)
        {
            truth.Should().BeInRange(estimate.CiLow, estimate.CiHigh, estimate.Name);
            estimate.CiLow.Should().BeLessThan(estimate.Value);
            estimate.CiHigh.Should().BeGreaterThan(estimate.Value);
        }

        // For IPW the bootstrap interval and ±1.96 standard errors agree closely on this much data.
        var ipw = result[OffPolicyEstimators.Ipw];
        (ipw.CiHigh - ipw.CiLow).Should().BeApproximately(2 * 1.96 * ipw.StandardError, 0.15 * 2 * 1.96 * ipw.StandardError);
        result.EffectiveSampleSize.Should().BeApproximately(log.Count / 3.0, 0.02 * log.Count);
    }

    [Fact]
    public void Evaluate_SameSeed_SameIntervalsWhateverTheThreads()
    {
        var log = UniformLog(5_000, seed: 2, out _);
        var policy = new EvaluationPolicy.Builder().Set("s1", A, 0.7).Set("s1", B, 0.3).Set("s2", C, 1).Build();

        var one = OffPolicyEvaluator.Evaluate(log, policy, options: new OffPolicyEvaluationOptions { Seed = 11, BootstrapResamples = 300, MaxDegreeOfParallelism = 1 });
        var two = OffPolicyEvaluator.Evaluate(log, policy, options: new OffPolicyEvaluationOptions { Seed = 11, BootstrapResamples = 300, MaxDegreeOfParallelism = 2 });
        var other = OffPolicyEvaluator.Evaluate(log, policy, options: new OffPolicyEvaluationOptions { Seed = 12, BootstrapResamples = 300 });

        two.Estimates.Should().Equal(one.Estimates);
        other.Estimates[0].CiLow.Should().NotBe(one.Estimates[0].CiLow);
    }

    [Fact]
    public void Evaluate_MergedCellsAndDistinctRows_GiveTheSameIntervalDistribution()
    {
        // Rows with distinct propensities cannot merge; the same data with a shared propensity merge into a few cells. A cell of
        // m rows is drawn Poisson(m) times, exactly as m rows drawn Poisson(1) times each, so the intervals agree up to bootstrap noise.
        var random = new BanditRandom(8);
        var merged = new DecisionLog.Builder();
        var distinct = new DecisionLog.Builder();
        for (var i = 0; i < 20_000; i++)
        {
            var arm = random.NextInt(2) == 0 ? "a" : "b";
            var click = random.NextDouble() < (arm == "a" ? 0.1 : 0.2) ? 1 : 0;
            merged.Add(new LoggedDecision("s", arm, null, 0.5, click));
            distinct.Add(new LoggedDecision("s", arm, null, 0.5 + (i * 1e-12), click));
        }

        var policy = new EvaluationPolicy.Builder().Set("s", new DecisionArm("b", null), 1).Build();
        var options = new OffPolicyEvaluationOptions { Seed = 1, BootstrapResamples = 2_000 };
        var m = OffPolicyEvaluator.Evaluate(merged.Build(), policy, options: options)[OffPolicyEstimators.Ipw];
        var d = OffPolicyEvaluator.Evaluate(distinct.Build(), policy, options: options)[OffPolicyEstimators.Ipw];

        d.Value.Should().BeApproximately(m.Value, 1e-6);
        (d.CiHigh - d.CiLow).Should().BeApproximately(m.CiHigh - m.CiLow, 0.1 * (m.CiHigh - m.CiLow));
    }

    [Fact]
    public void Evaluate_DistinctRowsStraddlingTheSwitchThreshold_SameSwitchDrIntervalsAsMergedCells()
    {
        // Weights 20 (propensity 0.05) and 2 (propensity 0.5) around τ = 10: the distinct rows are drawn in two parts per run,
        // above and below τ; the merged cells keep a flag per cell. Both must give the same Switch-DR distribution.
        var random = new BanditRandom(9);
        var merged = new DecisionLog.Builder();
        var distinct = new DecisionLog.Builder();
        for (var i = 0; i < 20_000; i++)
        {
            var rare = random.NextInt(4) == 0;
            var arm = random.NextInt(2) == 0 ? "a" : "b";
            var click = random.NextDouble() < (arm == "a" ? 0.1 : 0.3) ? 1 : 0;
            var propensity = rare ? 0.05 : 0.5;
            merged.Add(new LoggedDecision("s", arm, null, propensity, click));
            distinct.Add(new LoggedDecision("s", arm, null, propensity + (i * 1e-12), click));
        }

        var policy = new EvaluationPolicy.Builder().Set("s", new DecisionArm("b", null), 1).Build();
        var options = new OffPolicyEvaluationOptions { Seed = 3, BootstrapResamples = 2_000, SwitchThreshold = 10 };
        var m = OffPolicyEvaluator.Evaluate(merged.Build(), policy, options: options);
        var d = OffPolicyEvaluator.Evaluate(distinct.Build(), policy, options: options);
        var allBelow = OffPolicyEvaluator.Evaluate(distinct.Build(), policy, options: new OffPolicyEvaluationOptions { Seed = 3, BootstrapResamples = 2_000, SwitchThreshold = 1_000 });

        foreach (var name in new[] { OffPolicyEstimators.SwitchDr, OffPolicyEstimators.Dr, OffPolicyEstimators.Snipw })
        {
            d[name].Value.Should().BeApproximately(m[name].Value, 1e-6, name);
            (d[name].CiHigh - d[name].CiLow).Should().BeApproximately(m[name].CiHigh - m[name].CiLow, 0.1 * (m[name].CiHigh - m[name].CiLow), name);
        }

        d[OffPolicyEstimators.SwitchDr].Value.Should().NotBeApproximately(d[OffPolicyEstimators.Dr].Value, 1e-4, "the rows with weight 20 are left to the reward model");
        allBelow[OffPolicyEstimators.SwitchDr].CiLow.Should().Be(allBelow[OffPolicyEstimators.Dr].CiLow, "with every weight below τ Switch-DR is DR in every resample");
        allBelow[OffPolicyEstimators.SwitchDr].CiHigh.Should().Be(allBelow[OffPolicyEstimators.Dr].CiHigh);
    }

    [Fact]
    public void Options_Invalid_AreRejected()
    {
        var log = UniformLog(10, 1, out _);
        var policy = new EvaluationPolicy.Builder().Set("s1", A, 1).Set("s2", A, 1).Build();

        var act = () => OffPolicyEvaluator.Evaluate(log, policy, options: new OffPolicyEvaluationOptions { ConfidenceLevel = 1 });

        act.Should().Throw<EngagementValidationException>().Which.Field.Should().Be("ConfidenceLevel");
    }

    private static DecisionLog UniformLog(int rounds, ulong seed, out Dictionary<(string, DecisionArm), double> rates)
    {
        rates = new() { [("s1", A)] = 0.05, [("s1", B)] = 0.12, [("s1", C)] = 0.02, [("s2", A)] = 0.03, [("s2", B)] = 0.04, [("s2", C)] = 0.15 };
        var random = new BanditRandom(seed);
        var builder = new DecisionLog.Builder();
        DecisionArm[] arms = [A, B, C];
        for (var i = 0; i < rounds; i++)
        {
            var context = random.NextInt(2) == 0 ? "s1" : "s2";
            var arm = arms[random.NextInt(3)];
            builder.Add(new LoggedDecision(context, arm.Action, arm.Channel, 1.0 / 3, random.NextDouble() < rates[(context, arm)] ? 1 : 0));
        }

        return builder.Build();
    }
}
