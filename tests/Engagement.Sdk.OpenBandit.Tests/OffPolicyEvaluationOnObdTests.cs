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
