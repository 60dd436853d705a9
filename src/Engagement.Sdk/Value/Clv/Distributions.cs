using static Engagement.Sdk.Value.Clv.SpecialFunctions;

namespace Engagement.Sdk.Value.Clv;

/// <summary>The regularised incomplete gamma function, its inverse, and the tail probabilities built on them.</summary>
internal static class Distributions
{
    /// <summary>P(a, x) = γ(a, x)/Γ(a), the Gamma(a, 1) distribution function, for a &gt; 0, x ≥ 0.</summary>
    public static double GammaP(double a, double x)
    {
        if (x <= 0)
        {
            return 0;
        }

        if (double.IsPositiveInfinity(x))
        {
            return 1;
        }

        return x < a + 1 ? GammaSeries(a, x) : 1 - GammaContinuedFraction(a, x);
    }

    /// <summary>Q(a, x) = 1 − P(a, x), computed directly in the upper tail so that small values keep their digits.</summary>
    public static double GammaQ(double a, double x)
    {
        if (x <= 0)
        {
            return 1;
        }

        if (double.IsPositiveInfinity(x))
        {
            return 0;
        }

        return x < a + 1 ? 1 - GammaSeries(a, x) : GammaContinuedFraction(a, x);
    }

    private static double GammaSeries(double a, double x)
    {
        var term = 1 / a;
        var sum = term;
        for (var n = 1; n < 100_000; n++)
        {
            term *= x / (a + n);
            sum += term;
            if (Math.Abs(term) < Math.Abs(sum) * 1e-17)
            {
                break;
            }
        }

        return Math.Exp(-x + (a * Math.Log(x)) - LogGamma(a) + Math.Log(sum));
    }

    private static double GammaContinuedFraction(double a, double x)
    {
        // Legendre's continued fraction for Γ(a, x), by the modified Lentz method.
        const double Tiny = 1e-300;
        var b = x + 1 - a;
        var c = 1 / Tiny;
        var d = 1 / b;
        var h = d;
        for (var i = 1; i < 100_000; i++)
        {
            var an = -i * (i - a);
            b += 2;
            d = (an * d) + b;
            if (Math.Abs(d) < Tiny)
            {
                d = Tiny;
            }

            c = b + (an / c);
            if (Math.Abs(c) < Tiny)
            {
                c = Tiny;
            }

            d = 1 / d;
            var delta = d * c;
            h *= delta;
            if (Math.Abs(delta - 1) < 1e-16)
            {
                break;
            }
        }

        return Math.Exp(-x + (a * Math.Log(x)) - LogGamma(a)) * h;
    }

    /// <summary>The x with P(a, x) = <paramref name="probability"/>: the Gamma(a, 1) quantile, by Halley's method from a Wilson–Hilferty start.</summary>
    public static double GammaQuantile(double a, double probability)
    {
        if (probability <= 0)
        {
            return 0;
        }

        if (probability >= 1)
        {
            return double.PositiveInfinity;
        }

        double x;
        if (a > 1)
        {
            var z = NormalQuantile(probability);
            var w = 1 / (9 * a);
            x = a * Math.Pow(1 - w + (z * Math.Sqrt(w)), 3);
            if (!(x > 0))
            {
                x = a * 1e-3;
            }
        }
        else
        {
            // The lower tail of Gamma(a) is x^a/Γ(a + 1), the upper tail about e^(−x).
            var t = 1 - (a * (0.253 + (a * 0.12)));
            x = probability < t ? Math.Pow(probability / t, 1 / a) : 1 - Math.Log(1 - ((probability - t) / (1 - t)));
        }

        var logGammaA = LogGamma(a);
        for (var i = 0; i < 100; i++)
        {
            if (x <= 0)
            {
                x = 1e-300;
            }

            var error = GammaP(a, x) - probability;
            var density = Math.Exp(((a - 1) * Math.Log(x)) - x - logGammaA);
            if (density == 0)
            {
                break;
            }

            var step = error / density;
            var halley = step / (1 - (0.5 * Math.Min(1, step * (((a - 1) / x) - 1))));
            var next = x - halley;
            x = next <= 0 ? x / 2 : next;
            if (Math.Abs(halley) < 1e-15 * x)
            {
                break;
            }
        }

        return x;
    }

    /// <summary>The standard normal quantile (Acklam's rational approximation, refined by one Halley step on the exact tail).</summary>
    public static double NormalQuantile(double p)
    {
        if (p <= 0)
        {
            return double.NegativeInfinity;
        }

        if (p >= 1)
        {
            return double.PositiveInfinity;
        }

        double[] a = [-3.969683028665376e+01, 2.209460984245205e+02, -2.759285104469687e+02, 1.383577518672690e+02, -3.066479806614716e+01, 2.506628277459239e+00];
        double[] b = [-5.447609879822406e+01, 1.615858368580409e+02, -1.556989798598866e+02, 6.680131188771972e+01, -1.328068155288572e+01];
        double[] c = [-7.784894002430293e-03, -3.223964580411365e-01, -2.400758277161838e+00, -2.549732539343734e+00, 4.374664141464968e+00, 2.938163982698783e+00];
        double[] d = [7.784695709041462e-03, 3.224671290700398e-01, 2.445134137142996e+00, 3.754408661907416e+00];
        double x;
        if (p < 0.02425)
        {
            var q = Math.Sqrt(-2 * Math.Log(p));
            x = Horner(c, q) / ((Horner(d, q) * q) + 1);
        }
        else if (p <= 1 - 0.02425)
        {
            var q = p - 0.5;
            var r = q * q;
            x = Horner(a, r) * q / ((Horner(b, r) * r) + 1);
        }
        else
        {
            var q = Math.Sqrt(-2 * Math.Log(1 - p));
            x = -Horner(c, q) / ((Horner(d, q) * q) + 1);
        }

        // One Halley step with the exact distribution function Φ(x) = erfc(−x/√2)/2, erfc(y) = Q(1/2, y²) for y ≥ 0.
        var phi = x < 0 ? 0.5 * GammaQ(0.5, x * x / 2) : 1 - (0.5 * GammaQ(0.5, x * x / 2));
        var e = phi - p;
        var u = e * Math.Sqrt(2 * Math.PI) * Math.Exp(x * x / 2);
        return x - (u / (1 + (x * u / 2)));
    }

    /// <summary>c₀xⁿ⁻¹ + c₁xⁿ⁻² + … + cₙ₋₁.</summary>
    private static double Horner(double[] coefficients, double x)
    {
        var sum = 0.0;
        foreach (var coefficient in coefficients)
        {
            sum = (sum * x) + coefficient;
        }

        return sum;
    }

    /// <summary>P(χ²_df ≥ x): the p-value of a chi-square statistic.</summary>
    public static double ChiSquareSurvival(double x, double degreesOfFreedom) => GammaQ(degreesOfFreedom / 2, x / 2);
}
