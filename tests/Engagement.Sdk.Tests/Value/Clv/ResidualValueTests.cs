using Engagement.Sdk.Value.Clv;

namespace Engagement.Sdk.Tests.Value.Clv;

/// <summary>
/// DERT (discounted expected residual transactions), future P(alive), conditional transaction-count distributions and
/// continuous-time CLV, each against an independent computation: the published closed form evaluated with other special
/// functions, a numerical integral of the validated expectations, the model's own simulation with known parameters, or the
/// distribution's moments.
/// </summary>
public sealed class ResidualValueTests
{
    /// <summary>CDNOW estimates (weekly): Pareto/NBD and BG/NBD of Fader, Hardie and Lee, MBG/NBD of Batislam et al.</summary>
    private static readonly ParetoNbdModel Pareto = ParetoNbdModel.FromParameters(0.5533, 10.5777, 0.6062, 11.6687);
    private static readonly BgNbdModel BgNbd = BgNbdModel.FromParameters(0.242594, 4.413595, 0.792919, 2.425945);
    private static readonly BgNbdModel MbgNbd = BgNbdModel.FromParameters(0.5248, 6.1831, 0.8914, 1.6140, modified: true);

    /// <summary>15 % a year, compounded continuously, per week: ln(1.15)/52 — FHL 2005's 0.0027.</summary>
    private static readonly double WeeklyRate = Math.Log(1.15) / 52;

    public static TheoryData<double, double, double> Histories => new()
    {
        { 0, 0, 38.86 },
        { 2, 30.43, 38.86 },
        { 7, 35, 37.5 },
        { 26, 30.86, 31 },
        { 1, 2, 32 },
    };

    [Theory]
    [MemberData(nameof(Histories))]
    public void ParetoDert_MatchesThePublishedClosedFormWithUFromTheIncompleteGamma(double x, double tx, double age)
    {
        // FHL 2005 eq. 2: α^r β^s δ^(s−1) Γ(r+x+1) U(s, s; δ(β+T)) / [Γ(r) (α+T)^(r+x+1) L], with U(s, s; z) = e^z Γ(1−s) Q(1−s, z) for s < 1.
        var (r, alpha, s, beta) = (Pareto.R, Pareto.Alpha, Pareto.S, Pareto.Beta);
        foreach (var delta in new[] { WeeklyRate, 0.05, 1.0 })
        {
            var z = delta * (beta + age);
            var logU = z + SpecialFunctions.LogGamma(1 - s) + Math.Log(Distributions.GammaQ(1 - s, z));
            var logL = ParetoNbdModel.LogLikelihood([r, alpha, s, beta], RfmData.Create([(x, tx, age, 1)]), []);
            var expected = Math.Exp((r * Math.Log(alpha)) + (s * Math.Log(beta)) + ((s - 1) * Math.Log(delta)) + SpecialFunctions.LogGamma(r + x + 1) + logU
                - SpecialFunctions.LogGamma(r) - ((r + x + 1) * Math.Log(alpha + age)) - logL);

            Pareto.DiscountedExpectedTransactions(delta, x, tx, age).Should().BeApproximately(expected, expected * 1e-10, $"δ = {delta}");
        }
    }

    [Theory]
    [InlineData("bgnbd", 0, 0, 38.86, 1.0172582662767369921)]
    [InlineData("bgnbd", 2, 30.43, 38.86, 5.1695910623719958259)]
    [InlineData("bgnbd", 7, 35, 37.5, 17.546433280042970814)]
    [InlineData("bgnbd", 26, 30.86, 31, 71.072431316573201055)]
    [InlineData("bgnbd", 1, 2, 32, 1.2487464485055507978)]
    [InlineData("bgnbd", 60, 50, 52, 117.05047556860693513)]
    [InlineData("mbgnbd", 0, 0, 38.86, 0.72440225452509088405)]
    [InlineData("mbgnbd", 2, 30.43, 38.86, 4.922115729604715199)]
    [InlineData("mbgnbd", 7, 35, 37.5, 15.679831098395234805)]
    [InlineData("mbgnbd", 26, 30.86, 31, 61.509659901735383185)]
    [InlineData("mbgnbd", 1, 2, 32, 1.0965743323918605973)]
    [InlineData("mbgnbd", 60, 50, 52, 103.05964730057923005)]
    public void BgNbdFamilyDert_MatchesAThirtyDigitEvaluationOfItsIntegral(string name, double x, double tx, double age, double expected)
    {
        // The references are (r + x) ∫₀^∞ e^(−δ(α+T)u) ₂F₁(r + x + 1, a; a + b + x [+ 1]; −u) du · P(alive), evaluated with
        // mpmath at 30 digits (hyp2f1 and tanh-sinh quadrature) at ln(1.15)/52 a week: the grid's large-u nodes, taken by the
        // connection formula in 1/u, and its small-u nodes, by the series in u/(1 + u), to near double precision.
        var model = name == "bgnbd" ? BgNbd : MbgNbd;

        model.DiscountedExpectedTransactions(WeeklyRate, x, tx, age).Should().BeApproximately(expected, expected * 1e-12);
    }

    [Theory]
    [MemberData(nameof(Histories))]
    public void Dert_EqualsTheDiscountedIntegralOfTheConditionalExpectation(double x, double tx, double age)
    {
        // DERT = ∫ e^(−δt) dE[Y(t)] = δ ∫₀^∞ e^(−δt) E[Y(t) | history] dt, integrated over ln t with the validated closed forms.
        foreach (ITransactionModel model in new ITransactionModel[] { Pareto, BgNbd, MbgNbd })
        {
            foreach (var delta in new[] { WeeklyRate, 0.1 })
            {
                var expected = DiscountedIntegral(model, delta, x, tx, age);

                model.DiscountedExpectedTransactions(delta, x, tx, age).Should().BeApproximately(expected, expected * 1e-7, $"{model.Name}, δ = {delta}");
            }
        }
    }

    [Theory]
    [InlineData("bgnbd")]
    [InlineData("mbgnbd")]
    [InlineData("pnbd")]
    public void Dert_AveragedOverASimulatedPopulation_EqualsTheRealisedDiscountedTransactions(string name)
    {
        // Customers drawn from the model with known parameters, observed to T, then followed into the future: the mean of
        // their realised discounted purchases must equal the mean of their predicted DERT (the law of total expectation).
        const double Delta = 0.01;
        var random = new Random(20240611);
        var (realised, predicted) = (new List<double>(), new List<double>());
        ITransactionModel model = name switch { "bgnbd" => BgNbd, "mbgnbd" => MbgNbd, _ => Pareto };
        const int N = 60_000;
        var (xs, txs, ages) = (new double[N], new double[N], new double[N]);
        for (var i = 0; i < N; i++)
        {
            ages[i] = 10 + random.Next(51);
            var (x, tx, future) = name == "pnbd" ? SimulatePareto(random, ages[i], Delta) : SimulateBg(random, ages[i], Delta, name == "mbgnbd");
            (xs[i], txs[i]) = (x, tx);
            realised.Add(future);
        }

        var dert = new double[N];
        model.DiscountedExpectedTransactions(Delta, xs, txs, ages, dert);
        predicted.AddRange(dert);

        var differences = realised.Zip(predicted, (a, b) => a - b).ToList();
        var mean = differences.Average();
        var se = Math.Sqrt(differences.Sum(d => (d - mean) * (d - mean)) / (differences.Count - 1) / differences.Count);
        Math.Abs(mean).Should().BeLessThan(4 * se, $"mean realised {realised.Average():F4}, mean predicted {predicted.Average():F4}");
        se.Should().BeLessThan(0.02 * predicted.Average(), "the check must be sharp enough to mean something");
    }

    [Fact]
    public void Dert_Batch_EqualsOneByOne()
    {
        var random = new Random(7);
        var n = 5_000;
        var (x, tx, age) = (new double[n], new double[n], new double[n]);
        for (var i = 0; i < n; i++)
        {
            age[i] = 1 + random.Next(60);
            x[i] = random.Next(4) == 0 ? 0 : random.Next(1, 15);
            tx[i] = x[i] == 0 ? 0 : random.Next(1, (int)age[i] + 1);
        }

        foreach (ITransactionModel model in new ITransactionModel[] { Pareto, BgNbd, MbgNbd })
        {
            var batch = new double[n];
            model.DiscountedExpectedTransactions(WeeklyRate, x, tx, age, batch);
            var alive = new double[n];
            model.ProbabilityAlive(x, tx, age, alive);
            for (var i = 0; i < n; i += 37)
            {
                var one = model.DiscountedExpectedTransactions(WeeklyRate, x[i], tx[i], age[i]);
                batch[i].Should().BeApproximately(one, one * 1e-10, $"{model.Name} customer {i}");
                alive[i].Should().BeApproximately(model.ProbabilityAlive(x[i], tx[i], age[i]), 1e-14);
            }
        }
    }

    [Fact]
    public void Dert_AtZeroRate_IsTheUndiscountedLimit()
    {
        foreach (ITransactionModel model in new ITransactionModel[] { Pareto, BgNbd, MbgNbd, ParetoNbdModel.FromParameters(0.5, 10, 1.8, 12), BgNbdModel.FromParameters(0.3, 5, 1.7, 2.5) })
        {
            model.DiscountedExpectedTransactions(0, 3, 20, 30).Should().Be(model.ConditionalExpectedTransactions(double.PositiveInfinity, 3, 20, 30), model.Name);
        }

        // Finite limits where the drop-out mean is finite; small rates approach them.
        var finite = ParetoNbdModel.FromParameters(0.5, 10, 1.8, 12);
        finite.DiscountedExpectedTransactions(1e-9, 3, 20, 30).Should().BeApproximately(finite.DiscountedExpectedTransactions(0, 3, 20, 30), 1e-4);
        double.IsPositiveInfinity(Pareto.DiscountedExpectedTransactions(0, 3, 20, 30)).Should().BeTrue();
    }

    [Theory]
    [InlineData(-0.01)]
    [InlineData(double.NaN)]
    [InlineData(double.PositiveInfinity)]
    public void Dert_BadRate_NamesTheArgument(double rate)
    {
        foreach (ITransactionModel model in new ITransactionModel[] { Pareto, BgNbd })
        {
            FluentActions.Invoking(() => model.DiscountedExpectedTransactions(rate, 1, 2, 3)).Should().Throw<EngagementValidationException>().Which.Field.Should().Be("discountRate");
            FluentActions.Invoking(() => model.DiscountedExpectedTransactions(rate, [1], [2], [3], new double[1])).Should().Throw<EngagementValidationException>().Which.Field.Should().Be("discountRate");
        }

        FluentActions.Invoking(() => BgBbModel.FromParameters(1.2, 0.75, 0.66, 2.8).DiscountedExpectedTransactions(rate, 1, 2, 6)).Should().Throw<EngagementValidationException>().Which.Field.Should().Be("discountRate");
    }

    [Theory]
    [MemberData(nameof(Histories))]
    public void ProbabilityAliveAfter_StartsAtPAliveFallsAndMatchesThePosteriorExpectation(double x, double tx, double age)
    {
        foreach (ITransactionModel model in new ITransactionModel[] { Pareto, BgNbd, MbgNbd })
        {
            model.ProbabilityAliveAfter(0, x, tx, age).Should().BeApproximately(model.ProbabilityAlive(x, tx, age), 1e-15);
            var previous = 1.0;
            foreach (var t in new[] { 1.0, 10, 52, 520 })
            {
                var p = model.ProbabilityAliveAfter(t, x, tx, age);
                p.Should().BeLessThan(previous, model.Name).And.BeGreaterThan(0);
                previous = p;
            }
        }

        // BG/NBD: P(alive) · E[(1 + p t/(α + T))^−(r+x)] over p ~ Beta(a, b + x), by quadrature here (the model uses ₂F₁).
        foreach (var (model, shift) in new[] { (BgNbd, 0.0), (MbgNbd, 1.0) })
        {
            var t = 39.0;
            var expected = model.ProbabilityAlive(x, tx, age) * ClvQuadrature.BetaExpectation(model.A, model.B + x + shift, p => -(model.R + x) * Math.Log(1 + (p * t / (model.Alpha + age))));
            model.ProbabilityAliveAfter(t, x, tx, age).Should().BeApproximately(expected, expected * 1e-10);
        }
    }

    [Theory]
    [MemberData(nameof(Histories))]
    public void ConditionalProbabilityOfTransactions_SumsToOneWithTheConditionalMean(double x, double tx, double age)
    {
        foreach (ITransactionModel model in new ITransactionModel[] { Pareto, BgNbd, MbgNbd })
        {
            foreach (var t in new[] { 10.0, 39 })
            {
                double total = 0, mean = 0;
                for (var n = 0; n < 400; n++)
                {
                    var p = model.ConditionalProbabilityOfTransactions(n, t, x, tx, age);
                    p.Should().BeInRange(0, 1);
                    total += p;
                    mean += n * p;
                }

                total.Should().BeApproximately(1, 1e-8, model.Name);
                mean.Should().BeApproximately(model.ConditionalExpectedTransactions(t, x, tx, age), 1e-6, model.Name);
            }

            model.ConditionalProbabilityOfTransactions(0, 0, x, tx, age).Should().BeApproximately(1, 1e-15);
        }
    }

    [Fact]
    public void BgBbDert_EqualsTheDiscountedSumOfFutureExpectations()
    {
        var model = BgBbModel.FromParameters(1.2035, 0.7497, 0.6567, 2.7834);
        foreach (var (x, tx) in new[] { (0, 0), (1, 1), (3, 5), (6, 6), (2, 6) })
        {
            foreach (var d in new[] { 0.1, 0.02 })
            {
                // Σ_k (E[X(n, n+k)] − E[X(n, n+k−1)]) / (1 + d)^k, summed until the terms vanish.
                double expected = 0, previous = 0;
                for (var k = 1; k < 20_000; k++)
                {
                    var cumulative = model.ConditionalExpectedTransactions(k, x, tx, 6);
                    var term = (cumulative - previous) / Math.Pow(1 + d, k);
                    expected += term;
                    previous = cumulative;
                    if (term < 1e-15 * expected)
                    {
                        break;
                    }
                }

                model.DiscountedExpectedTransactions(d, x, tx, 6).Should().BeApproximately(expected, expected * 1e-6, $"({x}, {tx}), d = {d}");
            }
        }

        // So small a rate that the series is replaced by the Euler integral: continuous with a rate just above it.
        var tiny = model.DiscountedExpectedTransactions(1e-6, 3, 5, 6);
        var small = model.DiscountedExpectedTransactions(2e-4, 3, 5, 6);
        double.IsFinite(tiny).Should().BeTrue();
        tiny.Should().BeGreaterThan(small);
        double.IsPositiveInfinity(model.DiscountedExpectedTransactions(0, 3, 5, 6)).Should().BeTrue("γ < 1: no finite mean lifetime");
    }

    [Fact]
    public void BgBbProbabilityAliveAt_MatchesTheShareOfSimulatedDonorsStillAlive()
    {
        // Donors simulated with known parameters for n + m opportunities; among those with a given (x, t_x) at n, the share
        // still alive at n + m is the prediction.
        var model = BgBbModel.FromParameters(1.2, 0.75, 0.66, 2.8);
        const int N = 6, M = 4;
        var random = new Random(99);
        var groups = new Dictionary<(int, int), (int Count, int Alive)>();
        for (var c = 0; c < 400_000; c++)
        {
            var p = RandomVariates.Beta(random, 1.2, 0.75);
            var theta = RandomVariates.Beta(random, 0.66, 2.8);
            int x = 0, last = 0, aliveUntil = N + M;
            for (var t = 1; t <= N + M; t++)
            {
                if (random.NextDouble() < theta)
                {
                    aliveUntil = t - 1;
                    break;
                }

                if (t <= N && random.NextDouble() < p)
                {
                    x++;
                    last = t;
                }
            }

            var key = (x, last);
            var g = groups.GetValueOrDefault(key);
            groups[key] = (g.Count + 1, g.Alive + (aliveUntil >= N + M ? 1 : 0));
        }

        foreach (var ((x, tx), (count, alive)) in groups.Where(g => g.Value.Count > 5_000))
        {
            var predicted = model.ProbabilityAliveAt(M, x, tx, N);
            var share = (double)alive / count;
            Math.Abs(share - predicted).Should().BeLessThan(4 * Math.Sqrt(predicted * (1 - predicted) / count) + 1e-3, $"({x}, {tx}): {count} donors");
        }

        model.ProbabilityAliveAt(1, 3, 5, 6).Should().Be(model.ProbabilityAlive(3, 5, 6));
        model.ProbabilityAliveAt(int.MaxValue, 3, 5, 6).Should().Be(0);
        FluentActions.Invoking(() => model.ProbabilityAliveAt(-1, 3, 5, 6)).Should().Throw<EngagementValidationException>().Which.Field.Should().Be("opportunitiesAhead");
    }

    [Fact]
    public void BgBbConditionalProbabilityOfTransactions_SumsToOneWithTheConditionalMean()
    {
        var model = BgBbModel.FromParameters(1.2035, 0.7497, 0.6567, 2.7834);
        foreach (var (x, tx) in new[] { (0, 0), (1, 1), (3, 5), (6, 6) })
        {
            var probabilities = Enumerable.Range(0, 6).Select(k => model.ConditionalProbabilityOfTransactions(k, 5, x, tx, 6)).ToList();

            probabilities.Sum().Should().BeApproximately(1, 1e-12);
            probabilities.Select((p, k) => p * k).Sum().Should().BeApproximately(model.ConditionalExpectedTransactions(5, x, tx, 6), 1e-12);
        }

        FluentActions.Invoking(() => model.ConditionalProbabilityOfTransactions(6, 5, 1, 1, 6)).Should().Throw<EngagementValidationException>().Which.Field.Should().Be("k");
    }

    [Fact]
    public void GammaGammaInterval_CoversTheTrueSpendAtItsLevel()
    {
        // Customers drawn from a known Gamma-Gamma population: their true mean spend p/ν falls inside their 90 % interval
        // for about 90 % of them.
        var model = GammaGammaModel.FromParameters(6.25, 3.74, 15.44);
        var random = new Random(5);
        var inside = 0;
        const int Customers = 40_000;
        for (var i = 0; i < Customers; i++)
        {
            var nu = RandomVariates.Gamma(random, model.Q) / model.Gamma;
            var x = 1 + random.Next(10);
            var sum = 0.0;
            for (var j = 0; j < x; j++)
            {
                sum += RandomVariates.Gamma(random, model.P) / nu;
            }

            var interval = model.ExpectedAverageSpendInterval(x, sum / x, 0.9);
            interval.Estimate.Should().Be(model.ExpectedAverageSpend(x, sum / x));
            interval.Lower.Should().BeLessThan(interval.Estimate);
            interval.Upper.Should().BeGreaterThan(interval.Estimate);
            inside += model.P / nu >= interval.Lower && model.P / nu <= interval.Upper ? 1 : 0;
        }

        ((double)inside / Customers).Should().BeApproximately(0.9, 4 * Math.Sqrt(0.09 / Customers));
        FluentActions.Invoking(() => model.ExpectedAverageSpendInterval(1, 10, 1)).Should().Throw<EngagementValidationException>().Which.Field.Should().Be("level");
    }

    [Fact]
    public void ComputeContinuous_IsMarginTimesSpendTimesDert()
    {
        var spend = GammaGammaModel.FromParameters(6.25, 3.74, 15.44);
        var customer = new CustomerRfm("c1", 2, 30.43, 38.86, 45.5m, 0, new DateOnly(1997, 1, 1));

        var value = CustomerLifetimeValue.ComputeContinuous(Pareto, spend, customer, WeeklyRate, 0.3);

        value.Should().BeApproximately(0.3 * spend.ExpectedAverageSpend(2, 45.5) * Pareto.DiscountedExpectedTransactions(WeeklyRate, 2, 30.43, 38.86), 1e-9);
        FluentActions.Invoking(() => CustomerLifetimeValue.ComputeContinuous(Pareto, spend, customer, 0, 0.3)).Should().Throw<EngagementValidationException>().Which.Field.Should().Be("discountRate");
        var bad = customer with { Recency = 50 };
        FluentActions.Invoking(() => CustomerLifetimeValue.ComputeContinuous(Pareto, spend, bad, WeeklyRate, 0.3)).Should().Throw<EngagementValidationException>().Which.Field.Should().Be("customer 'c1'.tx");
    }

    private static double DiscountedIntegral(ITransactionModel model, double delta, double x, double tx, double age)
    {
        const double H = 0.05;
        var sum = 0.0;
        for (var v = -25.0; v < Math.Log(60 / delta); v += H)
        {
            var t = Math.Exp(v);
            sum += delta * Math.Exp(-delta * t) * model.ConditionalExpectedTransactions(t, x, tx, age) * t;
        }

        return sum * H;
    }

    private static (double X, double Tx, double Future) SimulateBg(Random random, double age, double delta, bool modified)
    {
        var model = modified ? MbgNbd : BgNbd;
        var lambda = RandomVariates.Gamma(random, model.R) / model.Alpha;
        var p = RandomVariates.Beta(random, model.A, model.B);
        var alive = !modified || random.NextDouble() >= p;
        double t = 0, last = 0, future = 0;
        var x = 0;
        while (alive)
        {
            t += RandomVariates.Exponential(random, lambda);
            if (t > age)
            {
                if (t - age > 60 / delta)
                {
                    break;
                }

                future += Math.Exp(-delta * (t - age));
            }
            else
            {
                x++;
                last = t;
            }

            alive = random.NextDouble() >= p;
        }

        return (x, last, future);
    }

    private static (double X, double Tx, double Future) SimulatePareto(Random random, double age, double delta)
    {
        var lambda = RandomVariates.Gamma(random, Pareto.R) / Pareto.Alpha;
        var mu = RandomVariates.Gamma(random, Pareto.S) / Pareto.Beta;
        var death = RandomVariates.Exponential(random, mu);
        double t = 0, last = 0, future = 0;
        var x = 0;
        while (true)
        {
            t += RandomVariates.Exponential(random, lambda);
            if (t > death || t - age > 60 / delta)
            {
                break;
            }

            if (t > age)
            {
                future += Math.Exp(-delta * (t - age));
            }
            else
            {
                x++;
                last = t;
            }
        }

        return (x, last, future);
    }
}
