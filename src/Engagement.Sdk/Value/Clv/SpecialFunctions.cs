namespace Engagement.Sdk.Value.Clv;

/// <summary>Log-gamma, digamma, log-beta and the Gauss hypergeometric function, in double precision.</summary>
public static class SpecialFunctions
{
    private static readonly double[] Lanczos =
    [
        0.99999999999980993, 676.5203681218851, -1259.1392167224028, 771.32342877765313,
        -176.61502916214059, 12.507343278686905, -0.13857109526572012, 9.9843695780195716e-6, 1.5056327351493116e-7,
    ];

    private const double HalfLogTwoPi = 0.91893853320467274178;

    /// <summary>ln Γ(x) for x &gt; 0 (Lanczos, g = 7; relative error about 1e-15).</summary>
    /// <param name="x">The argument, positive.</param>
    /// <returns>The logarithm of the gamma function.</returns>
    public static double LogGamma(double x)
    {
        if (x < 0.5)
        {
            // Reflection: Γ(x) Γ(1 − x) = π / sin(πx).
            return Math.Log(Math.PI / Math.Abs(Math.Sin(Math.PI * x))) - LogGamma(1 - x);
        }

        if (x > 1e7)
        {
            // Stirling with two correction terms is exact to double precision here.
            return ((x - 0.5) * Math.Log(x)) - x + HalfLogTwoPi + (1.0 / (12 * x)) - (1.0 / (360 * x * x * x));
        }

        x -= 1;
        var sum = Lanczos[0];
        for (var i = 1; i < Lanczos.Length; i++)
        {
            sum += Lanczos[i] / (x + i);
        }

        var t = x + 7.5;
        return HalfLogTwoPi + ((x + 0.5) * Math.Log(t)) - t + Math.Log(sum);
    }

    /// <summary>ψ(x) = d ln Γ(x) / dx for x &gt; 0.</summary>
    /// <param name="x">The argument, positive.</param>
    /// <returns>The digamma function.</returns>
    public static double Digamma(double x)
    {
        var result = 0.0;
        while (x < 6)
        {
            result -= 1 / x;
            x += 1;
        }

        var inv = 1 / x;
        var inv2 = inv * inv;
        return result + Math.Log(x) - (0.5 * inv)
            - (inv2 * ((1.0 / 12) - (inv2 * ((1.0 / 120) - (inv2 * ((1.0 / 252) - (inv2 * ((1.0 / 240) - (inv2 / 132)))))))));
    }

    /// <summary>ln B(a, b) = ln Γ(a) + ln Γ(b) − ln Γ(a + b).</summary>
    /// <param name="a">The first argument, positive.</param>
    /// <param name="b">The second argument, positive.</param>
    /// <returns>The logarithm of the beta function.</returns>
    public static double LogBeta(double a, double b) => LogGamma(a) + LogGamma(b) - LogGamma(a + b);

    /// <summary>ln(e^u + e^v) without overflow.</summary>
    /// <param name="u">The first exponent.</param>
    /// <param name="v">The second exponent.</param>
    /// <returns>The log of the sum.</returns>
    public static double LogSumExp(double u, double v)
    {
        if (double.IsNegativeInfinity(u))
        {
            return v;
        }

        if (double.IsNegativeInfinity(v))
        {
            return u;
        }

        var max = Math.Max(u, v);
        return max + Math.Log(Math.Exp(u - max) + Math.Exp(v - max));
    }

    /// <summary>ln(e^u − e^v) for u ≥ v without catastrophic cancellation.</summary>
    /// <param name="u">The larger exponent.</param>
    /// <param name="v">The smaller exponent.</param>
    /// <returns>The log of the difference (−∞ when equal).</returns>
    public static double LogDiffExp(double u, double v) => u == v ? double.NegativeInfinity : u + Math.Log(-SpecialFunctions.ExpMinusOne(v - u));

    /// <summary>eᵘ − 1, accurate to rounding for small u too (Kahan's correction of the rounded eᵘ).</summary>
    /// <param name="u">The exponent.</param>
    /// <returns>eᵘ − 1.</returns>
    internal static double ExpMinusOne(double u)
    {
        var e = Math.Exp(u);
        if (e == 1 || double.IsInfinity(e))
        {
            return e == 1 ? u : e;
        }

        return e - 1 == -1 ? -1 : (e - 1) * u / Math.Log(e);
    }

    /// <summary>
    /// The Gauss hypergeometric function ₂F₁(a, b; c; z) for 0 ≤ z &lt; 1 and c &gt; 0, with its partial derivatives in a,
    /// b and c, by a power series summed until the terms are below 1e-16 of the total. Every term is positive when a, b,
    /// c &gt; 0, so there is no cancellation, and partial sums are rescaled so that large values do not overflow. The tail
    /// is bounded by a geometric series once the term ratio falls below 1, so the result is accurate to about 1e-16 relative.
    /// <para>
    /// When a + b &gt; c the terms of the series first grow, for about z(a + b − c)/(1 − z) terms — millions when a or b is
    /// large (a customer with many transactions) and z is near 1. Then, if c − a and c − b are positive, Euler's
    /// transformation ₂F₁(a, b; c; z) = (1 − z)^(c−a−b) ₂F₁(c − a, c − b; c; z) is summed instead: its terms are positive too
    /// and shrink from the start (Pareto/NBD's c = a + 1 always qualifies). Close to z = 1 either series needs about
    /// 40/(1 − z) terms; beyond two million terms the function stops with a typed error instead of returning an inaccurate
    /// value.
    /// </para>
    /// </summary>
    /// <param name="a">The first parameter.</param>
    /// <param name="b">The second parameter.</param>
    /// <param name="c">The third parameter, positive.</param>
    /// <param name="z">The argument, in [0, 1).</param>
    /// <returns>The value's logarithm and the derivatives of the logarithm in a, b and c.</returns>
    /// <exception cref="ClvModelException">The series did not converge (z too close to 1).</exception>
    public static (double Log, double DLogA, double DLogB, double DLogC) LogHypergeometric2F1(double a, double b, double c, double z)
    {
        if (z < 0 || z >= 1 || c <= 0)
        {
            throw new ClvModelException($"₂F₁ is evaluated here only for 0 ≤ z < 1 and c > 0 (got a={a}, b={b}, c={c}, z={z}).");
        }

        if (PreferEuler(a, b, c))
        {
            // ln F = (c − a − b) ln(1 − z) + ln G(c − a, c − b; c; z); the chain rule gives F's partial derivatives.
            var log1mz = Math.Log(1 - z);
            var g = LogSeries(c - a, c - b, c, z);
            return ((c - a - b) * log1mz + g.Log, -log1mz - g.DLogA, -log1mz - g.DLogB, log1mz + g.DLogA + g.DLogB + g.DLogC);
        }

        return LogSeries(a, b, c, z);
    }

    /// <summary>
    /// ln ₂F₁(a, b; c; z) alone, without the derivatives: the same series (and Euler's transformation where
    /// <see cref="LogHypergeometric2F1"/> uses it), at a third of the cost, for the predictions.
    /// </summary>
    internal static double LogHypergeometric2F1Value(double a, double b, double c, double z)
    {
        if (z < 0 || z >= 1 || c <= 0)
        {
            throw new ClvModelException($"₂F₁ is evaluated here only for 0 ≤ z < 1 and c > 0 (got a={a}, b={b}, c={c}, z={z}).");
        }

        return PreferEuler(a, b, c) ? ((c - a - b) * Math.Log(1 - z)) + LogSeriesValue(c - a, c - b, c, z) : LogSeriesValue(a, b, c, z);
    }

    private static double LogSeriesValue(double a, double b, double c, double z)
    {
        // t_{k+1} = t_k · (a+k)(b+k)/((c+k)(k+1)) · z; the multiplier of the next term is also the ratio the tail bound needs.
        double sum = 1, term = 1, scale = 0;
        var multiplier = a * b / c * z;
        if (CannotConverge(a, b, c, z))
        {
            throw new ClvModelException($"₂F₁({a}, {b}; {c}; {z}) would not converge in {MaxSeriesTerms} terms.");
        }

        const int MaxTerms = MaxSeriesTerms;
        for (var k = 0; k < MaxTerms; k++)
        {
            term *= multiplier;
            sum += term;
            if (sum > 1e250)
            {
                var s = Math.Log(sum);
                scale += s;
                var f = Math.Exp(-s);
                sum *= f;
                term *= f;
            }

            multiplier = (a + k + 1) * (b + k + 1) / ((c + k + 1) * (k + 2)) * z;
            var ratio = Math.Max(multiplier, z);
            if (ratio < 1 && term * ratio <= 1e-17 * sum * (1 - ratio))
            {
                return scale + Math.Log(sum);
            }
        }

        throw new ClvModelException($"₂F₁({a}, {b}; {c}; {z}) did not converge in {MaxTerms} terms.");
    }

    /// <summary>
    /// Roughly how many terms <see cref="LogHypergeometric2F1"/> sums for ₂F₁(a, b; c; z): about 40/(1 − z) once the terms
    /// shrink, plus z(a + b − c)/(1 − z) while they still grow (when Euler's transformation does not apply).
    /// </summary>
    internal static double SeriesTerms(double a, double b, double c, double z)
    {
        var tail = 40 / Math.Max(1 - z, 1e-300);
        return PreferEuler(a, b, c) || a + b <= c ? tail : tail + (z * (a + b - c) / Math.Max(1 - z, 1e-300));
    }

    /// <summary>The most terms a hypergeometric series is summed to.</summary>
    internal const int MaxSeriesTerms = 2_000_000;

    /// <summary>
    /// Whether the series of ₂F₁(a, b; c; z) (a, b, c &gt; 0, a + b &lt; c) certainly cannot meet its stopping rule within
    /// <see cref="MaxSeriesTerms"/> terms, told in constant time instead of after summing them all: past its largest term the
    /// series stops at the first term t_k with t_k·ρ/(1 − ρ) ≤ 10⁻¹⁷·Σ, where ρ ≥ z and the terms shrink, so if even the last
    /// term t_M (exactly, from log-gamma functions) fails that test against the largest possible sum — Gauss's value
    /// ₂F₁(a, b; c; 1) = Γ(c)Γ(c − a − b)/(Γ(c − a)Γ(c − b)), the terms being positive — no earlier term passes it. Only
    /// checked when z is so close to 1 that the geometric factor alone would need a sizeable part of the terms.
    /// </summary>
    internal static bool CannotConverge(double a, double b, double c, double z)
    {
        if ((1 - z) * MaxSeriesTerms > 50 || !(a > 0) || !(b > 0) || !(c > a + b))
        {
            return false;
        }

        const double M = MaxSeriesTerms;
        var logLast = LogGamma(a + M) - LogGamma(a) + LogGamma(b + M) - LogGamma(b) - LogGamma(c + M) + LogGamma(c) - LogGamma(M + 1) + (M * Math.Log(z));
        var logBound = LogGamma(c) + LogGamma(c - a - b) - LogGamma(c - a) - LogGamma(c - b);
        return logLast + Math.Log(z) - Math.Log(1 - z) > Math.Log(1e-17) + logBound;
    }

    /// <summary>Whether Euler's transformation of ₂F₁(a, b; c; z) is the better series: the direct one's terms grow first and the transformed one's are all positive.</summary>
    internal static bool PreferEuler(double a, double b, double c) => a + b > c && c - a > 0 && c - b > 0;

    private static (double Log, double DLogA, double DLogB, double DLogC) LogSeries(double a, double b, double c, double z)
    {
        // Terms t_k = Π_{j<k} (a+j)(b+j) / ((c+j)(1+j)) z^k, accumulated in a scaled form to avoid overflow;
        // the derivative of t_k in a is t_k Σ_{j<k} 1/(a+j), and likewise in b and c (with a minus sign).
        double sum = 1, sumA = 0, sumB = 0, sumC = 0;
        double term = 1, ha = 0, hb = 0, hc = 0;
        double scale = 0;
        if (CannotConverge(a, b, c, z))
        {
            throw new ClvModelException($"₂F₁({a}, {b}; {c}; {z}) would not converge in {MaxSeriesTerms} terms.");
        }

        const int MaxTerms = MaxSeriesTerms;
        for (var k = 0; k < MaxTerms; k++)
        {
            ha += 1 / (a + k);
            hb += 1 / (b + k);
            hc += 1 / (c + k);
            term *= (a + k) * (b + k) / ((c + k) * (k + 1)) * z;
            sum += term;
            sumA += term * ha;
            sumB += term * hb;
            sumC += term * hc;
            if (sum > 1e250)
            {
                var s = Math.Log(sum);
                scale += s;
                var f = Math.Exp(-s);
                sum *= f;
                sumA *= f;
                sumB *= f;
                sumC *= f;
                term *= f;
            }

            // The term ratio tends to z; once it is below 1 the tail is at most term·ρ/(1 − ρ) with ρ = max(ratio, z).
            var ratio = Math.Max((a + k + 1) * (b + k + 1) / ((c + k + 1) * (k + 2)) * z, z);
            if (ratio < 1 && term * ratio / (1 - ratio) <= 1e-17 * sum)
            {
                return (scale + Math.Log(sum), sumA / sum, sumB / sum, -sumC / sum);
            }
        }

        throw new ClvModelException($"₂F₁({a}, {b}; {c}; {z}) did not converge in {MaxTerms} terms.");
    }
}

/// <summary>Thrown when a lifetime-value model cannot be fitted or evaluated: degenerate data, or parameters outside the model's range. The message says why.</summary>
public sealed class ClvModelException : InvalidOperationException
{
    /// <summary>Creates the exception.</summary>
    /// <param name="message">Why.</param>
    public ClvModelException(string message)
        : base(message)
    {
    }
}
