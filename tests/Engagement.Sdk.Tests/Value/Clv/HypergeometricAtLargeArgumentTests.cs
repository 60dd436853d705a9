using Engagement.Sdk.Value.Clv;

namespace Engagement.Sdk.Tests.Value.Clv;

/// <summary>₂F₁(m, a; c; −u) for large u by the connection formula in 1/u, against 40-digit values (mpmath's hyp2f1).</summary>
public sealed class HypergeometricAtLargeArgumentTests
{
    [Theory]
    [InlineData(1.35, 0.8, 2.6, 4.0, 0.51769993745618624397)]
    [InlineData(1.35, 0.8, 2.6, 1000.0, 0.014298595499089217657)]
    [InlineData(11.35, 0.8, 12.6, 50.0, 0.04951181128824663455)]
    [InlineData(3.2, 4.5, 1.7, 300.0, 7.3632006732788514578e-8)]
    [InlineData(41.243, 0.793, 44.75, 8000.0, 0.00087031941755279585016)]
    [InlineData(1.6, 0.2, 0.5, 20.0, 0.4035355094914473403)]
    public void Value_MatchesAFortyDigitReference(double m, double a, double q, double u, double expected)
    {
        var large = HypergeometricAtLargeArgument.Create(m, a, a + q);

        large.TryValue(u, out var value).Should().BeTrue();
        value.Should().BeApproximately(expected, expected * 1e-13);
    }

    [Fact]
    public void Value_AgreesWithTheSeriesInUOverOnePlusU_OverRandomBgNbdParameters()
    {
        // Where both converge (4 ≤ u ≤ 100), the connection formula and Pfaff's series in u/(1 + u) must agree: 3,000 seeded
        // BG/NBD-family parameter sets (r, a, b from e^(−3) to e^2.5, x up to 60) and nodes.
        var random = new Random(5);
        var (used, worst) = (0, 0.0);
        for (var i = 0; i < 3_000; i++)
        {
            double r = Math.Exp((random.NextDouble() * 5) - 3), a = Math.Exp((random.NextDouble() * 5) - 2.5), b = Math.Exp((random.NextDouble() * 5) - 2.5);
            var x = random.Next(0, 61);
            var (m, q) = (r + x + 1, b + x + random.Next(2));
            var u = Math.Exp(Math.Log(4) + (random.NextDouble() * Math.Log(25)));
            if (!HypergeometricAtLargeArgument.Create(m, a, a + q).TryValue(u, out var value))
            {
                continue;
            }

            var z = u / (1 + u);
            var series = Math.Exp((-m * Math.Log(1 + u)) + SpecialFunctions.LogHypergeometric2F1Value(m, q, a + q, z));
            worst = Math.Max(worst, Math.Abs(value - series) / series);
            used++;
        }

        used.Should().BeGreaterThan(2_500, "the formula serves all but the near-whole m − a and cancelling cases");
        worst.Should().BeLessThan(1e-12);
    }

    [Theory]
    [InlineData(2.8, 0.8)]
    [InlineData(2.81, 0.8)]
    [InlineData(1.5, 2.5)]
    public void WholeOrNearlyWholeMMinusA_IsRefused(double m, double a)
    {
        // The gamma factors have poles at whole m − a that cancel between the two parts: the caller must take another way.
        var large = HypergeometricAtLargeArgument.Create(m, a, a + 3.1);

        large.IsUsable.Should().BeFalse();
        large.TryValue(100, out var value).Should().BeFalse();
        double.IsNaN(value).Should().BeTrue();
    }

    [Fact]
    public void BelowItsRange_IsRefused()
    {
        HypergeometricAtLargeArgument.Create(1.35, 0.8, 3.4).TryValue(HypergeometricAtLargeArgument.From / 2, out _).Should().BeFalse();
    }

    [Theory]
    [InlineData(-0.5, 1.2655121234846453965, -1)] // Γ(−1/2) = −2√π
    [InlineData(-1.5, 0.86004701537648109, 1)] // Γ(−3/2) = 4√π/3
    [InlineData(-2.25, 0.55550154502064752, -1)] // Γ(−9/4) ≈ −1.7428
    [InlineData(3.5, 1.2009736023470743, 1)] // Γ(7/2) = 15√π/8
    public void SignedLogGamma_GivesTheLogOfTheMagnitudeAndTheSign(double y, double log, int sign)
    {
        var (value, s) = HypergeometricAtLargeArgument.SignedLogGamma(y);

        value.Should().BeApproximately(log, 1e-13);
        s.Should().Be(sign);
    }

    [Fact]
    public void SignedLogGamma_AtAPole_IsInfiniteWithNoSign()
    {
        HypergeometricAtLargeArgument.SignedLogGamma(-3).Should().Be((double.PositiveInfinity, 0));
        HypergeometricAtLargeArgument.SignedLogGamma(0).Should().Be((double.PositiveInfinity, 0));
    }
}
