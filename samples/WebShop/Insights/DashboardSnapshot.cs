using System.Collections.Immutable;
using Engagement.Sdk;
using Engagement.Sdk.Channels;
using Engagement.Sdk.Consent;
using Engagement.Sdk.Decisioning;
using Engagement.Sdk.Events;
using Engagement.Sdk.Journeys;
using Engagement.Sdk.Profiles;
using Engagement.Sdk.Storage;
using Engagement.Sdk.Value;

namespace WebShop.Insights;

/// <summary>One stage's key figures, from the journey store's history (<see cref="JourneyKpis"/>).</summary>
/// <param name="StageId">The stage.</param>
/// <param name="Current">Customers in it now.</param>
/// <param name="Reached">Customers who were ever in it.</param>
/// <param name="Skipped">Customers who were never in it but reached a later stage (a first visit that ended in a purchase skips the earlier stages).</param>
/// <param name="ConversionFromPrevious">Of the customers who reached the previous stage, the share who reached this one after it.</param>
/// <param name="MedianDaysInStage">The median length of completed visits to the stage, in days.</param>
/// <param name="MedianDaysToReach">The median time from entering the journey to first reaching the stage, in days.</param>
/// <param name="EnteredLast7Days">Customers who entered it in the last seven days.</param>
/// <param name="Revenue">Net revenue (purchases less refunds) made while customers were in the stage, in the shop's currency.</param>
/// <param name="Arpu">Revenue per customer who reached the stage, in the shop's currency.</param>
public sealed record StageKpi(
    string StageId,
    int Current,
    int Reached,
    int Skipped,
    double? ConversionFromPrevious,
    double? MedianDaysInStage,
    double? MedianDaysToReach,
    int EnteredLast7Days,
    decimal Revenue,
    decimal? Arpu);

/// <summary>Customers per stage at the end of one week.</summary>
/// <param name="WeekStart">The week's first day.</param>
/// <param name="InStage">Customers in each stage (in the journey's stage order) when the week ended.</param>
/// <param name="Entered">Customers who entered each stage during the week.</param>
public sealed record WeekStages(DateOnly WeekStart, ImmutableArray<int> InStage, ImmutableArray<int> Entered);

/// <summary>Messages per channel: what the outbox holds (kept in the store) and what decisions were refused (this process).</summary>
/// <param name="Channel">The channel.</param>
/// <param name="Sent">Handed to the channel and accepted.</param>
/// <param name="Queued">Waiting in the outbox or being sent.</param>
/// <param name="Held">Held back by contact policy, waiting for release.</param>
/// <param name="Cancelled">Never sent (held and expired or pre-empted, or refused at hand-off).</param>
/// <param name="Failed">Undeliverable or dead-lettered.</param>
/// <param name="Suppressed">Contacts decisions wanted that consent stopped (since the process started).</param>
/// <param name="Deferred">Contacts contact policy deferred (since the process started).</param>
public sealed record ChannelMessages(string Channel, int Sent, int Queued, int Held, int Cancelled, int Failed, long Suppressed, long Deferred);

/// <summary>A bar of a histogram.</summary>
/// <param name="From">Lower bound (inclusive).</param>
/// <param name="To">Upper bound (exclusive; the last bar includes it).</param>
/// <param name="Count">How many values fell in it.</param>
public sealed record HistogramBin(double From, double To, int Count);

/// <summary>The lifetime-value models fitted to the shop's purchases.</summary>
/// <param name="Error">Why no model could be fitted, or <see langword="null"/>.</param>
/// <param name="Customers">Customers with a purchase.</param>
/// <param name="Parameters">The BG/NBD and Gamma-Gamma parameters, by name.</param>
/// <param name="MeanProbabilityAlive">Mean P(alive) over the buyers.</param>
/// <param name="TotalClv">The sum of the buyers' CLV.</param>
/// <param name="Distribution">The CLV distribution.</param>
/// <param name="Top">The most valuable customers and their CLV.</param>
/// <param name="DistributionSvg">The distribution as an SVG chart.</param>
/// <param name="TrackingSvg">The tracking chart (weekly cumulative repeat purchases, actual and expected) as SVG.</param>
public sealed record ClvOverview(
    string? Error,
    int Customers,
    ImmutableArray<KeyValuePair<string, double>> Parameters,
    double MeanProbabilityAlive,
    double TotalClv,
    ImmutableArray<HistogramBin> Distribution,
    ImmutableArray<KeyValuePair<string, double>> Top,
    string DistributionSvg,
    string TrackingSvg);

/// <summary>The dashboard's figures, computed together in the background and served as they are.</summary>
/// <param name="ComputedAt">When they were computed.</param>
/// <param name="ComputeMilliseconds">How long computing them took.</param>
/// <param name="Customers">Profiles (merged ones excluded).</param>
/// <param name="Events">Events read.</param>
/// <param name="JourneyId">The journey shown.</param>
/// <param name="Funnel">The journey's funnel report (per-stage figures, transitions, velocity, uplift against a control group).</param>
/// <param name="Stages">Each stage's key figures, in funnel order.</param>
/// <param name="StagesByWeek">Customers per stage at the end of each week.</param>
/// <param name="StagesSvg"><paramref name="StagesByWeek"/> as an SVG chart.</param>
/// <param name="Total">Transactional and engagement metrics over the whole period.</param>
/// <param name="Weeks">The same metrics per week.</param>
/// <param name="Messages">Messages per channel.</param>
/// <param name="Clv">The lifetime-value models.</param>
/// <param name="Currency">The shop's currency (ISO 4217 code), which the stage revenue is in.</param>
public sealed record DashboardSnapshot(
    DateTimeOffset ComputedAt,
    double ComputeMilliseconds,
    int Customers,
    int Events,
    string JourneyId,
    JourneyFunnelReport Funnel,
    ImmutableArray<StageKpi> Stages,
    ImmutableArray<WeekStages> StagesByWeek,
    string StagesSvg,
    PeriodMetrics? Total,
    ImmutableArray<PeriodMetrics> Weeks,
    ImmutableArray<ChannelMessages> Messages,
    ClvOverview Clv,
    string Currency);

/// <summary>One customer as the dashboard shows them: profile, consent ledger, path, messages and decisions.</summary>
/// <param name="CustomerId">The customer asked for.</param>
/// <param name="Profile">The profile, or <see langword="null"/> when there is none (never seen, or erased).</param>
/// <param name="IsErased">Whether the customer was erased.</param>
/// <param name="Ledger">The consent ledger, oldest first.</param>
/// <param name="Permissions">Whether marketing may be sent now, per message type and channel.</param>
/// <param name="Stage">The customer's stage in the journey now, or <see langword="null"/> when not in it.</param>
/// <param name="Path">The customer's entries, moves and exits in the journey (from the journey store), oldest first.</param>
/// <param name="Events">The most recent events, newest first.</param>
/// <param name="Messages">The messages of the last 90 days, newest first.</param>
/// <param name="Decisions">Recent decisions for the customer, newest first.</param>
public sealed record CustomerView(
    CustomerId CustomerId,
    CustomerProfile? Profile,
    bool IsErased,
    ImmutableArray<ConsentRecord> Ledger,
    ImmutableArray<PermissionCell> Permissions,
    string? Stage,
    ImmutableArray<JourneyHistoryEntry> Path,
    ImmutableArray<EngagementEvent> Events,
    ImmutableArray<DispatchRecord> Messages,
    ImmutableArray<Decision> Decisions);

/// <summary>Whether consent lets the shop send one message type on one channel now.</summary>
/// <param name="MessageType">The message type.</param>
/// <param name="Channel">The channel.</param>
/// <param name="Allowed">Whether consent allows it.</param>
/// <param name="Code">The reason code (for example <c>consent_granted</c>, <c>pending_confirmation</c>, <c>no_consent</c>).</param>
public sealed record PermissionCell(string MessageType, string Channel, bool Allowed, string Code);
