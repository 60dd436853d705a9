namespace Engagement.Sdk.Value.Clv;

/// <summary>
/// A number with its exact derivatives in four variables (forward-mode automatic differentiation), used where a likelihood
/// is too involved to differentiate by hand. Derivatives are exact to rounding, not finite differences.
/// </summary>
internal readonly struct Dual
{
    public readonly double V;
    public readonly double D0;
    public readonly double D1;
    public readonly double D2;
    public readonly double D3;

    public Dual(double v, double d0 = 0, double d1 = 0, double d2 = 0, double d3 = 0)
    {
        V = v;
        D0 = d0;
        D1 = d1;
        D2 = d2;
        D3 = d3;
    }

    public static Dual Variable(double value, int index) => index switch
    {
        0 => new Dual(value, 1),
        1 => new Dual(value, 0, 1),
        2 => new Dual(value, 0, 0, 1),
        _ => new Dual(value, 0, 0, 0, 1),
    };

    public static implicit operator Dual(double value) => new(value);

    public static Dual operator +(Dual a, Dual b) => new(a.V + b.V, a.D0 + b.D0, a.D1 + b.D1, a.D2 + b.D2, a.D3 + b.D3);

    public static Dual operator -(Dual a, Dual b) => new(a.V - b.V, a.D0 - b.D0, a.D1 - b.D1, a.D2 - b.D2, a.D3 - b.D3);

    public static Dual operator -(Dual a) => new(-a.V, -a.D0, -a.D1, -a.D2, -a.D3);

    public static Dual operator *(Dual a, Dual b)
        => new(a.V * b.V, (a.D0 * b.V) + (a.V * b.D0), (a.D1 * b.V) + (a.V * b.D1), (a.D2 * b.V) + (a.V * b.D2), (a.D3 * b.V) + (a.V * b.D3));

    public static Dual operator *(Dual a, double b) => new(a.V * b, a.D0 * b, a.D1 * b, a.D2 * b, a.D3 * b);

    public static Dual operator /(Dual a, Dual b)
    {
        var inv = 1 / b.V;
        var q = a.V * inv;
        return new(q, (a.D0 - (q * b.D0)) * inv, (a.D1 - (q * b.D1)) * inv, (a.D2 - (q * b.D2)) * inv, (a.D3 - (q * b.D3)) * inv);
    }

    public Dual Scale(double factor) => this * factor;

    public static Dual Log(Dual a)
    {
        var inv = 1 / a.V;
        return new(Math.Log(a.V), a.D0 * inv, a.D1 * inv, a.D2 * inv, a.D3 * inv);
    }

    public static Dual Exp(Dual a)
    {
        var e = Math.Exp(a.V);
        return new(e, a.D0 * e, a.D1 * e, a.D2 * e, a.D3 * e);
    }

    public static Dual LogGamma(Dual a)
    {
        var psi = SpecialFunctions.Digamma(a.V);
        return new(SpecialFunctions.LogGamma(a.V), a.D0 * psi, a.D1 * psi, a.D2 * psi, a.D3 * psi);
    }

    /// <summary>ln(e^u + e^v).</summary>
    public static Dual LogSumExp(Dual u, Dual v)
    {
        if (double.IsNegativeInfinity(v.V))
        {
            return u;
        }

        var max = Math.Max(u.V, v.V);
        var eu = Math.Exp(u.V - max);
        var ev = Math.Exp(v.V - max);
        var s = eu + ev;
        return new(max + Math.Log(s), ((eu * u.D0) + (ev * v.D0)) / s, ((eu * u.D1) + (ev * v.D1)) / s, ((eu * u.D2) + (ev * v.D2)) / s, ((eu * u.D3) + (ev * v.D3)) / s);
    }

    /// <summary>ln(e^u + e^v) given <paramref name="ratio"/> = e^(v − u), finite and at least 0: one logarithm, no exponential.</summary>
    public static Dual LogSumExp(Dual u, Dual v, double ratio)
    {
        var weight = ratio / (1 + ratio);
        return new(
            u.V + Math.Log(1 + ratio),
            u.D0 + (weight * (v.D0 - u.D0)),
            u.D1 + (weight * (v.D1 - u.D1)),
            u.D2 + (weight * (v.D2 - u.D2)),
            u.D3 + (weight * (v.D3 - u.D3)));
    }

    /// <summary>ln(e^u − e^v) for u &gt; v.</summary>
    public static Dual LogDiffExp(Dual u, Dual v)
    {
        var r = Math.Exp(v.V - u.V);
        var d = -SpecialFunctions.ExpMinusOne(v.V - u.V);
        return new(u.V + Math.Log(d), (u.D0 - (r * v.D0)) / d, (u.D1 - (r * v.D1)) / d, (u.D2 - (r * v.D2)) / d, (u.D3 - (r * v.D3)) / d);
    }

    /// <summary>ln ₂F₁(a, b; c; z) for positive a, b, c and 0 ≤ z &lt; 1, by the power series with a bounded tail (or Euler's transformation of it, as <see cref="SpecialFunctions.LogHypergeometric2F1"/> chooses).</summary>
    public static Dual LogHypergeometric2F1(Dual a, Dual b, Dual c, Dual z)
        => SpecialFunctions.PreferEuler(a.V, b.V, c.V)
            ? ((c - a - b) * Log(1 - z)) + LogSeries(c - a, c - b, c, z) // Euler's transformation; see SpecialFunctions
            : LogSeries(a, b, c, z);

    private static Dual LogSeries(Dual a, Dual b, Dual c, Dual z)
    {
        Dual sum = 1;
        Dual term = 1;
        double logScale = 0;
        if (SpecialFunctions.CannotConverge(a.V, b.V, c.V, z.V))
        {
            throw new ClvModelException($"₂F₁({a.V}, {b.V}; {c.V}; {z.V}) would not converge in {SpecialFunctions.MaxSeriesTerms} terms.");
        }

        for (var k = 0; k < SpecialFunctions.MaxSeriesTerms; k++)
        {
            term = term * (a + k) * (b + k) / ((c + k) * (k + 1.0)) * z;
            sum += term;
            if (sum.V > 1e250)
            {
                var s = Math.Log(sum.V);
                logScale += s;
                var f = Math.Exp(-s);
                sum = sum.Scale(f);
                term = term.Scale(f);
            }

            var ratio = Math.Max((a.V + k + 1) * (b.V + k + 1) / ((c.V + k + 1) * (k + 2)) * z.V, z.V);
            if (ratio < 1 && term.V * ratio / (1 - ratio) <= 1e-17 * sum.V)
            {
                return Log(sum) + logScale;
            }
        }

        throw new ClvModelException($"₂F₁({a.V}, {b.V}; {c.V}; {z.V}) did not converge.");
    }
}
