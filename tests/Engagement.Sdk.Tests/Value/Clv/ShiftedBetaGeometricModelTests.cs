using Engagement.Sdk.Value.Clv;

namespace Engagement.Sdk.Tests.Value.Clv;

/// <summary>The shifted-beta-geometric retention model against Fader and Hardie (2007), "How to project customer retention".</summary>
public sealed class ShiftedBetaGeometricModelTests
{
    /// <summary>FH 2007's two cohorts of 1,000 subscribers: survivors after 0 … 12 years; the model is fitted on years 0 … 7.</summary>
    private static readonly double[] Regular = [1000, 631, 468, 382, 326, 289, 262, 241, 223, 207, 194, 183, 173];

    private static readonly double[] HighEnd = [1000, 869, 743, 653, 593, 551, 517, 491, 468, 445, 427, 409, 394];

    [Theory]
    [InlineData("regular", 0.704, 1.182)]
    [InlineData("high end", 0.668, 3.806)]
    public void Fit_FirstSevenYears_ReproducesThePublishedEstimates(string cohort, double alpha, double beta)
    {
        var survivors = cohort == "regular" ? Regular : HighEnd;

        var model = ShiftedBetaGeometricModel.Fit(survivors[..8]);

        model.Alpha.Should().BeApproximately(alpha, 0.0005 + (alpha * 1e-3));
        model.Beta.Should().BeApproximately(beta, 0.0005 + (beta * 1e-3));
        model.FitResult!.Diagnostics.Issues.Should().BeEmpty();
        model.FitResult.StandardErrors.Should().OnlyContain(se => double.IsFinite(se) && se > 0);
    }

    [Theory]
    [InlineData("regular")]
    [InlineData("high end")]
    public void Fit_FirstSevenYears_ProjectsYearsEightToTwelveWithinAFewPoints(string cohort)
    {
        // FH 2007's point: the sBG projection of the holdout years is close to what happened (a curve fit is not).
        var survivors = cohort == "regular" ? Regular : HighEnd;
        var model = ShiftedBetaGeometricModel.Fit(survivors[..8]);

        var curve = model.SurvivalCurve(12);
        for (var t = 8; t <= 12; t++)
        {
            (curve[t] * 1000).Should().BeApproximately(survivors[t], 0.06 * survivors[t], $"year {t}");
        }
    }

    [Fact]
    public void Fit_MaximisesTheLikelihood()
    {
        var model = ShiftedBetaGeometricModel.Fit(Regular[..8]);
        var rows = Rows(Regular[..8]);
        var best = ShiftedBetaGeometricModel.LogLikelihood([model.Alpha, model.Beta], rows, []);
        foreach (var (da, db) in new[] { (1.001, 1.0), (0.999, 1.0), (1.0, 1.001), (1.0, 0.999) })
        {
            ShiftedBetaGeometricModel.LogLikelihood([model.Alpha * da, model.Beta * db], rows, []).Should().BeLessThan(best);
        }

        model.FitResult!.LogLikelihood.Should().BeApproximately(best, 1e-9);
    }

    [Fact]
    public void Fit_IndividualRowsAndCohortCounts_GiveTheSameEstimates()
    {
        var fromCounts = ShiftedBetaGeometricModel.Fit(HighEnd[..8]);
        var fromRows = ShiftedBetaGeometricModel.Fit(Rows(HighEnd[..8]));

        fromRows.Alpha.Should().BeApproximately(fromCounts.Alpha, 1e-9);
        fromRows.Beta.Should().BeApproximately(fromCounts.Beta, 1e-9);
    }

    [Fact]
    public void Fit_SimulatedCohortsOfKnownParameters_RecoversThem()
    {
        var truth = ShiftedBetaGeometricModel.FromParameters(0.9, 2.5);

        var survivors = truth.Simulate(100_000, 10, seed: 8);
        var model = ShiftedBetaGeometricModel.Fit(survivors);

        model.Alpha.Should().BeApproximately(0.9, 4 * model.FitResult!.StandardErrors[0]);
        model.Beta.Should().BeApproximately(2.5, 4 * model.FitResult.StandardErrors[1]);
        model.FitResult.StandardErrors[0].Should().BeLessThan(0.05);
    }

    [Fact]
    public void Curves_AreConsistentWithEachOther()
    {
        var model = ShiftedBetaGeometricModel.FromParameters(0.668, 3.806);
        var survival = model.SurvivalCurve(20);
        var retention = model.RetentionCurve(20);

        survival[0].Should().Be(1);
        retention.Should().HaveCount(20).And.BeInAscendingOrder();
        for (var t = 1; t <= 20; t++)
        {
            survival[t].Should().BeApproximately(model.Survival(t), 1e-14);
            retention[t - 1].Should().BeApproximately(survival[t] / survival[t - 1], 1e-14);
            model.ChurnProbability(t).Should().BeApproximately(survival[t - 1] - survival[t], 1e-14);
        }

        Enumerable.Range(1, 100_000).Sum(model.ChurnProbability).Should().BeApproximately(1 - model.Survival(100_000), 1e-12);
        model.MeanChurnProbability.Should().BeApproximately(model.ChurnProbability(1), 1e-15);
    }

    [Fact]
    public void DiscountedLifetimes_EqualTheirDefiningSums()
    {
        var model = ShiftedBetaGeometricModel.FromParameters(0.704, 1.182);
        foreach (var d in new[] { 0.1, 0.01 })
        {
            var del = 0.0;
            for (var t = 0; t < 200_000; t++)
            {
                del += model.Survival(t) / Math.Pow(1 + d, t);
            }

            model.DiscountedExpectedLifetime(d).Should().BeApproximately(del, del * 1e-9, $"d = {d}");

            foreach (var renewals in new[] { 0, 3, 10 })
            {
                var derl = 0.0;
                var n = renewals + 1;
                for (var j = 0; j < 200_000; j++)
                {
                    derl += model.Survival(n + j) / model.Survival(n - 1) / Math.Pow(1 + d, j);
                }

                model.DiscountedExpectedResidualLifetime(d, renewals).Should().BeApproximately(derl, derl * 1e-9, $"d = {d}, {renewals} renewals");
            }
        }

        // A rate so small that the series is replaced by its Euler integral: finite, and above the value at a larger rate.
        model.DiscountedExpectedLifetime(1e-7).Should().BeGreaterThan(model.DiscountedExpectedLifetime(1e-3));
        ShiftedBetaGeometricModel.FromParameters(2.5, 4).ExpectedLifetime.Should().BeApproximately(5.5 / 1.5, 1e-12);
        double.IsPositiveInfinity(model.ExpectedLifetime).Should().BeTrue();
    }

    [Theory]
    [InlineData(new double[] { 1000 }, "survivors")]
    [InlineData(new double[] { 0, 0 }, "survivors[0]")]
    [InlineData(new double[] { 1000, 600, 700 }, "survivors[2]")]
    [InlineData(new double[] { 1000, -1 }, "survivors[1]")]
    [InlineData(new double[] { 1000, double.NaN }, "survivors[1]")]
    public void Fit_BadCounts_NameTheCount(double[] survivors, string field)
    {
        FluentActions.Invoking(() => ShiftedBetaGeometricModel.Fit(survivors)).Should().Throw<EngagementValidationException>().Which.Field.Should().Be(field);
    }

    [Fact]
    public void Fit_Unidentified_SaysWhy()
    {
        FluentActions.Invoking(() => ShiftedBetaGeometricModel.Fit([1000.0, 1000, 1000])).Should().Throw<ClvModelException>().WithMessage("*nobody churned*");
        FluentActions.Invoking(() => ShiftedBetaGeometricModel.Fit([1000.0, 0])).Should().Throw<ClvModelException>().WithMessage("*first period*");
        FluentActions.Invoking(() => ShiftedBetaGeometricModel.Fit([(0, true, 1.0)])).Should().Throw<EngagementValidationException>().Which.Field.Should().Be("subscribers[0].Period");
        var model = ShiftedBetaGeometricModel.FromParameters(1, 2);
        FluentActions.Invoking(() => model.Survival(-1)).Should().Throw<EngagementValidationException>().Which.Field.Should().Be("t");
        FluentActions.Invoking(() => model.DiscountedExpectedLifetime(0)).Should().Throw<EngagementValidationException>().Which.Field.Should().Be("discountRate");
        FluentActions.Invoking(() => model.DiscountedExpectedResidualLifetime(0.1, -1)).Should().Throw<EngagementValidationException>().Which.Field.Should().Be("renewals");
    }

    private static List<(int Period, bool Churned, double Weight)> Rows(double[] survivors)
    {
        var rows = new List<(int, bool, double)>();
        for (var t = 1; t < survivors.Length; t++)
        {
            rows.Add((t, true, survivors[t - 1] - survivors[t]));
        }

        rows.Add((survivors.Length - 1, false, survivors[^1]));
        return rows;
    }
}
