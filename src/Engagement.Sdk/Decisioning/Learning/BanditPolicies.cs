using System.Globalization;

namespace Engagement.Sdk.Decisioning.Learning;

/// <summary>
/// What a bandit policy knows about one candidate arm: a belief about its response probability θ and the affine map from θ to
/// the candidate's score, score = <see cref="Scale"/> · θ + <see cref="Offset"/>. For a plain propensity the scale is 1 and
/// the offset 0; for an arbitration score context × levers × (θ · value − cost) the scale is context × levers × value and the
/// offset −context × levers × cost. An arm with scale 0 has a fixed score (for example do-nothing, which scores 0).
/// </summary>
public readonly record struct ArmBelief
{
    /// <summary>Creates an arm whose score is <paramref name="scale"/> · θ + <paramref name="offset"/> with θ ~ <paramref name="posterior"/>.</summary>
    /// <param name="posterior">The belief about θ.</param>
    /// <param name="scale">The scale, at least 0 and finite.</param>
    /// <param name="offset">The offset, finite.</param>
    /// <exception cref="EngagementValidationException">The scale or offset is out of range.</exception>
    public ArmBelief(BetaPosterior posterior, double scale = 1, double offset = 0)
    {
        if (!(scale >= 0) || double.IsInfinity(scale))
        {
            throw new EngagementValidationException(nameof(scale), scale, "must be at least 0 and finite");
        }

        if (!double.IsFinite(offset))
        {
            throw new EngagementValidationException(nameof(offset), offset, "must be finite");
        }

        Posterior = posterior;
        Scale = scale;
        Offset = offset;
    }

    /// <summary>The belief about the response probability θ.</summary>
    public BetaPosterior Posterior { get; }

    /// <summary>The scale of θ in the score.</summary>
    public double Scale { get; }

    /// <summary>The score's offset.</summary>
    public double Offset { get; }

    /// <summary>
    /// Pre-drawn samples of θ, or <see langword="null"/>. When every random candidate carries a bank of the same size,
    /// <see cref="ThompsonSamplingPolicy"/> draws from the banks instead of from the posteriors (the bank may lag
    /// <see cref="Posterior"/> until its owner draws it again; the expected score still follows <see cref="Posterior"/>).
    /// </summary>
    public PosteriorSampleBank? Samples { get; init; }

    /// <summary>Whether the score is fixed (scale 0, or the default value), so no draw is needed.</summary>
    public bool IsFixed => !(Scale > 0) || Posterior.Alpha <= 0;

    /// <summary>The expected score, <see cref="Scale"/> · E[θ] + <see cref="Offset"/>.</summary>
    public double ExpectedScore => IsFixed ? Offset : (Scale * Posterior.Mean) + Offset;

    /// <summary>An arm with a fixed score, such as do-nothing (score 0).</summary>
    /// <param name="score">The score, finite.</param>
    /// <returns>The arm.</returns>
    public static ArmBelief Fixed(double score) => new(default, 0, score);
}

/// <summary>How a choice probability was computed.</summary>
public enum ChoiceProbabilityMethod
{
    /// <summary>
    /// In closed form (a deterministic policy, a uniform draw, or a Thompson draw whose competitors are fixed), or by adaptive
    /// Gauss–Kronrod quadrature to an absolute error below 1e-9; <see cref="ChoiceProbability.Error"/> holds the estimated error.
    /// </summary>
    Exact,

    /// <summary>Estimated by repeating the draw; <see cref="ChoiceProbability.Error"/> holds the standard error.</summary>
    MonteCarlo,

    /// <summary>
    /// Counted over the candidates' <see cref="PosteriorSampleBank"/>s: exactly the probability with which the policy that drew
    /// from those banks chooses the arm. <see cref="ChoiceProbability.Error"/> holds the standard error of the count as an
    /// estimate of the probability under the banks' posteriors themselves (at most 0.5 / √M).
    /// </summary>
    SampleBank,
}

/// <summary>The probability with which a policy chooses an arm.</summary>
/// <param name="Value">The probability, in [0, 1].</param>
/// <param name="Error">The standard error for <see cref="ChoiceProbabilityMethod.MonteCarlo"/>; the estimated absolute error (0 for closed forms) for <see cref="ChoiceProbabilityMethod.Exact"/>; for <see cref="ChoiceProbabilityMethod.SampleBank"/> the standard error against the probability under the banks' posteriors (the value itself is exact for the policy that ran).</param>
/// <param name="Method">How it was computed.</param>
public readonly record struct ChoiceProbability(double Value, double Error, ChoiceProbabilityMethod Method)
{
    /// <summary>An exact probability.</summary>
    /// <param name="value">The probability.</param>
    /// <returns>The probability, with error 0.</returns>
    public static ChoiceProbability ExactValue(double value) => new(value, 0, ChoiceProbabilityMethod.Exact);

    /// <summary>Shows the value and its error.</summary>
    /// <returns>The text.</returns>
    public override string ToString() => Method switch
    {
        ChoiceProbabilityMethod.Exact => string.Create(CultureInfo.InvariantCulture, $"{Value:G6} (exact)"),
        ChoiceProbabilityMethod.SampleBank => string.Create(CultureInfo.InvariantCulture, $"{Value:G6} (sample bank; ± {Error:G2} SE against the posteriors)"),
        _ => string.Create(CultureInfo.InvariantCulture, $"{Value:G6} ± {Error:G2} (Monte Carlo SE)"),
    };
}

/// <summary>A policy's choice among candidate arms.</summary>
/// <param name="Index">The chosen arm's index in the candidates.</param>
/// <param name="Probability">The probability with which this arm was (and would again be) chosen among these candidates: the propensity to log.</param>
/// <param name="Explored">Whether the choice came from the uniform exploration floor rather than from the policy's ranking.</param>
public readonly record struct BanditChoice(int Index, ChoiceProbability Probability, bool Explored);

/// <summary>A rule for choosing one arm among candidates, which also tells the probability of its choice.</summary>
public interface IBanditPolicy
{
    /// <summary>Chooses an arm among <paramref name="arms"/> and tells with what probability it was chosen.</summary>
    /// <param name="arms">The candidates, after every filter; at least one.</param>
    /// <param name="random">The generator; the same generator state gives the same choice.</param>
    /// <returns>The choice.</returns>
    BanditChoice Choose(ReadOnlySpan<ArmBelief> arms, ref BanditRandom random);

    /// <summary>The probability that this policy chooses <paramref name="index"/> among <paramref name="arms"/>.</summary>
    /// <param name="arms">The candidates.</param>
    /// <param name="index">The arm.</param>
    /// <param name="random">A generator for Monte Carlo estimates (untouched for exact ones).</param>
    /// <returns>The probability.</returns>
    ChoiceProbability ProbabilityOf(ReadOnlySpan<ArmBelief> arms, int index, ref BanditRandom random);
}

/// <summary>Always the arm with the highest expected score (ties to the lowest index): no exploration, probability 1.</summary>
public sealed class GreedyPolicy : IBanditPolicy
{
    /// <summary>The shared instance.</summary>
    public static GreedyPolicy Instance { get; } = new();

    /// <inheritdoc />
    public BanditChoice Choose(ReadOnlySpan<ArmBelief> arms, ref BanditRandom random)
        => new(Best(arms), ChoiceProbability.ExactValue(1), false);

    /// <inheritdoc />
    public ChoiceProbability ProbabilityOf(ReadOnlySpan<ArmBelief> arms, int index, ref BanditRandom random)
    {
        BanditArms.CheckIndex(arms, index);
        return ChoiceProbability.ExactValue(Best(arms) == index ? 1 : 0);
    }

    private static int Best(ReadOnlySpan<ArmBelief> arms)
    {
        BanditArms.CheckNotEmpty(arms);
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

/// <summary>A uniformly random arm, each with probability 1 / K: the pure exploration baseline.</summary>
public sealed class UniformRandomPolicy : IBanditPolicy
{
    /// <summary>The shared instance.</summary>
    public static UniformRandomPolicy Instance { get; } = new();

    /// <inheritdoc />
    public BanditChoice Choose(ReadOnlySpan<ArmBelief> arms, ref BanditRandom random)
    {
        BanditArms.CheckNotEmpty(arms);
        return new BanditChoice(random.NextInt(arms.Length), ChoiceProbability.ExactValue(1.0 / arms.Length), true);
    }

    /// <inheritdoc />
    public ChoiceProbability ProbabilityOf(ReadOnlySpan<ArmBelief> arms, int index, ref BanditRandom random)
    {
        BanditArms.CheckIndex(arms, index);
        return ChoiceProbability.ExactValue(1.0 / arms.Length);
    }
}

/// <summary>Argument checks shared by the policies.</summary>
internal static class BanditArms
{
    public static void CheckNotEmpty(ReadOnlySpan<ArmBelief> arms)
    {
        if (arms.IsEmpty)
        {
            throw new EngagementValidationException(nameof(arms), 0, "must hold at least one candidate arm");
        }
    }

    public static void CheckIndex(ReadOnlySpan<ArmBelief> arms, int index)
    {
        CheckNotEmpty(arms);
        if ((uint)index >= (uint)arms.Length)
        {
            throw new EngagementValidationException(nameof(index), index, $"must be in [0, {arms.Length})");
        }
    }
}
