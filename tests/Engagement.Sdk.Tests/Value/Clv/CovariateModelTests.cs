using Engagement.Sdk.Value.Clv;

namespace Engagement.Sdk.Tests.Value.Clv;

/// <summary>
/// Pareto/NBD and BG/NBD with time-invariant covariates: fits recover the parameters of populations simulated with known
/// ones; the likelihood-ratio test and information criteria see real effects and not imaginary ones.
/// </summary>
public sealed class CovariateModelTests
{
    private static readonly string[] Names = ["gender", "score"];

    private static readonly Lazy<(ParetoNbdCovariateModel Truth, CovariateRfmData Data, ParetoNbdCovariateModel Fitted)> Pareto = new(() =>
    {
        var truth = ParetoNbdCovariateModel.FromParameters(0.6, 8, 0.7, 12, [("gender", 0.5), ("score", -0.3)], [("gender", -0.4), ("score", 0.6)]);
        var data = truth.Simulate(Covariates(30_000, seed: 1), 20, 80, seed: 2);
        return (truth, data, ParetoNbdCovariateModel.Fit(data));
    });

    private static readonly Lazy<(BgNbdCovariateModel Truth, CovariateRfmData Data, BgNbdCovariateModel Fitted)> BgNbd = new(() =>
    {
        var truth = BgNbdCovariateModel.FromParameters(0.5, 6, 0.8, 2.5, [("gender", 0.5), ("score", -0.3)], [("gender", 0.4, -0.3), ("score", -0.3, 0.5)]);
        var data = truth.Simulate(Covariates(40_000, seed: 3), 20, 80, seed: 4);
        return (truth, data, BgNbdCovariateModel.Fit(data));
    });

    [Fact]
    public void ParetoNbd_SimulatedPopulation_RecoversItsParameters()
    {
        var (truth, _, fitted) = Pareto.Value;
        var fit = fitted.FitResult!;
        double[] expected = [truth.R, truth.Alpha, truth.S, truth.Beta, .. truth.PurchaseCoefficients, .. truth.DropoutCoefficients];

        fit.Names.Should().Equal("r", "alpha", "s", "beta", "purchase:gender", "purchase:score", "dropout:gender", "dropout:score");
        fit.Diagnostics.Issues.Should().BeEmpty();
        for (var i = 0; i < expected.Length; i++)
        {
            fit.Values[i].Should().BeApproximately(expected[i], 4 * fit.StandardErrors[i], fit.Names[i]);
        }

        // Sharp enough to mean something: the coefficients' standard errors are well below the effects.
        fit.StandardErrors.Skip(4).Should().OnlyContain(se => se < 0.1);
    }

    [Fact]
    public void BgNbd_SimulatedPopulation_RecoversItsParameters()
    {
        var (truth, _, fitted) = BgNbd.Value;
        var fit = fitted.FitResult!;
        double[] expected = [truth.R, truth.Alpha, truth.A, truth.B, .. truth.PurchaseCoefficients, .. truth.DropoutACoefficients, .. truth.DropoutBCoefficients];

        fit.Names.Should().Equal("r", "alpha", "a", "b", "purchase:gender", "purchase:score", "dropout.a:gender", "dropout.a:score", "dropout.b:gender", "dropout.b:score");
        fit.Diagnostics.Issues.Should().BeEmpty();
        for (var i = 0; i < expected.Length; i++)
        {
            fit.Values[i].Should().BeApproximately(expected[i], 4 * fit.StandardErrors[i], fit.Names[i]);
        }

        fit.StandardErrors.Skip(4).Take(2).Should().OnlyContain(se => se < 0.1);
    }

    [Fact]
    public void LikelihoodRatio_RealEffects_AreSignificantAndLowerTheInformationCriteria()
    {
        var (_, data, fitted) = Pareto.Value;
        var plain = ParetoNbdModel.Fit(data.WithoutCovariates).FitResult!;

        var test = ModelComparison.LikelihoodRatio(plain, fitted.FitResult!);

        test.DegreesOfFreedom.Should().Be(4);
        test.Statistic.Should().BeApproximately(2 * (fitted.FitResult!.LogLikelihood - plain.LogLikelihood), 1e-9);
        test.PValue.Should().BeLessThan(1e-10);
        fitted.FitResult.Aic.Should().BeLessThan(plain.Aic);
        fitted.FitResult.Bic.Should().BeLessThan(plain.Bic);
    }

    [Fact]
    public void LikelihoodRatio_NoEffects_IsNotSignificant()
    {
        // Covariates that do nothing: the statistic stays below χ²₄'s 99.9 % point (18.47) and BIC prefers the plain model.
        var truth = ParetoNbdCovariateModel.FromParameters(0.6, 8, 0.7, 12, [("gender", 0), ("score", 0)], [("gender", 0), ("score", 0)]);
        var data = truth.Simulate(Covariates(8_000, seed: 5), 20, 80, seed: 6);
        var fitted = ParetoNbdCovariateModel.Fit(data).FitResult!;
        var plain = ParetoNbdModel.Fit(data.WithoutCovariates).FitResult!;

        var test = ModelComparison.LikelihoodRatio(plain, fitted);

        test.Statistic.Should().BeLessThan(18.47);
        test.PValue.Should().BeGreaterThan(0.001);
        fitted.Bic.Should().BeGreaterThan(plain.Bic);
    }

    [Fact]
    public void LogLikelihood_WithZeroCoefficients_IsThePlainModels()
    {
        var (_, data, _) = Pareto.Value;
        double[] pareto = [0.6, 8, 0.7, 12];
        ParetoNbdCovariateModel.LogLikelihood([.. pareto, 0, 0, 0, 0], data, [])
            .Should().BeApproximately(ParetoNbdModel.LogLikelihood(pareto, data.WithoutCovariates, []), 1e-7);

        double[] bg = [0.5, 6, 0.8, 2.5];
        BgNbdCovariateModel.LogLikelihood([.. bg, 0, 0, 0, 0, 0, 0], data, [])
            .Should().BeApproximately(BgNbdModel.LogLikelihood(bg, data.WithoutCovariates, []), 1e-7);
    }

    [Fact]
    public void Gradients_MatchFiniteDifferences()
    {
        var small = ParetoNbdCovariateModel.FromParameters(0.6, 8, 0.7, 12, [("gender", 0.5), ("score", -0.3)], [("gender", -0.4), ("score", 0.6)])
            .Simulate(Covariates(300, seed: 9), 20, 80, seed: 10);
        Check([0.7, 9, 0.6, 10, 0.3, -0.2, 0.1, 0.4], (p, g) => ParetoNbdCovariateModel.LogLikelihood(p, small, g));
        Check([0.4, 5, 0.9, 2.2, 0.3, -0.2, 0.1, 0.4, -0.3, 0.2], (p, g) => BgNbdCovariateModel.LogLikelihood(p, small, g));

        static void Check(double[] at, Func<double[], double[], double> logLikelihood)
        {
            var gradient = new double[at.Length];
            logLikelihood(at, gradient);
            for (var i = 0; i < at.Length; i++)
            {
                var h = 1e-6 * Math.Max(1, Math.Abs(at[i]));
                var (up, down) = (at.ToArray(), at.ToArray());
                up[i] += h;
                down[i] -= h;
                var numeric = (logLikelihood(up, new double[at.Length]) - logLikelihood(down, new double[at.Length])) / (2 * h);
                gradient[i].Should().BeApproximately(numeric, 1e-5 * Math.Max(1, Math.Abs(numeric)), $"parameter {i}");
            }
        }
    }

    [Fact]
    public void ForCustomer_GivesThePlainModelWithTheCustomersParameters()
    {
        var model = BgNbdCovariateModel.FromParameters(0.5, 6, 0.8, 2.5, [("gender", 0.5), ("score", -0.3)], [("gender", 0.4, -0.3), ("score", -0.3, 0.5)]);

        var customer = model.ForCustomer([1, 0.5], [1, 0.5]);

        customer.R.Should().Be(0.5);
        customer.Alpha.Should().BeApproximately(6 * Math.Exp(-(0.5 - 0.15)), 1e-12);
        customer.A.Should().BeApproximately(0.8 * Math.Exp(0.4 - 0.15), 1e-12);
        customer.B.Should().BeApproximately(2.5 * Math.Exp(-0.3 + 0.25), 1e-12);
        var pareto = ParetoNbdCovariateModel.FromParameters(0.6, 8, 0.7, 12, [("gender", 0.5)], [("gender", -0.4)]).ForCustomer([1], [1]);
        pareto.Alpha.Should().BeApproximately(8 * Math.Exp(-0.5), 1e-12);
        pareto.Beta.Should().BeApproximately(12 * Math.Exp(0.4), 1e-12);

        FluentActions.Invoking(() => model.ForCustomer([1], [1, 0])).Should().Throw<EngagementValidationException>().Which.Field.Should().Be("purchase");
        FluentActions.Invoking(() => model.ForCustomer([1, double.NaN], [1, 0])).Should().Throw<EngagementValidationException>().Which.Field.Should().Be("purchase.score");
    }

    [Fact]
    public void Create_BadCustomer_NamesTheCustomerAndTheField()
    {
        var good = ("ann", 2.0, 10.0, 30.0, new[] { 1.0 }, new[] { 0.5 });

        Invoking(("bob", 2.0, 40.0, 30.0, new[] { 1.0 }, new[] { 0.5 })).Should().Be("customer 'bob'.tx");
        Invoking(("bob", 2.0, 10.0, 30.0, new[] { double.NaN }, new[] { 0.5 })).Should().Be("customer 'bob'.channel");
        Invoking(("bob", 2.0, 10.0, 30.0, new[] { 1.0, 2.0 }, new[] { 0.5 })).Should().Be("customer 'bob'.covariates");
        FluentActions.Invoking(() => CovariateRfmData.Create(["a", "a"], [], [])).Should().Throw<EngagementValidationException>().Which.Field.Should().Be("purchaseCovariates[1]");

        string Invoking((string, double, double, double, double[], double[]) bad)
            => FluentActions.Invoking(() => CovariateRfmData.Create(["channel"], ["tenure"], [good, bad])).Should().Throw<EngagementValidationException>().Which.Field;
    }

    [Fact]
    public void LikelihoodRatio_PairsThatAreNotNested_AreRejected()
    {
        var data = BgNbdModel.FromParameters(0.3, 5, 0.9, 2.5).Simulate(400, 20, 40, seed: 11);
        var bg = BgNbdModel.Fit(data).FitResult!;
        var mbg = BgNbdModel.Fit(data, modified: true).FitResult!;
        var pareto = ParetoNbdModel.Fit(data).FitResult!;
        var other = BgNbdModel.Fit(BgNbdModel.FromParameters(0.3, 5, 0.9, 2.5).Simulate(300, 20, 40, seed: 12)).FitResult!;
        var penalised = BgNbdModel.Fit(data, options: new ClvFitOptions { Penalty = 0.01 }).FitResult!;
        var covariates = Pareto.Value.Fitted.FitResult!;

        FluentActions.Invoking(() => ModelComparison.LikelihoodRatio(bg, mbg)).Should().Throw<EngagementValidationException>().Which.Field.Should().Be("nested");
        FluentActions.Invoking(() => ModelComparison.LikelihoodRatio(bg, pareto)).Should().Throw<EngagementValidationException>().Which.Field.Should().Be("nested");
        FluentActions.Invoking(() => ModelComparison.LikelihoodRatio(covariates, bg)).Should().Throw<EngagementValidationException>().Which.Field.Should().Be("nested");
        FluentActions.Invoking(() => ModelComparison.LikelihoodRatio(ParetoNbdModel.Fit(data).FitResult!, covariates)).Should().Throw<EngagementValidationException>().Which.Field.Should().Be("full");
        FluentActions.Invoking(() => ModelComparison.LikelihoodRatio(other, covariates)).Should().Throw<EngagementValidationException>();
        penalised.Diagnostics.Penalty.Should().Be(0.01);
    }

    [Fact]
    public void Holdout_ComputesTheMetricsAndNamesBadValues()
    {
        double[] actual = [0, 1, 3, 2];
        double[] predicted = [0.5, 1, 2, 2.5];

        var errors = ModelComparison.Holdout(actual, predicted);

        errors.Customers.Should().Be(4);
        errors.MeanAbsoluteError.Should().BeApproximately((0.5 + 0 + 1 + 0.5) / 4, 1e-15);
        errors.RootMeanSquaredError.Should().BeApproximately(Math.Sqrt((0.25 + 0 + 1 + 0.25) / 4), 1e-15);
        var msle = new[] { Math.Log(1.5) - Math.Log(1), 0, Math.Log(3) - Math.Log(4), Math.Log(3.5) - Math.Log(3) }.Select(e => e * e).Average();
        errors.MeanSquaredLogError.Should().BeApproximately(msle, 1e-15);
        errors.TotalActual.Should().Be(6);
        errors.TotalPredicted.Should().Be(6);
        errors.TotalError.Should().Be(0);
        errors.RelativeTotalError.Should().Be(0);

        FluentActions.Invoking(() => ModelComparison.Holdout(actual, [1, 2])).Should().Throw<EngagementValidationException>().Which.Field.Should().Be("predicted");
        FluentActions.Invoking(() => ModelComparison.Holdout(actual, [1, 2, double.NaN, 1])).Should().Throw<EngagementValidationException>().Which.Field.Should().Be("predicted[2]");
        FluentActions.Invoking(() => ModelComparison.Holdout(actual, [1, -2, 1, 1], ["a", "b", "c", "d"])).Should().Throw<EngagementValidationException>().Which.Field.Should().Be("customer 'b'.predicted");
        FluentActions.Invoking(() => ModelComparison.Holdout([], [])).Should().Throw<EngagementValidationException>().Which.Field.Should().Be("actual");
    }

    [SharedDataFact]
    public void Holdout_Cdnow_BgNbdErrorsAreThoseOfThePublishedFit()
    {
        // The CDNOW holdout (39 weeks) against BG/NBD's conditional expectations: the total matches the holdout table
        // (1,653.4 predicted against 1,882 actual).
        var summary = ClvTestData.Cdnow;
        var model = ClvTestData.CdnowBgNbd;
        var actual = summary.Customers.Select(c => (double)c.HoldoutFrequency).ToArray();
        var predicted = summary.Customers.Select(c => model.ConditionalExpectedTransactions(summary.HoldoutLength, c.Frequency, c.Recency, c.Age)).ToArray();

        var errors = ModelComparison.Holdout(actual, predicted, [.. summary.Customers.Select(c => c.CustomerId)]);

        errors.TotalActual.Should().Be(1882);
        errors.TotalPredicted.Should().BeApproximately(1653.4, 0.1);
        errors.MeanAbsoluteError.Should().BeGreaterThan(0).And.BeLessThan(errors.RootMeanSquaredError);
    }

    private static List<(double[] Purchase, double[] Dropout)> Covariates(int customers, int seed)
    {
        var random = new Random(seed);
        var list = new List<(double[], double[])>(customers);
        for (var i = 0; i < customers; i++)
        {
            double gender = random.Next(2), score = (random.Next(5) - 2) / 2.0;
            list.Add(([gender, score], [gender, score]));
        }

        return list;
    }
}
