using Engagement.Sdk.Value.Clv;

namespace Engagement.Sdk.Tests.Value.Clv;

/// <summary>
/// E[(1 − (1 + p y)^(−k))/p] for p ~ Beta(a, q), the expected transactions of the BG/NBD family, near a = 1 where its closed
/// form is 0/0: the series with the 0/0 divided out against a direct quadrature over p and, just outside the window where it
/// is used, against the closed form.
/// </summary>
public sealed class BgNbdGrowthTests
{
    private static readonly double[] Offsets = [0, 1e-12, -1e-9, 3e-7, -2e-5, 1e-4, -5e-4, 9.99e-4, -9.99e-4];

    // (q, k, y): light and heavy buyers, short and long horizons, q and k below 1, and a tiny horizon.
    private static readonly (double Q, double K, double Y)[] All =
    [
        (2.46, 0.47, 0.5),
        (3.46, 1.47, 2.1),
        (20.5, 19.5, 0.05),
        (120, 121, 1.3),
        (0.3, 0.2, 4),
        (0.05, 0.01, 0.8),
        (8, 40, 9),
        (2.46, 0.47, 1e-7),
    ];

    /// <summary>(q, k, y): light and heavy buyers, short and long horizons, q and k below 1.</summary>
    public static TheoryData<double, double, double> Cases => Data(All);

    /// <summary>The cases without the tiny horizon, where the closed form's bracket cancels too (that one is left to the quadrature).</summary>
    public static TheoryData<double, double, double> ClosedFormCases => Data(All.Where(c => c.Y > 1e-6));

    [Theory]
    [MemberData(nameof(Cases))]
    public void GrowthNearOne_WithinAThousandthOfOne_MatchesTheQuadratureTo1e10(double q, double k, double y)
    {
        foreach (var offset in Offsets)
        {
            var a = 1 + offset;
            var quadrature = ClvQuadrature.BetaExpectation(a, q, p => Math.Log(-SpecialFunctions.ExpMinusOne(-k * ClvQuadrature.LogOnePlus(p * y))) - Math.Log(p));

            var series = BgNbdModel.GrowthNearOne(a, q, k, y);

            series.Should().BeApproximately(quadrature, 1e-10 * quadrature, $"a = 1 + {offset}");
            BgNbdModel.Growth(a, q, k, y).Should().Be(series, "the model uses the series in this window");
        }
    }

    [Theory]
    [MemberData(nameof(ClosedFormCases))]
    public void GrowthNearOne_OutsideItsWindow_AgreesWithTheClosedForm(double q, double k, double y)
    {
        // The closed form c/(a − 1)·[…] loses about log₁₀(1/|a − 1|) digits, so it is compared a little away from 1 (where the
        // series applies, a + q > 1).
        foreach (var a in new[] { 1.002, 0.997, 1.02, 0.9, 1.5, 0.4 }.Where(a => a + q > 1))
        {
            var closed = BgNbdModel.Growth(a, q, k, y);

            BgNbdModel.GrowthNearOne(a, q, k, y).Should().BeApproximately(closed, 1e-10 * closed, $"a = {a}");
        }
    }

    [Fact]
    public void ConditionalExpectedTransactions_AcrossAEqualsOne_IsContinuous()
    {
        // MBG/NBD with a either side of 1 and on it: E[Y(t) | x, tₓ, T] changes smoothly with a (no jump at the window's edges).
        double Expected(double a) => BgNbdModel.FromParameters(0.47, 42.4, a, 2.46, modified: true).ConditionalExpectedTransactions(90, 4, 300, 500);
        var values = new[] { 0.998, 0.999 - 1e-12, 0.999 + 1e-12, 1, 1.001 - 1e-12, 1.001 + 1e-12, 1.002 }.Select(Expected).ToArray();

        for (var i = 1; i < values.Length; i++)
        {
            Math.Abs(values[i] - values[i - 1]).Should().BeLessThan(1e-3 * values[0], "a moves by at most 10⁻³");
        }

        values[2].Should().BeApproximately(values[1], 1e-10 * values[1]);
        values[5].Should().BeApproximately(values[4], 1e-10 * values[4]);
    }

    private static TheoryData<double, double, double> Data(IEnumerable<(double Q, double K, double Y)> cases)
    {
        var data = new TheoryData<double, double, double>();
        foreach (var (q, k, y) in cases)
        {
            data.Add(q, k, y);
        }

        return data;
    }
}
