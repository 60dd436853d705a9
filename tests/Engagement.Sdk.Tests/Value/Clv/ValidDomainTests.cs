using Engagement.Sdk.Value.Clv;

namespace Engagement.Sdk.Tests.Value.Clv;

/// <summary>
/// Every prediction of every model is a finite number in its range over the whole valid domain: huge x, tiny and huge T,
/// tₓ at both ends, horizons from 10⁻¹² to 10⁶, and parameters at awkward places (a + b &lt; 1, a = 1, s = 1, tiny and large
/// shapes). The one documented exception: an infinite horizon (or a zero discount rate) gives +∞ when the drop-out
/// distribution has no finite mean.
/// </summary>
public sealed class ValidDomainTests
{
    public static TheoryData<string> Models => new()
    {
        "bgnbd cdnow", "bgnbd a+b<1", "bgnbd a=1", "bgnbd large shapes", "mbgnbd cdnow", "mbgnbd tiny r",
        "pnbd cdnow", "pnbd s=1", "pnbd alpha<beta", "pnbd large shapes",
    };

    private static readonly (double X, double Tx, double T)[] Histories =
    [
        (0, 0, 0), (0, 0, 1e-300), (0, 0, 1e-9), (0, 0, 40), (0, 0, 1e6),
        (1, 0, 1e-9), (1, 1e-9, 1e-9), (3, 20, 40), (3, 1e-6, 40),
        (1_000, 39, 40), (1_000, 1, 40), (100_000, 40, 40), (100_000, 20, 40), (10_000_000, 1e6, 1e6), (50, 1e5, 1e6),
    ];

    private static readonly double[] Horizons = [0, 1e-12, 1, 39, 1e4, 1e6];

    [Theory]
    [MemberData(nameof(Models))]
    public void ContinuousModels_EveryPrediction_IsFiniteAndInRange(string name)
    {
        var model = Model(name);
        foreach (var (x, tx, age) in Histories)
        {
            var because = $"{name}, x = {x}, t_x = {tx}, T = {age}";
            var alive = model.ProbabilityAlive(x, tx, age);
            alive.Should().BeInRange(0, 1, because);
            foreach (var t in Horizons)
            {
                var expected = model.ConditionalExpectedTransactions(t, x, tx, age);
                double.IsFinite(expected).Should().BeTrue($"{because}, t = {t}: {expected}");
                expected.Should().BeGreaterThanOrEqualTo(0, because);
                model.ProbabilityAliveAfter(t, x, tx, age).Should().BeInRange(0, alive * (1 + 1e-12), $"{because}, t = {t}");
                if (x <= 1_000)
                {
                    model.ConditionalProbabilityOfTransactions(0, t, x, tx, age).Should().BeInRange(0, 1, $"{because}, t = {t}");
                    model.ConditionalProbabilityOfTransactions(3, t, x, tx, age).Should().BeInRange(0, 1, $"{because}, t = {t}");
                }
            }

            foreach (var delta in new[] { 1e-6, 0.0018, 0.5, 1e3 })
            {
                var dert = model.DiscountedExpectedTransactions(delta, x, tx, age);
                double.IsFinite(dert).Should().BeTrue($"{because}, δ = {delta}: {dert}");
                dert.Should().BeGreaterThanOrEqualTo(0, because);
            }

            var limit = model.ConditionalExpectedTransactions(double.PositiveInfinity, x, tx, age);
            (double.IsPositiveInfinity(limit) || (double.IsFinite(limit) && limit >= 0)).Should().BeTrue($"{because}: E[Y(∞)] = {limit}");
        }

        foreach (var t in Horizons.Append(double.PositiveInfinity))
        {
            var e = model.ExpectedTransactions(t);
            (double.IsPositiveInfinity(e) || (double.IsFinite(e) && e >= 0)).Should().BeTrue($"{name}: E[X({t})] = {e}");
        }

        foreach (var t in new[] { 1e-9, 1.0, 78, 1e5 })
        {
            model.ProbabilityOfTransactions(0, t).Should().BeInRange(0, 1, $"{name}, t = {t}");
            model.ProbabilityOfTransactions(25, t).Should().BeInRange(0, 1, $"{name}, t = {t}");
        }
    }

    [Fact]
    public void ContinuousModels_HugeHistories_AgreeWithTheirLimits()
    {
        // A customer with very many purchases and a last one at T: P(alive) → 1 and E[Y(t)] → (r + x)/(α + T) · t (the
        // rate is pinned down; for BG/NBD the drop-out chance (a / (b + x)) per purchase is negligible over a short t).
        var bg = BgNbdModel.FromParameters(0.242594, 4.413595, 0.792919, 2.425945);
        var pareto = ParetoNbdModel.FromParameters(0.5533, 10.5777, 0.6062, 11.6687);
        var rate = (0.242594 + 100_000) / (4.413595 + 40);
        bg.ProbabilityAlive(100_000, 40, 40).Should().BeApproximately(1, 1e-4);
        bg.ConditionalExpectedTransactions(1e-3, 100_000, 40, 40).Should().BeApproximately(rate * 1e-3, rate * 1e-3 * 1e-3);
        pareto.ProbabilityAlive(100_000, 40, 40).Should().Be(1);
        var paretoRate = (0.5533 + 100_000) / (10.5777 + 40);
        pareto.ConditionalExpectedTransactions(1e-3, 100_000, 40, 40).Should().BeApproximately(paretoRate * 1e-3, paretoRate * 1e-3 * 1e-3);

        // ... and one whose purchases stopped long ago is almost surely gone.
        bg.ProbabilityAlive(100_000, 20, 40).Should().BeLessThan(1e-100);
        pareto.ProbabilityAlive(100_000, 20, 40).Should().BeLessThan(1e-100);
    }

    [Fact]
    public void BgBb_EveryPrediction_IsFiniteAndInRange()
    {
        foreach (var model in new[] { BgBbModel.FromParameters(1.2035, 0.7497, 0.6567, 2.7834), BgBbModel.FromParameters(0.05, 50, 1, 1e-3), BgBbModel.FromParameters(300, 0.2, 40, 0.01) })
        {
            foreach (var (x, tx, n) in new[] { (0, 0, 0), (0, 0, 6), (6, 6, 6), (3, 5, 6), (1, 1, 10_000), (9_000, 10_000, 10_000), (0, 0, 10_000) })
            {
                var because = $"({model.Alpha}, {model.Beta}, {model.Gamma}, {model.Delta}), x = {x}, t_x = {tx}, n = {n}";
                model.ProbabilityAlive(x, tx, n).Should().BeInRange(0, 1, because);
                model.ProbabilityAliveAt(1_000_000, x, tx, n).Should().BeInRange(0, 1, because);
                foreach (var future in new[] { 0, 1, 5, 1_000 })
                {
                    var e = model.ConditionalExpectedTransactions(future, x, tx, n);
                    (double.IsFinite(e) && e >= 0 && e <= future).Should().BeTrue($"{because}, n* = {future}: {e}");
                    model.ConditionalProbabilityOfTransactions(0, future, x, tx, n).Should().BeInRange(0, 1 + 1e-12, because);
                }

                foreach (var d in new[] { 1e-7, 0.1, 100 })
                {
                    var dert = model.DiscountedExpectedTransactions(d, x, tx, n);
                    (double.IsFinite(dert) && dert >= 0).Should().BeTrue($"{because}, d = {d}: {dert}");
                }
            }

            model.ProbabilityOfTransactions(3, 10_000).Should().BeInRange(0, 1);
            double.IsFinite(model.ExpectedTransactions(1_000_000)).Should().BeTrue();
        }
    }

    [Fact]
    public void ShiftedBetaGeometricAndGammaGamma_AreFiniteAtTheEdges()
    {
        foreach (var model in new[] { ShiftedBetaGeometricModel.FromParameters(1e-3, 1e-3), ShiftedBetaGeometricModel.FromParameters(500, 0.01), ShiftedBetaGeometricModel.FromParameters(0.7, 1.2) })
        {
            foreach (var t in new[] { 0, 1, 1_000, 10_000_000 })
            {
                model.Survival(t).Should().BeInRange(0, 1);
                if (t > 0)
                {
                    model.ChurnProbability(t).Should().BeInRange(0, 1);
                    model.Retention(t).Should().BeInRange(0, 1);
                }
            }

            foreach (var d in new[] { 1e-8, 0.1, 1e3 })
            {
                double.IsFinite(model.DiscountedExpectedLifetime(d)).Should().BeTrue();
                double.IsFinite(model.DiscountedExpectedResidualLifetime(d, 1_000_000)).Should().BeTrue();
            }
        }

        var spend = GammaGammaModel.FromParameters(6.25, 3.74, 15.44);
        foreach (var (x, m) in new[] { (0, 0.0), (1, 1e-9), (1_000_000, 35.0), (3, 1e9) })
        {
            var interval = spend.ExpectedAverageSpendInterval(x, m, 0.999);
            double.IsFinite(interval.Lower).Should().BeTrue();
            double.IsFinite(interval.Upper).Should().BeTrue();
            interval.Lower.Should().BeLessThanOrEqualTo(interval.Estimate);
            interval.Upper.Should().BeGreaterThanOrEqualTo(interval.Estimate);
        }
    }

    private static ITransactionModel Model(string name) => name switch
    {
        "bgnbd cdnow" => BgNbdModel.FromParameters(0.242594, 4.413595, 0.792919, 2.425945),
        "bgnbd a+b<1" => BgNbdModel.FromParameters(0.3, 5, 0.4, 0.35),
        "bgnbd a=1" => BgNbdModel.FromParameters(0.3, 5, 1, 2),
        "bgnbd large shapes" => BgNbdModel.FromParameters(150, 400, 80, 300),
        "mbgnbd cdnow" => BgNbdModel.FromParameters(0.5248, 6.1831, 0.8914, 1.6140, modified: true),
        "mbgnbd tiny r" => BgNbdModel.FromParameters(1e-4, 0.05, 0.9, 1.6, modified: true),
        "pnbd cdnow" => ParetoNbdModel.FromParameters(0.5533, 10.5777, 0.6062, 11.6687),
        "pnbd s=1" => ParetoNbdModel.FromParameters(0.5533, 10.5777, 1, 11.6687),
        "pnbd alpha<beta" => ParetoNbdModel.FromParameters(0.5533, 2, 0.6062, 300),
        _ => ParetoNbdModel.FromParameters(120, 400, 60, 500),
    };
}
