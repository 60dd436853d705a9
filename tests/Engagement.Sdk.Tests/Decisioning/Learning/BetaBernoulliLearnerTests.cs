using Engagement.Sdk.Channels;
using Engagement.Sdk.Decisioning.Learning;

namespace Engagement.Sdk.Tests.Decisioning.Learning;

public sealed class BetaBernoulliLearnerTests
{
    private static readonly DateTimeOffset T0 = new(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);

    [Fact]
    public void GetPosterior_NoEvidence_IsThePriorFromTheBasePropensity()
    {
        var learner = new BetaBernoulliLearner<(string, Channel)>(new BetaBernoulliLearnerOptions { PriorWeight = 20 });

        var posterior = learner.GetPosterior(("welcome", Channel.Email), 0.1, T0);

        posterior.Should().Be(new BetaPosterior(2, 18));
        posterior.Mean.Should().BeApproximately(0.1, 1e-15);
    }

    [Fact]
    public void GetPosterior_AfterSendsAndResponses_AddsThemToThePrior()
    {
        var learner = new BetaBernoulliLearner<(string, Channel)>();
        var arm = ("welcome", Channel.Push);
        for (var i = 0; i < 30; i++)
        {
            learner.Record(arm, responded: i % 10 == 0, T0);
        }

        var posterior = learner.GetPosterior(arm, 0.05, T0);

        posterior.Alpha.Should().BeApproximately(1 + 3, 1e-12);
        posterior.Beta.Should().BeApproximately(19 + 27, 1e-12);
    }

    [Fact]
    public void GetCounts_AfterOneHalfLife_HalvesTheEvidence()
    {
        var learner = new BetaBernoulliLearner<string>(new BetaBernoulliLearnerOptions { HalfLife = TimeSpan.FromDays(7) });
        for (var i = 0; i < 8; i++)
        {
            learner.RecordSend("a", T0);
        }

        learner.RecordResponse("a", T0);
        learner.RecordResponse("a", T0);

        var counts = learner.GetCounts("a", T0.AddDays(7));
        counts.Sends.Should().BeApproximately(4, 1e-12);
        counts.Responses.Should().BeApproximately(1, 1e-12);
        learner.GetCounts("a", T0.AddDays(14)).Sends.Should().BeApproximately(2, 1e-12);
    }

    [Fact]
    public void Record_OutOfTimeOrder_GivesTheSameCountsAsInOrder()
    {
        var options = new BetaBernoulliLearnerOptions { HalfLife = TimeSpan.FromHours(10) };
        var inOrder = new BetaBernoulliLearner<string>(options);
        var shuffled = new BetaBernoulliLearner<string>(options);
        var times = new[] { 0, 3, 7, 12, 20 }.Select(h => T0.AddHours(h)).ToArray();
        foreach (var t in times)
        {
            inOrder.Record("a", t.Hour % 2 == 0, t);
        }

        foreach (var t in times.Reverse())
        {
            shuffled.Record("a", t.Hour % 2 == 0, t);
        }

        var at = T0.AddHours(30);
        shuffled.GetCounts("a", at).Sends.Should().BeApproximately(inOrder.GetCounts("a", at).Sends, 1e-12);
        shuffled.GetCounts("a", at).Responses.Should().BeApproximately(inOrder.GetCounts("a", at).Responses, 1e-12);
    }

    [Fact]
    public void SnapshotAndRestore_RoundTripTheCounts()
    {
        var learner = new BetaBernoulliLearner<string>(new BetaBernoulliLearnerOptions { HalfLife = TimeSpan.FromDays(1) });
        learner.Record("a", true, T0);
        learner.Record("b", false, T0.AddHours(5));
        var snapshot = learner.Snapshot(T0.AddHours(6));

        var restored = new BetaBernoulliLearner<string>(learner.Options);
        foreach (var (key, counts) in snapshot)
        {
            restored.Restore(key, counts);
        }

        var at = T0.AddDays(2);
        restored.GetPosterior("a", 0.05, at).Should().Be(learner.GetPosterior("a", 0.05, at));
        restored.GetPosterior("b", 0.05, at).Mean.Should().BeApproximately(learner.GetPosterior("b", 0.05, at).Mean, 1e-12);
    }

    [Fact]
    public void Record_ConcurrentlyFromManyThreads_LosesNoCount()
    {
        var learner = new BetaBernoulliLearner<int>();

        Parallel.For(0, 40_000, i => learner.Record(i % 4, i % 2 == 0, T0));

        Enumerable.Range(0, 4).Sum(k => learner.GetCounts(k, T0).Sends).Should().Be(40_000);
        Enumerable.Range(0, 4).Sum(k => learner.GetCounts(k, T0).Responses).Should().Be(20_000);
    }

    [Fact]
    public void Options_Invalid_AreRejectedNamingTheOption()
    {
        var weight = () => new BetaBernoulliLearner<int>(new BetaBernoulliLearnerOptions { PriorWeight = 0 });
        var halfLife = () => new BetaBernoulliLearner<int>(new BetaBernoulliLearnerOptions { HalfLife = TimeSpan.Zero });

        weight.Should().Throw<EngagementValidationException>().Which.Field.Should().Be("PriorWeight");
        halfLife.Should().Throw<EngagementValidationException>().Which.Field.Should().Be("HalfLife");
    }

    [Fact]
    public void BetaPosterior_Cdf_MatchesTheBinomialSum()
    {
        // I_x(2, 3) = Σ_{j=2..4} C(4, j) x^j (1 − x)^(4 − j).
        foreach (var x in new[] { 0.1, 0.25, 0.5, 0.8, 0.99 })
        {
            var expected = (6 * x * x * (1 - x) * (1 - x)) + (4 * x * x * x * (1 - x)) + (x * x * x * x);
            new BetaPosterior(2, 3).Cdf(x).Should().BeApproximately(expected, 1e-14);
        }

        new BetaPosterior(5000, 95000).Cdf(0.05).Should().BeApproximately(0.5, 0.01);
    }

    [Fact]
    public void BanditRandom_BetaDraws_HaveTheBetaMeanAndVariance()
    {
        var random = new BanditRandom(123);
        foreach (var (a, b) in new[] { (0.3, 0.7), (2.0, 30.0), (400.0, 600.0) })
        {
            const int N = 100_000;
            var draws = Enumerable.Range(0, N).Select(_ => random.NextBeta(a, b)).ToArray();
            var posterior = new BetaPosterior(a, b);
            var se = Math.Sqrt(posterior.Variance / N);
            draws.Average().Should().BeApproximately(posterior.Mean, 5 * se);
            var variance = draws.Select(d => (d - posterior.Mean) * (d - posterior.Mean)).Average();
            variance.Should().BeApproximately(posterior.Variance, 0.05 * posterior.Variance);
        }
    }

    [Fact]
    public void BanditRandom_PoissonDraws_HaveThePoissonMean()
    {
        var random = new BanditRandom(5);
        foreach (var mean in new[] { 0.5, 1.0, 7.0, 25.0, 1000.0 })
        {
            const int N = 50_000;
            var draws = Enumerable.Range(0, N).Select(_ => (double)random.NextPoisson(mean)).ToArray();
            draws.Average().Should().BeApproximately(mean, 5 * Math.Sqrt(mean / N));
            draws.Select(d => (d - mean) * (d - mean)).Average().Should().BeApproximately(mean, 0.05 * mean);
        }
    }
}
