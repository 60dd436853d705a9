using System.Collections.Immutable;
using System.Globalization;
using System.Net;
using System.Text;
using Engagement.Sdk.Journeys;
using Engagement.Sdk.Value.Clv;

namespace WebShop.Insights;

/// <summary>Draws the dashboard's charts as inline SVG (no script, no external library).</summary>
public static class Charts
{
    private const int Width = 720, Height = 300, Left = 60, Right = 20, Top = 30, Bottom = 44;
    private static readonly string[] Colours = ["#4e79a7", "#f28e2b", "#59a14f", "#e15759", "#76b7b2", "#edc948"];
    private static readonly CultureInfo Inv = CultureInfo.InvariantCulture;

    /// <summary>Customers in each stage at the end of each week, one line per stage.</summary>
    /// <param name="journey">The journey (for the stage names and order).</param>
    /// <param name="weeks">The weekly counts.</param>
    /// <returns>The SVG element.</returns>
    public static string StagesOverTime(JourneyDefinition journey, ImmutableArray<WeekStages> weeks)
    {
        ArgumentNullException.ThrowIfNull(journey);
        var series = journey.Stages.Select((s, i) => (s.Id, Values: weeks.Select(w => (double)w.InStage[i]).ToArray())).ToList();
        return Lines("Customers per stage at the end of each week", series, weeks.Length == 0 ? string.Empty : $"week (from {weeks[0].WeekStart:yyyy-MM-dd})", "stages-chart");
    }

    /// <summary>Weekly cumulative repeat purchases, actual and expected by the model, across calibration and holdout.</summary>
    /// <param name="transactions">The purchases.</param>
    /// <param name="summary">The summary the model was fitted to (with its holdout end).</param>
    /// <param name="model">The fitted model.</param>
    /// <returns>The SVG element.</returns>
    public static string Tracking(IReadOnlyList<Transaction> transactions, RfmSummary summary, ITransactionModel model)
    {
        ArgumentNullException.ThrowIfNull(transactions);
        ArgumentNullException.ThrowIfNull(summary);
        ArgumentNullException.ThrowIfNull(model);
        var firstPurchase = summary.Customers.ToDictionary(c => c.CustomerId, c => c.FirstPurchase.DayNumber, StringComparer.Ordinal);
        var start = firstPurchase.Values.Min();
        var end = (summary.HoldoutEnd ?? summary.CalibrationEnd).DayNumber;
        var weeks = ((end - start) / 7) + 1;
        var actual = new double[weeks];
        foreach (var (customer, day) in transactions.Select(t => (t.CustomerId, t.Date.DayNumber)).Distinct())
        {
            if (firstPurchase.TryGetValue(customer, out var first) && day > first && day <= end)
            {
                actual[(day - start) / 7]++;
            }
        }

        for (var w = 1; w < weeks; w++)
        {
            actual[w] += actual[w - 1];
        }

        var expected = new double[weeks];
        for (var w = 0; w < weeks; w++)
        {
            var dayEnd = start + ((w + 1) * 7) - 1;
            expected[w] = firstPurchase.Values.Sum(f => dayEnd > f ? model.ExpectedTransactions((dayEnd - f) / 7.0) : 0);
        }

        var calibrationWeek = (summary.CalibrationEnd.DayNumber - start) / 7;
        return Lines(
            "Tracking: cumulative repeat purchases per week, actual and expected (" + model.Name + ")",
            [("actual", actual), ("expected", expected)],
            $"week (from {DateOnly.FromDayNumber(start):yyyy-MM-dd}); dashed line: end of calibration",
            "tracking-chart",
            calibrationWeek);
    }

    /// <summary>A histogram.</summary>
    /// <param name="bins">The bars.</param>
    /// <param name="title">The title.</param>
    /// <param name="axis">The value axis's label.</param>
    /// <returns>The SVG element.</returns>
    public static string Histogram(ImmutableArray<HistogramBin> bins, string title, string axis)
    {
        var svg = Begin(title, "clv-chart");
        if (bins.IsDefaultOrEmpty)
        {
            return svg.Append("</svg>").ToString();
        }

        var max = Math.Max(1, bins.Max(b => b.Count));
        var plotWidth = Width - Left - Right;
        var plotHeight = Height - Top - Bottom;
        var barWidth = plotWidth / (double)bins.Length;
        for (var i = 0; i < bins.Length; i++)
        {
            var h = plotHeight * bins[i].Count / (double)max;
            svg.Append(Inv, $"<rect x=\"{Left + (i * barWidth) + 1:F1}\" y=\"{Height - Bottom - h:F1}\" width=\"{barWidth - 2:F1}\" height=\"{h:F1}\" fill=\"{Colours[0]}\"><title>{bins[i].From:F0}–{bins[i].To:F0}: {bins[i].Count:N0} customers</title></rect>");
        }

        Axes(svg, max);
        for (var i = 0; i <= bins.Length; i += Math.Max(1, bins.Length / 5))
        {
            var x = Left + (i * barWidth);
            var value = i < bins.Length ? bins[i].From : bins[^1].To;
            svg.Append(Inv, $"<text x=\"{x:F1}\" y=\"{Height - Bottom + 16}\" text-anchor=\"middle\">{value:N0}</text>");
        }

        svg.Append(Inv, $"<text x=\"{(Width + Left) / 2}\" y=\"{Height - 8}\" text-anchor=\"middle\">{WebUtility.HtmlEncode(axis)}</text>");
        return svg.Append("</svg>").ToString();
    }

    private static string Lines(string title, List<(string Name, double[] Values)> series, string axis, string id, int? marker = null)
    {
        var svg = Begin(title, id);
        var points = series.Count == 0 ? 0 : series.Max(s => s.Values.Length);
        if (points == 0)
        {
            return svg.Append("</svg>").ToString();
        }

        var max = Math.Max(1, series.Max(s => s.Values.DefaultIfEmpty(0).Max()));
        string X(int i) => (Left + ((Width - Left - Right) * (points == 1 ? 0.5 : i / (double)(points - 1)))).ToString("F1", Inv);
        string Y(double v) => (Height - Bottom - ((Height - Top - Bottom) * v / (max * 1.05))).ToString("F1", Inv);
        Axes(svg, max * 1.05);
        if (marker is { } m && m >= 0 && m < points)
        {
            svg.Append(Inv, $"<line x1=\"{X(m)}\" y1=\"{Top}\" x2=\"{X(m)}\" y2=\"{Height - Bottom}\" stroke=\"#888\" stroke-dasharray=\"4 4\"/>");
        }

        for (var s = 0; s < series.Count; s++)
        {
            var colour = Colours[s % Colours.Length];
            var path = string.Join(' ', series[s].Values.Select((v, i) => $"{(i == 0 ? 'M' : 'L')}{X(i)},{Y(v)}"));
            svg.Append(Inv, $"<path d=\"{path}\" fill=\"none\" stroke=\"{colour}\" stroke-width=\"2\"{(s > 0 && series.Count == 2 ? " stroke-dasharray=\"6 3\"" : string.Empty)}/>");
            svg.Append(Inv, $"<rect x=\"{Left + 10 + (s * 130)}\" y=\"{Top - 14}\" width=\"10\" height=\"10\" fill=\"{colour}\"/><text x=\"{Left + 24 + (s * 130)}\" y=\"{Top - 5}\">{WebUtility.HtmlEncode(series[s].Name)}</text>");
        }

        svg.Append(Inv, $"<text x=\"{(Width + Left) / 2}\" y=\"{Height - 8}\" text-anchor=\"middle\">{WebUtility.HtmlEncode(axis)}</text>");
        return svg.Append("</svg>").ToString();
    }

    private static StringBuilder Begin(string title, string id)
    {
        var svg = new StringBuilder(4096);
        svg.Append(Inv, $"<svg id=\"{id}\" xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 {Width} {Height}\" width=\"100%\" role=\"img\" aria-label=\"{WebUtility.HtmlEncode(title)}\" font-family=\"sans-serif\" font-size=\"11\">");
        svg.Append(Inv, $"<title>{WebUtility.HtmlEncode(title)}</title>");
        return svg;
    }

    private static void Axes(StringBuilder svg, double max)
    {
        svg.Append(Inv, $"<line x1=\"{Left}\" y1=\"{Height - Bottom}\" x2=\"{Width - Right}\" y2=\"{Height - Bottom}\" stroke=\"#333\"/><line x1=\"{Left}\" y1=\"{Top}\" x2=\"{Left}\" y2=\"{Height - Bottom}\" stroke=\"#333\"/>");
        for (var i = 0; i <= 4; i++)
        {
            var v = max * i / 4;
            var y = Height - Bottom - ((Height - Top - Bottom) * i / 4.0);
            svg.Append(Inv, $"<text x=\"{Left - 6}\" y=\"{y + 4:F1}\" text-anchor=\"end\">{v:N0}</text><line x1=\"{Left}\" y1=\"{y:F1}\" x2=\"{Width - Right}\" y2=\"{y:F1}\" stroke=\"#eee\"/>");
        }
    }
}
