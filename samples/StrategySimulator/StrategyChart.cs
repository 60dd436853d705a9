using System.Globalization;
using System.Text;

namespace StrategySimulator;

/// <summary>Draws cumulative profit by day for both strategies as SVG.</summary>
internal static class StrategyChart
{
    public static string Svg(ArmResult journey, ArmResult baseline, int customers, int days, ulong seed)
    {
        const int Width = 800, Height = 420, Left = 80, Bottom = 50, Top = 40, Right = 130;
        var all = journey.DailyProfit.Concat(baseline.DailyProfit).Select(v => (double)v).ToList();
        var min = Math.Min(0, all.Min());
        var max = Math.Max(1, all.Max());
        string X(int day) => (Left + ((Width - Left - Right) * (day + 1.0) / days)).ToString("F1", CultureInfo.InvariantCulture);
        string Y(double v) => (Height - Bottom - ((Height - Top - Bottom) * (v - min) / (max - min))).ToString("F1", CultureInfo.InvariantCulture);
        string Path(IReadOnlyList<decimal> values) => string.Join(' ', values.Select((v, d) => $"{(d == 0 ? 'M' : 'L')}{X(d)},{Y((double)v)}"));

        var svg = new StringBuilder();
        svg.Append(CultureInfo.InvariantCulture, $"<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{Width}\" height=\"{Height}\" font-family=\"sans-serif\" font-size=\"12\">\n");
        svg.Append("<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n");
        svg.Append(CultureInfo.InvariantCulture, $"<text x=\"{Left}\" y=\"20\" font-size=\"14\">Cumulative profit (EUR): journey programme against batch-and-blast, {customers:N0} customers, seed {seed}</text>\n");
        svg.Append(CultureInfo.InvariantCulture, $"<line x1=\"{Left}\" y1=\"{Height - Bottom}\" x2=\"{Width - Right}\" y2=\"{Height - Bottom}\" stroke=\"black\"/>\n");
        svg.Append(CultureInfo.InvariantCulture, $"<line x1=\"{Left}\" y1=\"{Top}\" x2=\"{Left}\" y2=\"{Height - Bottom}\" stroke=\"black\"/>\n");
        for (var i = 0; i <= 4; i++)
        {
            var v = min + ((max - min) * i / 4);
            svg.Append(CultureInfo.InvariantCulture, $"<text x=\"{Left - 8}\" y=\"{Y(v)}\" text-anchor=\"end\">{v:N0}</text>\n");
        }

        svg.Append(CultureInfo.InvariantCulture, $"<text x=\"{(Left + Width - Right) / 2}\" y=\"{Height - 15}\" text-anchor=\"middle\">day (0 to {days})</text>\n");
        svg.Append(CultureInfo.InvariantCulture, $"<path d=\"{Path(journey.DailyProfit)}\" fill=\"none\" stroke=\"#1f77b4\" stroke-width=\"2\"/>\n");
        svg.Append(CultureInfo.InvariantCulture, $"<path d=\"{Path(baseline.DailyProfit)}\" fill=\"none\" stroke=\"#d62728\" stroke-width=\"2\" stroke-dasharray=\"6 4\"/>\n");
        svg.Append(CultureInfo.InvariantCulture, $"<text x=\"{Width - Right + 8}\" y=\"{Y((double)journey.DailyProfit[^1])}\" fill=\"#1f77b4\">journey {journey.Profit:N0}</text>\n");
        svg.Append(CultureInfo.InvariantCulture, $"<text x=\"{Width - Right + 8}\" y=\"{Y((double)baseline.DailyProfit[^1])}\" fill=\"#d62728\">baseline {baseline.Profit:N0}</text>\n");
        svg.Append("</svg>\n");
        return svg.ToString();
    }
}
