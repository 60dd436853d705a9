using Engagement.Sdk.Decisioning.Learning;

namespace Engagement.Sdk.Tests.Decisioning.Learning;

public sealed class PosteriorSampleBankTests
{
    public static TheoryData<int> BadSizes => new() { 0, 32, 100, 65_600, -64 };

    [Theory]
    [MemberData(nameof(BadSizes))]
    public void Draw_SizeNotAMultipleOf64InRange_ThrowsNamingTheSize(int size)
    {
        var random = new BanditRandom(1);

        var act = () => PosteriorSampleBank.Draw(new BetaPosterior(1, 19), size, ref random);

        act.Should().Throw<EngagementValidationException>().Which.Field.Should().Be("size");
    }

    [Fact]
    public void Draw_SamplesFollowThePosterior()
    {
        var random = new BanditRandom(4);
        var posterior = new BetaPosterior(3, 57);

        var bank = PosteriorSampleBank.Draw(posterior, 65_536, ref random);

        var samples = bank.Samples.ToArray();
        samples.Average(s => (double)s).Should().BeApproximately(posterior.Mean, 4 * Math.Sqrt(posterior.Variance / samples.Length));
        samples.Min().Should().Be(bank.Min);
        samples.Max().Should().Be(bank.Max);
        samples.Should().OnlyContain(s => s >= 0 && s <= 1);
        (samples.Count(s => s <= 0.05) / (double)samples.Length).Should().BeApproximately(posterior.Cdf(0.05), 0.01);
    }

    public static TheoryData<ArmBelief[]> ArmSets => new()
    {
        { [Arm(2, 30), Arm(4, 40)] },
        { [Arm(3, 40), Arm(5, 50), Arm(1, 9), ArmBelief.Fixed(0.05)] },
        { [Arm(0.2, 19.8), Arm(0.5, 9.5), Arm(30, 600), Arm(0.05, 0.6)] },
        { [Arm(200, 3800), Arm(210, 3790), Arm(190, 3810), Arm(1, 1)] },
        { [new ArmBelief(new BetaPosterior(3, 40), 10, -0.2), new ArmBelief(new BetaPosterior(8, 20), 2, 0), ArmBelief.Fixed(0), new ArmBelief(new BetaPosterior(0.4, 0.7), 1, 0)] },
        { [ArmBelief.Fixed(0), ArmBelief.Fixed(0), Arm(1, 50)] },
        { [ArmBelief.Fixed(0), new ArmBelief(new BetaPosterior(1, 19), 10, -0.5), new ArmBelief(new BetaPosterior(1, 19), 10, -0.5), new ArmBelief(new BetaPosterior(2, 18), 4, 0)] },
    };

    [Theory]
    [MemberData(nameof(ArmSets))]
    public void ProbabilityOf_Banks_SumsToExactlyOneAndEqualsTheCountOfWinningIndices(ArmBelief[] arms)
    {
        const int M = 1_024;
        var banked = WithBanks(arms, M, 17);
        var policy = new ThompsonSamplingPolicy(new ThompsonSamplingOptions { Floor = 0 });
        var random = new BanditRandom(1);

        var probabilities = Enumerable.Range(0, arms.Length).Select(k => policy.ProbabilityOf(banked, k, ref random)).ToArray();

        // Independently: the winner at every index, scalar, from the same single-precision scores.
        var wins = new int[arms.Length];
        for (var m = 0; m < M; m++)
        {
            var best = 0;
            var bestScore = Score(banked[0], m);
            for (var j = 1; j < banked.Length; j++)
            {
                if (Score(banked[j], m) > bestScore)
                {
                    (best, bestScore) = (j, Score(banked[j], m));
                }
            }

            wins[best]++;
        }

        probabilities.Should().OnlyContain(p => p.Method == ChoiceProbabilityMethod.SampleBank);
        probabilities.Select(p => p.Value).Should().Equal(wins.Select(w => (double)w / M));
        probabilities.Sum(p => p.Value).Should().BeApproximately(1, 1e-12);
    }

    [Theory]
    [MemberData(nameof(ArmSets))]
    public void Choose_Banks_ChoosesAsOftenAsTheLoggedProbability(ArmBelief[] arms)
    {
        var banked = WithBanks(arms, 512, 23);
        var policy = new ThompsonSamplingPolicy(new ThompsonSamplingOptions { Floor = 0.2 });
        var random = new BanditRandom(11);
        const int N = 200_000;
        var counts = new int[arms.Length];
        var logged = new double[arms.Length];
        for (var i = 0; i < N; i++)
        {
            var choice = policy.Choose(banked, ref random);
            counts[choice.Index]++;
            logged[choice.Index] = choice.Probability.Value;
            choice.Probability.Method.Should().Be(ChoiceProbabilityMethod.SampleBank);
        }

        for (var k = 0; k < arms.Length; k++)
        {
            var p = policy.ProbabilityOf(banked, k, ref random).Value;
            if (counts[k] > 0)
            {
                logged[k].Should().Be(p, "the probability logged with a choice is the policy's probability of that choice");
            }

            var se = Math.Sqrt(p * (1 - p) / N);
            ((double)counts[k] / N).Should().BeApproximately(p, (5 * se) + 1e-9, $"arm {k}");
            p.Should().BeGreaterThanOrEqualTo(0.2 / arms.Length);
        }
    }

    [Theory]
    [MemberData(nameof(ArmSets))]
    public void ProbabilityOf_Banks_AgreesWithTheExactPosteriorProbabilityWithinItsStatedError(ArmBelief[] arms)
    {
        var exact = new ThompsonSamplingPolicy(new ThompsonSamplingOptions { Floor = 0.05, ProbabilityMode = ChoiceProbabilityMode.Exact });
        var random = new BanditRandom(3);
        foreach (var seed in new ulong[] { 1, 2, 3 })
        {
            var banked = WithBanks(arms, 4_096, seed);
            for (var k = 0; k < arms.Length; k++)
            {
                var e = exact.ProbabilityOf(arms, k, ref random);
                var b = exact.ProbabilityOf(banked, k, ref random);
                b.Method.Should().Be(ChoiceProbabilityMethod.SampleBank);
                b.Error.Should().BeLessThanOrEqualTo(0.95 * 0.5 / Math.Sqrt(4_096) + 1e-12);
                b.Value.Should().BeApproximately(e.Value, (4.5 * b.Error) + 1e-6, $"arm {k}, banks {seed}");
            }
        }
    }

    [Fact]
    public void ProbabilityOf_ManyArms_CountsMatchTheScalarWinners()
    {
        // 1,500 arms: more than fit on the stack, several chunks of indices, most competitors pruned by their bounds.
        var random = new BanditRandom(8);
        var arms = new ArmBelief[1_500];
        arms[0] = ArmBelief.Fixed(0);
        for (var i = 1; i < arms.Length; i++)
        {
            var posterior = new BetaPosterior(1 + (10 * random.NextDouble()), 20 + (200 * random.NextDouble()));
            var bankRandom = new BanditRandom(100, (ulong)i);
            arms[i] = new ArmBelief(posterior, 1 + (9 * random.NextDouble()), -0.1 * random.NextDouble()) { Samples = PosteriorSampleBank.Draw(posterior, 640, ref bankRandom) };
        }

        var policy = new ThompsonSamplingPolicy(new ThompsonSamplingOptions { Floor = 0 });
        var total = 0.0;
        for (var k = 0; k < arms.Length; k++)
        {
            total += policy.ProbabilityOf(arms, k, ref random).Value;
        }

        total.Should().BeApproximately(1, 1e-9);
    }

    [Fact]
    public void Choose_BanksOfDifferentSizes_DrawsFromThePosteriorsInstead()
    {
        var policy = new ThompsonSamplingPolicy(new ThompsonSamplingOptions { ProbabilityMode = ChoiceProbabilityMode.Exact });
        var random = new BanditRandom(2);
        var b1 = new BanditRandom(1);
        var b2 = new BanditRandom(2);
        ArmBelief[] arms = [Arm(2, 30) with { Samples = PosteriorSampleBank.Draw(new BetaPosterior(2, 30), 64, ref b1) }, Arm(4, 40) with { Samples = PosteriorSampleBank.Draw(new BetaPosterior(4, 40), 128, ref b2) }];

        policy.Choose(arms, ref random).Probability.Method.Should().Be(ChoiceProbabilityMethod.Exact);
    }

    private static ArmBelief[] WithBanks(ArmBelief[] arms, int size, ulong seed)
        => [.. arms.Select((arm, i) =>
        {
            if (arm.IsFixed)
            {
                return arm;
            }

            var random = new BanditRandom(seed, (ulong)i);
            return arm with { Samples = PosteriorSampleBank.Draw(arm.Posterior, size, ref random) };
        })];

    private static float Score(ArmBelief arm, int m) => arm.IsFixed ? (float)arm.Offset : ((float)arm.Scale * arm.Samples!.Samples[m]) + (float)arm.Offset;

    private static ArmBelief Arm(double alpha, double beta) => new(new BetaPosterior(alpha, beta));
}
