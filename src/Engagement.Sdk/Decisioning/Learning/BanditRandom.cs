using System.Runtime.CompilerServices;
using Engagement.Sdk.Value.Clv;

namespace Engagement.Sdk.Decisioning.Learning;

/// <summary>
/// A small, fast, seeded pseudo-random generator (xoshiro256**, state seeded through SplitMix64) for exploration, bootstrap
/// resampling and simulation. A value type: it lives on the stack or inside its owner and allocates nothing. The same seed
/// and stream give the same sequence on every machine and runtime, so decisions, intervals and simulations are reproducible.
/// Not thread-safe: give each thread (or each decision, through <see cref="BanditRandom(ulong, ulong)"/>) its own.
/// </summary>
public struct BanditRandom
{
    private ulong _s0;
    private ulong _s1;
    private ulong _s2;
    private ulong _s3;
    private double _spareNormal;
    private bool _hasSpareNormal;

    /// <summary>Creates a generator for <paramref name="seed"/>.</summary>
    /// <param name="seed">The seed.</param>
    public BanditRandom(ulong seed)
        : this(seed, 0)
    {
    }

    /// <summary>
    /// Creates the generator of one independent stream of <paramref name="seed"/>: for example one stream per decision (keyed by
    /// a hash of the decision's id) or per bootstrap resample, so the numbers drawn do not depend on the order in which
    /// threads run.
    /// </summary>
    /// <param name="seed">The seed.</param>
    /// <param name="stream">The stream.</param>
    public BanditRandom(ulong seed, ulong stream)
    {
        var x = seed ^ (stream * 0xD1B54A32D192ED03UL) ^ 0x2545F4914F6CDD1DUL;
        _s0 = SplitMix(ref x);
        _s1 = SplitMix(ref x);
        _s2 = SplitMix(ref x);
        _s3 = SplitMix(ref x);
        if ((_s0 | _s1 | _s2 | _s3) == 0)
        {
            _s0 = 1;
        }

        _spareNormal = 0;
        _hasSpareNormal = false;
    }

    /// <summary>The next 64 random bits.</summary>
    /// <returns>A uniformly distributed 64-bit integer.</returns>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public ulong NextUInt64()
    {
        var result = ulong.RotateLeft(_s1 * 5, 7) * 9;
        var t = _s1 << 17;
        _s2 ^= _s0;
        _s3 ^= _s1;
        _s1 ^= _s2;
        _s0 ^= _s3;
        _s2 ^= t;
        _s3 = ulong.RotateLeft(_s3, 45);
        return result;
    }

    /// <summary>A uniform double in [0, 1), with 53 random bits.</summary>
    /// <returns>The number.</returns>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public double NextDouble() => (NextUInt64() >> 11) * (1.0 / (1UL << 53));

    /// <summary>A uniform double in (0, 1): never 0, so its logarithm is finite.</summary>
    /// <returns>The number.</returns>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public double NextOpenDouble() => ((NextUInt64() >> 11) + 0.5) * (1.0 / (1UL << 53));

    /// <summary>A uniform integer in [0, <paramref name="count"/>), without modulo bias (Lemire's method).</summary>
    /// <param name="count">The number of values, positive.</param>
    /// <returns>The integer.</returns>
    public int NextInt(int count)
    {
        if (count <= 0)
        {
            throw new EngagementValidationException(nameof(count), count, "must be positive");
        }

        var range = (ulong)count;
        var product = Math.BigMul(NextUInt64(), range, out var low);
        if (low < range)
        {
            var threshold = (0 - range) % range;
            while (low < threshold)
            {
                product = Math.BigMul(NextUInt64(), range, out low);
            }
        }

        return (int)product;
    }

    /// <summary>A standard normal draw (Marsaglia's polar method; each round yields two, the second kept for the next call).</summary>
    /// <returns>The draw.</returns>
    public double NextNormal()
    {
        if (_hasSpareNormal)
        {
            _hasSpareNormal = false;
            return _spareNormal;
        }

        while (true)
        {
            var u = (2 * NextDouble()) - 1;
            var v = (2 * NextDouble()) - 1;
            var s = (u * u) + (v * v);
            if (s > 0 && s < 1)
            {
                var factor = Math.Sqrt(-2 * Math.Log(s) / s);
                _spareNormal = v * factor;
                _hasSpareNormal = true;
                return u * factor;
            }
        }
    }

    /// <summary>A Gamma(<paramref name="shape"/>, 1) draw (Marsaglia and Tsang; for shapes below 1, Γ(a + 1) · U^(1/a)).</summary>
    /// <param name="shape">The shape, positive.</param>
    /// <returns>The draw (for tiny shapes it may underflow to 0; use <see cref="NextLogGamma"/> then).</returns>
    public double NextGamma(double shape)
    {
        if (shape < 1)
        {
            return Math.Exp(NextLogGamma(shape));
        }

        var d = shape - (1.0 / 3);
        var c = 1 / Math.Sqrt(9 * d);
        while (true)
        {
            double x, v;
            do
            {
                x = NextNormal();
                v = 1 + (c * x);
            }
            while (v <= 0);

            v = v * v * v;
            var u = NextOpenDouble();
            var x2 = x * x;
            if (u < 1 - (0.0331 * x2 * x2) || Math.Log(u) < (0.5 * x2) + (d * (1 - v + Math.Log(v))))
            {
                return d * v;
            }
        }
    }

    /// <summary>The natural logarithm of a Gamma(<paramref name="shape"/>, 1) draw (Marsaglia and Tsang), finite even for tiny shapes.</summary>
    /// <param name="shape">The shape, positive.</param>
    /// <returns>The log of the draw.</returns>
    public double NextLogGamma(double shape)
    {
        // Γ(a) = Γ(a + 1) · U^(1/a) for a below 1, taken in logs so that small shapes do not underflow to zero.
        return shape < 1
            ? Math.Log(NextGamma(shape + 1)) + (Math.Log(NextOpenDouble()) / shape)
            : Math.Log(NextGamma(shape));
    }

    /// <summary>A Beta(<paramref name="alpha"/>, <paramref name="beta"/>) draw, as X / (X + Y) of two Gamma draws (in logs when a shape is below 1).</summary>
    /// <param name="alpha">The first shape, positive.</param>
    /// <param name="beta">The second shape, positive.</param>
    /// <returns>The draw, in [0, 1].</returns>
    public double NextBeta(double alpha, double beta)
    {
        if (alpha >= 1 && beta >= 1)
        {
            var x = NextGamma(alpha);
            var y = NextGamma(beta);
            return x / (x + y);
        }

        var logX = NextLogGamma(alpha);
        var logY = NextLogGamma(beta);
        return 1 / (1 + Math.Exp(logY - logX));
    }

    /// <summary>A Poisson(<paramref name="mean"/>) draw: by inversion for means below 10, otherwise by transformed rejection (Hörmann's PTRS).</summary>
    /// <param name="mean">The mean, at least 0.</param>
    /// <returns>The draw.</returns>
    public long NextPoisson(double mean)
    {
        if (mean <= 0)
        {
            return 0;
        }

        if (mean < 10)
        {
            var u = NextDouble();
            var p = Math.Exp(-mean);
            var cumulative = p;
            long k = 0;
            while (u >= cumulative && k < 1000)
            {
                k++;
                p *= mean / k;
                cumulative += p;
            }

            return k;
        }

        var sqrtMean = Math.Sqrt(mean);
        var logMean = Math.Log(mean);
        var b = 0.931 + (2.53 * sqrtMean);
        var a = -0.059 + (0.02483 * b);
        var invAlpha = 1.1239 + (1.1328 / (b - 3.4));
        var vr = 0.9277 - (3.6224 / (b - 2));
        while (true)
        {
            var u = NextDouble() - 0.5;
            var v = NextDouble();
            var us = 0.5 - Math.Abs(u);
            var k = Math.Floor((((2 * a / us) + b) * u) + mean + 0.43);
            if (us >= 0.07 && v <= vr)
            {
                return (long)k;
            }

            if (k < 0 || (us < 0.013 && v > us))
            {
                continue;
            }

            if (Math.Log(v) + Math.Log(invAlpha) - Math.Log((a / (us * us)) + b) <= -mean + (k * logMean) - SpecialFunctions.LogGamma(k + 1))
            {
                return (long)k;
            }
        }
    }

    /// <summary>A new generator seeded from this one's next output: an independent stream for a side computation.</summary>
    /// <returns>The new generator.</returns>
    public BanditRandom Fork() => new(NextUInt64(), NextUInt64());

    private static ulong SplitMix(ref ulong x)
    {
        var z = x += 0x9E3779B97F4A7C15UL;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }
}
