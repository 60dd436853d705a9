using System.Globalization;
using System.Text;
using Engagement.Sdk.Value.Clv;

namespace ClvReport;

/// <summary>Draws weekly cumulative repeat transactions, actual and per model, across calibration and holdout, as SVG.</summary>
public static class TrackingChart
{
    /// <summary>Renders the chart.</summary>
    /// <param name="transactions">The transactions.</param>
    /// <param name="summary">The summary (first purchases, calibration and holdout ends).</param>
    /// <param name="models">The fitted models.</param>
    /// <returns>The SVG document.</returns>
    public static string Svg(IReadOnlyList<Transaction> transactions, RfmSummary summary, IReadOnlyList<ITransactionModel> models)
    {
        ArgumentNullException.ThrowIfNull(transactions);
        ArgumentNullException.ThrowIfNull(summary);
        ArgumentNullException.ThrowIfNull(models);
        var first = summary.Customers.ToDictionary(c => c.CustomerId, c => c.FirstPurchase.DayNumber, StringComparer.Ordinal);
        var start = first.Values.Min();
        var end = (summary.HoldoutEnd ?? summary.CalibrationEnd).DayNumber;
        var weeks = ((end - start) / 7) + 1;
        var actual = new double[weeks];
        foreach (var day in transactions.Where(t => first.ContainsKey(t.CustomerId)).Select(t => (t.CustomerId, Day: t.Date.DayNumber)).Distinct())
        {
            if (day.Day > first[day.CustomerId] && day.Day <= end)
            {
                actual[(day.Day - start) / 7]++;
            }
        }

        for (var w = 1; w < weeks; w++)
        {
            actual[w] += actual[w - 1];
        }

        var perUnit = summary.Unit == TimeUnit.Weeks ? 7.0 : 1.0;
        var curves = models.Select(m =>
        {
            var curve = new double[weeks];
            for (var w = 0; w < weeks; w++)
            {
                var dayEnd = start + ((w + 1) * 7) - 1;
                curve[w] = first.Values.Sum(f => dayEnd > f ? m.ExpectedTransactions((dayEnd - f) / perUnit) : 0);
            }

            return (m.Name, curve);
        }).ToList();

        const int Width = 800, Height = 420, Left = 70, Bottom = 50, Top = 30, Right = 20;
        var max = Math.Max(actual.Max(), curves.Count == 0 ? 0 : curves.Max(c => c.curve.Max())) * 1.05;
        string X(int w) => (Left + ((Width - Left - Right) * (w + 1.0) / weeks)).ToString("F1", CultureInfo.InvariantCulture);
        string Y(double v) => (Height - Bottom - ((Height - Top - Bottom) * v / Math.Max(max, 1))).ToString("F1", CultureInfo.InvariantCulture);
        string Path(double[] values) => string.Join(' ', values.Select((v, w) => $"{(w == 0 ? 'M' : 'L')}{X(w)},{Y(v)}"));

        var svg = new StringBuilder();
        svg.Append(CultureInfo.InvariantCulture, $"<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{Width}\" height=\"{Height}\" font-family=\"sans-serif\" font-size=\"12\">\n");
        svg.Append("<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n");
        svg.Append(CultureInfo.InvariantCulture, $"<text x=\"{Left}\" y=\"18\" font-size=\"14\">Cumulative repeat transactions by week: actual and expected</text>\n");
        svg.Append(CultureInfo.InvariantCulture, $"<line x1=\"{Left}\" y1=\"{Height - Bottom}\" x2=\"{Width - Right}\" y2=\"{Height - Bottom}\" stroke=\"black\"/><line x1=\"{Left}\" y1=\"{Top}\" x2=\"{Left}\" y2=\"{Height - Bottom}\" stroke=\"black\"/>\n");
        var calibrationWeek = (summary.CalibrationEnd.DayNumber - start) / 7;
        svg.Append(CultureInfo.InvariantCulture, $"<line x1=\"{X(calibrationWeek)}\" y1=\"{Top}\" x2=\"{X(calibrationWeek)}\" y2=\"{Height - Bottom}\" stroke=\"grey\" stroke-dasharray=\"4 4\"/><text x=\"{X(calibrationWeek)}\" y=\"{Top + 12}\" fill=\"grey\"> end of calibration</text>\n");
        for (var i = 0; i <= 4; i++)
        {
            var v = max * i / 4;
            svg.Append(CultureInfo.InvariantCulture, $"<text x=\"{Left - 6}\" y=\"{Y(v)}\" text-anchor=\"end\">{v:N0}</text>\n");
        }

        svg.Append(CultureInfo.InvariantCulture, $"<text x=\"{(Width + Left) / 2}\" y=\"{Height - 12}\" text-anchor=\"middle\">week ({weeks} weeks from {DateOnly.FromDayNumber(start):yyyy-MM-dd})</text>\n");
        string[] colours = ["#d62728", "#2ca02c", "#9467bd"];
        svg.Append(CultureInfo.InvariantCulture, $"<path d=\"{Path(actual)}\" fill=\"none\" stroke=\"black\" stroke-width=\"2\"/>\n");
        svg.Append(CultureInfo.InvariantCulture, $"<text x=\"{Left + 10}\" y=\"{Top + 30}\">— actual</text>\n");
        for (var i = 0; i < curves.Count; i++)
        {
            svg.Append(CultureInfo.InvariantCulture, $"<path d=\"{Path(curves[i].curve)}\" fill=\"none\" stroke=\"{colours[i % colours.Length]}\" stroke-width=\"1.5\" stroke-dasharray=\"6 3\"/>\n");
            svg.Append(CultureInfo.InvariantCulture, $"<text x=\"{Left + 10}\" y=\"{Top + 46 + (16 * i)}\" fill=\"{colours[i % colours.Length]}\">- - {curves[i].Name}</text>\n");
        }

        svg.Append("</svg>\n");
        return svg.ToString();
    }
}
