using Engagement.Sdk.Value.Clv;

namespace Engagement.Sdk.Tests.Value.Clv;

/// <summary>The quadratures and distribution functions under the new predictions, against closed forms.</summary>
public sealed class NumericsTests
{
    [Theory]
    [InlineData(0.3, 0.05)]
    [InlineData(0.6, 0.08)]
    [InlineData(0.6, 1e-6)]
    [InlineData(0.9, 3)]
    [InlineData(0.99, 0.02)]
    [InlineData(0.1, 250)]
    public void LaplaceOfPower_SBelowOne_MatchesTheIncompleteGammaClosedForm(double s, double z)
    {
        // h(s, z) = z^(s−1) e^z Γ(1−s, z) = z^(s−1) e^z Γ(1−s) Q(1−s, z) for 0 < s < 1.
        var expected = ((s - 1) * Math.Log(z)) + z + SpecialFunctions.LogGamma(1 - s) + Math.Log(Distributions.GammaQ(1 - s, z));

        ClvQuadrature.LogLaplaceOfPower(s, z).Should().BeApproximately(expected, 1e-11);
    }

    [Theory]
    [InlineData(1.5, 0.08)]
    [InlineData(2.5, 0.001)]
    [InlineData(1.5, 40)]
    public void LaplaceOfPower_SAboveOne_MatchesTheRecurrence(double s, double z)
    {
        // Γ(a, z) = (Γ(a + 1, z) − z^a e^(−z))/a carries Γ(1 − s, z) down from a positive first argument.
        var a = 1 - s;
        var top = a + Math.Ceiling(-a);
        var upper = Math.Exp(SpecialFunctions.LogGamma(top)) * Distributions.GammaQ(top, z);
        for (var k = top - 1; k >= a - 1e-12; k--)
        {
            upper = (upper - Math.Exp((k * Math.Log(z)) - z)) / k;
        }

        var expected = Math.Pow(z, s - 1) * Math.Exp(z) * upper;

        Math.Exp(ClvQuadrature.LogLaplaceOfPower(s, z)).Should().BeApproximately(expected, Math.Abs(expected) * 1e-10);
    }

    [Theory]
    [InlineData(1, 1e-5)]
    [InlineData(2, 1e-3)]
    [InlineData(7.5, 0.2)]
    public void LaplaceOfPower_NearZeroAndLarge_HasTheLimits(double s, double z)
    {
        // E[1/(z + G)] → E[1/G] = 1/(s − 1) as z → 0 (s > 1); ~ 1/z (1 − s/z + s(s+1)/z²) for large z.
        if (s > 1)
        {
            Math.Exp(ClvQuadrature.LogLaplaceOfPower(s, 1e-12)).Should().BeApproximately(1 / (s - 1), 1e-8);
        }

        var large = 1e5;
        Math.Exp(ClvQuadrature.LogLaplaceOfPower(s, large)).Should().BeApproximately((1 - (s / large) + (s * (s + 1) / (large * large)) - (s * (s + 1) * (s + 2) / (large * large * large))) / large, 1e-19);
        double.IsFinite(ClvQuadrature.LogLaplaceOfPower(s, z)).Should().BeTrue();
    }

    [Theory]
    [InlineData(0.79, 2.43, 0.5)]
    [InlineData(0.79, 2.43, 1e8)]
    [InlineData(0.05, 3, 1e6)]
    [InlineData(0.3, 0.2, 50)]
    [InlineData(150, 80, 3)]
    [InlineData(1.2, 5000, 1e4)]
    [InlineData(2, 1e4, 1e5)]
    public void BetaExpectation_OfAPowerWithAClosedForm_IsExact(double a, double b, double u)
    {
        // E[(1 + p u)^−(a+b)] = ₂F₁(a + b, a; a + b; −u) = (1 + u)^−a: a sharp step at p ~ 1/u.
        var value = ClvQuadrature.BetaExpectation(a, b, p => -(a + b) * Math.Log(1 + (p * u)));

        value.Should().BeApproximately(Math.Pow(1 + u, -a), Math.Pow(1 + u, -a) * 1e-11);
    }

    [Theory]
    [InlineData(0.79, 2.43)]
    [InlineData(0.1, 0.1)]
    [InlineData(40, 3)]
    public void BetaExpectation_Moments_MatchTheBetaFunction(double a, double b)
    {
        foreach (var k in new[] { 1.0, 2.5, 7 })
        {
            var expected = Math.Exp(SpecialFunctions.LogBeta(a + k, b) - SpecialFunctions.LogBeta(a, b));
            ClvQuadrature.BetaExpectation(a, b, p => k * Math.Log(p)).Should().BeApproximately(expected, expected * 1e-11);
            var complement = Math.Exp(SpecialFunctions.LogBeta(a, b + k) - SpecialFunctions.LogBeta(a, b));
            ClvQuadrature.BetaExpectation(a, b, p => k * Math.Log(1 - p)).Should().BeApproximately(complement, complement * 1e-9);
        }
    }

    [Theory]
    [InlineData(1, 0.7)]
    [InlineData(3, 2.2)]
    [InlineData(0.5, 1.3)]
    [InlineData(12, 30)]
    public void GammaP_KnownValues(double a, double x)
    {
        double expected;
        if (a == 0.5)
        {
            // P(1/2, x) = erf(√x); check the complement against the series of erfc at this x.
            expected = 1 - Erfc(Math.Sqrt(x));
        }
        else
        {
            // Integer a: Q(a, x) = e^(−x) Σ_{k<a} x^k / k!.
            var q = 0.0;
            var term = 1.0;
            for (var k = 0; k < a; k++)
            {
                q += term;
                term *= x / (k + 1);
            }

            expected = 1 - (Math.Exp(-x) * q);
        }

        Distributions.GammaP(a, x).Should().BeApproximately(expected, 1e-14);
        Distributions.GammaQ(a, x).Should().BeApproximately(1 - expected, 1e-14);
        Distributions.GammaQuantile(a, expected).Should().BeApproximately(x, x * 1e-12);
    }

    [Fact]
    public void Quantiles_KnownValues()
    {
        Distributions.NormalQuantile(0.975).Should().BeApproximately(1.959963984540054, 1e-14);
        Distributions.NormalQuantile(1e-10).Should().BeApproximately(-6.361340902404056, 1e-12);
        Distributions.ChiSquareSurvival(3.841458820694124, 1).Should().BeApproximately(0.05, 1e-14);
        Distributions.ChiSquareSurvival(5.991464547107979, 2).Should().BeApproximately(0.05, 1e-14);
        foreach (var a in new[] { 0.05, 0.6, 3.7, 250 })
        {
            foreach (var p in new[] { 1e-8, 0.025, 0.5, 0.975, 1 - 1e-9 })
            {
                Distributions.GammaP(a, Distributions.GammaQuantile(a, p)).Should().BeApproximately(p, p * 1e-10, $"a = {a}, p = {p}");
            }
        }
    }

    [Fact]
    public void SymmetricEigen_ReconstructsTheMatrix()
    {
        double[,] m = { { 4, 1, 0.5 }, { 1, 3, -0.2 }, { 0.5, -0.2, 1e-9 } };
        var (values, vectors) = MaximumLikelihood.SymmetricEigen(m);
        for (var i = 0; i < 3; i++)
        {
            for (var j = 0; j < 3; j++)
            {
                var sum = 0.0;
                for (var k = 0; k < 3; k++)
                {
                    sum += vectors[i, k] * values[k] * vectors[j, k];
                }

                sum.Should().BeApproximately(m[i, j], 1e-12);
            }
        }
    }

    /// <summary>erfc by its continued fraction (x ≥ 0.5) or series (small x), independent of the incomplete gamma code.</summary>
    private static double Erfc(double x)
    {
        if (x < 2)
        {
            var sum = 0.0;
            var term = x;
            for (var n = 0; n < 200; n++)
            {
                sum += term / ((2 * n) + 1);
                term *= -x * x / (n + 1);
            }

            return 1 - (2 / Math.Sqrt(Math.PI) * sum);
        }

        var f = 0.0;
        for (var k = 200; k >= 1; k--)
        {
            f = k / 2.0 / (x + f);
        }

        return Math.Exp(-x * x) / Math.Sqrt(Math.PI) / (x + f);
    }
}
