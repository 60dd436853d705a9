using Engagement.Sdk.Channels;
using Engagement.Sdk.Decisioning.Evaluation;
using Engagement.Sdk.Decisioning.Learning;

namespace Engagement.Sdk.Tests.Decisioning.Evaluation;

/// <summary>
/// The example market (4 segments × 5 actions × 3 channels, oracle click rate 8.85 %) over 100,000 decisions: Thompson sampling
/// with and without the exploration floor, greedy, and uniform random, against the oracle.
/// </summary>
public sealed class BanditSimulatorTests
{
    private static readonly SimulatedMarket Market = SimulatedMarket.CreateExample();
    private static readonly BanditSimulationOptions Options = new() { Seed = 2026, Checkpoints = [1_000, 10_000, 50_000, 100_000] };

    [Fact]
    public void ExampleMarket_OracleClickRate_IsTheWeightedBestRate()
    {
        // new: cart_reminder on push 0.080 × 1.2; active: new_arrivals on email 0.070 × 1.1; loyal: loyalty_points on SMS 0.080 × 1.2; lapsed: win_back on email 0.060 × 1.3.
        var expected = (0.4 * 0.096) + (0.3 * 0.077) + (0.2 * 0.096) + (0.1 * 0.078);

        Market.OracleClickRate.Should().BeApproximately(expected, 1e-12);
        Market.Arms.Should().HaveCount(15).And.Contain(new DecisionArm("win_back", Channel.Email));
    }

    [Fact]
    public void Thompson_WithoutFloor_RegretGrowsSubLinearlyAndReachesTheOracle()
    {
        var run = BanditSimulator.Run(Market, new ThompsonSamplingPolicy(new ThompsonSamplingOptions { Floor = 0, ComputeProbability = false }), Options);

        var (first, second) = Halves(run);
        second.Should().BeLessThan(0.5 * first, "regret per decision falls as the beliefs sharpen");
        LateShareOfOracle(run).Should().BeGreaterThan(0.95, "over decisions 50,001–100,000 it earns within 5 % of the oracle's click rate");
        run.Final.ShareOfOracle.Should().BeGreaterThan(0.9);
    }

    [Fact]
    public void Thompson_WithFloor_RegretBeyondTheFloorsFixedCostGrowsSubLinearly()
    {
        const double Floor = 0.05;
        var run = BanditSimulator.Run(Market, new ThompsonSamplingPolicy(new ThompsonSamplingOptions { Floor = Floor, ComputeProbability = false }), Options);

        // The floor explores uniformly on a share ε of decisions, which costs ε × (oracle − the uniform policy's rate) per decision for ever.
        var uniformRate = Enumerable.Range(0, Market.Segments.Length).Sum(s => Market.SegmentWeights[s] / Market.SegmentWeights.Sum() * Enumerable.Range(0, 15).Average(a => Market.TrueRate(s, a)));
        var floorCostPerHalf = Floor * (Market.OracleClickRate - uniformRate) * 50_000;
        var (first, second) = Halves(run);
        (second - floorCostPerHalf).Should().BeLessThan(0.5 * (first - floorCostPerHalf));
        LateShareOfOracle(run).Should().BeGreaterThan(0.93, "within 7 % of the oracle over decisions 50,001–100,000, floor included");
    }

    [Fact]
    public void Thompson_FromSampleBanks_LearnsAsWellAsFromThePosteriors()
    {
        // The decider's way: banks of 1,024 samples per segment × arm, drawn again at most every 100 decisions after a change,
        // and the choice probability counted over them (and logged).
        var options = new BanditSimulationOptions { Seed = 2026, Checkpoints = [1_000, 10_000, 50_000, 100_000], SampleBankSize = 1_024, SampleBankRefresh = 100, LogDecisions = true };
        var run = BanditSimulator.Run(Market, new ThompsonSamplingPolicy(new ThompsonSamplingOptions { Floor = 0 }), options);

        var (first, second) = Halves(run);
        second.Should().BeLessThan(0.5 * first, "regret per decision falls as the beliefs sharpen");
        LateShareOfOracle(run).Should().BeGreaterThan(0.95, "over decisions 50,001–100,000 it earns within 5 % of the oracle's click rate");
        run.Log!.Propensities.ToArray().Should().OnlyContain(p => p > 0 && p <= 1, "every logged probability counts at least the index that chose it");
    }

    [Fact]
    public void Thompson_BeatsGreedyAndRandom_WhichKeepLosingAtAConstantRate()
    {
        var thompson = BanditSimulator.Run(Market, new ThompsonSamplingPolicy(new ThompsonSamplingOptions { ComputeProbability = false }), Options);
        var greedy = BanditSimulator.Run(Market, GreedyPolicy.Instance, Options);
        var random = BanditSimulator.Run(Market, UniformRandomPolicy.Instance, Options);

        thompson.Final.CumulativeRegret.Should().BeLessThan(greedy.Final.CumulativeRegret);
        greedy.Final.CumulativeRegret.Should().BeLessThan(random.Final.CumulativeRegret);
        LateShareOfOracle(thompson).Should().BeGreaterThan(LateShareOfOracle(greedy));
        var (greedyFirst, greedySecond) = Halves(greedy);
        greedySecond.Should().BeGreaterThan(0.8 * greedyFirst, "greedy locks onto an arm that beats the prior and never learns better");
        LateShareOfOracle(random).Should().BeInRange(0.38, 0.47);
    }

    [Fact]
    public void Run_SameSeed_SameResult()
    {
        var policy = new ThompsonSamplingPolicy(new ThompsonSamplingOptions { ComputeProbability = false });
        var options = new BanditSimulationOptions { Seed = 5, Decisions = 5_000 };

        BanditSimulator.Run(Market, policy, options).Checkpoints.Should().Equal(BanditSimulator.Run(Market, policy, options).Checkpoints);
        BanditSimulator.Run(Market, policy, options).Final.Should().NotBe(BanditSimulator.Run(Market, policy, new BanditSimulationOptions { Seed = 6, Decisions = 5_000 }).Final);
    }

    [Fact]
    public void LoggedThompsonDecisions_EvaluateOtherPoliciesCloseToTheirTrueValue()
    {
        // A small market where every choice probability is computed exactly; the log then evaluates the oracle policy offline.
        var market = new SimulatedMarket.Builder()
            .AddSegment("a", 1).AddSegment("b", 1)
            .AddArm(new DecisionArm("x", Channel.Email)).AddArm(new DecisionArm("y", Channel.Email)).AddArm(new DecisionArm("y", Channel.Push))
            .SetRate("a", new DecisionArm("x", Channel.Email), 0.10).SetRate("a", new DecisionArm("y", Channel.Email), 0.05).SetRate("a", new DecisionArm("y", Channel.Push), 0.02)
            .SetRate("b", new DecisionArm("x", Channel.Email), 0.03).SetRate("b", new DecisionArm("y", Channel.Email), 0.04).SetRate("b", new DecisionArm("y", Channel.Push), 0.12)
            .Build();
        var policy = new ThompsonSamplingPolicy(new ThompsonSamplingOptions { Floor = 0.2, ProbabilityMode = ChoiceProbabilityMode.Exact });

        var run = BanditSimulator.Run(market, policy, new BanditSimulationOptions { Seed = 3, Decisions = 20_000, LogDecisions = true });

        var log = run.Log!;
        log.Count.Should().Be(20_000);
        var oracle = new EvaluationPolicy.Builder()
            .Set("a", new DecisionArm("x", Channel.Email), 1)
            .Set("b", new DecisionArm("y", Channel.Push), 1)
            .Build();
        var evaluation = OffPolicyEvaluator.Evaluate(log, oracle, options: new OffPolicyEvaluationOptions { Seed = 1, BootstrapResamples = 500 });
        foreach (var name in new[] { OffPolicyEstimators.Ipw, OffPolicyEstimators.Snipw, OffPolicyEstimators.Dr })
        {
            market.OracleClickRate.Should().BeInRange(evaluation[name].CiLow, evaluation[name].CiHigh, name);
        }

        evaluation.MaxWeight.Should().BeLessThanOrEqualTo(3 / 0.2, "the floor bounds every weight by K / ε");
    }

    private static (double First, double Second) Halves(BanditSimulationResult run)
    {
        var half = run.Checkpoints.Single(c => c.Decisions == 50_000).CumulativeRegret;
        return (half, run.Final.CumulativeRegret - half);
    }

    private static double LateShareOfOracle(BanditSimulationResult run)
    {
        var (_, second) = Halves(run);
        return 1 - (second / 50_000 / Market.OracleClickRate);
    }
}
