using System.Globalization;

namespace Engagement.Sdk.Value.Clv;

/// <summary>
/// The refit bootstrap behind <see cref="ParameterDraws"/>: a resample of N customers drawn with replacement from data held
/// as distinct rows with weights is a multinomial reweighting of those rows, so a resample costs one count per row (not one
/// draw per customer), and its fit starts from the full data's estimates with their inverse Hessian, so it converges in a
/// few likelihood evaluations.
/// </summary>
internal static class Resampling
{
    /// <summary>A resample whose refit fails is drawn again, at most this many times per draw.</summary>
    private const int Attempts = 20;

    /// <summary>The most quasi-Newton steps of one refit.</summary>
    private const int MaxIterations = 50;

    /// <summary>
    /// Refits <paramref name="fit"/> to <paramref name="count"/> resamples of the rows with weights
    /// <paramref name="weights"/>, in parallel; resample k uses its own random stream derived from (seed, k, attempt), so
    /// the draws do not depend on the order in which threads run.
    /// </summary>
    /// <param name="fit">The full data's fit (its estimates are the starting point).</param>
    /// <param name="weights">The rows' weights (customers per distinct row).</param>
    /// <param name="likelihood">The total log-likelihood of the rows under other weights (one per row, 0 allowed).</param>
    /// <param name="count">How many draws.</param>
    /// <param name="seed">The seed.</param>
    /// <returns>The draws, row-major (count × parameters).</returns>
    public static double[] Refits(ClvFit fit, double[] weights, Func<double[], MaximumLikelihood.LogLikelihood> likelihood, int count, int seed)
    {
        var k = fit.ParameterCount;
        var values = new double[count * k];
        var total = 0.0;
        foreach (var w in weights)
        {
            total += w;
        }

        if (Math.Abs(total - fit.Customers) > 1e-6 * Math.Max(1, fit.Customers))
        {
            throw new EngagementValidationException("data", total, "must be the data the model was fitted to (" + fit.Customers.ToString(CultureInfo.InvariantCulture) + " customers)");
        }

        var customers = (long)Math.Round(total);
        var sampler = new MultinomialSampler(weights, total, customers);
        ClvParallel.For(0, count, draw =>
        {
            var resampled = new double[weights.Length];
            var estimates = values.AsSpan(draw * k, k);
            for (var attempt = 0; ; attempt++)
            {
                var random = new Random(Seed(seed, draw, attempt));
                sampler.Draw(random, resampled);
                if (MaximumLikelihood.Refit(fit, likelihood(resampled), customers, MaxIterations, estimates) >= 0)
                {
                    return;
                }

                if (attempt + 1 >= Attempts)
                {
                    throw new ClvModelException(string.Create(CultureInfo.InvariantCulture, $"The bootstrap could not refit the model to {Attempts} resamples in a row (draw {draw}): the data hardly determine it ({fit.Diagnostics.Summary()})."));
                }
            }
        });

        return values;
    }

    /// <summary>A 31-bit seed for (seed, draw, attempt) by SplitMix64 mixing.</summary>
    internal static int Seed(int seed, int draw, int attempt)
    {
        var z = unchecked(((ulong)(uint)seed * 0x9E3779B97F4A7C15UL) ^ ((ulong)(uint)draw << 20) ^ (ulong)(uint)attempt);
        z = unchecked((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL);
        z = unchecked((z ^ (z >> 27)) * 0x94D049BB133111EBUL);
        z ^= z >> 31;
        return (int)(z & int.MaxValue);
    }

    /// <summary>
    /// Draws the counts of <paramref name="customers"/> draws with replacement over rows of probabilities weight/total (see
    /// <see cref="MultinomialSampler"/>; a sampler built once serves many resamples).
    /// </summary>
    internal static void Multinomial(Random random, double[] weights, double total, long customers, double[] counts)
        => new MultinomialSampler(weights, total, customers).Draw(random, counts);

    /// <summary>
    /// A Binomial(n, p) variate, exactly: by inversion when the smaller of the two expected counts is small, otherwise by
    /// splitting at an order statistic of n uniforms (the i-th smallest is Beta(i, n + 1 − i); the count below p is then i
    /// plus a binomial over the uniforms above it, or a binomial over the i − 1 below it), which shrinks the expected count
    /// to about its square root per step.
    /// </summary>
    internal static long Binomial(Random random, long n, double p)
    {
        if (n <= 0 || p <= 0)
        {
            return 0;
        }

        if (p >= 1)
        {
            return n;
        }

        long result = 0;
        var sign = 1;
        while (true)
        {
            if (p > 0.5)
            {
                // Count the failures instead: result + sign · (n − Binomial(n, 1 − p)).
                result += sign * n;
                sign = -sign;
                p = 1 - p;
            }

            if (n * p < 20)
            {
                return result + (sign * Inversion(random, n, p));
            }

            var i = Math.Clamp((long)Math.Floor(n * p), 1, n);
            var x = RandomVariates.Beta(random, i, n + 1 - i);
            if (x <= p)
            {
                result += sign * i;
                n -= i;
                p = (p - x) / (1 - x);
            }
            else
            {
                n = i - 1;
                p /= x;
            }

            if (n <= 0 || p <= 0)
            {
                return result;
            }

            if (p >= 1)
            {
                return result + (sign * n);
            }
        }
    }

    /// <summary>Binomial(n, p) by walking the cumulative distribution from 0 (expected n·p + 1 steps), for p ≤ 1/2 and small n·p.</summary>
    private static long Inversion(Random random, long n, double p)
    {
        var q = 1 - p;
        var ratio = p / q;
        var probability = Math.Exp(n * Math.Log(q));
        var u = random.NextDouble();
        long k = 0;
        while (u > probability && k < n)
        {
            u -= probability;
            k++;
            probability *= ratio * (n - k + 1) / k;
            if (probability <= 0)
            {
                break;
            }
        }

        return k;
    }
}
