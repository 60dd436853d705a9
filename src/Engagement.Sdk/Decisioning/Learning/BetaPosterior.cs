using System.Globalization;
using Engagement.Sdk.Value.Clv;

namespace Engagement.Sdk.Decisioning.Learning;

/// <summary>
/// A Beta(α, β) belief about a response probability: the posterior of a Beta prior after Bernoulli outcomes. Immutable.
/// </summary>
public readonly record struct BetaPosterior
{
    /// <summary>Creates the belief.</summary>
    /// <param name="alpha">α: prior pseudo-responses plus responses, positive and finite.</param>
    /// <param name="beta">β: prior pseudo-non-responses plus non-responses, positive and finite.</param>
    /// <exception cref="EngagementValidationException">A shape is not positive and finite.</exception>
    public BetaPosterior(double alpha, double beta)
    {
        if (!(alpha > 0) || double.IsInfinity(alpha))
        {
            throw new EngagementValidationException(nameof(alpha), alpha, "must be positive and finite");
        }

        if (!(beta > 0) || double.IsInfinity(beta))
        {
            throw new EngagementValidationException(nameof(beta), beta, "must be positive and finite");
        }

        Alpha = alpha;
        Beta = beta;
    }

    /// <summary>α, the first shape.</summary>
    public double Alpha { get; }

    /// <summary>β, the second shape.</summary>
    public double Beta { get; }

    /// <summary>The mean α / (α + β): the expected response probability.</summary>
    public double Mean => Alpha / (Alpha + Beta);

    /// <summary>The variance αβ / ((α + β)² (α + β + 1)).</summary>
    public double Variance
    {
        get
        {
            var n = Alpha + Beta;
            return Alpha * Beta / (n * n * (n + 1));
        }
    }

    /// <summary>The prior centred on <paramref name="basePropensity"/> and worth <paramref name="priorWeight"/> observations.</summary>
    /// <param name="basePropensity">The prior response probability, in (0, 1]; 1 is taken as 1 − 1e-9 so that β stays positive.</param>
    /// <param name="priorWeight">How many observations the prior is worth, positive.</param>
    /// <returns>Beta(p·w, (1 − p)·w).</returns>
    /// <exception cref="EngagementValidationException">An argument is out of range.</exception>
    public static BetaPosterior FromPrior(double basePropensity, double priorWeight)
    {
        if (!(basePropensity > 0) || basePropensity > 1)
        {
            throw new EngagementValidationException(nameof(basePropensity), basePropensity, "must be in (0, 1]");
        }

        if (!(priorWeight > 0) || double.IsInfinity(priorWeight))
        {
            throw new EngagementValidationException(nameof(priorWeight), priorWeight, "must be positive and finite");
        }

        var p = Math.Min(basePropensity, 1 - 1e-9);
        return new BetaPosterior(p * priorWeight, (1 - p) * priorWeight);
    }

    /// <summary>This belief updated with <paramref name="trials"/> trials of which <paramref name="responses"/> responded.</summary>
    /// <param name="trials">The (possibly decayed, so fractional) number of trials, at least 0.</param>
    /// <param name="responses">The (possibly decayed) number of responses, in [0, <paramref name="trials"/>]; larger values are clamped.</param>
    /// <returns>Beta(α + responses, β + trials − responses).</returns>
    /// <exception cref="EngagementValidationException">A count is negative or not finite.</exception>
    public BetaPosterior Update(double trials, double responses)
    {
        if (!(trials >= 0) || double.IsInfinity(trials))
        {
            throw new EngagementValidationException(nameof(trials), trials, "must be at least 0 and finite");
        }

        if (!(responses >= 0) || double.IsInfinity(responses))
        {
            throw new EngagementValidationException(nameof(responses), responses, "must be at least 0 and finite");
        }

        var r = Math.Min(responses, trials);
        return new BetaPosterior(Alpha + r, Beta + (trials - r));
    }

    /// <summary>A draw from the belief.</summary>
    /// <param name="random">The generator.</param>
    /// <returns>A probability.</returns>
    public double Sample(ref BanditRandom random) => random.NextBeta(Alpha, Beta);

    /// <summary>The cumulative distribution P(θ ≤ <paramref name="x"/>), the regularised incomplete beta function.</summary>
    /// <param name="x">The point.</param>
    /// <returns>The probability.</returns>
    public double Cdf(double x) => BetaMath.RegularizedIncompleteBeta(Alpha, Beta, x);

    /// <summary>The natural logarithm of the density at <paramref name="x"/>.</summary>
    /// <param name="x">The point, in (0, 1).</param>
    /// <returns>The log-density (−∞ outside (0, 1)).</returns>
    public double LogDensity(double x) => x <= 0 || x >= 1
        ? double.NegativeInfinity
        : ((Alpha - 1) * Math.Log(x)) + ((Beta - 1) * Math.Log(1 - x)) - SpecialFunctions.LogBeta(Alpha, Beta);

    /// <summary>Shows the shapes and the mean.</summary>
    /// <returns>The text.</returns>
    public override string ToString()
        => string.Create(CultureInfo.InvariantCulture, $"Beta({Alpha:G6}, {Beta:G6}), mean {Mean:G4}");
}

/// <summary>The regularised incomplete beta function.</summary>
internal static class BetaMath
{
    /// <summary>I_x(a, b) by its continued fraction (modified Lentz), using the symmetry I_x(a, b) = 1 − I_{1−x}(b, a) for convergence.</summary>
    public static double RegularizedIncompleteBeta(double a, double b, double x) => RegularizedIncompleteBeta(a, b, SpecialFunctions.LogBeta(a, b), x);

    /// <summary>I_x(a, b) given ln B(a, b), for callers that evaluate many points of one distribution.</summary>
    public static double RegularizedIncompleteBeta(double a, double b, double logBeta, double x)
    {
        if (!(x > 0))
        {
            return 0;
        }

        if (x >= 1)
        {
            return 1;
        }

        var logFront = (a * Math.Log(x)) + (b * Math.Log(1 - x)) - logBeta;
        if (x < (a + 1) / (a + b + 2))
        {
            return Math.Exp(logFront) * ContinuedFraction(a, b, x) / a;
        }

        return 1 - (Math.Exp(logFront) * ContinuedFraction(b, a, 1 - x) / b);
    }

    private static double ContinuedFraction(double a, double b, double x)
    {
        const double Tiny = 1e-300;
        const double Epsilon = 1e-15;
        var qab = a + b;
        var qap = a + 1;
        var qam = a - 1;
        var c = 1.0;
        var d = 1 - (qab * x / qap);
        d = Math.Abs(d) < Tiny ? Tiny : d;
        d = 1 / d;
        var h = d;
        for (var m = 1; m <= 100_000; m++)
        {
            var m2 = 2 * m;
            var numerator = m * (b - m) * x / ((qam + m2) * (a + m2));
            d = 1 + (numerator * d);
            d = Math.Abs(d) < Tiny ? Tiny : d;
            c = 1 + (numerator / c);
            c = Math.Abs(c) < Tiny ? Tiny : c;
            d = 1 / d;
            h *= d * c;
            numerator = -(a + m) * (qab + m) * x / ((a + m2) * (qap + m2));
            d = 1 + (numerator * d);
            d = Math.Abs(d) < Tiny ? Tiny : d;
            c = 1 + (numerator / c);
            c = Math.Abs(c) < Tiny ? Tiny : c;
            d = 1 / d;
            var delta = d * c;
            h *= delta;
            if (Math.Abs(delta - 1) < Epsilon)
            {
                break;
            }
        }

        return h;
    }
}
