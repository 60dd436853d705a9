using Engagement.Sdk.Value.Clv;

namespace Engagement.Sdk.Tests.Value.Clv;

/// <summary>
/// Every fit says whether the data determine it: degenerate data (the cases analysts hit) are reported with the reason, and
/// the L2 penalty turns them into finite, sensible estimates.
/// </summary>
public sealed class FitDiagnosticsTests
{
    /// <summary>999 one-time buyers and one repeat buyer: the drop-out process is not identified.</summary>
    private static readonly RfmData OneRepeater = RfmData.Create([(0, 0, 30, 999), (3, 20, 30, 1)]);

    /// <summary>Two identical customers: no heterogeneity to measure.</summary>
    private static readonly RfmData TwoIdentical = RfmData.Create([(2, 10, 30, 1), (2, 10, 30, 1)]);

    public static TheoryData<string> Models => new() { "bgnbd", "mbgnbd", "pnbd" };

    [Theory]
    [MemberData(nameof(Models))]
    public void Fit_999OneTimeBuyersAndOneRepeater_IsReportedAsDegenerate(string model)
    {
        var fit = FitModel(model, OneRepeater, null);

        fit.Diagnostics.IsDegenerate.Should().BeTrue(fit.Diagnostics.Summary());
        fit.Diagnostics.Issues.Should().Contain(i => i.Kind == FitIssueKind.FlatLikelihood || i.Kind == FitIssueKind.ParameterAtBoundary || i.Kind == FitIssueKind.SingularHessian);
        fit.Diagnostics.Issues.SelectMany(i => i.Parameters).Should().NotBeEmpty();
        fit.Diagnostics.SmallestCurvature.Should().BeLessThan(1e-2);
    }

    [Theory]
    [MemberData(nameof(Models))]
    public void Fit_TwoIdenticalCustomers_IsReportedAsDegenerate(string model)
    {
        var fit = FitModel(model, TwoIdentical, null);

        fit.Diagnostics.IsDegenerate.Should().BeTrue(fit.Diagnostics.Summary());
        fit.Diagnostics.Issues.Should().Contain(i => i.Kind == FitIssueKind.ParameterAtBoundary, fit.Diagnostics.Summary());

        // A runaway estimate stops the optimisation instead of crawling outwards for the whole iteration budget.
        fit.Diagnostics.Iterations.Should().BeLessThan(300);
    }

    [Theory]
    [MemberData(nameof(Models))]
    public void Fit_DegenerateDataWithAPenalty_GivesFiniteSensibleEstimatesAndPredictions(string model)
    {
        foreach (var data in new[] { OneRepeater, TwoIdentical })
        {
            var fit = FitModel(model, data, new ClvFitOptions { Penalty = 0.05 });

            fit.Diagnostics.Converged.Should().BeTrue();
            fit.Values.Should().OnlyContain(v => double.IsFinite(v) && v > 0);

            // Within three orders of magnitude of the data's scale (1 for shapes, the mean age 30 for α and β).
            for (var i = 0; i < fit.Names.Length; i++)
            {
                var scale = fit.Names[i] is "alpha" or "beta" ? 30 : 1;
                fit.Values[i].Should().BeInRange(scale * 1e-3, scale * 1e3, fit.Names[i]);
            }

            fit.StandardErrors.Should().OnlyContain(se => double.IsFinite(se) && se > 0);
            fit.Diagnostics.Issues.Where(i => i.Kind == FitIssueKind.FlatLikelihood).All(i => i.Message.Contains("the penalty, not the data")).Should().BeTrue(fit.Diagnostics.Summary());
            var transactions = Model(model, fit);
            transactions.ProbabilityAlive(3, 20, 30).Should().BeInRange(0, 1);
            double.IsFinite(transactions.ConditionalExpectedTransactions(52, 3, 20, 30)).Should().BeTrue();
        }
    }

    [SharedDataFact]
    public void Fit_Cdnow_HasNoIssues()
    {
        var data = ClvTestData.Cdnow.ToData();
        foreach (var model in new[] { "bgnbd", "mbgnbd", "pnbd" })
        {
            var fit = FitModel(model, data, null);

            fit.Diagnostics.Issues.Should().BeEmpty(model);
            fit.Diagnostics.IsDegenerate.Should().BeFalse(model);
            fit.Diagnostics.Summary().Should().Be("ok");
            fit.Diagnostics.SmallestCurvature.Should().BeGreaterThan(1, model);
        }
    }

    [SharedDataFact]
    public void ParetoNbd_Cdnow_StandardErrorsMatchClvTools()
    {
        // CLVTools' test suite (Pareto/NBD on CDNOW, weekly, no covariates): r 0.0476264, α 0.8427222, s 0.1872594, β 6.2105448.
        var fit = ClvTestData.CdnowPareto.FitResult!;

        fit.StandardErrors[0].Should().BeApproximately(0.0476264, 0.0476264 * 2e-3);
        fit.StandardErrors[1].Should().BeApproximately(0.8427222, 0.8427222 * 2e-3);
        fit.StandardErrors[2].Should().BeApproximately(0.1872594, 0.1872594 * 2e-3);
        fit.StandardErrors[3].Should().BeApproximately(6.2105448, 6.2105448 * 2e-3);
    }

    [SharedDataFact]
    public void Covariance_Cdnow_HasTheStandardErrorsOnItsDiagonalAndIsSymmetric()
    {
        var fit = ClvTestData.CdnowBgNbd.FitResult!;
        var k = fit.ParameterCount;

        fit.Covariance.Should().HaveCount(k * k);
        for (var i = 0; i < k; i++)
        {
            Math.Sqrt(fit.Covariance[(i * k) + i]).Should().BeApproximately(fit.StandardErrors[i], fit.StandardErrors[i] * 1e-12);
            for (var j = 0; j < k; j++)
            {
                fit.Covariance[(i * k) + j].Should().BeApproximately(fit.Covariance[(j * k) + i], 1e-12 * Math.Abs(fit.Covariance[(i * k) + j]) + 1e-300);
            }
        }
    }

    [Fact]
    public void Fit_WithAPenalty_MaximisesThePenalisedMeanLogLikelihood()
    {
        // The fit's own objective, recomputed here: mean LL − λ Σ (ln θ − ln θ₀)², θ₀ = (1, mean T, 1, 1).
        var data = BgNbdModel.FromParameters(0.3, 5, 0.9, 2.5).Simulate(300, 20, 40, seed: 11);
        const double Lambda = 0.02;
        var fit = BgNbdModel.Fit(data, options: new ClvFitOptions { Penalty = Lambda }).FitResult!;
        var meanT = data.MeanAge;
        double Objective(double[] theta)
        {
            var centre = new[] { 1, meanT, 1, 1 };
            var penalty = theta.Select((v, i) => Math.Pow(Math.Log(v) - Math.Log(centre[i]), 2)).Sum();
            return (BgNbdModel.LogLikelihood(theta, data, []) / data.TotalWeight) - (Lambda * penalty);
        }

        var best = Objective([.. fit.Values]);
        for (var i = 0; i < 4; i++)
        {
            foreach (var factor in new[] { 1.001, 0.999, 1.05, 0.95 })
            {
                var moved = fit.Values.ToArray();
                moved[i] *= factor;
                Objective(moved).Should().BeLessThan(best, $"{fit.Names[i]} × {factor}");
            }
        }

        // And the penalty pulls towards its centre: the estimates differ from the plain maximum likelihood ones.
        var plain = BgNbdModel.Fit(data).FitResult!;
        plain.Values.Should().NotEqual(fit.Values);
        fit.LogLikelihood.Should().BeLessThan(plain.LogLikelihood);
        fit.Diagnostics.Penalty.Should().Be(Lambda);
    }

    [Fact]
    public void Fit_LargerPenalties_ShrinkTheLogParametersTowardsTheirCentre()
    {
        var data = ParetoNbdModel.FromParameters(0.5, 8, 0.7, 12).Simulate(400, 20, 40, seed: 3);
        var meanT = data.MeanAge;
        double Distance(ClvFit f) => Math.Pow(Math.Log(f.Values[0]), 2) + Math.Pow(Math.Log(f.Values[1] / meanT), 2) + Math.Pow(Math.Log(f.Values[2]), 2) + Math.Pow(Math.Log(f.Values[3] / meanT), 2);

        var distances = new[] { 0.0, 0.01, 0.1, 1 }.Select(l => Distance(ParetoNbdModel.Fit(data, new ClvFitOptions { Penalty = l }).FitResult!)).ToList();

        distances.Should().BeInDescendingOrder();
        distances[^1].Should().BeLessThan(distances[0] / 10);
    }

    [Fact]
    public void Fit_IterationLimitReached_IsReportedAsNotConverged()
    {
        var data = BgNbdModel.FromParameters(0.3, 5, 0.9, 2.5).Simulate(300, 20, 40, seed: 11);

        var fit = BgNbdModel.Fit(data, options: new ClvFitOptions { MaxIterations = 2 }).FitResult!;

        fit.Diagnostics.Converged.Should().BeFalse();
        fit.Diagnostics.Issues.Should().ContainSingle(i => i.Kind == FitIssueKind.NotConverged).Which.Message.Should().Contain("2 iterations");
        fit.Diagnostics.IsDegenerate.Should().BeFalse();
    }

    [Theory]
    [InlineData(-0.1, 1000, "options.Penalty")]
    [InlineData(double.NaN, 1000, "options.Penalty")]
    [InlineData(double.PositiveInfinity, 1000, "options.Penalty")]
    [InlineData(0, 0, "options.MaxIterations")]
    public void Fit_BadOptions_NameTheOption(double penalty, int iterations, string field)
    {
        var options = new ClvFitOptions { Penalty = penalty, MaxIterations = iterations };
        var data = BgNbdModel.FromParameters(0.3, 5, 0.9, 2.5).Simulate(50, 20, 40, seed: 1);

        FluentActions.Invoking(() => BgNbdModel.Fit(data, options: options)).Should().Throw<EngagementValidationException>().Which.Field.Should().Be(field);
        FluentActions.Invoking(() => ParetoNbdModel.Fit(data, options)).Should().Throw<EngagementValidationException>().Which.Field.Should().Be(field);
        FluentActions.Invoking(() => GammaGammaModel.Fit([(1, 10.0, 1.0), (2, 20.0, 1.0)], options)).Should().Throw<EngagementValidationException>().Which.Field.Should().Be(field);
        FluentActions.Invoking(() => BgBbModel.Fit([(1, 1, 6, 3.0), (0, 0, 6, 4.0)], options)).Should().Throw<EngagementValidationException>().Which.Field.Should().Be(field);
    }

    [Fact]
    public void InformationCriteria_AreComputedFromTheLogLikelihoodAndTheParameterCount()
    {
        var data = BgNbdModel.FromParameters(0.3, 5, 0.9, 2.5).Simulate(300, 20, 40, seed: 11);
        var fit = BgNbdModel.Fit(data).FitResult!;

        fit.ParameterCount.Should().Be(4);
        fit.Aic.Should().BeApproximately(8 - (2 * fit.LogLikelihood), 1e-9);
        fit.Bic.Should().BeApproximately((4 * Math.Log(300)) - (2 * fit.LogLikelihood), 1e-9);
    }

    [Fact]
    public void Indexer_UnknownParameter_NamesTheValidOnes()
    {
        var fit = BgNbdModel.Fit(BgNbdModel.FromParameters(0.3, 5, 0.9, 2.5).Simulate(100, 20, 40, seed: 1)).FitResult!;

        FluentActions.Invoking(() => fit["s"]).Should().Throw<EngagementValidationException>().Which.Rule.Should().Contain("r, alpha, a, b");
    }

    private static ClvFit FitModel(string model, RfmData data, ClvFitOptions? options) => model switch
    {
        "bgnbd" => BgNbdModel.Fit(data, options: options).FitResult!,
        "mbgnbd" => BgNbdModel.Fit(data, modified: true, options).FitResult!,
        _ => ParetoNbdModel.Fit(data, options).FitResult!,
    };

    private static ITransactionModel Model(string model, ClvFit fit) => model switch
    {
        "bgnbd" => BgNbdModel.FromParameters(fit.Values[0], fit.Values[1], fit.Values[2], fit.Values[3]),
        "mbgnbd" => BgNbdModel.FromParameters(fit.Values[0], fit.Values[1], fit.Values[2], fit.Values[3], modified: true),
        _ => ParetoNbdModel.FromParameters(fit.Values[0], fit.Values[1], fit.Values[2], fit.Values[3]),
    };
}
