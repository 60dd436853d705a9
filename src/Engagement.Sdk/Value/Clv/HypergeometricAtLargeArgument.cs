namespace Engagement.Sdk.Value.Clv;

/// <summary>
/// ₂F₁(m, a; c; −u) for large u, by the connection formula to 1/z (Abramowitz and Stegun 15.3.7):
/// ₂F₁(m, a; c; −u) = Γ(c)Γ(a − m)/(Γ(a)Γ(c − m)) u^(−m) ₂F₁(m, 1 − c + m; 1 − a + m; −1/u)
///                  + Γ(c)Γ(m − a)/(Γ(m)Γ(c − a)) u^(−a) ₂F₁(a, 1 − c + a; 1 − m + a; −1/u).
/// Both series are in −1/u, so a few dozen terms reach double precision for u ≥ 4, where the series in u/(1 + u) needs
/// about 40(1 + u) terms and grows without bound. The formula breaks down when m − a is a whole number (the gamma factors
/// have poles that cancel between the two parts); near one the parts cancel. Every value is therefore checked: it is given
/// only when the series met their stopping rule and the two parts, with all their terms' magnitudes, add up to no more than
/// 100 times the result (at most two digits lost to cancellation); otherwise the caller computes it another way.
/// Built once per (m, a, c), then evaluated per u.
/// </summary>
internal readonly struct HypergeometricAtLargeArgument
{
    /// <summary>The smallest u it is meant for: the series in −1/u then converge at least as fast as 4⁻ᵏ.</summary>
    public const double From = 4;

    private const double MostCancellation = 10;

    // How far m − a must be from a whole number: both parts carry a relative error of about 10⁻¹⁶ over this distance.
    private const double NearestWhole = 0.02;
    private const int MaxTerms = 400;

    private readonly double _m;
    private readonly double _a;
    private readonly double _c;
    private readonly double _logFirst;
    private readonly double _logSecond;
    private readonly int _signFirst;
    private readonly int _signSecond;

    private HypergeometricAtLargeArgument(double m, double a, double c)
    {
        _m = m;
        _a = a;
        _c = c;
        var (logC, signC) = SignedLogGamma(c);
        var (logAm, signAm) = SignedLogGamma(a - m);
        var (logA, signA) = SignedLogGamma(a);
        var (logCm, signCm) = SignedLogGamma(c - m);
        var (logMa, signMa) = SignedLogGamma(m - a);
        var (logM, signM) = SignedLogGamma(m);
        var (logCa, signCa) = SignedLogGamma(c - a);
        _logFirst = logC + logAm - logA - logCm;
        _signFirst = signC * signAm * signA * signCm;
        _logSecond = logC + logMa - logM - logCa;
        _signSecond = signC * signMa * signM * signCa;
    }

    /// <summary>Whether the formula can serve these parameters at all (finite gamma factors).</summary>
    public bool IsUsable => double.IsFinite(_logFirst) && double.IsFinite(_logSecond) && _signFirst != 0 && _signSecond != 0
        && Math.Abs(_m - _a - Math.Round(_m - _a)) >= NearestWhole;

    /// <summary>Prepares the gamma factors of ₂F₁(m, a; c; −·).</summary>
    public static HypergeometricAtLargeArgument Create(double m, double a, double c) => new(m, a, c);

    /// <summary>₂F₁(m, a; c; −u) for u ≥ <see cref="From"/>, or false when it cannot be given to about 10⁻¹⁴ this way.</summary>
    public bool TryValue(double u, out double value)
    {
        value = double.NaN;
        if (!IsUsable || !(u >= From))
        {
            return false;
        }

        var w = -1 / u;
        var (first, firstMagnitude) = Series(_m, 1 - _c + _m, 1 - _a + _m, w);
        var (second, secondMagnitude) = Series(_a, 1 - _c + _a, 1 - _m + _a, w);
        if (double.IsNaN(first) || double.IsNaN(second))
        {
            return false;
        }

        var logU = Math.Log(u);
        var scaleFirst = Math.Exp(_logFirst - (_m * logU));
        var scaleSecond = Math.Exp(_logSecond - (_a * logU));
        var result = (_signFirst * scaleFirst * first) + (_signSecond * scaleSecond * second);
        var magnitude = (scaleFirst * firstMagnitude) + (scaleSecond * secondMagnitude);
        if (!(result > 0) || !double.IsFinite(magnitude) || magnitude > MostCancellation * result)
        {
            return false;
        }

        value = result;
        return true;
    }

    /// <summary>
    /// ₂F₁(a, b; c; w) for |w| ≤ 1/4 by its power series, and the sum of its terms' magnitudes; NaN when the terms do not
    /// settle below 10⁻¹⁷ of the sum with a ratio under 3/4 within <see cref="MaxTerms"/> terms (or a term is not finite).
    /// </summary>
    private static (double Sum, double Magnitude) Series(double a, double b, double c, double w)
    {
        double sum = 1, magnitude = 1, term = 1;
        for (var k = 0; k < MaxTerms; k++)
        {
            term *= (a + k) * (b + k) / ((c + k) * (k + 1)) * w;
            if (!double.IsFinite(term))
            {
                return (double.NaN, double.NaN);
            }

            sum += term;
            magnitude += Math.Abs(term);
            if (term == 0)
            {
                // b is a whole number ≤ 0: the series is a polynomial and has ended.
                return (sum, magnitude);
            }

            var ratio = Math.Abs((a + k + 1) * (b + k + 1) / ((c + k + 1) * (k + 2)) * w);
            if (ratio < 0.75 && Math.Abs(term) * ratio <= 1e-17 * (1 - ratio) * Math.Abs(sum))
            {
                return (sum, magnitude);
            }
        }

        return (double.NaN, double.NaN);
    }

    /// <summary>ln |Γ(y)| and the sign of Γ(y), for any real y that is not 0 or a negative whole number (there the log is +∞ and the sign 0).</summary>
    internal static (double Log, int Sign) SignedLogGamma(double y)
    {
        if (y > 0)
        {
            return (SpecialFunctions.LogGamma(y), 1);
        }

        // Reflection: Γ(y) = π / (sin(πy) Γ(1 − y)), with Γ(1 − y) > 0.
        var sine = double.SinPi(y);
        return sine == 0 || y == Math.Floor(y)
            ? (double.PositiveInfinity, 0)
            : (Math.Log(Math.PI / Math.Abs(sine)) - SpecialFunctions.LogGamma(1 - y), Math.Sign(sine));
    }
}
