using System.Globalization;
using Engagement.Sdk;
using Engagement.Sdk.Events;
using Engagement.Sdk.Journeys;
using Engagement.Sdk.Profiles;
using Engagement.Sdk.Value;

namespace Quickstart;

/// <summary>Writes the quickstart's report.</summary>
internal static class Report
{
    private static readonly CultureInfo Inv = CultureInfo.InvariantCulture;

    public static async Task WriteAsync(TextWriter o, ShopSimulator shop, int happenings, List<JourneyFunnelReport> funnels, List<EngagementEvent> events, LoopTally tally, EngagementOptions options, List<CustomerProfile> profiles)
    {
        await o.WriteLineAsync("Engagement.Sdk quickstart: a simulated shop on the embedded SQLite store").ConfigureAwait(false);
        await o.WriteLineAsync(string.Create(Inv, $"{shop.Customers:N0} customers, {shop.Days} days from {shop.Start:yyyy-MM-dd}; {happenings:N0} events and consent records; {tally.Events:N0} events tracked, {tally.Decisions:N0} decisions, {tally.Clicks:N0} clicks.")).ConfigureAwait(false);
        await o.WriteLineAsync().ConfigureAwait(false);

        foreach (var funnel in funnels)
        {
            await o.WriteLineAsync($"Journey '{funnel.JourneyId}': customers per stage").ConfigureAwait(false);
            await o.WriteLineAsync("  stage          now   reached   skipped   conversion from previous   median time in stage   revenue").ConfigureAwait(false);
            foreach (var row in funnel.Stages)
            {
                var conversion = row.ConversionFromPrevious is { } c ? c.ToString("P1", Inv) : "-";
                var median = row.MedianTimeInStage is { } m ? m.TotalDays.ToString("0.0", Inv) + " d" : "-";
                await o.WriteLineAsync(string.Create(Inv, $"  {row.StageId,-12} {row.Now,6:N0} {row.Reached,9:N0} {row.Skipped,9:N0}   {conversion,24}   {median,20}   {row.Revenue,8:N2}")).ConfigureAwait(false);
            }

            await o.WriteLineAsync().ConfigureAwait(false);
        }

        var metrics = EngagementMetrics.Compute(events, shop.Start, shop.End, options.Currency);
        await o.WriteLineAsync("Value over the whole period").ConfigureAwait(false);
        await o.WriteLineAsync(string.Create(Inv, $"  visitors {metrics.Visitors:N0}, sessions {metrics.Sessions:N0}, buyers {metrics.Buyers:N0}, orders {metrics.Orders:N0}")).ConfigureAwait(false);
        await o.WriteLineAsync($"  revenue {metrics.Revenue}, refunds {metrics.Refunds}, net {metrics.NetRevenue}").ConfigureAwait(false);
        await o.WriteLineAsync($"  conversion rate {metrics.ConversionRate?.ToString("P2", Inv) ?? "-"}, AOV {metrics.AverageOrderValue?.ToString() ?? "-"}, ARPU {metrics.Arpu?.ToString() ?? "-"}, ARPPU {metrics.Arppu?.ToString() ?? "-"}").ConfigureAwait(false);
        await o.WriteLineAsync().ConfigureAwait(false);

        await o.WriteLineAsync("Messages").ConfigureAwait(false);
        await o.WriteLineAsync("  channel    sent   suppressed (no consent)   deferred (quiet hours, caps)").ConfigureAwait(false);
        foreach (var channel in tally.Sent.Keys.Union(tally.SuppressedForConsent.Keys).Union(tally.Deferred.Keys).Order(StringComparer.Ordinal))
        {
            await o.WriteLineAsync(string.Create(Inv, $"  {channel,-8} {Get(tally.Sent, channel),6:N0}   {Get(tally.SuppressedForConsent, channel),23:N0}   {Get(tally.Deferred, channel),28:N0}")).ConfigureAwait(false);
        }

        await o.WriteLineAsync().ConfigureAwait(false);
        await o.WriteLineAsync("Five decisions and their reasons").ConfigureAwait(false);
        foreach (var decision in tally.Examples)
        {
            await o.WriteLineAsync($"  {decision.CustomerId} at {decision.At.ToString("yyyy-MM-dd HH:mm", Inv)}: {(decision.IsNoAction ? "do nothing" : $"{decision.Action.Id} on {decision.Channel}")}").ConfigureAwait(false);
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
        foreach (var value in HistoricalClv.Compute(profiles, 0.30m, options.Currency).Take(10))
        {
            await o.WriteLineAsync(string.Create(Inv, $"  {value.CustomerId.Value,-8} {value.Orders,3} orders   net {value.NetRevenue,14}   CLV {value.Value,12}")).ConfigureAwait(false);
        }
    }

    private static int Get(SortedDictionary<string, int> counts, string key) => counts.TryGetValue(key, out var n) ? n : 0;
}
