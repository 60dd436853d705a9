using Engagement.Sdk.Value.Clv;

namespace Engagement.Sdk.Tests.Value.Clv;

/// <summary>P(X(t) = k) for Pareto/NBD and P(X(n) = x) for BG/BB: a proper distribution, the model's mean, and agreement with independent computations.</summary>
public sealed class TransactionCountDistributionTests
{
    // The CDNOW fit (α ≥ β) and a parameter set on the other branch of the hypergeometric terms (α < β).
    public static TheoryData<double, double, double, double, double> ParetoCases => new()
    {
        { 0.5533, 10.578, 0.6063, 11.669, 39 },
        { 0.5533, 10.578, 0.6063, 11.669, 78 },
        { 0.8, 12.0, 1.4, 3.0, 20 },
        { 1.7, 2.0, 0.9, 25.0, 10 },
    };

    [Theory]
    [MemberData(nameof(ParetoCases))]
    public void ParetoNbd_Probabilities_SumToOneAndHaveTheModelsMean(double r, double alpha, double s, double beta, double t)
    {
        var model = ParetoNbdModel.FromParameters(r, alpha, s, beta);

        var p = Enumerable.Range(0, 400).Select(k => model.ProbabilityOfTransactions(k, t)).ToArray();

        p.Should().OnlyContain(v => v >= 0 && v <= 1);
        p.Sum().Should().BeApproximately(1, 1e-9);
        p.Select((v, k) => v * k).Sum().Should().BeApproximately(model.ExpectedTransactions(t), 1e-6 * model.ExpectedTransactions(t));
    }

    [Theory]
    [MemberData(nameof(ParetoCases))]
    public void ParetoNbd_Probabilities_MatchANumericalIntegrationOverTheDeathTime(double r, double alpha, double s, double beta, double t)
    {
        var model = ParetoNbdModel.FromParameters(r, alpha, s, beta);
        for (var k = 0; k <= 6; k++)
        {
            // Alive throughout: NBD(k; r, α, t) × (β/(β+t))^s; dead at τ < t: ∫ s βˢ/(β+τ)^(s+1) × NBD(k; r, α, τ) dτ.
            var aliveThroughout = Nbd(k, r, alpha, t) * Math.Pow(beta / (beta + t), s);
            var died = Simpson(tau => s * Math.Pow(beta, s) / Math.Pow(beta + tau, s + 1) * Nbd(k, r, alpha, tau), 0, t, 20_000);

            model.ProbabilityOfTransactions(k, t).Should().BeApproximately(aliveThroughout + died, 1e-9, $"k = {k}");
        }
    }

    [Fact]
    public void ParetoNbd_LongHorizonAndManyTransactions_StaysFiniteAndInRange()
    {
        var model = ParetoNbdModel.FromParameters(0.5533, 10.578, 0.6063, 11.669);

        foreach (var (k, t) in new[] { (0, 1e4), (3, 1e4), (150, 500.0), (40, 1e5) })
        {
            var p = model.ProbabilityOfTransactions(k, t);
            double.IsFinite(p).Should().BeTrue($"P(X({t}) = {k})");
            p.Should().BeInRange(0, 1);
        }
    }

    [Fact]
    public void ParetoNbd_BadArguments_AreTypedErrorsNamingThem()
    {
        var model = ParetoNbdModel.FromParameters(0.5, 10, 0.6, 11);

        ((Action)(() => model.ProbabilityOfTransactions(-1, 5))).Should().Throw<EngagementValidationException>().Which.Field.Should().Be("n");
        ((Action)(() => model.ProbabilityOfTransactions(1, 0))).Should().Throw<EngagementValidationException>().Which.Field.Should().Be("t");
        ((Action)(() => model.ProbabilityOfTransactions(1, double.NaN))).Should().Throw<EngagementValidationException>().Which.Field.Should().Be("t");
    }

    [Theory]
    [InlineData(false, 39)]
    [InlineData(true, 39)]
    [InlineData(true, 200)]
    public void BgNbdAndMbgNbd_Probabilities_SumToOneAndHaveTheModelsMean(bool modified, double t)
    {
        var model = modified ? BgNbdModel.FromParameters(0.5248, 6.1831, 0.8914, 1.6140, modified: true) : BgNbdModel.FromParameters(0.2426, 4.4136, 0.7929, 2.4259);

        var p = Enumerable.Range(0, 600).Select(k => model.ProbabilityOfTransactions(k, t)).ToArray();

        p.Should().OnlyContain(v => v >= 0 && v <= 1);
        p.Sum().Should().BeApproximately(1, 1e-9);
        p.Select((v, k) => v * k).Sum().Should().BeApproximately(model.ExpectedTransactions(t), 1e-6 * model.ExpectedTransactions(t));
    }

    [Theory]
    [InlineData(6)]
    [InlineData(1)]
    [InlineData(40)]
    public void BgBb_Probabilities_SumToOneAndHaveTheModelsMean(int n)
    {
        var model = BgBbModel.FromParameters(1.2035, 0.7497, 0.6567, 2.7834);

        var p = Enumerable.Range(0, n + 1).Select(x => model.ProbabilityOfTransactions(x, n)).ToArray();

        p.Sum().Should().BeApproximately(1, 1e-12);
        p.Select((v, x) => v * x).Sum().Should().BeApproximately(model.ExpectedTransactions(n), 1e-10);
    }

    [Fact]
    public void BgBb_Probabilities_MatchTheModelsOwnSimulation()
    {
        const int Customers = 200_000;
        var model = BgBbModel.FromParameters(1.2035, 0.7497, 0.6567, 2.7834);

        var simulated = model.Simulate(Customers, 6, seed: 11);

        for (var x = 0; x <= 6; x++)
        {
            var p = model.ProbabilityOfTransactions(x, 6);
            var share = simulated.Where(c => c.X == x).Sum(c => c.Weight) / Customers;
            share.Should().BeApproximately(p, 4.5 * Math.Sqrt(p * (1 - p) / Customers), $"x = {x} (4.5 standard errors)");
        }
    }

    [Fact]
    public void BgBb_BadArguments_AreTypedErrorsNamingThem()
    {
        var model = BgBbModel.FromParameters(1.2, 0.75, 0.66, 2.8);

        ((Action)(() => model.ProbabilityOfTransactions(7, 6))).Should().Throw<EngagementValidationException>().Which.Field.Should().Be("x");
        ((Action)(() => model.ProbabilityOfTransactions(0, -1))).Should().Throw<EngagementValidationException>().Which.Field.Should().Be("n");
    }

    private static double Nbd(int k, double r, double alpha, double t)
        => Math.Exp(SpecialFunctions.LogGamma(r + k) - SpecialFunctions.LogGamma(r) - SpecialFunctions.LogGamma(k + 1)
            + (r * Math.Log(alpha / (alpha + t))) + (k == 0 ? 0 : k * Math.Log(t / (alpha + t))));

    private static double Simpson(Func<double, double> f, double from, double to, int intervals)
    {
        var h = (to - from) / intervals;
        var sum = f(from) + f(to);
        for (var i = 1; i < intervals; i++)
        {
            sum += f(from + (i * h)) * (i % 2 == 1 ? 4 : 2);
        }

        return sum * h / 3;
    }
}
