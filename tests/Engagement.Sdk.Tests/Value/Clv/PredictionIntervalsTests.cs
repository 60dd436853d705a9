using Engagement.Sdk.Value.Clv;

namespace Engagement.Sdk.Tests.Value.Clv;

/// <summary>
/// Parameter draws and the per-customer intervals built from them: the draws have the fit's distribution, the intervals are
/// exactly the quantiles of the per-draw predictions, and over repeated samples from a known population they cover the true
/// prediction at about their level.
/// </summary>
public sealed class PredictionIntervalsTests
{
    private static readonly RfmData Sample = BgNbdModel.FromParameters(0.3, 5, 0.9, 2.5).Simulate(3_000, 20, 60, seed: 21);

    [Fact]
    public void FromFit_DrawsHaveTheFitsMeanAndCovarianceInLogParameters()
    {
        var fit = BgNbdModel.Fit(Sample).FitResult!;

        var draws = ParameterDraws.FromFit(fit, 40_000, seed: 1);

        draws.Count.Should().Be(40_000);
        draws.Names.Should().Equal(fit.Names);
        var logs = Enumerable.Range(0, draws.Count).Select(d => draws[d].ToArray().Select(v => Math.Log(v)).ToArray()).ToList();
        for (var i = 0; i < 4; i++)
        {
            var mean = logs.Average(l => l[i]);
            var sd = fit.StandardErrors[i] / fit.Values[i];
            mean.Should().BeApproximately(Math.Log(fit.Values[i]), 4 * sd / Math.Sqrt(draws.Count));
            for (var j = 0; j <= i; j++)
            {
                var meanJ = logs.Average(l => l[j]);
                var covariance = logs.Sum(l => (l[i] - mean) * (l[j] - meanJ)) / (draws.Count - 1);
                var expected = fit.Covariance[(i * 4) + j] / (fit.Values[i] * fit.Values[j]);
                covariance.Should().BeApproximately(expected, 0.05 * Math.Sqrt(Math.Abs(fit.Covariance[(i * 5)] / (fit.Values[i] * fit.Values[i]) * fit.Covariance[(j * 5)] / (fit.Values[j] * fit.Values[j]))), $"({i}, {j})");
            }
        }
    }

    [Fact]
    public void Draws_AreSeeded()
    {
        var fit = BgNbdModel.Fit(Sample).FitResult!;

        var first = ParameterDraws.FromFit(fit, 10, seed: 7);
        var again = ParameterDraws.FromFit(fit, 10, seed: 7);
        var other = ParameterDraws.FromFit(fit, 10, seed: 8);

        first[3].ToArray().Should().Equal(again[3].ToArray());
        first[3].ToArray().Should().NotEqual(other[3].ToArray());
        var resampled = ParameterDraws.FromResampledCustomers(Sample, d => BgNbdModel.Fit(d).FitResult!, 3, seed: 2);
        resampled[2].ToArray().Should().Equal(ParameterDraws.FromResampledCustomers(Sample, d => BgNbdModel.Fit(d).FitResult!, 3, seed: 2)[2].ToArray());
    }

    [Fact]
    public void FromResampledCustomers_SpreadAgreesWithTheStandardErrors()
    {
        // The nonparametric bootstrap and the Hessian measure the same sampling spread (within the noise of 120 refits).
        var fit = BgNbdModel.Fit(Sample).FitResult!;

        var draws = ParameterDraws.FromResampledCustomers(Sample, d => BgNbdModel.Fit(d).FitResult!, 120, seed: 3);

        for (var i = 0; i < 2; i++)
        {
            var values = Enumerable.Range(0, draws.Count).Select(d => draws[d][i]).ToList();
            var mean = values.Average();
            var sd = Math.Sqrt(values.Sum(v => (v - mean) * (v - mean)) / (values.Count - 1));
            sd.Should().BeInRange(0.7 * fit.StandardErrors[i], 1.4 * fit.StandardErrors[i], fit.Names[i]);
            mean.Should().BeApproximately(fit.Values[i], 3 * fit.StandardErrors[i] / Math.Sqrt(values.Count) + (0.1 * fit.StandardErrors[i]));
        }
    }

    [Theory]
    [InlineData("bgnbd")]
    [InlineData("mbgnbd")]
    [InlineData("pnbd")]
    public void Intervals_AreTheQuantilesOfThePerDrawPredictions(string name)
    {
        ITransactionModel model = name switch
        {
            "bgnbd" => BgNbdModel.Fit(Sample),
            "mbgnbd" => BgNbdModel.Fit(Sample, modified: true),
            _ => ParetoNbdModel.Fit(Sample),
        };
        var fit = name == "pnbd" ? ((ParetoNbdModel)model).FitResult! : ((BgNbdModel)model).FitResult!;
        var draws = ParameterDraws.FromFit(fit, 101, seed: 4);
        double[] x = [0, 1, 4, 4, 12];
        double[] tx = [0, 3.5, 20, 20, 41];
        double[] age = [30, 30, 45, 20, 41];
        var (lower, upper) = (new double[5], new double[5]);
        ITransactionModel Draw(int d) => name == "pnbd"
            ? ParetoNbdModel.FromParameters(draws[d][0], draws[d][1], draws[d][2], draws[d][3])
            : BgNbdModel.FromParameters(draws[d][0], draws[d][1], draws[d][2], draws[d][3], name == "mbgnbd");

        foreach (var quantity in new[] { "alive", "expected", "dert" })
        {
            switch (quantity)
            {
                case "alive":
                    PredictionIntervals.ProbabilityAlive(model, draws, x, tx, age, 0.8, lower, upper);
                    break;
                case "expected":
                    PredictionIntervals.ConditionalExpectedTransactions(model, draws, 26, x, tx, age, 0.8, lower, upper);
                    break;
                default:
                    PredictionIntervals.DiscountedExpectedTransactions(model, draws, 0.002, x, tx, age, 0.8, lower, upper);
                    break;
            }

            for (var i = 0; i < 5; i++)
            {
                var values = Enumerable.Range(0, draws.Count).Select(d => quantity switch
                {
                    "alive" => Draw(d).ProbabilityAlive(x[i], tx[i], age[i]),
                    "expected" => Draw(d).ConditionalExpectedTransactions(26, x[i], tx[i], age[i]),
                    _ => Draw(d).DiscountedExpectedTransactions(0.002, x[i], tx[i], age[i]),
                }).Order().ToList();

                // 101 draws: the 10 % and 90 % quantiles are exactly the 11th and 91st order statistics.
                lower[i].Should().BeApproximately(values[10], 1e-9 * values[10] + 1e-15, $"{quantity} customer {i}");
                upper[i].Should().BeApproximately(values[90], 1e-9 * values[90] + 1e-15, $"{quantity} customer {i}");
            }
        }
    }

    [Fact]
    public void LifetimeValue_IsTheQuantilesOfMarginTimesSpendTimesDert()
    {
        var model = BgNbdModel.Fit(Sample);
        var draws = ParameterDraws.FromFit(model.FitResult!, 101, seed: 5);
        var spendModel = GammaGammaModel.Fit(GammaGammaModel.FromParameters(6, 4, 15).Simulate(Enumerable.Range(1, 500).Select(i => 1 + (i % 7)), seed: 6));
        var spendDraws = ParameterDraws.FromFit(spendModel.FitResult!, 101, seed: 6);
        double[] x = [0, 3];
        double[] tx = [0, 20];
        double[] age = [30, 40];
        double[] meanSpend = [0, 35];
        var (lower, upper) = (new double[2], new double[2]);

        PredictionIntervals.LifetimeValue(model, draws, spendDraws, 0.002, 0.3, x, tx, age, meanSpend, 0.8, lower, upper);

        for (var i = 0; i < 2; i++)
        {
            var values = Enumerable.Range(0, 101).Select(d =>
            {
                var transactions = BgNbdModel.FromParameters(draws[d][0], draws[d][1], draws[d][2], draws[d][3]);
                var spend = GammaGammaModel.FromParameters(spendDraws[d][0], spendDraws[d][1], spendDraws[d][2]);
                return 0.3 * spend.ExpectedAverageSpend((int)x[i], meanSpend[i]) * transactions.DiscountedExpectedTransactions(0.002, x[i], tx[i], age[i]);
            }).Order().ToList();
            lower[i].Should().BeApproximately(values[10], 1e-9 * values[10]);
            upper[i].Should().BeApproximately(values[90], 1e-9 * values[90]);
        }
    }

    [Fact]
    public void LifetimeValue_CustomersSharingAHistory_EachGetTheQuantilesOfTheirOwnSpend()
    {
        // Customers with one history but different spends (and repeats of both, interleaved) share the history's DERT under
        // each draw; each one's interval must still be that of their own margin · E[M | x, m̄] · DERT.
        var model = BgNbdModel.Fit(Sample, modified: true);
        var draws = ParameterDraws.FromFit(model.FitResult!, 41, seed: 9);
        var spendModel = GammaGammaModel.Fit(GammaGammaModel.FromParameters(6, 4, 15).Simulate(Enumerable.Range(1, 500).Select(i => 1 + (i % 7)), seed: 6));
        var spendDraws = ParameterDraws.FromFit(spendModel.FitResult!, 41, seed: 10);
        double[] x = [3, 0, 3, 3, 0, 1, 3];
        double[] tx = [20, 0, 20, 20, 0, 5, 20];
        double[] age = [40, 30, 40, 40, 30, 40, 40];
        double[] meanSpend = [35, 0, 12, 35, 0, 50, 80];
        var (lower, upper) = (new double[x.Length], new double[x.Length]);

        var prepared = PredictionIntervals.Prepare(model, draws, x, tx, age);
        prepared.LifetimeValue(spendDraws, 0.002, 0.3, meanSpend, 0.9, lower, upper);

        prepared.Customers.Should().Be(7);
        prepared.DistinctHistories.Should().Be(3);
        prepared.Draws.Should().Be(41);
        for (var i = 0; i < x.Length; i++)
        {
            var values = Enumerable.Range(0, 41).Select(d =>
            {
                var transactions = BgNbdModel.FromParameters(draws[d][0], draws[d][1], draws[d][2], draws[d][3], modified: true);
                var spend = GammaGammaModel.FromParameters(spendDraws[d][0], spendDraws[d][1], spendDraws[d][2]);
                return 0.3 * spend.ExpectedAverageSpend((int)x[i], meanSpend[i]) * transactions.DiscountedExpectedTransactions(0.002, x[i], tx[i], age[i]);
            }).Order().ToList();
            lower[i].Should().BeApproximately(values[2], 1e-9 * values[2], $"customer {i}");
            upper[i].Should().BeApproximately(values[38], 1e-9 * values[38], $"customer {i}");
        }

        upper[2].Should().BeLessThan(upper[0]).And.BeLessThan(upper[6], "a larger mean spend gives a larger value");
        (lower[3], upper[3]).Should().Be((lower[0], upper[0]));
    }

    [Theory]
    [InlineData("bgnbd")]
    [InlineData("mbgnbd")]
    [InlineData("pnbd")]
    public void Prepared_ReusedForEveryKind_GivesEachTheIntervalsOfAFreshPreparation(string name)
    {
        var (model, fit) = name switch
        {
            "bgnbd" => BgNbdModel.Fit(Sample) is var bg ? ((ITransactionModel)bg, bg.FitResult!) : default,
            "mbgnbd" => BgNbdModel.Fit(Sample, modified: true) is var mbg ? (mbg, mbg.FitResult!) : default,
            _ => ParetoNbdModel.Fit(Sample) is var pareto ? (pareto, pareto.FitResult!) : default,
        };
        var draws = ParameterDraws.FromFit(fit, 30, seed: 4);
        var spendModel = GammaGammaModel.Fit(GammaGammaModel.FromParameters(6, 4, 15).Simulate(Enumerable.Range(1, 500).Select(i => 1 + (i % 7)), seed: 6));
        var spendDraws = ParameterDraws.FromFit(spendModel.FitResult!, 30, seed: 5);
        // Every history twice, so that customers share histories.
        var n = 2 * Sample.Rows;
        var (x, tx, age) = (new double[n], new double[n], new double[n]);
        for (var i = 0; i < n; i++)
        {
            var r = i % Sample.Rows;
            (x[i], tx[i], age[i]) = (Sample.X[r], Sample.Tx[r], Sample.T[r]);
        }

        var meanSpend = x.Select((xi, i) => xi > 0 ? 10.0 + (i % 13) : 0).ToArray();
        var prepared = PredictionIntervals.Prepare(model, draws, x, tx, age);
        var (lower, upper, expectedLower, expectedUpper) = (new double[x.Length], new double[x.Length], new double[x.Length], new double[x.Length]);

        prepared.ProbabilityAlive(0.9, lower, upper);
        PredictionIntervals.ProbabilityAlive(model, draws, x, tx, age, 0.9, expectedLower, expectedUpper);
        (lower.SequenceEqual(expectedLower) && upper.SequenceEqual(expectedUpper)).Should().BeTrue("P(alive)");

        prepared.ConditionalExpectedTransactions(26, 0.8, lower, upper);
        PredictionIntervals.ConditionalExpectedTransactions(model, draws, 26, x, tx, age, 0.8, expectedLower, expectedUpper);
        (lower.SequenceEqual(expectedLower) && upper.SequenceEqual(expectedUpper)).Should().BeTrue("E[Y(26)]");

        prepared.DiscountedExpectedTransactions(0.003, 0.9, lower, upper);
        PredictionIntervals.DiscountedExpectedTransactions(model, draws, 0.003, x, tx, age, 0.9, expectedLower, expectedUpper);
        (lower.SequenceEqual(expectedLower) && upper.SequenceEqual(expectedUpper)).Should().BeTrue("DERT");

        prepared.LifetimeValue(spendDraws, 0.003, 0.25, meanSpend, 0.9, lower, upper);
        PredictionIntervals.LifetimeValue(model, draws, spendDraws, 0.003, 0.25, x, tx, age, meanSpend, 0.9, expectedLower, expectedUpper);
        (lower.SequenceEqual(expectedLower) && upper.SequenceEqual(expectedUpper)).Should().BeTrue("CLV");
        lower.Should().OnlyContain(v => v >= 0 && double.IsFinite(v));
        prepared.DistinctHistories.Should().Be(Sample.Rows);
    }

    [Fact]
    public void Prepared_BadInputs_NameTheArgument()
    {
        var model = BgNbdModel.Fit(Sample);
        var draws = ParameterDraws.FromFit(model.FitResult!, 10, seed: 1);
        var prepared = PredictionIntervals.Prepare(model, draws, [1, 0], [2, 0], [3, 4]);
        var (one, two) = (new double[1], new double[2]);

        FluentActions.Invoking(() => prepared.ProbabilityAlive(0.9, one, two)).Should().Throw<EngagementValidationException>().Which.Field.Should().Be("lower");
        FluentActions.Invoking(() => prepared.ProbabilityAlive(0.9, two, one)).Should().Throw<EngagementValidationException>().Which.Field.Should().Be("upper");
        FluentActions.Invoking(() => prepared.ProbabilityAlive(0, two, two)).Should().Throw<EngagementValidationException>().Which.Field.Should().Be("level");
        FluentActions.Invoking(() => prepared.DiscountedExpectedTransactions(-1, 0.9, two, two)).Should().Throw<EngagementValidationException>().Which.Field.Should().Be("discountRate");
        FluentActions.Invoking(() => prepared.LifetimeValue(draws, 0.01, 0.3, [10, 0], 0.9, two, two)).Should().Throw<EngagementValidationException>().Which.Field.Should().Be("spendDraws");
        FluentActions.Invoking(() => PredictionIntervals.Prepare(model, draws, [1], [2, 3], [3])).Should().Throw<EngagementValidationException>().Which.Field.Should().Be("x");
        FluentActions.Invoking(() => PredictionIntervals.Prepare(model, draws, [1], [5], [3])).Should().Throw<EngagementValidationException>().Which.Field.Should().Be("tx[0]");
    }

    [Fact]
    public void Intervals_OverRepeatedSamplesFromAKnownPopulation_CoverTheTruthAtAboutTheirLevel()
    {
        // 120 populations drawn from the same BG/NBD; each is fitted, and a 90 % interval of E[Y(26) | x = 3, t_x = 20, T = 40]
        // is built from 200 draws. The true expectation falls inside about 90 % of them.
        var truth = BgNbdModel.FromParameters(0.3, 5, 0.9, 2.5);
        var target = truth.ConditionalExpectedTransactions(26, 3, 20, 40);
        var inside = 0;
        const int Replications = 120;
        for (var k = 0; k < Replications; k++)
        {
            var model = BgNbdModel.Fit(truth.Simulate(1_500, 20, 60, seed: 100 + k));
            var draws = ParameterDraws.FromFit(model.FitResult!, 200, seed: k);
            var (lower, upper) = (new double[1], new double[1]);
            PredictionIntervals.ConditionalExpectedTransactions(model, draws, 26, [3], [20], [40], 0.9, lower, upper);
            inside += target >= lower[0] && target <= upper[0] ? 1 : 0;
        }

        ((double)inside / Replications).Should().BeInRange(0.8, 0.97);
    }

    [Fact]
    public void Bounds_AreTheInterpolatedQuantilesOfTheSortedValues()
    {
        var random = new Random(17);
        foreach (var n in new[] { 2, 3, 10, 101, 200, 1000 })
        {
            foreach (var level in new[] { 0.5, 0.8, 0.9, 0.95, 0.99, 0.999 })
            {
                var values = Enumerable.Range(0, n).Select(_ => random.Next(4) == 0 ? Math.Round(random.NextDouble(), 1) : random.NextDouble()).ToArray();
                var sorted = values.Order().ToArray();
                double Quantile(double q)
                {
                    var h = (n - 1) * q;
                    var k = (int)Math.Floor(h);
                    return k + 1 < n ? sorted[k] + ((h - k) * (sorted[k + 1] - sorted[k])) : sorted[k];
                }

                var (lower, upper) = PredictionIntervals.Bounds(values, level);

                lower.Should().BeApproximately(Quantile((1 - level) / 2), 1e-15, $"n = {n}, level = {level}");
                upper.Should().BeApproximately(Quantile((1 + level) / 2), 1e-15, $"n = {n}, level = {level}");
            }
        }
    }

    [Fact]
    public void Intervals_BadInputs_NameTheArgument()
    {
        var model = BgNbdModel.Fit(Sample);
        var draws = ParameterDraws.FromFit(model.FitResult!, 10, seed: 1);
        var pareto = ParameterDraws.FromFit(ParetoNbdModel.Fit(Sample).FitResult!, 10, seed: 1);
        var one = new double[1];

        FluentActions.Invoking(() => PredictionIntervals.ProbabilityAlive(model, draws, [1], [2], [3], 1, one, one)).Should().Throw<EngagementValidationException>().Which.Field.Should().Be("level");
        FluentActions.Invoking(() => PredictionIntervals.ProbabilityAlive(model, pareto, [1], [2], [3], 0.9, one, one)).Should().Throw<EngagementValidationException>().Which.Field.Should().Be("draws");
        FluentActions.Invoking(() => PredictionIntervals.ProbabilityAlive(model, draws, [1], [5], [3], 0.9, one, one)).Should().Throw<EngagementValidationException>().Which.Field.Should().Be("tx[0]");
        FluentActions.Invoking(() => PredictionIntervals.ConditionalExpectedTransactions(model, draws, -1, [1], [2], [3], 0.9, one, one)).Should().Throw<EngagementValidationException>().Which.Field.Should().Be("t");
        FluentActions.Invoking(() => PredictionIntervals.LifetimeValue(model, draws, draws, 0.01, 0.3, [1], [2], [3], [10], 0.9, one, one)).Should().Throw<EngagementValidationException>().Which.Field.Should().Be("spendDraws");
        FluentActions.Invoking(() => ParameterDraws.FromFit(model.FitResult!, 1, seed: 1)).Should().Throw<EngagementValidationException>().Which.Field.Should().Be("count");
        FluentActions.Invoking(() => draws[10].ToArray()).Should().Throw<EngagementValidationException>().Which.Field.Should().Be("draw");

        // A degenerate fit has no covariance to draw from: a typed error that says why.
        var degenerate = BgNbdModel.Fit(RfmData.Create([(2, 10, 30, 1), (2, 10, 30, 1)])).FitResult!;
        FluentActions.Invoking(() => ParameterDraws.FromFit(degenerate, 10, seed: 1)).Should().Throw<ClvModelException>().WithMessage("*covariance*");
    }
}
