using BenchmarkDotNet.Attributes;
using Engagement.Sdk.Decisioning.Learning;

namespace Engagement.Sdk.Benchmarks.Decisioning;

/// <summary>
/// The cost of one choice among K candidate arms (beliefs Beta(1–21, 20–420), as after a few hundred sends each): greedy,
/// a Thompson draw alone, and a Thompson draw with the probability of its choice (exact for up to 4 competitors, else Monte
/// Carlo with 2,000 draws: the defaults).
/// </summary>
[MemoryDiagnoser]
public class ThompsonChoiceBenchmarks
{
    private readonly ThompsonSamplingPolicy _drawOnly = new(new ThompsonSamplingOptions { ComputeProbability = false });
    private readonly ThompsonSamplingPolicy _withProbability = new();
    private ArmBelief[] _arms = null!;
    private BanditRandom _random;

    /// <summary>The number of candidate arms.</summary>
    [Params(4, 10, 100)]
    public int Arms { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        var random = new BanditRandom(7);
        _arms = [.. Enumerable.Range(0, Arms).Select(_ => new ArmBelief(new BetaPosterior(1 + (20 * random.NextDouble()), 20 + (400 * random.NextDouble()))))];
        _random = new BanditRandom(1);
    }

    /// <summary>The highest posterior mean, probability 1.</summary>
    [Benchmark(Baseline = true)]
    public int Greedy() => GreedyPolicy.Instance.Choose(_arms, ref _random).Index;

    /// <summary>A Thompson draw with the floor, without its probability.</summary>
    [Benchmark]
    public int ThompsonDraw() => _drawOnly.Choose(_arms, ref _random).Index;

    /// <summary>A Thompson draw with the floor and the probability of the chosen arm.</summary>
    [Benchmark]
    public double ThompsonWithProbability() => _withProbability.Choose(_arms, ref _random).Probability.Value;
}
