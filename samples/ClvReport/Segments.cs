namespace ClvReport;

/// <summary>One cell of the segment grid: customers of one activity band and one value group.</summary>
/// <param name="Activity">The P(alive) band: <c>active</c>, <c>at risk</c> or <c>likely lost</c>.</param>
/// <param name="Value">The value group: <c>high</c>, <c>middle</c>, <c>low</c> (or Q1 … Qn for other quantile counts, Qn the highest).</param>
/// <param name="Customers">How many customers.</param>
/// <param name="Share">Their share of all customers.</param>
/// <param name="MeanPAlive">Their mean P(alive).</param>
/// <param name="MeanExpected">Their mean expected transactions over the horizon.</param>
/// <param name="TotalValue">Their total value (CLV, or expected revenue over the horizon, or expected transactions: see <see cref="SegmentReport.ValueMeasure"/>).</param>
/// <param name="ValueShare">Their share of the total value.</param>
public sealed record SegmentCell(string Activity, string Value, int Customers, double Share, double MeanPAlive, double MeanExpected, double TotalValue, double ValueShare);

/// <summary>Customers segmented by P(alive) band × value quantile, for one model.</summary>
/// <param name="Model">The model whose P(alive) and value are used.</param>
/// <param name="ValueMeasure">What "value" is: <c>clv</c>, <c>expectedRevenue</c> (expected transactions × expected spend, when the model has no DERT) or <c>expectedTransactions</c> (without a spend model).</param>
/// <param name="PAliveBands">The band limits: [0, 0.3) likely lost, [0.3, 0.7) at risk, [0.7, 1] active.</param>
/// <param name="ValueCutoffs">The value quantiles that separate the groups.</param>
/// <param name="Cells">The cells, most valuable and most active first.</param>
public sealed record SegmentReport(string Model, string ValueMeasure, IReadOnlyList<double> PAliveBands, IReadOnlyList<double> ValueCutoffs, IReadOnlyList<SegmentCell> Cells);

/// <summary>Builds the P(alive) × value segment grid.</summary>
internal static class Segments
{
    private static readonly double[] Bands = [0, 0.3, 0.7, 1];
    private static readonly string[] Activities = ["likely lost", "at risk", "active"];

    public static SegmentReport Build(string model, string measure, double[] pAlive, double[] expected, double[] value, int quantiles)
    {
        var n = value.Length;
        var sorted = (double[])value.Clone();
        Array.Sort(sorted);
        var cutoffs = new double[quantiles - 1];
        for (var q = 1; q < quantiles; q++)
        {
            cutoffs[q - 1] = n == 0 ? 0 : sorted[Math.Min(n - 1, (int)Math.Floor((double)n * q / quantiles))];
        }

        var groups = quantiles == 3 ? new[] { "low", "middle", "high" } : [.. Enumerable.Range(1, quantiles).Select(q => $"Q{q}")];
        var count = new int[3, quantiles];
        var sumAlive = new double[3, quantiles];
        var sumExpected = new double[3, quantiles];
        var sumValue = new double[3, quantiles];
        var total = 0.0;
        for (var i = 0; i < n; i++)
        {
            var band = pAlive[i] < Bands[1] ? 0 : pAlive[i] < Bands[2] ? 1 : 2;
            var group = 0;
            while (group < cutoffs.Length && value[i] >= cutoffs[group])
            {
                group++;
            }

            count[band, group]++;
            sumAlive[band, group] += pAlive[i];
            sumExpected[band, group] += expected[i];
            sumValue[band, group] += value[i];
            total += value[i];
        }

        var cells = new List<SegmentCell>();
        for (var band = 2; band >= 0; band--)
        {
            for (var group = quantiles - 1; group >= 0; group--)
            {
                var c = count[band, group];
                cells.Add(new SegmentCell(
                    Activities[band],
                    groups[group],
                    c,
                    n == 0 ? 0 : (double)c / n,
                    c == 0 ? 0 : sumAlive[band, group] / c,
                    c == 0 ? 0 : sumExpected[band, group] / c,
                    sumValue[band, group],
                    total > 0 ? sumValue[band, group] / total : 0));
            }
        }

        return new SegmentReport(model, measure, Bands, cutoffs, cells);
    }
}
