namespace Engagement.Sdk.Value.Clv;

/// <summary>
/// Integrals the closed forms cannot give cheaply, by the trapezoid rule on the whole real line after a change of variable
/// that makes the integrand smooth and its tails decay exponentially: for such (analytic) integrands the trapezoid rule
/// converges geometrically in 1/h, so halving h until two estimates agree to 10⁻¹³ gives them to about that accuracy.
/// Everything is summed in logarithms (the largest term factored out), so nothing overflows.
/// </summary>
internal static class ClvQuadrature
{
    private const double RelativeTolerance = 1e-13;

    /// <summary>
    /// ln ∫ exp(logIntegrand(τ)) dτ over ℝ: terms are added outwards from <paramref name="centre"/> until they fall below
    /// e⁻⁴⁵ of the largest, and h is halved from <paramref name="initialStep"/> until the estimate settles.
    /// </summary>
    public static double LogIntegral(Func<double, double> logIntegrand, double centre, double initialStep = 0.5)
    {
        // Level 0: the nodes centre + k h outwards until negligible. Each further level adds the midpoints of the previous
        // nodes, so every evaluation is used once; the sum is kept scaled by the largest term seen.
        var h = initialStep;
        var nodes = new List<double>(256);
        var max = double.NegativeInfinity;
        var lowest = 0;
        foreach (var direction in new[] { 1, -1 })
        {
            var small = 0;
            for (var k = direction == 1 ? 0 : 1; k < 100_000; k++)
            {
                var value = Evaluate(logIntegrand, centre + (direction * k * h));
                nodes.Add(value);
                max = Math.Max(max, value);
                if (direction == -1)
                {
                    lowest = -k;
                }

                small = value < max - 45 ? small + 1 : 0;
                if (small >= 4 && k > 4)
                {
                    break;
                }
            }
        }

        if (double.IsNegativeInfinity(max))
        {
            return max;
        }

        var scale = max;
        var sum = 0.0;
        foreach (var t in nodes)
        {
            sum += Math.Exp(t - scale);
        }

        var start = centre + (lowest * h);
        var count = nodes.Count;
        var previous = scale + Math.Log(sum * h);
        var previousChange = double.PositiveInfinity;
        for (var level = 1; level < 12; level++)
        {
            // The midpoints of the current grid start + j h, j = 0 … count − 2.
            var added = 0.0;
            for (var j = 0; j < count - 1; j++)
            {
                var value = Evaluate(logIntegrand, start + ((j + 0.5) * h));
                if (value > scale + 600)
                {
                    // Rescale so that nothing overflows.
                    sum *= Math.Exp(scale - value);
                    added *= Math.Exp(scale - value);
                    scale = value;
                }

                added += Math.Exp(value - scale);
            }

            sum += added;
            count = (2 * count) - 1;
            h /= 2;
            var current = scale + Math.Log(sum * h);
            var change = Math.Abs(-SpecialFunctions.ExpMinusOne(previous - current));
            if (change <= RelativeTolerance)
            {
                return current;
            }

            // Once the rule has converged, halving h only reshuffles the rounding errors of the integrand: the changes stop
            // shrinking geometrically, and further levels would cost time for nothing.
            if (level >= 3 && change > previousChange / 4)
            {
                return current;
            }

            previousChange = change;
            previous = current;
        }

        return previous;
    }

    private static double Evaluate(Func<double, double> logIntegrand, double tau)
    {
        var value = logIntegrand(tau);
        return double.IsNaN(value) ? double.NegativeInfinity : value;
    }

    /// <summary>
    /// E[g(p)] for p ~ Beta(a, b), g ≥ 0, given as ln g. The variable is w = ln(p/(1 − p)) around the mode of the density,
    /// scaled to its width and stretched in a tail that would otherwise decay slowly (a or b below 1), so that both tails
    /// decay at rate about 1 and the body is a few units wide.
    /// </summary>
    public static double BetaExpectation(double a, double b, Func<double, double> logG) => BetaExpectation(a, b, (p, _) => logG(p));

    /// <summary>E[g(p)] for p ~ Beta(a, b), with ln g given p and 1 − p (each accurate, also near 1).</summary>
    public static double BetaExpectation(double a, double b, Func<double, double, double> logG)
    {
        var w0 = Math.Log(a / b);
        var sigma = Math.Min(1, Math.Sqrt((1 / a) + (1 / b)));
        var stretchLeft = Math.Max(0, (1 / (a * sigma)) - 1);
        var stretchRight = Math.Max(0, (1 / (b * sigma)) - 1);
        var logBeta = SpecialFunctions.LogBeta(a, b);
        double LogIntegrand(double tau)
        {
            var w = w0 + (sigma * (tau - (stretchLeft * Softplus(-tau)) + (stretchRight * Softplus(tau))));
            var jacobian = sigma * (1 + (stretchLeft * Logistic(-tau)) + (stretchRight * Logistic(tau)));
            return (a * w) - ((a + b) * Softplus(w)) - logBeta + Math.Log(jacobian) + logG(Logistic(w), Logistic(-w));
        }

        return Math.Exp(LogIntegral(LogIntegrand, 0));
    }

    /// <summary>
    /// ln h(s, z) with h(s, z) = ∫₀^∞ e^(−zy) (1 + y)^(−s) dy = E[1/(z + G)] for G ~ Gamma(s, 1) = z^(s−1) U(s, s; z), the
    /// confluent hypergeometric function of the second kind; for s, z &gt; 0. Integrated over v = ln y.
    /// </summary>
    public static double LogLaplaceOfPower(double s, double z)
    {
        double LogIntegrand(double v) => v - (z * Math.Exp(v)) - (s * Softplus(v));
        return LogIntegral(LogIntegrand, -Math.Log(z + s + 1), 0.25);
    }

    /// <summary>ln(1 + eˣ), without overflow or loss for large |x|.</summary>
    public static double Softplus(double x) => x > 0 ? x + LogOnePlus(Math.Exp(-x)) : LogOnePlus(Math.Exp(x));

    /// <summary>1/(1 + e⁻ˣ).</summary>
    public static double Logistic(double x) => x >= 0 ? 1 / (1 + Math.Exp(-x)) : Math.Exp(x) / (1 + Math.Exp(x));

    /// <summary>ln(1 + u), accurate for small u.</summary>
    public static double LogOnePlus(double u)
    {
        var v = 1 + u;
        return v == 1 ? u : Math.Log(v) * u / (v - 1);
    }
}
