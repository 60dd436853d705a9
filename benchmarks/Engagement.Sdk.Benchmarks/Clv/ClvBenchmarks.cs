using BenchmarkDotNet.Attributes;
using Engagement.Sdk.Value.Clv;

namespace Engagement.Sdk.Benchmarks.Clv;

/// <summary>
/// Model fitting on 1,000,000 simulated customers: continuous-time purchases over two years, rounded to days (time unit:
/// days), as a shop's daily data would be. Identical (x, tₓ, T) rows are merged before fitting.
/// </summary>
[MemoryDiagnoser]
public class ClvFitBenchmarks
{
    private RfmData _data = null!;

    [GlobalSetup]
    public void Setup()
    {
        var truth = BgNbdModel.FromParameters(0.25, 30, 0.8, 2.5);
        _data = truth.Simulate(1_000_000, 0, 730, seed: 42, roundToWholeUnits: true);
        Console.WriteLine($"// 1,000,000 customers merged into {_data.Rows:N0} distinct (x, t_x, T) rows");
    }

    [Benchmark(Baseline = true)]
    public double BgNbdFit() => BgNbdModel.Fit(_data).R;

    [Benchmark]
    public double MbgNbdFit() => BgNbdModel.Fit(_data, modified: true).R;

    [Benchmark]
    public double ParetoNbdFit() => ParetoNbdModel.Fit(_data).R;
}

/// <summary>Summaries (x, tₓ, T, mean spend, holdout) from 10,000,000 transactions.</summary>
[MemoryDiagnoser]
public class ClvSummaryBenchmarks
{
    private Transaction[] _transactions = null!;
    private Transaction[] _tenth = null!;

    [GlobalSetup]
    public void Setup()
    {
        var random = new Random(3);
        var ids = Enumerable.Range(0, 1_000_000).Select(i => "c" + i.ToString("D7", System.Globalization.CultureInfo.InvariantCulture)).ToArray();
        var start = new DateOnly(2024, 1, 1);
        _transactions = new Transaction[10_000_000];
        for (var i = 0; i < _transactions.Length; i++)
        {
            _transactions[i] = new Transaction(ids[random.Next(ids.Length)], start.AddDays(random.Next(730)), 10m + random.Next(10_000) / 100m);
        }

        _tenth = _transactions[..1_000_000];
    }

    [Benchmark(Baseline = true)]
    public int SummariseOneMillion() => RfmSummary.FromTransactions(_tenth, new DateOnly(2024, 12, 31), new DateOnly(2025, 12, 31), TimeUnit.Days).Customers.Length;

    [Benchmark]
    public int SummariseTenMillion() => RfmSummary.FromTransactions(_transactions, new DateOnly(2024, 12, 31), new DateOnly(2025, 12, 31), TimeUnit.Days).Customers.Length;
}

/// <summary>Per-customer predictions for 1,000,000 customers with a fitted BG/NBD and Pareto/NBD model.</summary>
[MemoryDiagnoser]
public class ClvPredictionBenchmarks
{
    private (double X, double Tx, double T)[] _customers = null!;
    private double[] _output = null!;
    private double[] _x = null!;
    private double[] _tx = null!;
    private double[] _t = null!;
    private BgNbdModel _bg = null!;
    private ParetoNbdModel _pareto = null!;

    [GlobalSetup]
    public void Setup()
    {
        var random = new Random(5);
        _customers = new (double, double, double)[1_000_000];
        for (var i = 0; i < _customers.Length; i++)
        {
            var t = 1 + random.Next(730);
            var x = random.Next(4) == 0 ? 0 : random.Next(1, 30);
            _customers[i] = (x, x == 0 ? 0 : random.Next(1, t + 1), t);
        }

        _output = new double[_customers.Length];
        _x = [.. _customers.Select(c => c.X)];
        _tx = [.. _customers.Select(c => c.Tx)];
        _t = [.. _customers.Select(c => c.T)];
        _bg = BgNbdModel.FromParameters(0.25, 30, 0.8, 2.5);
        _pareto = ParetoNbdModel.FromParameters(0.55, 75, 0.6, 80);
    }

    [Benchmark(Baseline = true)]
    public double BgNbdProbabilityAlive()
    {
        for (var i = 0; i < _customers.Length; i++)
        {
            var c = _customers[i];
            _output[i] = _bg.ProbabilityAlive(c.X, c.Tx, c.T);
        }

        return _output[^1];
    }

    [Benchmark]
    public double BgNbdConditionalExpectationOneByOne()
    {
        for (var i = 0; i < _customers.Length; i++)
        {
            var c = _customers[i];
            _output[i] = _bg.ConditionalExpectedTransactions(90, c.X, c.Tx, c.T);
        }

        return _output[^1];
    }

    [Benchmark]
    public double BgNbdConditionalExpectationBatch()
    {
        _bg.ConditionalExpectedTransactions(90, _x, _tx, _t, _output);
        return _output[^1];
    }

    [Benchmark]
    public double ParetoNbdConditionalExpectationBatch()
    {
        _pareto.ConditionalExpectedTransactions(90, _x, _tx, _t, _output);
        return _output[^1];
    }
}

/// <summary>
/// Per-customer 90 % intervals for 1,000,000 customers from 200 parameter draws (the random histories of
/// <see cref="ClvPredictionBenchmarks"/>; draws from the asymptotic distribution of fits to 100,000 simulated customers). The
/// baseline is one batch prediction without intervals.
/// </summary>
[MemoryDiagnoser]
public class ClvIntervalBenchmarks
{
    private const int Draws = 200;
    private double[] _x = null!;
    private double[] _tx = null!;
    private double[] _t = null!;
    private double[] _lower = null!;
    private double[] _upper = null!;
    private BgNbdModel _bg = null!;
    private ParetoNbdModel _pareto = null!;
    private ParameterDraws _bgDraws = null!;
    private ParameterDraws _paretoDraws = null!;

    [GlobalSetup]
    public void Setup()
    {
        var random = new Random(5);
        var n = 1_000_000;
        (_x, _tx, _t) = (new double[n], new double[n], new double[n]);
        for (var i = 0; i < n; i++)
        {
            _t[i] = 1 + random.Next(730);
            _x[i] = random.Next(4) == 0 ? 0 : random.Next(1, 30);
            _tx[i] = _x[i] == 0 ? 0 : random.Next(1, (int)_t[i] + 1);
        }

        (_lower, _upper) = (new double[n], new double[n]);
        var data = BgNbdModel.FromParameters(0.25, 30, 0.8, 2.5).Simulate(100_000, 0, 730, seed: 42, roundToWholeUnits: true);
        _bg = BgNbdModel.Fit(data);
        _pareto = ParetoNbdModel.Fit(data);
        _bgDraws = ParameterDraws.FromFit(_bg.FitResult!, Draws, seed: 1);
        _paretoDraws = ParameterDraws.FromFit(_pareto.FitResult!, Draws, seed: 1);
    }

    [Benchmark(Baseline = true)]
    public double BgNbdExpectationNoIntervals()
    {
        _bg.ConditionalExpectedTransactions(90, _x, _tx, _t, _lower);
        return _lower[^1];
    }

    [Benchmark]
    public double BgNbdProbabilityAliveIntervals()
    {
        PredictionIntervals.ProbabilityAlive(_bg, _bgDraws, _x, _tx, _t, 0.9, _lower, _upper);
        return _upper[^1];
    }

    [Benchmark]
    public double BgNbdExpectationIntervals()
    {
        PredictionIntervals.ConditionalExpectedTransactions(_bg, _bgDraws, 90, _x, _tx, _t, 0.9, _lower, _upper);
        return _upper[^1];
    }

    [Benchmark]
    public double ParetoNbdExpectationIntervals()
    {
        PredictionIntervals.ConditionalExpectedTransactions(_pareto, _paretoDraws, 90, _x, _tx, _t, 0.9, _lower, _upper);
        return _upper[^1];
    }

    [Benchmark]
    public double ParetoNbdDertIntervals()
    {
        PredictionIntervals.DiscountedExpectedTransactions(_pareto, _paretoDraws, Math.Log(1.1) / 365, _x, _tx, _t, 0.9, _lower, _upper);
        return _upper[^1];
    }
}

/// <summary>
/// The refit bootstrap for 1,000,000 simulated customers (the data of <see cref="ClvFitBenchmarks"/>: daily data over two
/// years, merged into distinct (x, tₓ, T) rows): 200 resamples, each a multinomial reweighting of the rows refitted from
/// the estimates, then the per-customer 90 % intervals of P(alive) and of the expected transactions over 90 days; the
/// <c>AllIntervals</c> rows add every other interval the CLV report writes: DERT at 10 % a year and the residual CLV (with the
/// spend model's own 200 bootstrap draws, made once in the setup and timed in <see cref="GammaGammaBootstrapIntervals"/>).
/// The baseline is one fit of the full data.
/// </summary>
[MemoryDiagnoser]
public class ClvBootstrapBenchmarks
{
    private const int Resamples = 200;
    private RfmData _data = null!;
    private BgNbdModel _bg = null!;
    private BgNbdModel _mbg = null!;
    private ParetoNbdModel _pareto = null!;
    private GammaGammaModel _spend = null!;
    private IReadOnlyList<(int Frequency, double MeanSpend, double Weight)> _spendRows = null!;
    private ParameterDraws _spendDraws = null!;
    private double[] _meanSpend = null!;
    private double[] _x = null!;
    private double[] _tx = null!;
    private double[] _t = null!;
    private double[] _lower = null!;
    private double[] _upper = null!;

    /// <summary>The data, the fits and the per-customer histories (the rows expanded by their weights).</summary>
    [GlobalSetup]
    public void Setup()
    {
        _data = BgNbdModel.FromParameters(0.25, 30, 0.8, 2.5).Simulate(1_000_000, 0, 730, seed: 42, roundToWholeUnits: true);
        _bg = BgNbdModel.Fit(_data);
        _mbg = BgNbdModel.Fit(_data, modified: true);
        _pareto = ParetoNbdModel.Fit(_data);
        (_x, _tx, _t) = Expand(_data);
        var frequencies = _x.Where(x => x > 0).Select(x => (int)x).ToArray();
        _spendRows = GammaGammaModel.FromParameters(6, 4, 15).Simulate(frequencies, seed: 3);
        _spend = GammaGammaModel.Fit(_spendRows);
        _spendDraws = ParameterDraws.Bootstrap(_spend, _spendRows, Resamples, seed: 2);
        _meanSpend = new double[_x.Length];
        for (int i = 0, buyer = 0; i < _x.Length; i++)
        {
            _meanSpend[i] = _x[i] > 0 ? _spendRows[buyer++].MeanSpend : 0;
        }

        (_lower, _upper) = (new double[_x.Length], new double[_x.Length]);
        Console.WriteLine($"// {_x.Length:N0} customers in {_data.Rows:N0} distinct rows; {_spendRows.Count:N0} repeat buyers");
    }

    /// <summary>Each customer's (x, tₓ, T): every distinct row repeated by its weight.</summary>
    internal static (double[] X, double[] Tx, double[] T) Expand(RfmData data)
    {
        var n = (int)Math.Round(data.TotalWeight);
        var (x, tx, t) = (new double[n], new double[n], new double[n]);
        var k = 0;
        for (var row = 0; row < data.Rows; row++)
        {
            for (var c = 0; c < (int)data.Weight[row]; c++, k++)
            {
                (x[k], tx[k], t[k]) = (data.X[row], data.Tx[row], data.T[row]);
            }
        }

        return (x, tx, t);
    }

    /// <summary>One BG/NBD fit of the full data (what each resample would cost without the warm start).</summary>
    [Benchmark(Baseline = true)]
    public double BgNbdOneFit() => BgNbdModel.Fit(_data).R;

    /// <summary>200 BG/NBD refits, then 90 % intervals of P(alive) and E[Y(90)] for every customer.</summary>
    [Benchmark]
    public double BgNbdBootstrapIntervals()
    {
        var draws = ParameterDraws.Bootstrap(_bg, _data, Resamples, seed: 1);
        Intervals(_bg, draws, all: false);
        return _upper[^1];
    }

    /// <summary>200 MBG/NBD refits, then the same intervals.</summary>
    [Benchmark]
    public double MbgNbdBootstrapIntervals()
    {
        var draws = ParameterDraws.Bootstrap(_mbg, _data, Resamples, seed: 1);
        Intervals(_mbg, draws, all: false);
        return _upper[^1];
    }

    /// <summary>200 Pareto/NBD refits, then the same intervals.</summary>
    [Benchmark]
    public double ParetoNbdBootstrapIntervals()
    {
        var draws = ParameterDraws.Bootstrap(_pareto, _data, Resamples, seed: 1);
        Intervals(_pareto, draws, all: false);
        return _upper[^1];
    }

    /// <summary>200 BG/NBD refits, then 90 % intervals of P(alive), E[Y(90)], DERT and CLV for every customer.</summary>
    /// <returns>The last customer's upper bound.</returns>
    [Benchmark]
    public double BgNbdBootstrapAllIntervals()
    {
        var draws = ParameterDraws.Bootstrap(_bg, _data, Resamples, seed: 1);
        Intervals(_bg, draws, all: true);
        return _upper[^1];
    }

    /// <summary>200 Pareto/NBD refits, then the four intervals.</summary>
    /// <returns>The last customer's upper bound.</returns>
    [Benchmark]
    public double ParetoNbdBootstrapAllIntervals()
    {
        var draws = ParameterDraws.Bootstrap(_pareto, _data, Resamples, seed: 1);
        Intervals(_pareto, draws, all: true);
        return _upper[^1];
    }

    /// <summary>
    /// The per-customer intervals under <paramref name="draws"/>, prepared once as the CLV report does: P(alive) and E[Y(90)],
    /// and with <paramref name="all"/> also DERT and CLV (margin 1).
    /// </summary>
    private void Intervals(ITransactionModel model, ParameterDraws draws, bool all)
    {
        var rate = Math.Log(1.1) / 365;
        var prepared = PredictionIntervals.Prepare(model, draws, _x, _tx, _t);
        prepared.ProbabilityAlive(0.9, _lower, _upper);
        prepared.ConditionalExpectedTransactions(90, 0.9, _lower, _upper);
        if (all)
        {
            prepared.DiscountedExpectedTransactions(rate, 0.9, _lower, _upper);
            prepared.LifetimeValue(_spendDraws, rate, 1, _meanSpend, 0.9, _lower, _upper);
        }
    }

    /// <summary>200 Gamma-Gamma refits over the repeat buyers, then 90 % intervals of each buyer's expected spend.</summary>
    [Benchmark]
    public double GammaGammaBootstrapIntervals()
    {
        var draws = ParameterDraws.Bootstrap(_spend, _spendRows, Resamples, seed: 1);
        var frequency = _spendRows.Select(r => r.Frequency).ToArray();
        var mean = _spendRows.Select(r => r.MeanSpend).ToArray();
        PredictionIntervals.ExpectedSpend(draws, frequency, mean, 0.9, _lower, _upper);
        return _upper[0];
    }

    /// <summary>
    /// <c>--clv-bootstrap-cpu [rounds]</c>: the processor time of each benchmark (bootstrap and intervals separately, and
    /// the likelihood evaluations of the refits), for a loaded machine where wall-clock times mean little.
    /// </summary>
    /// <param name="rounds">Rounds of every measurement.</param>
    public static void MeasureCpu(int rounds)
    {
        var b = new ClvBootstrapBenchmarks();
        b.Setup();
        var process = System.Diagnostics.Process.GetCurrentProcess();
        double Cpu(Action action)
        {
            process.Refresh();
            var before = process.TotalProcessorTime;
            action();
            process.Refresh();
            return (process.TotalProcessorTime - before).TotalSeconds;
        }

        ParameterDraws draws = null!;
        for (var round = 0; round < rounds; round++)
        {
            foreach (var (name, model, boot) in new (string, ITransactionModel, Func<ParameterDraws>)[]
            {
                ("bgnbd", b._bg, () => ParameterDraws.Bootstrap(b._bg, b._data, Resamples, seed: round)),
                ("mbgnbd", b._mbg, () => ParameterDraws.Bootstrap(b._mbg, b._data, Resamples, seed: round)),
                ("pnbd", b._pareto, () => ParameterDraws.Bootstrap(b._pareto, b._data, Resamples, seed: round)),
            })
            {
                var fit = Cpu(() => _ = name == "pnbd" ? ParetoNbdModel.Fit(b._data).R : BgNbdModel.Fit(b._data, name == "mbgnbd").R);
                var refits = Cpu(() => draws = boot());
                var intervals = Cpu(() => b.Intervals(model, draws, all: false));
                var all = Cpu(() => b.Intervals(model, draws, all: true));
                Console.WriteLine(FormattableString.Invariant($"{name,-7} round {round}: one full fit {fit:F2} s CPU; {Resamples} refits {refits:F2} s CPU; P(alive) + E[Y(90)] intervals for {b._x.Length:N0} customers {intervals:F2} s CPU (with DERT and CLV {all:F2} s); total bootstrap + intervals {refits + intervals:F2} s CPU ({refits + all:F2} s)"));
            }

            var spend = Cpu(() => b.GammaGammaBootstrapIntervals());
            Console.WriteLine(FormattableString.Invariant($"spend   round {round}: {Resamples} refits + expected-spend intervals for {b._spendRows.Count:N0} buyers {spend:F2} s CPU"));
        }
    }
}
