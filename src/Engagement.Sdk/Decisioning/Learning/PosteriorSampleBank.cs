namespace Engagement.Sdk.Decisioning.Learning;

/// <summary>
/// A fixed set of M independent draws θ₁ … θ_M from one arm's Beta posterior, drawn once and reused by
/// <see cref="ThompsonSamplingPolicy"/> for many decisions. When every random candidate carries a bank of the same size, a
/// Thompson draw picks one index m uniformly and takes the candidate whose score is highest at its m-th sample; the
/// probability of any choice is then a count over the M indices, exact for the policy that runs, in O(M · K) without any
/// special function. Banks of different arms must be drawn independently (from different streams). Immutable; thread-safe.
/// </summary>
public sealed class PosteriorSampleBank
{
    /// <summary>The smallest number of samples.</summary>
    public const int MinSize = 64;

    /// <summary>The largest number of samples.</summary>
    public const int MaxSize = 65_536;

    private readonly float[] _samples;

    private PosteriorSampleBank(BetaPosterior posterior, float[] samples, long stamp)
    {
        Posterior = posterior;
        _samples = samples;
        Stamp = stamp;
        var min = float.PositiveInfinity;
        var max = float.NegativeInfinity;
        foreach (var s in samples)
        {
            min = Math.Min(min, s);
            max = Math.Max(max, s);
        }

        Min = min;
        Max = max;
    }

    /// <summary>The belief the samples were drawn from.</summary>
    public BetaPosterior Posterior { get; }

    /// <summary>The number of samples M.</summary>
    public int Size => _samples.Length;

    /// <summary>The samples, in the order drawn.</summary>
    public ReadOnlySpan<float> Samples => _samples;

    /// <summary>The smallest sample.</summary>
    public float Min { get; }

    /// <summary>The largest sample.</summary>
    public float Max { get; }

    /// <summary>When the owner drew it (its own clock, in ticks), for deciding when to draw again.</summary>
    internal long Stamp { get; }

    internal float[] Array => _samples;

    /// <summary>Draws a bank of <paramref name="size"/> samples from <paramref name="posterior"/>.</summary>
    /// <param name="posterior">The belief; its shapes must be positive (not the default value).</param>
    /// <param name="size">M, a multiple of 64 in [<see cref="MinSize"/>, <see cref="MaxSize"/>].</param>
    /// <param name="random">The generator; give every arm its own stream so that the banks are independent.</param>
    /// <returns>The bank.</returns>
    /// <exception cref="EngagementValidationException">The size is out of range or the posterior is the default value.</exception>
    public static PosteriorSampleBank Draw(BetaPosterior posterior, int size, ref BanditRandom random) => Draw(posterior, size, ref random, 0);

    /// <summary>Checks a bank size.</summary>
    /// <param name="name">The name of the option or argument, for the error.</param>
    /// <param name="size">The size.</param>
    /// <exception cref="EngagementValidationException">It is not a multiple of 64 in [<see cref="MinSize"/>, <see cref="MaxSize"/>].</exception>
    public static void CheckSize(string name, int size)
    {
        if (size < MinSize || size > MaxSize || size % 64 != 0)
        {
            throw new EngagementValidationException(name, size, $"must be a multiple of 64 in [{MinSize}, {MaxSize}]");
        }
    }

    internal static PosteriorSampleBank Draw(BetaPosterior posterior, int size, ref BanditRandom random, long stamp)
    {
        CheckSize(nameof(size), size);
        if (!(posterior.Alpha > 0))
        {
            throw new EngagementValidationException(nameof(posterior), posterior.ToString(), "must have positive shapes");
        }

        var samples = new float[size];
        for (var m = 0; m < samples.Length; m++)
        {
            samples[m] = (float)posterior.Sample(ref random);
        }

        return new PosteriorSampleBank(posterior, samples, stamp);
    }
}
