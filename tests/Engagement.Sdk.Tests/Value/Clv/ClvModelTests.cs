using Engagement.Sdk.Value.Clv;

namespace Engagement.Sdk.Tests.Value.Clv;

public sealed class ClvModelTests
{
    private static readonly BgNbdModel Fhl = BgNbdModel.FromParameters(0.242594, 4.413595, 0.792919, 2.425945);

    [Theory]
    [InlineData(1.0, 0.0)]
    [InlineData(0.5, 0.5723649429247001)]
    [InlineData(10.0, 12.801827480081469)]
    [InlineData(171.5, 709.1431630309282)]
    [InlineData(0.001, 6.907178885383854)]
    public void LogGamma_KnownValues_AreExactToRounding(double x, double expected)
        => SpecialFunctions.LogGamma(x).Should().BeApproximately(expected, 1e-12 * Math.Max(1, Math.Abs(expected)));

    [Theory]
    [InlineData(2.5, 0.7, 0.5)]
    [InlineData(0.3, 4.0, 0.99)]
    [InlineData(30.0, 1.5, 0.9999)]
    public void Hypergeometric2F1_BEqualsC_EqualsOneMinusZToTheMinusA(double a, double b, double z)
        => SpecialFunctions.LogHypergeometric2F1(a, b, b, z).Log.Should().BeApproximately(-a * Math.Log(1 - z), 1e-11 * Math.Max(1, -a * Math.Log(1 - z)));

    [Fact]
    public void Hypergeometric2F1_LargeParameters_StaysFiniteInLogSpace()
    {
        // 2F1(a, b; b; z) = (1 − z)^−a: with a = 2000 the value is e^9210, far beyond double, but its logarithm is exact.
        SpecialFunctions.LogHypergeometric2F1(2000, 3, 3, 0.99).Log.Should().BeApproximately(-2000 * Math.Log(0.01), 1e-8);
    }

    [Fact]
    public void Hypergeometric2F1_ManyRepeatTransactionsCloseToOne_MatchesTheDirectSeriesSummedInFull()
    {
        // Pareto/NBD's ₂F₁(r+s+x, r+x; r+s+x+1; z) for a customer with 10,000 repeat transactions: the direct series grows
        // for about ten million terms before it shrinks (more than the function's limit), Euler's transformation does not.
        const double a = 10_000.8, b = 10_000.3, c = a + 1, z = 0.999;
        double logSum = 0, logTerm = 0;
        for (var k = 0; k < 200_000_000; k++)
        {
            logTerm += Math.Log((a + k) * (b + k) / ((c + k) * (k + 1)) * z);
            logSum = SpecialFunctions.LogSumExp(logSum, logTerm);
            if (k > 20_000_000 && logTerm < logSum - 40)
            {
                break;
            }
        }

        var value = SpecialFunctions.LogHypergeometric2F1(a, b, c, z).Log;

        value.Should().BeApproximately(logSum, 1e-9 * logSum);
    }

    [Theory]
    [InlineData(5.0, 3.0, 6.0, 0.9)]
    [InlineData(2.5, 1.5, 3.5, 0.6)]
    [InlineData(0.7, 0.4, 2.0, 0.95)]
    public void Hypergeometric2F1_Derivatives_MatchFiniteDifferencesOnBothSeries(double a, double b, double c, double z)
    {
        const double h = 1e-5;
        double F(double a1, double b1, double c1) => SpecialFunctions.LogHypergeometric2F1(a1, b1, c1, z).Log;

        var (_, dA, dB, dC) = SpecialFunctions.LogHypergeometric2F1(a, b, c, z);

        dA.Should().BeApproximately((F(a + h, b, c) - F(a - h, b, c)) / (2 * h), 1e-7);
        dB.Should().BeApproximately((F(a, b + h, c) - F(a, b - h, c)) / (2 * h), 1e-7);
        dC.Should().BeApproximately((F(a, b, c + h) - F(a, b, c - h)) / (2 * h), 1e-7);
    }

    [Fact]
    public void Hypergeometric2F1_TooCloseToOne_IsATypedErrorNotAWrongValue()
    {
        var act = () => SpecialFunctions.LogHypergeometric2F1(1, 1, 2, 1 - 1e-9);

        act.Should().Throw<ClvModelException>().WithMessage("*did not converge*");
    }

    [Theory]
    [InlineData(0.3)]
    [InlineData(0.9)]
    [InlineData(0.999)]
    public void Hypergeometric2F1_OneOneTwo_EqualsMinusLogOneMinusZOverZ(double z)
        => Math.Exp(SpecialFunctions.LogHypergeometric2F1(1, 1, 2, z).Log).Should().BeApproximately(-Math.Log(1 - z) / z, 1e-12 * (-Math.Log(1 - z) / z));

    [Fact]
    public void BgNbd_ProbabilityOfTransactions_SumsToOneAndItsMeanIsTheExpectation()
    {
        var probabilities = Enumerable.Range(0, 400).Select(n => Fhl.ProbabilityOfTransactions(n, 39)).ToArray();

        probabilities.Sum().Should().BeApproximately(1, 1e-9);
        probabilities.Select((p, n) => p * n).Sum().Should().BeApproximately(Fhl.ExpectedTransactions(39), 1e-8);
    }

    [Fact]
    public void BgNbd_NoRepeatPurchase_IsAliveButMbgNbdIsNot()
    {
        Fhl.ProbabilityAlive(0, 0, 30).Should().Be(1);
        BgNbdModel.FromParameters(0.5248, 6.1831, 0.8914, 1.6140, modified: true).ProbabilityAlive(0, 0, 30).Should().BeLessThan(1);
    }

    [Fact]
    public void ConditionalExpectation_NewCustomer_EqualsTheUnconditionalOne()
    {
        Fhl.ConditionalExpectedTransactions(52, 0, 0, 0).Should().BeApproximately(Fhl.ExpectedTransactions(52), 1e-12);
        var pareto = ParetoNbdModel.FromParameters(0.5533, 10.578, 0.6063, 11.669);
        pareto.ConditionalExpectedTransactions(52, 0, 0, 0).Should().BeApproximately(pareto.ExpectedTransactions(52), 1e-9);
    }

    [Theory]
    [InlineData(500, 300, 310)]
    [InlineData(5000, 700, 730)]
    [InlineData(0, 0, 10_000)]
    public void Predictions_ExtremeHistories_AreFiniteAndInRange(double x, double tx, double age)
    {
        var pareto = ParetoNbdModel.FromParameters(0.5533, 10.578, 0.6063, 11.669);
        foreach (var model in new ITransactionModel[] { Fhl, BgNbdModel.FromParameters(0.5248, 6.1831, 0.8914, 1.6140, modified: true), pareto })
        {
            var alive = model.ProbabilityAlive(x, tx, age);
            var expected = model.ConditionalExpectedTransactions(52, x, tx, age);

            alive.Should().BeInRange(0, 1, model.Name);
            double.IsFinite(expected).Should().BeTrue(model.Name);
            expected.Should().BeGreaterThanOrEqualTo(0, model.Name);
        }

        double.IsFinite(ParetoNbdModel.LogLikelihood([0.5533, 10.578, 0.6063, 11.669], RfmData.Create([(x, tx, age, 1)]), new double[4])).Should().BeTrue();
    }

    [Theory]
    [InlineData(2000)]
    [InlineData(100_000)] // large enough for the batch to be split over the cores
    public void ConditionalExpectedTransactions_Batch_EqualsOneByOne(int n)
    {
        var random = new Random(9);
        var x = new double[n];
        var tx = new double[n];
        var t = new double[n];
        for (var i = 0; i < n; i++)
        {
            t[i] = 1 + random.Next(60);
            x[i] = random.Next(3) == 0 ? 0 : random.Next(1, 15);
            tx[i] = x[i] == 0 ? 0 : random.Next(0, (int)t[i] + 1);
        }

        foreach (var model in new ITransactionModel[] { Fhl, BgNbdModel.FromParameters(0.5248, 6.1831, 0.8914, 1.6140, modified: true), ParetoNbdModel.FromParameters(0.5533, 10.578, 0.6063, 11.669), ParetoNbdModel.FromParameters(0.5533, 14, 0.6063, 9) })
        {
            var batch = new double[n];
            model.ConditionalExpectedTransactions(26, x, tx, t, batch);

            for (var i = 0; i < n; i++)
            {
                batch[i].Should().BeApproximately(model.ConditionalExpectedTransactions(26, x[i], tx[i], t[i]), 1e-12 * Math.Max(1, batch[i]), model.Name);
            }
        }
    }

    public static TheoryData<double, double, double, double, bool> DailyScaleParameters => new()
    {
        { 0.2543341970874877, 31.949749979610132, 0.8033798170557146, 2.5389291395876032, false }, // BG/NBD fitted to 100,000 customers simulated from (0.25, 30, 0.8, 2.5)
        { 0.4771036575332108, 43.28819621381661, 0.9945252309425225, 2.396249198724444, true }, // MBG/NBD fitted to the same customers
        { 0.25, 30, 0.8, 2.5, false },
        { 0.25, 30, 1.0004, 2.5, false }, // within 1e-3 of a = 1, where the 0/0 is divided out of the series
        { 0.25, 30, 0.3, 0.4, false }, // a + b < 1: c ≤ 0 for customers without repeat purchases
    };

    [Theory]
    [MemberData(nameof(DailyScaleParameters))]
    public void ConditionalExpectedTransactions_BatchOfDailyHistoriesWithFittedParameters_EqualsOneByOne(double r, double alpha, double a, double b, bool modified)
    {
        // Daily data over two years (x up to 29, T up to 730, a quarter without repeat purchases), a 90-day horizon, split
        // over the cores: every customer matches the one-at-a-time formula to 1e-12 relative (1e-15 absolute near 0).
        const int N = 150_000;
        var random = new Random(5);
        var x = new double[N];
        var tx = new double[N];
        var age = new double[N];
        for (var i = 0; i < N; i++)
        {
            age[i] = 1 + random.Next(730);
            x[i] = random.Next(4) == 0 ? 0 : random.Next(1, 30);
            tx[i] = x[i] == 0 ? 0 : random.Next(1, (int)age[i] + 1);
        }

        var model = BgNbdModel.FromParameters(r, alpha, a, b, modified);
        var batch = new double[N];
        model.ConditionalExpectedTransactions(90, x, tx, age, batch);

        for (var i = 0; i < N; i++)
        {
            var one = model.ConditionalExpectedTransactions(90, x[i], tx[i], age[i]);
            double.IsFinite(one).Should().BeTrue();
            batch[i].Should().BeApproximately(one, Math.Max(1e-12 * Math.Abs(one), 1e-15), $"customer {i}: x = {x[i]}, tx = {tx[i]}, T = {age[i]}");
        }
    }

    [Fact]
    public void ConditionalExpectedTransactions_Batch_AllocatesNothingPerCustomer()
    {
        // 60,000 customers (one slice, checked and looked up on this thread) with 30 distinct histories: what the call
        // allocates on this thread grows with the histories, not with the customers (naming each customer's arguments for a
        // possible error once cost about 140 bytes each).
        const int N = 60_000;
        var x = Enumerable.Range(0, N).Select(i => (double)(i % 10)).ToArray();
        var tx = x.Select(v => v * 3).ToArray();
        var age = Enumerable.Range(0, N).Select(i => 30.0 + (10 * (i % 3))).ToArray();
        var result = new double[N];
        foreach (ITransactionModel model in new ITransactionModel[] { Fhl, BgNbdModel.FromParameters(0.5248, 6.1831, 0.8914, 1.6140, modified: true), ParetoNbdModel.FromParameters(0.5533, 10.578, 0.6063, 11.669) })
        {
            model.ConditionalExpectedTransactions(26, x, tx, age, result);
            var before = GC.GetAllocatedBytesForCurrentThread();
            model.ConditionalExpectedTransactions(26, x, tx, age, result);
            var perCustomer = (GC.GetAllocatedBytesForCurrentThread() - before) / (double)N;

            perCustomer.Should().BeLessThan(2, model.Name);
        }
    }

    [Fact]
    public void BgNbdOneCustomerPredictions_ByTheSeries_AllocateNothing()
    {
        // The quadrature's integrand captures its parameters; that capture once was allocated on every call, series or not.
        foreach (var model in new[] { Fhl, BgNbdModel.FromParameters(0.4771, 43.288, 0.9945, 2.3962, modified: true) })
        {
            var sum = model.ConditionalExpectedTransactions(90, 3, 200, 400) + model.ProbabilityAliveAfter(90, 3, 200, 400) + model.ExpectedTransactions(90);
            var before = GC.GetAllocatedBytesForCurrentThread();
            for (var i = 0; i < 1000; i++)
            {
                sum += model.ConditionalExpectedTransactions(90, i % 30, i % 30 == 0 ? 0 : 200, 400)
                    + model.ProbabilityAliveAfter(90, i % 30, i % 30 == 0 ? 0 : 200, 400)
                    + model.ExpectedTransactions(1 + i);
            }

            var allocated = GC.GetAllocatedBytesForCurrentThread() - before;

            double.IsFinite(sum).Should().BeTrue(model.Name);
            allocated.Should().BeLessThan(1000, model.Name);
        }
    }

    [Fact]
    public void ConditionalExpectedTransactions_BatchWithZeroHorizonOrNoCustomers_IsZerosAndNothing()
    {
        var pareto = ParetoNbdModel.FromParameters(0.5533, 10.578, 0.6063, 11.669);
        double[] x = [0, 3, 5], tx = [0, 10, 20], t = [5, 20, 20];
        var batch = new double[] { 7, 7, 7 };

        pareto.ConditionalExpectedTransactions(0, x, tx, t, batch);
        pareto.ConditionalExpectedTransactions(26, [], [], [], []);

        batch.Should().Equal(0, 0, 0);
        pareto.ConditionalExpectedTransactions(26, 5, 20, 20).Should().BeApproximately(pareto.ConditionalExpectedTransactions(26, 5, 20, 20.0000001), 1e-6, "a customer whose last purchase is at T is alive for sure, continuously so");
    }

    [Fact]
    public void Fit_NoRepeatBuyers_ThrowsATypedErrorThatSaysWhy()
    {
        var data = RfmData.Create([(0, 0, 10, 5), (0, 0, 20, 5)]);

        foreach (var fit in new Action[] { () => BgNbdModel.Fit(data), () => BgNbdModel.Fit(data, modified: true), () => ParetoNbdModel.Fit(data) })
        {
            fit.Should().Throw<ClvModelException>().WithMessage("*no customer made a repeat purchase*");
        }
    }

    [Fact]
    public void Fit_OneCustomer_ThrowsATypedError()
        => FluentActions.Invoking(() => BgNbdModel.Fit(RfmData.Create([(3, 5, 10, 1)]))).Should().Throw<ClvModelException>().WithMessage("*one customer*");

    [Fact]
    public void Fit_AllAgesZero_ThrowsATypedError()
        => FluentActions.Invoking(() => ParetoNbdModel.Fit(RfmData.Create([(1, 0, 0, 3), (0, 0, 0, 2)])))
            .Should().Throw<ClvModelException>().WithMessage("*age T is 0*");

    [Fact]
    public void GammaGamma_NonPositiveSpend_ThrowsATypedError()
        => FluentActions.Invoking(() => GammaGammaModel.Fit([(2, 10.0, 1.0), (1, 0.0, 1.0), (3, 5.0, 1.0)])).Should().Throw<ClvModelException>().WithMessage("*positive mean spend*");

    [Theory]
    [InlineData(-1, 0, 5, 1, "x")]
    [InlineData(1.5, 1, 5, 1, "x")]
    [InlineData(2, 6, 5, 1, "t_x")]
    [InlineData(0, 1, 5, 1, "t_x")]
    [InlineData(1, 1, 5, 0, "weight")]
    [InlineData(1, 1, double.NaN, 1, "T")]
    public void RfmData_BadRow_NamesTheField(double x, double tx, double t, double w, string field)
        => FluentActions.Invoking(() => RfmData.Create([(x, tx, t, w)])).Should().Throw<EngagementValidationException>().Which.Field.Should().EndWith(field);

    [Fact]
    public void BgNbd_SimulatedPopulation_RecoversItsParameters()
    {
        var truth = BgNbdModel.FromParameters(0.5, 6, 0.8, 2.5);
        var data = truth.Simulate(20_000, 30, 80, seed: 11);

        var fit = BgNbdModel.Fit(data);

        fit.R.Should().BeApproximately(0.5, 0.05);
        fit.Alpha.Should().BeApproximately(6, 0.9);
        fit.A.Should().BeApproximately(0.8, 0.2);
        fit.B.Should().BeApproximately(2.5, 0.8);
    }

    [Fact]
    public void ParetoNbd_SimulatedPopulation_RecoversItsParameters()
    {
        var truth = ParetoNbdModel.FromParameters(0.6, 10, 0.7, 12);
        var data = truth.Simulate(20_000, 30, 80, seed: 12);

        var fit = ParetoNbdModel.Fit(data);

        fit.R.Should().BeApproximately(0.6, 0.06);
        fit.Alpha.Should().BeApproximately(10, 1.5);
        fit.S.Should().BeApproximately(0.7, 0.25);
        fit.Beta.Should().BeApproximately(12, 6);
    }

    [Fact]
    public void BgBb_SimulatedDonors_RecoversItsParameters()
    {
        var truth = BgBbModel.FromParameters(1.2, 0.75, 0.66, 2.8);
        var patterns = truth.Simulate(50_000, 6, seed: 14);

        var fit = BgBbModel.Fit(patterns);

        fit.FitResult!.Customers.Should().Be(50_000);
        fit.Alpha.Should().BeApproximately(1.2, 0.15);
        fit.Beta.Should().BeApproximately(0.75, 0.12);
        fit.Gamma.Should().BeApproximately(0.66, 0.15);
        fit.Delta.Should().BeApproximately(2.8, 0.8);
    }

    [Fact]
    public void GammaGamma_SimulatedSpend_RecoversItsParameters()
    {
        var truth = GammaGammaModel.FromParameters(6, 4, 15);
        var rows = truth.Simulate(Enumerable.Range(0, 20_000).Select(i => 1 + (i % 6)), seed: 13);

        var fit = GammaGammaModel.Fit(rows);

        fit.P.Should().BeApproximately(6, 0.6);
        fit.Q.Should().BeApproximately(4, 0.4);
        fit.Gamma.Should().BeApproximately(15, 2.5);
    }

    [Fact]
    public void CustomerLifetimeValue_HigherDiscountRate_GivesLowerValueAndZeroMarginGivesZero()
    {
        var spend = GammaGammaModel.FromParameters(6.25, 3.74, 15.44);
        var customer = new CustomerRfm("c1", 4, 30, 38, 40m, 0, new DateOnly(1997, 1, 1));

        var low = CustomerLifetimeValue.Compute(Fhl, spend, customer, 12, 4.345, 0.01, 0.3);
        var high = CustomerLifetimeValue.Compute(Fhl, spend, customer, 12, 4.345, 0.05, 0.3);

        low.Should().BeGreaterThan(high).And.BeGreaterThan(0);
        CustomerLifetimeValue.Compute(Fhl, spend, customer, 12, 4.345, 0.01, 0).Should().Be(0);
        FluentActions.Invoking(() => CustomerLifetimeValue.Compute(Fhl, spend, customer, 12, 4.345, -0.1, 0.3)).Should().Throw<EngagementValidationException>().Which.Field.Should().Be("discountRate");
    }

    [Fact]
    public void FromTransactions_SameDayPurchases_CountOnceWithSummedAmounts()
    {
        var day = new DateOnly(2026, 1, 5);
        var summary = RfmSummary.FromTransactions(
            [
                new Transaction("a", day, 10m),
                new Transaction("a", day.AddDays(7), 5m),
                new Transaction("a", day.AddDays(7), 7m),
                new Transaction("a", day.AddDays(14), 3m),
                new Transaction("b", day.AddDays(40), 9m),
            ],
            day.AddDays(21),
            unit: TimeUnit.Days);

        var a = summary.Customers.Should().ContainSingle("b's first purchase is after the calibration end").Subject;
        a.Frequency.Should().Be(2);
        a.Recency.Should().Be(14);
        a.Age.Should().Be(21);
        a.MeanRepeatSpend.Should().Be(7.5m);
    }

    [Fact]
    public void FromTransactions_MillionsSplitOverTheCores_EqualsAStraightforwardGrouping()
    {
        var random = new Random(17);
        var start = new DateOnly(2024, 1, 1);
        var ids = Enumerable.Range(0, 60_000).Select(i => "c" + i.ToString(System.Globalization.CultureInfo.InvariantCulture)).ToArray();
        var transactions = Enumerable.Range(0, 1_200_000)
            .Select(_ => new Transaction(new string(ids[random.Next(ids.Length)]), start.AddDays(random.Next(730)), random.Next(1, 5000) / 100m))
            .ToArray();
        var calibrationEnd = new DateOnly(2024, 12, 31);
        var holdoutEnd = new DateOnly(2025, 12, 31);

        var summary = RfmSummary.FromTransactions(transactions, calibrationEnd, holdoutEnd, TimeUnit.Days);

        var expected = transactions.GroupBy(t => t.CustomerId) // GroupBy keeps the order of first appearance
            .Select(g => (Id: g.Key, Days: g.GroupBy(t => t.Date).Select(d => (Day: d.Key, Amount: d.Sum(t => t.Amount))).OrderBy(d => d.Day).ToList()))
            .Where(c => c.Days[0].Day <= calibrationEnd)
            .Select(c =>
            {
                var calibration = c.Days.Where(d => d.Day <= calibrationEnd).ToList();
                var x = calibration.Count - 1;
                return new CustomerRfm(
                    c.Id,
                    x,
                    x == 0 ? 0 : calibration[^1].Day.DayNumber - calibration[0].Day.DayNumber,
                    calibrationEnd.DayNumber - calibration[0].Day.DayNumber,
                    x == 0 ? 0 : calibration.Skip(1).Sum(d => d.Amount) / x,
                    c.Days.Count(d => d.Day > calibrationEnd && d.Day <= holdoutEnd),
                    calibration[0].Day);
            })
            .ToList();
        summary.Customers.Should().Equal(expected);
    }

    [Fact]
    public void GammaGammaLogLikelihood_ManyRowsInParallelChunks_EqualsTheFormulaSummedRowByRow()
    {
        var random = new Random(41);
        var rows = Enumerable.Range(0, 100_000).Select(_ => (random.Next(1, 40), 1 + (random.NextDouble() * 200), 1.0 + random.Next(3))).ToArray();
        double[] parameters = [6.25, 3.74, 15.4];
        var gradient = new double[3];

        var total = GammaGammaModel.LogLikelihood(parameters, rows, gradient);

        double p = parameters[0], q = parameters[1], g = parameters[2];
        double expected = 0, gp = 0, gq = 0, gg = 0;
        foreach (var (x, m, w) in rows)
        {
            var px = p * x;
            expected += w * (SpecialFunctions.LogGamma(px + q) - SpecialFunctions.LogGamma(px) - SpecialFunctions.LogGamma(q) + (q * Math.Log(g)) + ((px - 1) * Math.Log(m)) + (px * Math.Log(x)) - ((px + q) * Math.Log(g + (m * x))));
            gp += w * x * (SpecialFunctions.Digamma(px + q) - SpecialFunctions.Digamma(px) + Math.Log(m) + Math.Log(x) - Math.Log(g + (m * x)));
            gq += w * (SpecialFunctions.Digamma(px + q) - SpecialFunctions.Digamma(q) + Math.Log(g) - Math.Log(g + (m * x)));
            gg += w * ((q / g) - ((px + q) / (g + (m * x))));
        }

        total.Should().BeApproximately(expected, 1e-10 * Math.Abs(expected));
        gradient[0].Should().BeApproximately(gp, 1e-8 * Math.Max(1, Math.Abs(gp)));
        gradient[1].Should().BeApproximately(gq, 1e-8 * Math.Max(1, Math.Abs(gq)));
        gradient[2].Should().BeApproximately(gg, 1e-8 * Math.Max(1, Math.Abs(gg)));
    }

    [Theory]
    [InlineData(1_200_000, true)] // split over the cores
    [InlineData(3_000, true)] // one slice
    [InlineData(3_000, false)] // no holdout: counted to the calibration end
    public void RepeatTransactionsByDay_EqualsTheRepeatPurchaseDaysCountedDirectly(int count, bool withHoldout)
    {
        var random = new Random(31);
        var start = new DateOnly(2024, 1, 1);
        var transactions = Enumerable.Range(0, count)
            .Select(_ => new Transaction("c" + random.Next(count / 20).ToString(System.Globalization.CultureInfo.InvariantCulture), start.AddDays(random.Next(900)), 1m))
            .ToArray();
        var calibrationEnd = new DateOnly(2024, 12, 31);
        DateOnly? holdoutEnd = withHoldout ? new DateOnly(2025, 9, 30) : null;
        var last = holdoutEnd ?? calibrationEnd;

        var summary = RfmSummary.FromTransactions(transactions, calibrationEnd, holdoutEnd, TimeUnit.Days);

        // Each kept customer's distinct purchase days after the first, up to the last day, counted by day.
        var days = transactions.GroupBy(t => t.CustomerId)
            .Select(g => g.Select(t => t.Date).Distinct().Order().ToList())
            .Where(d => d[0] <= calibrationEnd)
            .ToList();
        var first = days.Min(d => d[0]);
        var expected = new int[last.DayNumber - first.DayNumber + 1];
        foreach (var day in days.SelectMany(d => d.Skip(1)).Where(d => d <= last))
        {
            expected[day.DayNumber - first.DayNumber]++;
        }

        summary.FirstPurchase.Should().Be(first);
        summary.RepeatTransactionsByDay.Should().Equal(expected);
        summary.RepeatTransactionsByDay.Sum().Should().Be(summary.RepeatTransactions + summary.HoldoutTransactions);
    }

    [Fact]
    public void FromTransactions_AnyReadOnlyList_GivesTheSameSummaryAsAnArray()
    {
        var random = new Random(23);
        var start = new DateOnly(2024, 1, 1);
        var transactions = Enumerable.Range(0, 400_000)
            .Select(_ => new Transaction("c" + random.Next(50_000).ToString(System.Globalization.CultureInfo.InvariantCulture), start.AddDays(random.Next(400)), random.Next(1, 900) / 100m))
            .ToArray();

        var fromArray = RfmSummary.FromTransactions(transactions, new DateOnly(2024, 9, 30), new DateOnly(2025, 2, 1), TimeUnit.Weeks);
        var fromList = RfmSummary.FromTransactions(transactions.ToList(), new DateOnly(2024, 9, 30), new DateOnly(2025, 2, 1), TimeUnit.Weeks);

        fromList.Customers.Should().Equal(fromArray.Customers);
        fromArray.Customers.Select(c => c.CustomerId).Should().OnlyHaveUniqueItems().And.HaveCountGreaterThan(49_000);
        fromArray.RepeatTransactions.Should().Be(fromArray.Customers.Sum(c => c.Frequency));
    }

    [Fact]
    public void FromTransactions_BadTransactionsInSeveralSlices_ReportsTheFirstOne()
    {
        var day = new DateOnly(2024, 1, 1);
        var transactions = Enumerable.Range(0, 1_000_000).Select(i => new Transaction("c" + (i % 1000).ToString(System.Globalization.CultureInfo.InvariantCulture), day, 1m)).ToArray();
        transactions[900_000] = transactions[900_000] with { Amount = -1m };
        transactions[300_001] = transactions[300_001] with { CustomerId = string.Empty };

        var act = () => RfmSummary.FromTransactions(transactions, day.AddDays(10));

        act.Should().Throw<EngagementValidationException>().Which.Field.Should().Be("transactions[300001].customerId");
    }
}
