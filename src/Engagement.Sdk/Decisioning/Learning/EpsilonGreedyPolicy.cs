namespace Engagement.Sdk.Decisioning.Learning;

/// <summary>
/// ε-greedy: with probability ε (the floor) a uniformly random arm, otherwise the arm with the highest expected score (ties to
/// the lowest index). The choice probability is exact and costs one pass: π = ε / K + (1 − ε) for the best of K arms and ε / K
/// for each other. Deterministic for a generator state; allocates nothing; thread-safe.
/// </summary>
public sealed class EpsilonGreedyPolicy : IBanditPolicy
{
    /// <summary>Creates the policy.</summary>
    /// <param name="floor">ε, in [0, 1).</param>
    /// <exception cref="EngagementValidationException"><paramref name="floor"/> is out of range.</exception>
    public EpsilonGreedyPolicy(double floor)
    {
        if (!(floor >= 0 && floor < 1))
        {
            throw new EngagementValidationException(nameof(floor), floor, "must be in [0, 1)");
        }

        Floor = floor;
    }

    /// <summary>ε, the exploration floor.</summary>
    public double Floor { get; }

    /// <inheritdoc />
    public BanditChoice Choose(ReadOnlySpan<ArmBelief> arms, ref BanditRandom random)
    {
        BanditArms.CheckNotEmpty(arms);
        var best = Best(arms);
        var k = arms.Length;
        if (Floor > 0 && random.NextDouble() < Floor)
        {
            var pick = random.NextInt(k);
            return new BanditChoice(pick, ChoiceProbability.ExactValue(Probability(pick == best, k)), pick != best);
        }

        return new BanditChoice(best, ChoiceProbability.ExactValue(Probability(true, k)), false);
    }

    /// <inheritdoc />
    public ChoiceProbability ProbabilityOf(ReadOnlySpan<ArmBelief> arms, int index, ref BanditRandom random)
    {
        BanditArms.CheckIndex(arms, index);
        return ChoiceProbability.ExactValue(Probability(Best(arms) == index, arms.Length));
    }

    private double Probability(bool isBest, int k) => (Floor / k) + (isBest ? 1 - Floor : 0);

    private static int Best(ReadOnlySpan<ArmBelief> arms)
    {
        var best = 0;
        var bestScore = arms[0].ExpectedScore;
        for (var i = 1; i < arms.Length; i++)
        {
            var score = arms[i].ExpectedScore;
            if (score > bestScore)
            {
                best = i;
                bestScore = score;
            }
        }

        return best;
    }
}
