using Engagement.Sdk.Decisioning.Learning;

namespace Engagement.Sdk.Tests.Decisioning.Learning;

public sealed class ThompsonSamplingPolicyTests
{
    public static TheoryData<double> BadFloors => new() { -0.01, 1.0, 1.5, double.NaN };

    [Theory]
    [MemberData(nameof(BadFloors))]
    public void Constructor_FloorOutsideZeroToOne_ThrowsNamingTheFloor(double floor)
    {
        var act = () => new ThompsonSamplingPolicy(new ThompsonSamplingOptions { Floor = floor });

        act.Should().Throw<EngagementValidationException>().Which.Field.Should().Be("Floor");
    }

    [Fact]
    public void Constructor_TooFewMonteCarloDraws_Throws()
    {
        var act = () => new ThompsonSamplingPolicy(new ThompsonSamplingOptions { MonteCarloDraws = 10 });

        act.Should().Throw<EngagementValidationException>().Which.Field.Should().Be("MonteCarloDraws");
    }

    [Fact]
    public void Choose_NoArms_Throws()
    {
        var policy = new ThompsonSamplingPolicy();
        var random = new BanditRandom(1);

        var act = () => policy.Choose([], ref random);

        act.Should().Throw<EngagementValidationException>();
    }

    [Fact]
    public void Choose_SameSeed_SameChoicesAndProbabilities()
    {
        var policy = new ThompsonSamplingPolicy(new ThompsonSamplingOptions { Floor = 0.1 });
        ArmBelief[] arms = [Arm(3, 40), Arm(5, 50), Arm(1, 9), ArmBelief.Fixed(0.05)];

        var first = Run(policy, arms, 42);
        var second = Run(policy, arms, 42);
        var other = Run(policy, arms, 43);

        first.Should().Equal(second);
        first.Should().NotEqual(other);

        static List<BanditChoice> Run(ThompsonSamplingPolicy policy, ArmBelief[] arms, ulong seed)
        {
            var random = new BanditRandom(seed);
            var result = new List<BanditChoice>();
            for (var i = 0; i < 50; i++)
            {
                result.Add(policy.Choose(arms, ref random));
            }

            return result;
        }
    }

    public static TheoryData<ArmBelief[]> ArmSets => new()
    {
        { [Arm(2, 30), Arm(4, 40)] },
        { [Arm(3, 40), Arm(5, 50), Arm(1, 9), ArmBelief.Fixed(0.05)] },
        { [Arm(0.2, 19.8), Arm(0.5, 9.5), Arm(30, 600), Arm(0.05, 0.6)] },
        { [Arm(200, 3800), Arm(210, 3790), Arm(190, 3810), Arm(1, 1)] },
        { [new ArmBelief(new BetaPosterior(3, 40), 10, -0.2), new ArmBelief(new BetaPosterior(8, 20), 2, 0), ArmBelief.Fixed(0), new ArmBelief(new BetaPosterior(0.4, 0.7), 1, 0)] },
        { [ArmBelief.Fixed(0), ArmBelief.Fixed(0), Arm(1, 50)] },
    };

    [Theory]
    [MemberData(nameof(ArmSets))]
    public void ProbabilityOf_Exact_SumsToOneOverTheArms(ArmBelief[] arms)
    {
        var policy = new ThompsonSamplingPolicy(new ThompsonSamplingOptions { Floor = 0, ProbabilityMode = ChoiceProbabilityMode.Exact });
        var random = new BanditRandom(7);

        var probabilities = Enumerable.Range(0, arms.Length).Select(i => policy.ProbabilityOf(arms, i, ref random)).ToList();

        probabilities.Should().OnlyContain(p => p.Method == ChoiceProbabilityMethod.Exact && p.Value >= 0 && p.Value <= 1 && p.Error < 1e-8);
        probabilities.Sum(p => p.Value).Should().BeApproximately(1, 1e-8);
    }

    [Theory]
    [MemberData(nameof(ArmSets))]
    public void ProbabilityOf_Exact_MatchesTheFrequencyOfChoices(ArmBelief[] arms)
    {
        var policy = new ThompsonSamplingPolicy(new ThompsonSamplingOptions { Floor = 0.2, ProbabilityMode = ChoiceProbabilityMode.Exact, ComputeProbability = false });
        var random = new BanditRandom(11);
        const int N = 200_000;
        var counts = new int[arms.Length];
        for (var i = 0; i < N; i++)
        {
            counts[policy.Choose(arms, ref random).Index]++;
        }

        for (var k = 0; k < arms.Length; k++)
        {
            var p = policy.ProbabilityOf(arms, k, ref random).Value;
            var se = Math.Sqrt(p * (1 - p) / N);
            ((double)counts[k] / N).Should().BeApproximately(p, (5 * se) + 1e-9, $"arm {k}");
            p.Should().BeGreaterThanOrEqualTo(0.2 / arms.Length);
        }
    }

    [Theory]
    [MemberData(nameof(ArmSets))]
    public void ProbabilityOf_MonteCarlo_AgreesWithExactWithinItsStandardError(ArmBelief[] arms)
    {
        var exact = new ThompsonSamplingPolicy(new ThompsonSamplingOptions { Floor = 0.05, ProbabilityMode = ChoiceProbabilityMode.Exact });
        var monteCarlo = new ThompsonSamplingPolicy(new ThompsonSamplingOptions { Floor = 0.05, ProbabilityMode = ChoiceProbabilityMode.MonteCarlo, MonteCarloDraws = 20_000 });
        var random = new BanditRandom(3);

        for (var k = 0; k < arms.Length; k++)
        {
            var e = exact.ProbabilityOf(arms, k, ref random);
            var m = monteCarlo.ProbabilityOf(arms, k, ref random);
            m.Value.Should().BeApproximately(e.Value, (5 * m.Error) + 1e-9, $"arm {k}");
            if (m.Method == ChoiceProbabilityMethod.MonteCarlo)
            {
                m.Error.Should().BeGreaterThan(0).And.BeLessThan(0.004);
            }
        }
    }

    [Fact]
    public void ProbabilityOf_AgainstOnlyFixedArms_IsTheClosedFormTail()
    {
        var policy = new ThompsonSamplingPolicy(new ThompsonSamplingOptions { Floor = 0 });
        var random = new BanditRandom(1);
        ArmBelief[] arms = [new ArmBelief(new BetaPosterior(2, 3), 1, 0), ArmBelief.Fixed(0.5)];

        var p = policy.ProbabilityOf(arms, 0, ref random);

        // P(Beta(2, 3) > 0.5) = 1 − I_0.5(2, 3) = 1 − 11/16.
        p.Method.Should().Be(ChoiceProbabilityMethod.Exact);
        p.Error.Should().Be(0);
        p.Value.Should().BeApproximately(5.0 / 16, 1e-14);
    }

    [Fact]
    public void ProbabilityOf_ManyCompetitorsInAutoMode_FallsBackToMonteCarloWithAnError()
    {
        var policy = new ThompsonSamplingPolicy(new ThompsonSamplingOptions { ExactCompetitorLimit = 2 });
        var random = new BanditRandom(5);
        var arms = Enumerable.Range(0, 6).Select(i => Arm(2 + i, 40)).ToArray();

        var p = policy.ProbabilityOf(arms, 5, ref random);

        p.Method.Should().Be(ChoiceProbabilityMethod.MonteCarlo);
        p.Error.Should().BeGreaterThan(0);
    }

    [Fact]
    public void Choose_WithFloor_ExploresAboutFloorOfTheTime()
    {
        var policy = new ThompsonSamplingPolicy(new ThompsonSamplingOptions { Floor = 0.3, ComputeProbability = false });
        var random = new BanditRandom(9);
        ArmBelief[] arms = [Arm(50, 50), Arm(1, 99)];

        var explored = Enumerable.Range(0, 20_000).Count(_ => policy.Choose(arms, ref random).Explored);

        (explored / 20_000.0).Should().BeApproximately(0.3, 0.02);
    }

    [Fact]
    public void Greedy_ChoosesTheHighestExpectedScoreWithProbabilityOne()
    {
        var random = new BanditRandom(1);
        ArmBelief[] arms = [Arm(1, 99), new ArmBelief(new BetaPosterior(1, 9), 2, 0), ArmBelief.Fixed(0.15)];

        var choice = GreedyPolicy.Instance.Choose(arms, ref random);

        choice.Index.Should().Be(1);
        choice.Probability.Value.Should().Be(1);
        GreedyPolicy.Instance.ProbabilityOf(arms, 2, ref random).Value.Should().Be(0);
    }

    [Fact]
    public void UniformRandom_ChoosesEachArmWithOneOverK()
    {
        var random = new BanditRandom(1);
        ArmBelief[] arms = [Arm(1, 99), Arm(1, 9), ArmBelief.Fixed(0), Arm(5, 5)];
        var counts = new int[4];

        for (var i = 0; i < 40_000; i++)
        {
            var choice = UniformRandomPolicy.Instance.Choose(arms, ref random);
            choice.Probability.Value.Should().Be(0.25);
            counts[choice.Index]++;
        }

        counts.Should().OnlyContain(c => Math.Abs(c - 10_000) < 500);
    }

    private static ArmBelief Arm(double alpha, double beta) => new(new BetaPosterior(alpha, beta));
}
