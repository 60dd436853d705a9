using System.Globalization;
using Engagement.Sdk.Decisioning.Evaluation;

namespace Engagement.Sdk.OpenBandit.Tests;

/// <summary>
/// Off-policy evaluation on the Open Bandit Dataset sample: the "bts" policy (the empirical distribution of the items its own
/// log shows at each position) evaluated on the uniformly random policy's log.
/// </summary>
public sealed class OffPolicyEvaluationOnObdTests
{
    [ObdTheory]
    [InlineData("men")]
    [InlineData("women")]
    public void Evaluate_BtsOnRandomLogs_IntervalsCoverTheBtsLogsOwnMeanClick(string campaign)
    {
        var bts = OpenBanditDataset.ReadRounds(ObdData.File("bts", campaign));
        var random = OpenBanditDataset.ReadLog(ObdData.File("random", campaign));
        var truth = bts.Average(r => r.Click);

        var result = OffPolicyEvaluator.Evaluate(random, ObdData.EmpiricalPolicy(bts), options: new OffPolicyEvaluationOptions { Seed = 7 });

        foreach (var name in new[] { OffPolicyEstimators.Ipw, OffPolicyEstimators.Snipw, OffPolicyEstimators.Dr })
        {
            var estimate = result[name];
            truth.Should().BeInRange(estimate.CiLow, estimate.CiHigh, $"{name} on {campaign}: {estimate}");
        }

        result.Rounds.Should().Be(10_000);
        result.OnPolicyMeanReward.Should().Be(0.0046);
        result.IsReliable.Should().BeTrue();
    }

    /// <summary>
    /// The reference click rates of Saito et al., "Open Bandit Dataset and Pipeline" (arXiv 2008.07146), Table 1, measured on the
    /// full seven days (4.1 M and 7.8 M Bernoulli TS impressions; 453 k and 865 k random): Bernoulli TS 0.67 % (men) and
    /// 0.64 % (women), random 0.51 % ± 0.021 and 0.48 % ± 0.014. From the 10,000-row sample the bts policy's value estimated
    /// on the random logs must cover the paper's Bernoulli TS rate, and the random sample's own click rate (Wilson 95 %
    /// interval) the paper's random rate. The tolerance is the sampling error of 10,000 rows: the sample cannot say more.
    /// </summary>
    [ObdTheory]
    [InlineData("men", 0.0067, 0.0051)]
    [InlineData("women", 0.0064, 0.0048)]
    public void Evaluate_BtsOnRandomSample_ReproducesThePapersFullDataClickRatesWithinTheSamplesError(string campaign, double paperBts, double paperRandom)
    {
        var bts = OpenBanditDataset.ReadRounds(ObdData.File("bts", campaign));
        var random = OpenBanditDataset.ReadLog(ObdData.File("random", campaign));

        var result = OffPolicyEvaluator.Evaluate(random, ObdData.EmpiricalPolicy(bts), options: new OffPolicyEvaluationOptions { Seed = 0 });

        foreach (var name in new[] { OffPolicyEstimators.Ipw, OffPolicyEstimators.Snipw, OffPolicyEstimators.Dr })
        {
            var estimate = result[name];
            paperBts.Should().BeInRange(estimate.CiLow, estimate.CiHigh, $"{name} on {campaign}: {estimate}");
            estimate.Value.Should().BeApproximately(paperBts, 0.5 * paperBts, "a 10,000-row sample estimates the rate within about ±50 %");
        }

        var (low, high) = Wilson(result.OnPolicyMeanReward, random.Count);
        paperRandom.Should().BeInRange(low, high, $"the random sample's click rate {result.OnPolicyMeanReward:P3}");

        static (double Low, double High) Wilson(double p, int n)
        {
            const double Z = 1.959964;
            var centre = (p + (Z * Z / (2 * n))) / (1 + (Z * Z / n));
            var half = Z * Math.Sqrt((p * (1 - p) / n) + (Z * Z / (4.0 * n * n))) / (1 + (Z * Z / n));
            return (centre - half, centre + half);
        }
    }

    [ObdTheory]
    [InlineData("random", "bts", "men")]
    [InlineData("random", "bts", "women")]
    [InlineData("bts", "random", "men")]
    [InlineData("bts", "random", "women")]
    public void Evaluate_ObdSample_EqualsStraightforwardComputations(string logging, string evaluated, string campaign)
    {
        var rounds = OpenBanditDataset.ReadRounds(ObdData.File(logging, campaign));
        var policyRounds = OpenBanditDataset.ReadRounds(ObdData.File(evaluated, campaign));
        var policy = ObdData.EmpiricalPolicy(policyRounds);
        var threshold = 10.0;
        const double Shrinkage = 20;

        var result = OffPolicyEvaluator.Evaluate(OpenBanditDataset.ToDecisionLog(rounds), policy, options: new OffPolicyEvaluationOptions { BootstrapResamples = 0, SwitchThreshold = threshold, RewardModelShrinkage = Shrinkage });

        // Independent computations, row by row, straight from the definitions.
        double Pi(OpenBanditRound r) => policy.Probability(P(r.Position), new DecisionArm(P(r.ItemId), null));
        var n = rounds.Count;
        var weights = rounds.Select(r => Pi(r) / r.Propensity).ToArray();
        var ipw = rounds.Select((r, i) => weights[i] * r.Click).Sum() / n;
        var snipw = rounds.Select((r, i) => weights[i] * r.Click).Sum() / weights.Sum();
        var ess = weights.Sum() * weights.Sum() / weights.Sum(w => w * w);

        // q(x, a): the arm's clicks in the position, shrunk toward the position's click rate by 20 pseudo-rounds.
        var positionMean = rounds.GroupBy(r => r.Position).ToDictionary(g => g.Key, g => g.Average(r => (double)r.Click));
        var cells = rounds.GroupBy(r => (r.Position, r.ItemId)).ToDictionary(g => g.Key, g => (Clicks: g.Sum(r => r.Click), Count: g.Count()));
        double Q(int position, int item) => cells.TryGetValue((position, item), out var c) ? (c.Clicks + (Shrinkage * positionMean[position])) / (c.Count + Shrinkage) : positionMean[position];
        double V(int position) => policy.Distribution(P(position)).Sum(kv => kv.Value * Q(position, int.Parse(kv.Key.Action, CultureInfo.InvariantCulture)));
        var dm = rounds.Average(r => V(r.Position));
        var dr = rounds.Select((r, i) => V(r.Position) + (weights[i] * (r.Click - Q(r.Position, r.ItemId)))).Average();
        var switchDr = rounds.Select((r, i) => weights[i] <= threshold ? V(r.Position) + (weights[i] * (r.Click - Q(r.Position, r.ItemId))) : V(r.Position)).Average();
        var ipwSe = Math.Sqrt(rounds.Select((r, i) => Math.Pow((weights[i] * r.Click) - ipw, 2)).Sum() / (n - 1) / n);

        result[OffPolicyEstimators.Ipw].Value.Should().BeApproximately(ipw, 1e-12);
        result[OffPolicyEstimators.Ipw].StandardError.Should().BeApproximately(ipwSe, 1e-12);
        result[OffPolicyEstimators.Snipw].Value.Should().BeApproximately(snipw, 1e-12);
        result[OffPolicyEstimators.Dm].Value.Should().BeApproximately(dm, 1e-12);
        result[OffPolicyEstimators.Dr].Value.Should().BeApproximately(dr, 1e-12);
        result[OffPolicyEstimators.SwitchDr].Value.Should().BeApproximately(switchDr, 1e-12);
        result.EffectiveSampleSize.Should().BeApproximately(ess, 1e-6);
        result.MaxWeight.Should().BeApproximately(weights.Max(), 1e-9);
        result.OnPolicyMeanReward.Should().Be(rounds.Average(r => (double)r.Click));

        static string P(int value) => value.ToString(CultureInfo.InvariantCulture);
    }

    [ObdFact]
    public void Evaluate_BtsEmpiricalOnRandomMen_ReproducesTheReferenceFigures()
    {
        // Figures from an independent re-implementation of the same formulas on the same files: IPW 0.566 %, ESS 2,869, max weight 7.5.
        var bts = OpenBanditDataset.ReadRounds(ObdData.File("bts", "men"));

        var result = OffPolicyEvaluator.Evaluate(OpenBanditDataset.ReadLog(ObdData.File("random", "men")), ObdData.EmpiricalPolicy(bts), options: new OffPolicyEvaluationOptions { BootstrapResamples = 0 });

        result[OffPolicyEstimators.Ipw].Value.Should().BeApproximately(0.00566, 0.000005);
        result.EffectiveSampleSize.Should().BeApproximately(2869, 0.5);
        result.MaxWeight.Should().BeApproximately(7.5, 0.05);
    }
}
