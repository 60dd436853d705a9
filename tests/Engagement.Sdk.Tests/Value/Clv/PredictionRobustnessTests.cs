using Engagement.Sdk.Value.Clv;

namespace Engagement.Sdk.Tests.Value.Clv;

public sealed class PredictionRobustnessTests
{
    private static readonly BgNbdModel Fhl = BgNbdModel.FromParameters(0.242594, 4.413595, 0.792919, 2.425945);
    private static readonly ParetoNbdModel Pareto = ParetoNbdModel.FromParameters(0.5533, 10.5777, 0.6062, 11.6687);

    public static TheoryData<string, double, double, double, double> BadHistories => new()
    {
        { "x", 26, -1, 0, 30 },
        { "x", 26, 1.5, 10, 30 },
        { "x", 26, double.NaN, 10, 30 },
        { "x", 26, double.PositiveInfinity, 10, 30 },
        { "tx", 26, 2, 31, 30 },
        { "tx", 26, 0, 5, 30 },
        { "tx", 26, 2, double.NaN, 30 },
        { "tx", 26, 2, -1, 30 },
        { "age", 26, 2, 10, double.NaN },
        { "age", 26, 2, 10, double.PositiveInfinity },
        { "age", 26, 0, 0, -1 },
        { "t", -1, 2, 10, 30 },
        { "t", double.NaN, 2, 10, 30 },
    };

    [Theory]
    [MemberData(nameof(BadHistories))]
    public void ConditionalExpectedTransactions_BadInput_NamesTheArgument(string field, double t, double x, double tx, double age)
    {
        foreach (ITransactionModel model in new ITransactionModel[] { Fhl, BgNbdModel.FromParameters(0.5, 6, 0.9, 1.6, modified: true), Pareto })
        {
            FluentActions.Invoking(() => model.ConditionalExpectedTransactions(t, x, tx, age))
                .Should().Throw<EngagementValidationException>(model.Name).Which.Field.Should().Be(field, model.Name);
            FluentActions.Invoking(() => model.ConditionalExpectedTransactions(t, [1, x], [1, tx], [2, age], new double[2]))
                .Should().Throw<EngagementValidationException>(model.Name).Which.Field.Should().Be(field == "t" ? "t" : field + "[1]", model.Name);
            if (field != "t")
            {
                FluentActions.Invoking(() => model.ProbabilityAlive(x, tx, age))
                    .Should().Throw<EngagementValidationException>(model.Name).Which.Field.Should().Be(field == "age" ? "t" : field, model.Name);
            }
        }
    }

    [Fact]
    public void ExpectedTransactions_NegativeOrNaNHorizon_IsAValidationError()
    {
        foreach (ITransactionModel model in new ITransactionModel[] { Fhl, Pareto })
        {
            FluentActions.Invoking(() => model.ExpectedTransactions(-1)).Should().Throw<EngagementValidationException>().Which.Field.Should().Be("t");
            FluentActions.Invoking(() => model.ExpectedTransactions(double.NaN)).Should().Throw<EngagementValidationException>().Which.Field.Should().Be("t");
        }

        FluentActions.Invoking(() => Fhl.ProbabilityOfTransactions(1, -2)).Should().Throw<EngagementValidationException>().Which.Field.Should().Be("t");
    }

    [Theory]
    [InlineData(2, 1, 6, "x")] // x > t_x
    [InlineData(7, 7, 6, "x")] // x > n
    [InlineData(0, 3, 6, "tx")] // x = 0 with t_x > 0
    [InlineData(1, 7, 6, "tx")] // t_x > n
    [InlineData(-1, 0, 6, "x")]
    [InlineData(0, 0, -1, "n")]
    public void BgBb_BadHistory_NamesTheArgument(int x, int tx, int n, string field)
    {
        var model = BgBbModel.FromParameters(1.2035, 0.7497, 0.6567, 2.7834);

        FluentActions.Invoking(() => model.ProbabilityAlive(x, tx, n)).Should().Throw<EngagementValidationException>().Which.Field.Should().Be(field);
        FluentActions.Invoking(() => model.ConditionalExpectedTransactions(5, x, tx, n)).Should().Throw<EngagementValidationException>().Which.Field.Should().Be(field);
    }

    [Fact]
    public void BgBb_NegativeHorizons_AreValidationErrors()
    {
        var model = BgBbModel.FromParameters(1.2035, 0.7497, 0.6567, 2.7834);

        FluentActions.Invoking(() => model.ExpectedTransactions(-1)).Should().Throw<EngagementValidationException>().Which.Field.Should().Be("n");
        FluentActions.Invoking(() => model.ConditionalExpectedTransactions(-1, 1, 1, 6)).Should().Throw<EngagementValidationException>().Which.Field.Should().Be("futureOpportunities");
    }

    [Fact]
    public void GammaGamma_BadSpendInput_NamesTheArgument()
    {
        var spend = GammaGammaModel.FromParameters(6.25, 3.74, 15.44);

        FluentActions.Invoking(() => spend.ExpectedAverageSpend(-1, 10)).Should().Throw<EngagementValidationException>().Which.Field.Should().Be("frequency");
        FluentActions.Invoking(() => spend.ExpectedAverageSpend(2, double.NaN)).Should().Throw<EngagementValidationException>().Which.Field.Should().Be("meanSpend");
        FluentActions.Invoking(() => spend.ExpectedAverageSpend(2, -3)).Should().Throw<EngagementValidationException>().Which.Field.Should().Be("meanSpend");
    }

    [Theory]
    [InlineData(0.3, 0.4, 1e-9)] // a + b < 1: the textbook 2F1 has c = a + b − 1 < 0
    [InlineData(0.05, 0.1, 1e-9)]
    [InlineData(0.4, 0.6, 1e-9)] // a + b = 1: c = 0
    [InlineData(1.0, 2.4, 1e-6)] // a = 1: the textbook form is 0/0, interpolated between a = 1 ± 1e-5
    [InlineData(1.000003, 2.4, 1e-6)]
    [InlineData(0.99999, 2.4, 1e-6)] // just outside the interpolation: the 1/(a − 1) cancellation costs digits
    [InlineData(0.792919, 2.425945, 1e-9)] // FHL's CDNOW fit, the ordinary case
    [InlineData(3.5, 0.2, 1e-9)]
    public void BgNbd_ExpectedTransactions_MatchesADirectIntegralOverTheWholeParameterSpace(double a, double b, double relative)
    {
        var model = BgNbdModel.FromParameters(0.45, 3.2, a, b);
        var modified = BgNbdModel.FromParameters(0.45, 3.2, a, b, modified: true);
        foreach (var t in new[] { 0.01, 1, 39, 520 })
        {
            var expected = DirectExpectation(0.45, 3.2, a, b, t, modified: false);
            model.ExpectedTransactions(t).Should().BeApproximately(expected, relative * expected, $"E[X({t})]");

            // A customer without repeat purchases is alive for sure and has λ ~ Gamma(r, α + T): the same integral at α + T.
            var conditional = DirectExpectation(0.45, 3.2 + 30, a, b, t, modified: false);
            model.ConditionalExpectedTransactions(t, 0, 0, 30).Should().BeApproximately(conditional, relative * conditional, $"E[Y({t}) | x = 0]");
            var batch = new double[2];
            model.ConditionalExpectedTransactions(t, [0, 0], [0, 0], [30, 30], batch);
            batch[1].Should().BeApproximately(conditional, relative * conditional);

            var expectedModified = DirectExpectation(0.45, 3.2, a, b, t, modified: true);
            modified.ExpectedTransactions(t).Should().BeApproximately(expectedModified, relative * expectedModified, $"MBG E[X({t})]");
        }
    }

    [Fact]
    public void BgNbd_RepeatBuyersWithSmallAPlusB_AreFinite()
    {
        var model = BgNbdModel.FromParameters(0.45, 3.2, 0.3, 0.4);

        var e = model.ConditionalExpectedTransactions(39, 3, 20, 30);

        double.IsFinite(e).Should().BeTrue();
        e.Should().BePositive();
    }

    [Fact]
    public void InfiniteHorizon_GivesTheLimitInEveryModel()
    {
        // a > 1 (s > 1, γ > 1): the finite limit, approached by long horizons; a ≤ 1 (s ≤ 1, γ ≤ 1): +∞.
        var bg = BgNbdModel.FromParameters(2.5, 3.2, 2.5, 2.4);
        bg.ExpectedTransactions(double.PositiveInfinity).Should().BeApproximately((2.5 + 2.4 - 1) / 1.5, 1e-12);
        bg.ExpectedTransactions(1e4).Should().BeApproximately(bg.ExpectedTransactions(double.PositiveInfinity), 1e-3);
        bg.ConditionalExpectedTransactions(1e4, 3, 20, 30).Should().BeApproximately(bg.ConditionalExpectedTransactions(double.PositiveInfinity, 3, 20, 30), 1e-3);
        Fhl.ExpectedTransactions(double.PositiveInfinity).Should().Be(double.PositiveInfinity);

        var pareto = ParetoNbdModel.FromParameters(0.55, 10.6, 1.6, 11.7);
        pareto.ExpectedTransactions(double.PositiveInfinity).Should().BeApproximately(0.55 * 11.7 / (10.6 * 0.6), 1e-12);
        pareto.ConditionalExpectedTransactions(1e12, 3, 20, 30).Should().BeApproximately(pareto.ConditionalExpectedTransactions(double.PositiveInfinity, 3, 20, 30), 1e-3);
        Pareto.ExpectedTransactions(double.PositiveInfinity).Should().Be(double.PositiveInfinity);

        var bb = BgBbModel.FromParameters(1.2, 0.75, 1.6, 2.8);
        bb.ExpectedTransactions(int.MaxValue).Should().BeApproximately(1.2 / 1.95 * 2.8 / 0.6, 1e-12);
        bb.ConditionalExpectedTransactions(int.MaxValue, 3, 5, 6).Should().BeApproximately(bb.ConditionalExpectedTransactions(1_000_000_000, 3, 5, 6), 1e-4);
        BgBbModel.FromParameters(1.2, 0.75, 0.66, 2.8).ExpectedTransactions(int.MaxValue).Should().Be(double.PositiveInfinity);
    }

    [Fact]
    public void BgBb_GammaOne_IsTheLimitAndContinuous()
    {
        var atOne = BgBbModel.FromParameters(1.2035, 0.7497, 1.0, 2.7834);
        var below = BgBbModel.FromParameters(1.2035, 0.7497, 1.0 - 1e-9, 2.7834);
        var above = BgBbModel.FromParameters(1.2035, 0.7497, 1.0 + 1e-9, 2.7834);

        // E[X(n)] = α/(α+β) · δ · Σ_{j<n} 1/(1+δ+j) at γ = 1.
        var harmonic = Enumerable.Range(0, 6).Sum(j => 1 / (1 + 2.7834 + j));
        atOne.ExpectedTransactions(6).Should().BeApproximately(1.2035 / (1.2035 + 0.7497) * 2.7834 * harmonic, 1e-12);
        below.ExpectedTransactions(6).Should().BeApproximately(atOne.ExpectedTransactions(6), 1e-8);
        above.ExpectedTransactions(6).Should().BeApproximately(atOne.ExpectedTransactions(6), 1e-8);
        foreach (var (x, tx) in new[] { (0, 0), (2, 4), (6, 6) })
        {
            var e = atOne.ConditionalExpectedTransactions(5, x, tx, 6);
            double.IsFinite(e).Should().BeTrue();
            below.ConditionalExpectedTransactions(5, x, tx, 6).Should().BeApproximately(e, 1e-8);
            above.ConditionalExpectedTransactions(5, x, tx, 6).Should().BeApproximately(e, 1e-8);
        }
    }

    [Theory]
    [InlineData(1e-10)]
    [InlineData(-1e-9)]
    [InlineData(1e-7)]
    public void Pareto_SNearOne_KeepsItsDigits(double offset)
    {
        // (1 − (β/(β+t))^(s−1))/(s − 1) tends to ln(1 + t/β); with e^u − 1 rounded as exp(u) − 1 it lost half the digits.
        var near = ParetoNbdModel.FromParameters(0.55, 10.6, 1 + offset, 11.7);
        var limit = 0.55 * 11.7 / 10.6 * Math.Log(1 + (39 / 11.7));

        near.ExpectedTransactions(39).Should().BeApproximately(limit, 1e-10 * limit + (Math.Abs(offset) * limit * 2));
        var conditionalLimit = (0.55 + 2) * (11.7 + 30) / (10.6 + 30) * Math.Log((11.7 + 30 + 39) / (11.7 + 30)) * near.ProbabilityAlive(2, 20, 30);
        near.ConditionalExpectedTransactions(39, 2, 20, 30).Should().BeApproximately(conditionalLimit, 1e-10 * conditionalLimit + (Math.Abs(offset) * conditionalLimit * 2));
    }

    [Fact]
    public void BgBb_AwayFromGammaOne_KeepsThePublishedForm()
    {
        var model = BgBbModel.FromParameters(1.2035, 0.7497, 0.6567, 2.7834);
        var (al, be, ga, de) = (1.2035, 0.7497, 0.6567, 2.7834);
        var ratio = Math.Exp(SpecialFunctions.LogGamma(ga + de) + SpecialFunctions.LogGamma(1 + de + 6) - SpecialFunctions.LogGamma(ga + de + 6) - SpecialFunctions.LogGamma(1 + de));

        model.ExpectedTransactions(6).Should().BeApproximately(al / (al + be) * de / (ga - 1) * (1 - ratio), 1e-12);
    }

    /// <summary>
    /// E over p ~ Beta(a, b) of (1/p)(1 − (1 + pt/α)^−r) (MBG/NBD: ((1 − p)/p)(…)), by tanh-sinh quadrature in p, which
    /// integrates the endpoint singularities p^(a−2) and (1 − p)^(b−1) to near double precision.
    /// </summary>
    private static double DirectExpectation(double r, double alpha, double a, double b, double t, bool modified)
    {
        const double H = 1.0 / 128;
        var logBeta = SpecialFunctions.LogBeta(a, b);
        var sum = 0.0;
        for (var k = -6 * 128; k <= 6 * 128; k++)
        {
            var s = k * H;
            var u = Math.PI * Math.Sinh(s);
            var logP = -Softplus(-u);
            var log1mP = -Softplus(u);
            var p = Math.Exp(logP);
            var g = -Math.Exp(-r * Math.Log(1 + (p * t / alpha))) + 1;
            if (p * t / alpha < 1e-6)
            {
                var y = p * t / alpha;
                g = r * y * (1 - ((r + 1) * y / 2) + ((r + 1) * (r + 2) * y * y / 6));
            }

            // density p^(a−2)(1−p)^(b−1)/B(a,b) times dp/ds = p(1−p) π cosh s.
            sum += Math.Exp(((a - 1) * logP) + ((b + (modified ? 1 : 0)) * log1mP) - logBeta) * g * Math.PI * Math.Cosh(s);
        }

        return sum * H;

        static double Softplus(double v) => v > 0 ? v + Math.Log(1 + Math.Exp(-v)) : Math.Log(1 + Math.Exp(v));
    }
}
