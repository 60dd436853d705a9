using System.Globalization;
using BenchmarkDotNet.Attributes;
using Engagement.Sdk.Decisioning.Evaluation;
using Engagement.Sdk.Decisioning.Learning;

namespace Engagement.Sdk.Benchmarks.Decisioning;

/// <summary>
/// Off-policy evaluation of a context-free policy over 1,000,000 logged rounds (3 positions × 80 items, click rate about
/// 0.5 %), with and without 1,000 bootstrap resamples. "Uniform" logs have one propensity per position and item (as the Open
/// Bandit random logs), so the rounds merge into a few hundred cells; "distinct" logs give every round its own propensity (as
/// a Thompson-sampling logger does), so nothing merges and every round is drawn in every resample.
/// </summary>
[MemoryDiagnoser]
public class OffPolicyEvaluationBenchmarks
{
    private const int Rounds = 1_000_000;
    private DecisionLog _uniform = null!;
    private DecisionLog _distinct = null!;
    private EvaluationPolicy _policy = null!;

    [GlobalSetup]
    public void Setup()
    {
        var random = new BanditRandom(2026);
        string[] positions = ["1", "2", "3"];
        var items = Enumerable.Range(0, 80).Select(i => i.ToString(CultureInfo.InvariantCulture)).ToArray();
        var uniform = new DecisionLog.Builder();
        var distinct = new DecisionLog.Builder();
        for (var i = 0; i < Rounds; i++)
        {
            var position = random.NextInt(3);
            var item = random.NextInt(80);
            var click = random.NextDouble() < 0.003 + (0.0001 * item) ? 1 : 0;
            uniform.Add(new LoggedDecision(positions[position], items[item], null, 1.0 / 80, click));
            distinct.Add(new LoggedDecision(positions[position], items[item], null, 0.002 + (0.05 * random.NextDouble()), click));
        }

        _uniform = uniform.Build();
        _distinct = distinct.Build();
        var policy = new EvaluationPolicy.Builder();
        foreach (var position in positions)
        {
            var weights = items.Select(_ => random.NextDouble()).ToArray();
            var total = weights.Sum();
            for (var i = 0; i < items.Length; i++)
            {
                policy.Set(position, new DecisionArm(items[i], null), weights[i] / total);
            }
        }

        _policy = policy.Build();
    }

    /// <summary>Point estimates and diagnostics only, uniform logs.</summary>
    [Benchmark(Baseline = true)]
    public OffPolicyEvaluation UniformPointEstimates() => OffPolicyEvaluator.Evaluate(_uniform, _policy, options: new OffPolicyEvaluationOptions { BootstrapResamples = 0 });

    /// <summary>With 1,000 bootstrap resamples, uniform logs.</summary>
    [Benchmark]
    public OffPolicyEvaluation UniformBootstrap1000() => OffPolicyEvaluator.Evaluate(_uniform, _policy, options: new OffPolicyEvaluationOptions { BootstrapResamples = 1_000, Seed = 1 });

    /// <summary>Point estimates and diagnostics only, a distinct propensity on every round.</summary>
    [Benchmark]
    public OffPolicyEvaluation DistinctPointEstimates() => OffPolicyEvaluator.Evaluate(_distinct, _policy, options: new OffPolicyEvaluationOptions { BootstrapResamples = 0 });

    /// <summary>With 1,000 bootstrap resamples, a distinct propensity on every round.</summary>
    [Benchmark]
    public OffPolicyEvaluation DistinctBootstrap1000() => OffPolicyEvaluator.Evaluate(_distinct, _policy, options: new OffPolicyEvaluationOptions { BootstrapResamples = 1_000, Seed = 1 });
}
