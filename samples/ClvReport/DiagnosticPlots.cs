using System.Globalization;
using System.Security;
using Engagement.Sdk.Value.Clv;
using ScottPlot;

namespace ClvReport;

/// <summary>What the diagnostic plots are drawn from.</summary>
/// <param name="Summary">The calibration summary (and holdout counts).</param>
/// <param name="Transactions">The transactions, for the weekly tracking plots; <see langword="null"/> leaves those out.</param>
/// <param name="Histories">The distinct histories.</param>
/// <param name="Runs">The models that were fitted.</param>
/// <param name="Spend">The spend model, or <see langword="null"/>.</param>
/// <param name="Horizon">The horizon of the expected-purchases matrix, in time units.</param>
internal sealed record PlotInput(RfmSummary Summary, IReadOnlyList<Transaction>? Transactions, Histories Histories, IReadOnlyList<ModelRun> Runs, GammaGammaModel? Spend, double Horizon);

/// <summary>
/// The diagnostic plots analysts read to judge a fit, drawn with ScottPlot as SVG: holdout by calibration frequency,
/// cumulative and incremental weekly tracking, P(alive) and expected-purchases matrices over (frequency, recency), the
/// distribution of repeat purchases against each model's, and the spend distribution against Gamma-Gamma.
/// </summary>
internal static class DiagnosticPlots
{
    private const int Width = 900;
    private const int Height = 540;
    private const int Buckets = 8; // 0, 1, ..., 6, 7+
    private static readonly CultureInfo Inv = CultureInfo.InvariantCulture;
    private static readonly MarkerShape[] Markers = [MarkerShape.OpenCircle, MarkerShape.OpenSquare, MarkerShape.OpenTriangleUp, MarkerShape.OpenDiamond];
    private static readonly Color[] Colours = [Color.FromHex("#d62728"), Color.FromHex("#1f77b4"), Color.FromHex("#2ca02c"), Color.FromHex("#9467bd")];

    /// <summary>Writes every plot that the input allows into <paramref name="directory"/>.</summary>
    /// <returns>The files written.</returns>
    public static IReadOnlyList<string> Write(string directory, PlotInput input, Progress progress)
    {
        Directory.CreateDirectory(directory);
        var written = new List<string>();
        void Save(string name, Plot plot, string title)
        {
            var path = Path.Combine(directory, name);
            File.WriteAllText(path, Svg(plot, title));
            written.Add(path);
            progress.Report($"plot {name}");
        }

        var fitted = input.Runs.Where(r => r.Succeeded).ToList();
        var unit = input.Summary.Unit == TimeUnit.Weeks ? "weeks" : "days";
        if (input.Summary.HoldoutEnd is not null && fitted.Count > 0)
        {
            var title = "Holdout transactions by calibration frequency: actual and expected";
            Save("calibration-holdout.svg", CalibrationHoldout(input, fitted, title), title);
        }

        if (input.Transactions is not null)
        {
            var (weeks, cumulativeTitle, incrementalTitle) = (Tracking.Compute(input.Summary, input.Transactions, fitted), "Cumulative repeat transactions by week: actual and expected", "Repeat transactions per week: actual and expected");
            Save("tracking-cumulative.svg", TrackingPlot(input, weeks, cumulative: true, cumulativeTitle), cumulativeTitle);
            Save("tracking-incremental.svg", TrackingPlot(input, weeks, cumulative: false, incrementalTitle), incrementalTitle);
        }

        foreach (var run in fitted)
        {
            var aliveTitle = $"P(alive) by frequency and recency ({run.Name}, T = {MaxAge(input):0.#} {unit})";
            Save($"palive-matrix-{run.Name}.svg", Matrix(input, run, alive: true, aliveTitle), aliveTitle);
            var expectedTitle = $"Expected transactions in the next {input.Horizon:0.#} {unit} by frequency and recency ({run.Name}, T = {MaxAge(input):0.#} {unit})";
            Save($"expected-matrix-{run.Name}.svg", Matrix(input, run, alive: false, expectedTitle), expectedTitle);
        }

        if (fitted.Count > 0)
        {
            var title = "Repeat transactions in calibration: customers, actual and expected";
            Save("repeat-pmf.svg", RepeatDistribution(input, fitted, title), title);
        }

        if (input.Spend is not null)
        {
            var title = "Mean repeat spend of repeat buyers: actual and Gamma-Gamma";
            Save("spend-density.svg", SpendDensity(input, input.Spend, title), title);
        }

        progress.Report($"plots: {written.Count} SVG files in {directory}");
        return written;
    }

    private static double MaxAge(PlotInput input) => input.Histories.T.Length == 0 ? 0 : input.Histories.T.Max();

    /// <summary>ScottPlot's SVG with a <c>&lt;title&gt;</c> element, so the file names its content for viewers and screen readers.</summary>
    private static string Svg(Plot plot, string title)
    {
        var svg = plot.GetSvgXml(Width, Height);
        var rootEnd = svg.IndexOf('>', svg.IndexOf("<svg", StringComparison.Ordinal)) + 1;
        return svg[..rootEnd] + $"\n\t<title>{SecurityElement.Escape(title)}</title>" + svg[rootEnd..];
    }

    private static Plot NewPlot(string title, string xLabel, string yLabel)
    {
        var plot = new Plot();
        plot.Font.Set("DejaVu Sans");
        plot.Title(title, 16);
        plot.XLabel(xLabel, 14);
        plot.YLabel(yLabel, 14);
        return plot;
    }

    private static void FrequencyTicks(Plot plot)
        => plot.Axes.Bottom.TickGenerator = new ScottPlot.TickGenerators.NumericManual(
            [.. Enumerable.Range(0, Buckets).Select(i => (double)i)],
            [.. Enumerable.Range(0, Buckets).Select(i => i == Buckets - 1 ? $"{i}+" : i.ToString(Inv))]);

    private static Plot CalibrationHoldout(PlotInput input, List<ModelRun> fitted, string title)
    {
        var customers = input.Summary.Customers;
        var count = new double[Buckets];
        var actual = new double[Buckets];
        foreach (var c in customers)
        {
            var b = Math.Min(c.Frequency, Buckets - 1);
            count[b]++;
            actual[b] += c.HoldoutFrequency;
        }

        var plot = NewPlot(title, "repeat transactions in calibration (x)", "mean holdout transactions per customer");
        double[] xs = [.. Enumerable.Range(0, Buckets).Select(i => (double)i)];
        var line = plot.Add.Scatter(xs, [.. actual.Select((a, b) => count[b] > 0 ? a / count[b] : double.NaN)]);
        line.LegendText = "actual";
        line.Color = Colors.Black;
        line.LineWidth = 2;
        line.MarkerSize = 7;
        for (var m = 0; m < fitted.Count; m++)
        {
            var predicted = new double[Buckets];
            var holdout = fitted[m].Predictions!.Holdout!;
            var rows = input.Histories.RowOf;
            for (var i = 0; i < customers.Length; i++)
            {
                predicted[Math.Min(customers[i].Frequency, Buckets - 1)] += holdout[rows[i]];
            }

            var model = plot.Add.Scatter(xs, [.. predicted.Select((p, b) => count[b] > 0 ? p / count[b] : double.NaN)]);
            model.LegendText = fitted[m].Name;
            model.Color = Colours[m % Colours.Length];
            model.MarkerSize = 6;
            model.MarkerShape = Markers[m % Markers.Length];
        }

        FrequencyTicks(plot);
        plot.Axes.SetLimitsY(0, double.NaN);
        plot.ShowLegend(Alignment.UpperLeft);
        return plot;
    }

    private static Plot TrackingPlot(PlotInput input, Tracking tracking, bool cumulative, string title)
    {
        var plot = NewPlot(title, $"week since {tracking.Start:yyyy-MM-dd}", cumulative ? "cumulative repeat transactions" : "repeat transactions in the week");
        double[] xs = [.. Enumerable.Range(1, tracking.Actual.Length).Select(w => (double)w)];
        var actual = plot.Add.Scatter(xs, cumulative ? Cumulate(tracking.Actual) : tracking.Actual);
        actual.LegendText = "actual";
        actual.Color = Colors.Black;
        actual.LineWidth = 2;
        actual.MarkerSize = 0;
        for (var m = 0; m < tracking.Expected.Count; m++)
        {
            var (name, expected) = tracking.Expected[m];
            var line = plot.Add.Scatter(xs, cumulative ? Cumulate(expected) : expected);
            line.LegendText = name;
            line.Color = Colours[m % Colours.Length];
            line.LineWidth = 1.5f;
            line.MarkerSize = 0;
        }

        var end = plot.Add.VerticalLine(tracking.CalibrationWeek + 0.5);
        end.Color = Colors.Gray;
        end.LineWidth = 1;
        end.Text = "end of calibration";
        end.LabelFontSize = 12;
        end.LabelOppositeAxis = true;
        plot.Axes.SetLimitsY(0, double.NaN);
        plot.ShowLegend(cumulative ? Alignment.UpperLeft : Alignment.UpperRight);
        _ = input;
        return plot;
    }

    private static double[] Cumulate(double[] values)
    {
        var result = new double[values.Length];
        var sum = 0.0;
        for (var i = 0; i < values.Length; i++)
        {
            sum += values[i];
            result[i] = sum;
        }

        return result;
    }

    private static Plot Matrix(PlotInput input, ModelRun run, bool alive, string title)
    {
        var model = run.Model!;
        var ages = input.Histories.T;
        var age = ages.Max();
        var frequencies = input.Histories.X.Select(x => (int)x).Order().ToArray();

        // Up to the 99th percentile of frequency (at least 10), so a few heavy buyers do not squeeze the picture.
        var maxX = Math.Max(10, frequencies[Math.Min(frequencies.Length - 1, (int)(frequencies.Length * 0.99))]);
        maxX = Math.Min(maxX, Math.Max(1, frequencies[^1]));
        const int RecencySteps = 30;
        var cells = new double[RecencySteps + 1, maxX + 1];
        var xs = new List<double>();
        var txs = new List<double>();
        var ts = new List<double>();
        for (var row = 0; row <= RecencySteps; row++)
        {
            for (var x = 0; x <= maxX; x++)
            {
                var tx = age * row / RecencySteps;
                if (x == 0 && row > 0)
                {
                    cells[RecencySteps - row, x] = double.NaN; // no recency without a repeat purchase
                    continue;
                }

                xs.Add(x);
                txs.Add(tx);
                ts.Add(age);
            }
        }

        var values = new double[xs.Count];
        if (alive)
        {
            for (var i = 0; i < values.Length; i++)
            {
                values[i] = model.ProbabilityAlive(xs[i], txs[i], ts[i]);
            }
        }
        else
        {
            model.ConditionalExpectedTransactions(input.Horizon, [.. xs], [.. txs], [.. ts], values);
        }

        var k = 0;
        for (var row = 0; row <= RecencySteps; row++)
        {
            for (var x = 0; x <= maxX; x++)
            {
                if (x == 0 && row > 0)
                {
                    continue;
                }

                cells[RecencySteps - row, x] = values[k++];
            }
        }

        var unit = input.Summary.Unit == TimeUnit.Weeks ? "weeks" : "days";
        var plot = NewPlot(title, "repeat transactions in calibration (x)", $"recency t_x ({unit} from first to last purchase)");
        var heatmap = plot.Add.Heatmap(cells);
        heatmap.Colormap = new ScottPlot.Colormaps.Viridis();
        var cellHeight = age / RecencySteps;
        heatmap.Extent = new CoordinateRect(-0.5, maxX + 0.5, -cellHeight / 2, age + (cellHeight / 2));
        var (low, high) = alive ? (0.0, 1.0) : (0.0, values.Max());
        heatmap.ManualRange = new ScottPlot.Range(low, high);

        // The cells as rectangles: an SVG viewer scales the heatmap's bitmap smoothly, blurring the cells; rectangles stay
        // sharp. The heatmap itself is hidden and only feeds the colour bar.
        heatmap.IsVisible = false;
        for (var row = 0; row <= RecencySteps; row++)
        {
            for (var x = 0; x <= maxX; x++)
            {
                var value = cells[RecencySteps - row, x];
                if (double.IsNaN(value))
                {
                    continue;
                }

                var centre = age * row / RecencySteps;
                var colour = heatmap.Colormap.GetColor(high > low ? (value - low) / (high - low) : 0);
                // A little wider and taller than the cell, so that anti-aliased edges leave no seams.
                var rectangle = plot.Add.Rectangle(x - 0.51, x + 0.51, centre - (cellHeight * 0.51), centre + (cellHeight * 0.51));
                rectangle.FillColor = colour;
                rectangle.LineWidth = 0;
            }
        }

        var bar = plot.Add.ColorBar(heatmap);
        bar.Label = alive ? "P(alive)" : "expected transactions";
        plot.Axes.SetLimits(-0.5, maxX + 0.5, -cellHeight / 2, age + (cellHeight / 2));
        return plot;
    }

    private static Plot RepeatDistribution(PlotInput input, List<ModelRun> fitted, string title)
    {
        var customers = input.Summary.Customers;
        var actual = new double[Buckets];
        foreach (var c in customers)
        {
            actual[Math.Min(c.Frequency, Buckets - 1)]++;
        }

        // Expected customers with k repeat transactions: Σ over customers of P(X(Tᵢ) = k), one evaluation per distinct age.
        var ages = customers.GroupBy(c => c.Age).Select(g => (Age: g.Key, Count: g.Count())).ToList();
        var series = new List<(string Name, double[] Values)> { ("actual", actual) };
        foreach (var run in fitted)
        {
            var expected = new double[Buckets];
            foreach (var (age, count) in ages)
            {
                var below = 0.0;
                for (var k = 0; k < Buckets - 1; k++)
                {
                    var p = Probability(run.Model!, k, age);
                    expected[k] += count * p;
                    below += p;
                }

                expected[Buckets - 1] += count * Math.Max(0, 1 - below);
            }

            series.Add((run.Name, expected));
        }

        var plot = NewPlot(title, "repeat transactions in calibration (x)", "customers");
        var width = 0.8 / series.Count;
        for (var s = 0; s < series.Count; s++)
        {
            var bars = new List<Bar>();
            for (var k = 0; k < Buckets; k++)
            {
                bars.Add(new Bar
                {
                    Position = k - 0.4 + (width * (s + 0.5)),
                    Value = series[s].Values[k],
                    Size = width * 0.95,
                    FillColor = s == 0 ? Colors.Black.WithAlpha(0.75) : Colours[(s - 1) % Colours.Length].WithAlpha(0.8),
                    LineWidth = 0,
                });
            }

            var plottable = plot.Add.Bars(bars);
            plottable.LegendText = series[s].Name;
            plottable.Color = s == 0 ? Colors.Black.WithAlpha(0.75) : Colours[(s - 1) % Colours.Length].WithAlpha(0.8);
        }

        FrequencyTicks(plot);
        plot.Axes.Margins(bottom: 0);
        plot.ShowLegend(Alignment.UpperRight);
        return plot;
    }

    private static double Probability(ITransactionModel model, int k, double t) => model.ProbabilityOfTransactions(k, t);

    private static Plot SpendDensity(PlotInput input, GammaGammaModel spend, string title)
    {
        var buyers = input.Summary.Customers.Where(c => c.Frequency > 0 && c.MeanRepeatSpend > 0).Select(c => (c.Frequency, Mean: (double)c.MeanRepeatSpend)).ToList();
        var means = buyers.Select(b => b.Mean).Order().ToArray();
        var top = means[Math.Min(means.Length - 1, (int)(means.Length * 0.99))];
        const int Bins = 40;
        var binWidth = top / Bins;
        var histogram = new double[Bins];
        foreach (var m in means)
        {
            if (m < top)
            {
                histogram[(int)(m / binWidth)]++;
            }
        }

        var plot = NewPlot(title, "mean spend per repeat transaction", "density");
        var bars = plot.Add.Bars(
            [.. Enumerable.Range(0, Bins).Select(b => (b + 0.5) * binWidth)],
            [.. histogram.Select(h => h / (means.Length * binWidth))]);
        foreach (var bar in bars.Bars)
        {
            bar.Size = binWidth * 0.95;
            bar.LineWidth = 0;
            bar.FillColor = Colors.Gray.WithAlpha(0.6);
        }

        bars.LegendText = "actual (repeat buyers)";
        bars.Color = Colors.Gray.WithAlpha(0.6);

        // The model's density of the mean is a mixture over the buyers' frequencies: (1/n) Σ f(m | xᵢ).
        var byFrequency = buyers.GroupBy(b => b.Frequency).Select(g => (X: g.Key, Count: g.Count())).ToList();
        var grid = Enumerable.Range(1, 200).Select(i => top * i / 200.0).ToArray();
        var density = grid.Select(m => byFrequency.Sum(g => g.Count * Math.Exp(LogMeanSpendDensity(spend, g.X, m))) / buyers.Count).ToArray();
        var curve = plot.Add.Scatter(grid, density);
        curve.LegendText = string.Create(Inv, $"Gamma-Gamma (p {spend.P:F2}, q {spend.Q:F2}, γ {spend.Gamma:F2})");
        curve.Color = Colours[0];
        curve.LineWidth = 2;
        curve.MarkerSize = 0;
        plot.Axes.Margins(bottom: 0);
        plot.ShowLegend(Alignment.UpperRight);
        return plot;
    }

    /// <summary>ln f(m | x) = ln Γ(px+q) − ln Γ(px) − ln Γ(q) + q ln γ + (px−1) ln m + px ln x − (px+q) ln(γ + m x).</summary>
    internal static double LogMeanSpendDensity(GammaGammaModel spend, int x, double m)
    {
        var px = spend.P * x;
        return LogGamma(px + spend.Q) - LogGamma(px) - LogGamma(spend.Q) + (spend.Q * Math.Log(spend.Gamma)) + ((px - 1) * Math.Log(m)) + (px * Math.Log(x)) - ((px + spend.Q) * Math.Log(spend.Gamma + (m * x)));
    }

    /// <summary>ln Γ(z) for z &gt; 0 (Lanczos, g = 7, nine terms; about 15 digits).</summary>
    internal static double LogGamma(double z)
    {
        if (z < 0.5)
        {
            return Math.Log(Math.PI / Math.Sin(Math.PI * z)) - LogGamma(1 - z);
        }

        ReadOnlySpan<double> c = [0.99999999999980993, 676.5203681218851, -1259.1392167224028, 771.32342877765313, -176.61502916214059, 12.507343278686905, -0.13857109526572012, 9.9843695780195716e-6, 1.5056327351493116e-7];
        z -= 1;
        var sum = c[0];
        for (var i = 1; i < c.Length; i++)
        {
            sum += c[i] / (z + i);
        }

        var t = z + 7.5;
        return (0.5 * Math.Log(2 * Math.PI)) + ((z + 0.5) * Math.Log(t)) - t + Math.Log(sum);
    }
}

/// <summary>Weekly repeat transactions, actual and expected per model, from the first customer's first week to the end of the data.</summary>
internal sealed class Tracking
{
    private Tracking(DateOnly start, int calibrationWeek, double[] actual, List<(string, double[])> expected)
    {
        Start = start;
        CalibrationWeek = calibrationWeek;
        Actual = actual;
        Expected = expected;
    }

    public DateOnly Start { get; }

    /// <summary>The 1-based week in which the calibration ends.</summary>
    public int CalibrationWeek { get; }

    public double[] Actual { get; }

    public List<(string Name, double[] Values)> Expected { get; }

    /// <summary>
    /// Counts each customer's repeat purchase days by week (a customer's purchases on one day are one transaction, as in the
    /// summary), and sums each model's E[X(t)] over the customers' first-purchase days: one evaluation per first day and
    /// week, however many customers share the day.
    /// </summary>
    public static Tracking Compute(RfmSummary summary, IReadOnlyList<Transaction> transactions, IReadOnlyList<ModelRun> fitted)
    {
        var customers = summary.Customers;
        var index = new Dictionary<string, int>(customers.Length, StringComparer.Ordinal);
        var start = int.MaxValue;
        for (var i = 0; i < customers.Length; i++)
        {
            index[customers[i].CustomerId] = i;
            start = Math.Min(start, customers[i].FirstPurchase.DayNumber);
        }

        var end = (summary.HoldoutEnd ?? summary.CalibrationEnd).DayNumber;
        var weeks = ((end - start) / 7) + 1;
        // (customer, day) of every repeat purchase (long.MaxValue for the rest), looked up in parallel: the table is only read.
        var sorted = new long[transactions.Count];
        ModelRuns.ParallelFor(transactions.Count, i =>
        {
            var t = transactions[i];
            var day = t.Date.DayNumber;
            sorted[i] = day <= end && index.TryGetValue(t.CustomerId, out var c) && day > customers[c].FirstPurchase.DayNumber
                ? ((long)c << 32) | (uint)day
                : long.MaxValue;
        });
        Array.Sort(sorted);
        var actual = new double[weeks];
        for (var i = 0; i < sorted.Length; i++)
        {
            if (sorted[i] == long.MaxValue)
            {
                break;
            }

            if (i == 0 || sorted[i] != sorted[i - 1])
            {
                actual[((int)(sorted[i] & 0xFFFFFFFF) - start) / 7]++;
            }
        }

        var cohorts = customers.GroupBy(c => c.FirstPurchase.DayNumber).Select(g => (Day: g.Key, Count: g.Count())).ToList();
        var perUnit = summary.Unit == TimeUnit.Weeks ? 7.0 : 1.0;
        var expected = new List<(string, double[])>();
        foreach (var run in fitted)
        {
            var cumulative = new double[weeks];
            ModelRuns.ParallelFor(weeks, w =>
            {
                var weekEnd = start + ((w + 1) * 7) - 1;
                var sum = 0.0;
                foreach (var (day, count) in cohorts)
                {
                    if (weekEnd > day)
                    {
                        sum += count * run.Model!.ExpectedTransactions(Math.Min(weekEnd, end) - day is var d && d > 0 ? d / perUnit : 0);
                    }
                }

                cumulative[w] = sum;
            });
            var incremental = new double[weeks];
            for (var w = 0; w < weeks; w++)
            {
                incremental[w] = cumulative[w] - (w == 0 ? 0 : cumulative[w - 1]);
            }

            expected.Add((run.Name, incremental));
        }

        return new Tracking(DateOnly.FromDayNumber(start), ((summary.CalibrationEnd.DayNumber - start) / 7) + 1, actual, expected);
    }
}
