using System.Globalization;
using Engagement.Sdk;
using Engagement.Sdk.Events;
using Engagement.Sdk.Journeys;
using Engagement.Sdk.Profiles;
using Engagement.Sdk.Value;
using Spectre.Console;

namespace Quickstart;

/// <summary>Writes the quickstart's report.</summary>
internal static class Report
{
    public static async Task WriteAsync(TextWriter o, ShopSimulator shop, int happenings, List<JourneyFunnelReport> funnels, List<CustomerProfile> profiles, List<EngagementEvent> events, LoopTally tally, EngagementOptions options, CultureInfo culture)
    {
        await o.WriteLineAsync("Engagement.Sdk quickstart: a simulated shop on the embedded SQLite store").ConfigureAwait(false);
        await o.WriteLineAsync(string.Create(culture, $"{shop.Customers:N0} customers, {shop.Days} days from {shop.Start:yyyy-MM-dd}; {happenings:N0} events and consent records; {tally.Events:N0} events tracked, {tally.Decisions:N0} decisions, {tally.Clicks:N0} clicks.")).ConfigureAwait(false);
        await o.WriteLineAsync().ConfigureAwait(false);

        // Tables are laid out by Spectre.Console, written as plain text (no colours or control codes) to the report's writer.
        await o.FlushAsync().ConfigureAwait(false);
        var console = AnsiConsole.Create(new AnsiConsoleSettings
        {
            Ansi = AnsiSupport.No,
            ColorSystem = ColorSystemSupport.NoColors,
            Interactive = InteractionSupport.No,
            Out = new AnsiConsoleOutput(o),
        });
        console.Profile.Width = 120;

        foreach (var report in funnels)
        {
            await o.WriteLineAsync($"Journey '{report.JourneyId}': customers per stage").ConfigureAwait(false);
            var funnel = NewTable("stage", "now", "reached", "skipped", "conversion from previous", "median time in stage", "revenue");
            foreach (var row in report.Stages)
            {
                var conversion = row.ConversionFromPrevious is { } c ? c.ToString("P1", culture) : "-";
                var median = row.MedianTimeInStage is { } m ? m.TotalDays.ToString("N1", culture) + " d" : "-";
                AddRow(funnel, row.StageId, row.Now.ToString("N0", culture), row.Reached.ToString("N0", culture), row.Skipped.ToString("N0", culture), conversion, median, row.Revenue.ToString("N2", culture));
            }

            console.Write(funnel);
            await o.WriteLineAsync().ConfigureAwait(false);
        }

        var metrics = EngagementMetrics.Compute(events, shop.Start, shop.End, options.Currency);
        await o.WriteLineAsync("Value over the whole period").ConfigureAwait(false);
        await o.WriteLineAsync(string.Create(culture, $"  visitors {metrics.Visitors:N0}, sessions {metrics.Sessions:N0}, buyers {metrics.Buyers:N0}, orders {metrics.Orders:N0}")).ConfigureAwait(false);
        await o.WriteLineAsync($"  revenue {Format(metrics.Revenue, culture)}, refunds {Format(metrics.Refunds, culture)}, net {Format(metrics.NetRevenue, culture)}").ConfigureAwait(false);
        await o.WriteLineAsync($"  conversion rate {metrics.ConversionRate?.ToString("P2", culture) ?? "-"}, AOV {Format(metrics.AverageOrderValue, culture)}, ARPU {Format(metrics.Arpu, culture)}, ARPPU {Format(metrics.Arppu, culture)}").ConfigureAwait(false);
        await o.WriteLineAsync().ConfigureAwait(false);

        await o.WriteLineAsync("Messages").ConfigureAwait(false);
        var messages = NewTable("channel", "sent", "suppressed (no consent)", "deferred (quiet hours, caps)");
        foreach (var channel in tally.Sent.Keys.Union(tally.SuppressedForConsent.Keys).Union(tally.Deferred.Keys).Order(StringComparer.Ordinal))
        {
            AddRow(messages, channel, Get(tally.Sent, channel).ToString("N0", culture), Get(tally.SuppressedForConsent, channel).ToString("N0", culture), Get(tally.Deferred, channel).ToString("N0", culture));
        }

        console.Write(messages);

        await o.WriteLineAsync().ConfigureAwait(false);
        await o.WriteLineAsync("Five decisions and their reasons").ConfigureAwait(false);
        foreach (var decision in tally.Examples)
        {
            await o.WriteLineAsync($"  {decision.CustomerId} at {decision.At.ToString("yyyy-MM-dd HH:mm", culture)}: {(decision.IsNoAction ? "do nothing" : $"{decision.Action.Id} on {decision.Channel}")}").ConfigureAwait(false);
            var shown = decision.Candidates.Where(c => c.Status == Engagement.Sdk.Decisioning.CandidateStatus.Chosen)
                .Concat(decision.Candidates.Where(c => c.Status == Engagement.Sdk.Decisioning.CandidateStatus.Outranked).Take(2))
                .Concat(decision.Candidates.Where(c => c.Status == Engagement.Sdk.Decisioning.CandidateStatus.Rejected).OrderBy(c => c.Reason == Engagement.Sdk.Decisioning.DecisionReasons.NotInStage).Take(3))
                .ToList();
            foreach (var candidate in shown)
            {
                await o.WriteLineAsync($"    [{candidate.Status.ToString().ToLowerInvariant()}] {candidate.Detail}").ConfigureAwait(false);
            }

            if (decision.Candidates.Length > shown.Count)
            {
                await o.WriteLineAsync($"    (+{decision.Candidates.Length - shown.Count} more candidates)").ConfigureAwait(false);
            }
        }

        await o.WriteLineAsync().ConfigureAwait(false);
        await o.WriteLineAsync("Ten most valuable customers (historical CLV = net revenue x 30% margin)").ConfigureAwait(false);
        var valuable = NewTable("customer", "orders", "net revenue", "CLV");
        foreach (var value in HistoricalClv.Compute(profiles, 0.30m, options.Currency).Take(10))
        {
            AddRow(valuable, value.CustomerId.Value, value.Orders.ToString("N0", culture), Format(value.NetRevenue, culture), Format(value.Value, culture));
        }

        console.Write(valuable);
        await o.FlushAsync().ConfigureAwait(false);
    }

    /// <summary>A borderless table with a rule under its header; the first column left-aligned, the others right-aligned.</summary>
    private static Table NewTable(params string[] headers)
    {
        var table = new Table { Border = TableBorder.Simple, ShowHeaders = true };
        for (var i = 0; i < headers.Length; i++)
        {
            table.AddColumn(new TableColumn(new Text(headers[i])) { Alignment = i == 0 ? Justify.Left : Justify.Right });
        }

        return table;
    }

    private static void AddRow(Table table, params string[] cells) => table.AddRow([.. cells.Select(c => (Spectre.Console.Rendering.IRenderable)new Text(c))]);

    private static int Get(SortedDictionary<string, int> counts, string key) => counts.TryGetValue(key, out var n) ? n : 0;

    /// <summary>Money with the culture's group and decimal separators and the currency's minor units: 12,345.60 EUR (en-US), 12.345,60 EUR (de-DE).</summary>
    private static string Format(Money? money, CultureInfo culture)
        => money is { } m ? m.Amount.ToString("N" + m.Currency.MinorUnits.ToString(CultureInfo.InvariantCulture), culture) + " " + m.Currency.Code : "-";
}
