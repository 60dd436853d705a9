using Engagement.Sdk.Value.Clv;

namespace Engagement.Sdk.Tests.Value.Clv;

/// <summary>
/// The Pareto/NBD likelihood's hypergeometric terms by the recurrence in x, and its rows by the per-pair factorisation,
/// against the per-pair series and the nested per-row form they replace.
/// </summary>
public sealed class ParetoNbdTermsTests
{
    /// <summary>(r, α, s, β): α ≫ β (ζ near 1 at small y), α ≈ β, β ≫ α (ζ below −1 at small y), r + s &lt; 1, large s.</summary>
    public static TheoryData<double, double, double, double> Parameters => new()
    {
        { 0.52, 73.75, 0.75, 177.5 },
        { 0.55, 10.58, 0.61, 11.67 },
        { 0.3, 400, 0.4, 0.5 },
        { 0.05, 30, 0.08, 2 },
        { 2.5, 5, 9, 40 },
        { 0.2, 20, 3, 700 },
        { 0.7, 15, 0.2, 15 },
        { 0.01, 0.5, 0.02, 900 },
        { 40, 3, 0.6, 2 },
    };

    [Theory]
    [MemberData(nameof(Parameters))]
    public void Compute_OverAGridOfHistories_MatchesThePerPairSeriesTo1e10(double r0, double alpha0, double s0, double beta0)
    {
        // Every x from 0 to 400 at a few y, sparse x (gaps wider than the recurrence bridges) at others, y from 0 to 5,000.
        var ys = new[] { 0.0, 0.5, 1, 3, 10, 39, 100, 365, 1000, 5000 };
        var pairs = new List<(int X, int Y)>();
        for (var y = 0; y < ys.Length; y++)
        {
            var xs = y % 2 == 0 ? Enumerable.Range(0, 401) : [0, 1, 2, 7, 60, 61, 200, 400];
            pairs.AddRange(xs.Select(x => (x, y)));
        }

        var array = pairs.ToArray();
        var (r, alpha, s, beta) = (Dual.Variable(r0, 0), Dual.Variable(alpha0, 1), Dual.Variable(s0, 2), Dual.Variable(beta0, 3));

        var terms = ParetoNbdTerms.Compute(r, alpha, s, beta, array, ys);

        for (var k = 0; k < array.Length; k++)
        {
            var expected = ParetoNbdTerms.Series(r, alpha, s, beta, array[k].X, ys[array[k].Y]);
            var because = $"x = {array[k].X}, y = {ys[array[k].Y]}";
            terms[k].V.Should().BeApproximately(expected.V, 1e-10 * Math.Max(1, Math.Abs(expected.V)), because);
            terms[k].D0.Should().BeApproximately(expected.D0, 1e-10 * Math.Max(1e-3, Math.Abs(expected.D0)), because);
            terms[k].D1.Should().BeApproximately(expected.D1, 1e-10 * Math.Max(1e-3 / alpha0, Math.Abs(expected.D1)), because);
            terms[k].D2.Should().BeApproximately(expected.D2, 1e-10 * Math.Max(1e-3, Math.Abs(expected.D2)), because);
            terms[k].D3.Should().BeApproximately(expected.D3, 1e-10 * Math.Max(1e-3 / beta0, Math.Abs(expected.D3)), because);
        }
    }

    [Theory]
    [MemberData(nameof(Parameters))]
    public void LogLikelihood_OfSimulatedCustomers_MatchesTheNestedPerRowForm(double r0, double alpha0, double s0, double beta0)
    {
        // Heavy and light buyers, tₓ close to T and far from it, some tₓ = T.
        var data = ParetoNbdModel.FromParameters(0.8, 6, 0.5, 30).Simulate(3_000, 0, 200, seed: 9, roundToWholeUnits: true);
        double[] parameters = [r0, alpha0, s0, beta0];
        var gradient = new double[4];

        var ll = ParetoNbdModel.LogLikelihood(parameters, data, gradient);

        var expected = NestedLogLikelihood(parameters, data);
        ll.Should().BeApproximately(expected.V, 1e-10 * Math.Abs(expected.V));
        double[] expectedGradient = [expected.D0, expected.D1, expected.D2, expected.D3];
        var scale = expectedGradient.Select((g, i) => Math.Abs(g) * parameters[i]).Max();
        for (var i = 0; i < 4; i++)
        {
            // Compared in the fitted scale (θ ∂/∂θ), where the gradient components are of one size.
            (gradient[i] * parameters[i]).Should().BeApproximately(expectedGradient[i] * parameters[i], 1e-10 * Math.Max(1, scale), $"parameter {i}");
        }
    }

    /// <summary>Σ weight · ln L per row with each row's two series terms and the nested log-sum/log-difference.</summary>
    private static Dual NestedLogLikelihood(double[] p, RfmData data)
    {
        var (r, alpha, s, beta) = (Dual.Variable(p[0], 0), Dual.Variable(p[1], 1), Dual.Variable(p[2], 2), Dual.Variable(p[3], 3));
        Dual total = 0;
        for (var i = 0; i < data.Rows; i++)
        {
            var (x, tx, t) = (data.X[i], data.Tx[i], data.T[i]);
            var alive = -((r + x) * Dual.Log(alpha + t)) - (s * Dual.Log(beta + t));
            var row = tx < t
                ? Dual.LogSumExp(alive, Dual.Log(s) - Dual.Log(r + s + x) + Dual.LogDiffExp(ParetoNbdTerms.Series(r, alpha, s, beta, x, tx), ParetoNbdTerms.Series(r, alpha, s, beta, x, t)))
                : alive;
            total += (Dual.LogGamma(r + x) + (r * Dual.Log(alpha)) + (s * Dual.Log(beta)) - Dual.LogGamma(r) + row) * data.Weight[i];
        }

        return total;
    }
}
