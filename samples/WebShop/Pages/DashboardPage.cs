using System.Globalization;
using System.Text;
using Engagement.Sdk;
using Engagement.Sdk.Decisioning;
using Engagement.Sdk.Events;
using WebShop.Insights;
using static WebShop.Pages.Html;

namespace WebShop.Pages;

/// <summary>
/// The dashboard: journey funnel and stage figures over time, transactional and engagement metrics, messages per channel,
/// lifetime value (distribution and tracking chart), recent decisions with their traces, and one customer's profile, consent
/// ledger and path. Server-rendered from the last computed <see cref="DashboardSnapshot"/> (plus one customer read live), with
/// charts as inline SVG: no script, no external resource.
/// </summary>
public static class DashboardPage
{
    private static readonly CultureInfo Inv = CultureInfo.InvariantCulture;

    /// <summary>Maps <c>/dashboard</c>.</summary>
    /// <param name="app">The application.</param>
    public static void MapDashboard(this IEndpointRouteBuilder app)
    {
        ArgumentNullException.ThrowIfNull(app);
        app.MapGet("/dashboard", RenderAsync);
    }

    private static async Task<IResult> RenderAsync(string? customer, bool? refresh, ShopInsights insights, DecisionLog decisions, CancellationToken cancellationToken)
    {
        var snapshot = refresh == true ? await insights.RefreshAsync(cancellationToken: cancellationToken) : insights.Current ?? await insights.RefreshAsync(cancellationToken: cancellationToken);
        var html = new StringBuilder(64 * 1024);
        html.Append(Inv, $"<h1>Dashboard</h1><p class=\"muted\" id=\"computed\">Figures computed at {T(snapshot.ComputedAt)} UTC in {snapshot.ComputeMilliseconds:F0} ms from {N(snapshot.Customers)} customers and {N(snapshot.Events)} events{(insights.IsStale ? "; newer data is being counted (<a href=\"/dashboard?refresh=true\">recompute now</a>)" : string.Empty)}.</p>");
        CustomerForm(html, customer);
        if (!string.IsNullOrWhiteSpace(customer))
        {
            try
            {
                Customer(html, await insights.GetCustomerAsync(new CustomerId(customer.Trim()), cancellationToken));
            }
            catch (EngagementValidationException ex)
            {
                html.Append(Inv, $"<section><p class=\"no\">{E(Api.ApiError.From(ex).Message)}</p></section>");
            }
        }

        Funnel(html, snapshot);
        Value(html, snapshot);
        Messages(html, snapshot);
        Clv(html, snapshot.Clv);
        html.Append("<section id=\"decisions\"><h2>Recent decisions</h2>");
        Decisions(html, decisions.Recent(12));
        html.Append("</section>");
        return Page("Dashboard", html.ToString());
    }

    private static void CustomerForm(StringBuilder html, string? customer)
        => html.Append(Inv, $"<section><form method=\"get\" action=\"/dashboard\"><label>Customer id <input type=\"text\" id=\"customer\" name=\"customer\" value=\"{E(customer)}\" placeholder=\"c00042\"></label> <button type=\"submit\">Show</button></form></section>");

    private static void Funnel(StringBuilder html, DashboardSnapshot s)
    {
        var report = s.Funnel;
        html.Append(Inv, $"<section id=\"funnel\"><h2>Journey '{E(s.JourneyId)}': funnel and stage figures</h2>");
        html.Append(Inv, $"<p class=\"muted\" id=\"journey-summary\">{N(report.Customers)} customers entered the journey · {report.ForwardMovesPerCustomerMonth.ToString("F2", Inv)} forward moves per customer-month");
        if (report.ConversionUplift is { } uplift)
        {
            html.Append(Inv, $" · conversion against the control group {P(uplift.Treatment)} vs {P(uplift.Control)} (difference {P(uplift.Difference)}, 95 % CI {P(uplift.CiLow)} to {P(uplift.CiHigh)})");
        }

        html.Append(Inv, $".</p><div class=\"two\"><div><table><tr><th>Stage</th><th class=\"n\">Now</th><th></th><th class=\"n\">Reached</th><th class=\"n\">Skipped</th><th class=\"n\">Conversion</th><th class=\"n\">Median days in stage</th><th class=\"n\">Median days to reach</th><th class=\"n\">Entered, last 7 days</th><th class=\"n\">Revenue in stage ({E(s.Currency)})</th><th class=\"n\">ARPU ({E(s.Currency)})</th></tr>");
        var max = Math.Max(1, s.Stages.Select(k => k.Reached).DefaultIfEmpty(0).Max());
        foreach (var k in s.Stages)
        {
            html.Append(Inv, $"<tr class=\"stage\" data-stage=\"{E(k.StageId)}\"><td>{E(k.StageId)}</td><td class=\"n\">{N(k.Current)}</td><td><span class=\"bar\" style=\"width:{120.0 * k.Reached / max:F0}px\"></span></td><td class=\"n\">{N(k.Reached)}</td><td class=\"n\">{N(k.Skipped)}</td><td class=\"n\">{P(k.ConversionFromPrevious)}</td><td class=\"n\">{Days(k.MedianDaysInStage)}</td><td class=\"n\">{Days(k.MedianDaysToReach)}</td><td class=\"n\">{N(k.EnteredLast7Days)}</td><td class=\"n\">{k.Revenue:N2}</td><td class=\"n\">{(k.Arpu is { } arpu ? arpu.ToString("N2", Inv) : "–")}</td></tr>");
        }

        html.Append("</table><p class=\"muted\">From the journey store's history: reached counts every customer ever in a stage, skipped those who went past it without stopping; days in stage are over completed visits; revenue is what customers spent (less refunds) while in the stage.</p></div><div>").Append(s.StagesSvg).Append("</div></div></section>");
    }

    private static string Days(double? days) => days is { } d ? d.ToString("F1", Inv) : "–";

    private static void Value(StringBuilder html, DashboardSnapshot s)
    {
        html.Append("<section id=\"value\"><h2>Value: transactional and engagement metrics</h2>");
        if (s.Total is { } t)
        {
            html.Append(Inv, $"<p>Visitors {N(t.Visitors)} · sessions {N(t.Sessions)} · buyers {N(t.Buyers)} · orders {N(t.Orders)} · revenue {E(t.Revenue.ToString())} · refunds {E(t.Refunds.ToString())} · conversion rate {P(t.ConversionRate)} · AOV {E(t.AverageOrderValue?.ToString() ?? "–")} · ARPU {E(t.Arpu?.ToString() ?? "–")} · ARPPU {E(t.Arppu?.ToString() ?? "–")}</p>");
        }

        html.Append("<table><tr><th>Week from</th><th class=\"n\">Visitors</th><th class=\"n\">Sessions</th><th class=\"n\">Buyers</th><th class=\"n\">Orders</th><th class=\"n\">Net revenue</th><th class=\"n\">Conversion</th><th class=\"n\">AOV</th><th class=\"n\">ARPU</th></tr>");
        foreach (var w in s.Weeks.TakeLast(8))
        {
            html.Append(Inv, $"<tr><td>{w.From.UtcDateTime:yyyy-MM-dd}</td><td class=\"n\">{N(w.Visitors)}</td><td class=\"n\">{N(w.Sessions)}</td><td class=\"n\">{N(w.Buyers)}</td><td class=\"n\">{N(w.Orders)}</td><td class=\"n\">{E(w.NetRevenue.ToString())}</td><td class=\"n\">{P(w.ConversionRate)}</td><td class=\"n\">{E(w.AverageOrderValue?.ToString() ?? "–")}</td><td class=\"n\">{E(w.Arpu?.ToString() ?? "–")}</td></tr>");
        }

        html.Append("</table></section>");
    }

    private static void Messages(StringBuilder html, DashboardSnapshot s)
    {
        html.Append("<section id=\"messages\"><h2>Messages per channel</h2><table><tr><th>Channel</th><th class=\"n\">Sent</th><th class=\"n\">Queued</th><th class=\"n\">Held</th><th class=\"n\">Cancelled</th><th class=\"n\">Failed</th><th class=\"n\">Suppressed (consent)</th><th class=\"n\">Deferred (caps, quiet hours)</th></tr>");
        foreach (var m in s.Messages)
        {
            html.Append(Inv, $"<tr data-channel=\"{E(m.Channel)}\"><td>{E(m.Channel)}</td><td class=\"n\">{N(m.Sent)}</td><td class=\"n\">{N(m.Queued)}</td><td class=\"n\">{N(m.Held)}</td><td class=\"n\">{N(m.Cancelled)}</td><td class=\"n\">{N(m.Failed)}</td><td class=\"n\">{N(m.Suppressed)}</td><td class=\"n\">{N(m.Deferred)}</td></tr>");
        }

        html.Append("</table><p class=\"muted\">Sent to cancelled: the outbox, as stored. Suppressed and deferred: the candidates' channel checks of the decisions taken since the shop started.</p></section>");
    }

    private static void Clv(StringBuilder html, ClvOverview clv)
    {
        html.Append("<section id=\"clv\"><h2>Customer lifetime value</h2>");
        if (clv.Error is { } error)
        {
            html.Append(Inv, $"<p class=\"muted\">No model: {E(error)}</p></section>");
            return;
        }

        html.Append(Inv, $"<p>{N(clv.Customers)} buyers · mean P(alive) {P(clv.MeanProbabilityAlive)} · predicted CLV of all buyers, next 12 months: €{clv.TotalClv:N0} · parameters: {E(string.Join(", ", clv.Parameters.Select(p => $"{p.Key} {p.Value.ToString("G4", Inv)}")))}</p>");
        html.Append("<div class=\"two\"><div>").Append(clv.DistributionSvg).Append("</div><div>").Append(clv.TrackingSvg).Append("</div></div>");
        html.Append("<p>Most valuable: ");
        html.AppendJoin(", ", clv.Top.Select(t => string.Create(Inv, $"<a href=\"/dashboard?customer={E(t.Key)}\">{E(t.Key)}</a> €{t.Value:N0}")));
        html.Append("</p></section>");
    }

    private static void Decisions(StringBuilder html, IEnumerable<Decision> decisions)
    {
        html.Append("<table><tr><th>When (UTC)</th><th>Customer</th><th>Decision</th><th>Trace</th></tr>");
        foreach (var d in decisions)
        {
            html.Append(Inv, $"<tr class=\"decision\"><td>{T(d.At)}</td><td><a href=\"/dashboard?customer={E(d.CustomerId.Value)}\">{E(d.CustomerId.Value)}</a></td><td>{(d.IsNoAction ? "do nothing" : $"{E(d.Action.Id)} on {E(d.Channel?.Name)}")}</td><td><details><summary>{E(d.Explain())}</summary><ul>");
            foreach (var c in d.Candidates)
            {
                var checks = c.ChannelChecks.IsDefaultOrEmpty ? string.Empty : " — " + string.Join("; ", c.ChannelChecks.Select(k => $"{k.Channel.Name}: {k.Decision.Verdict.ToString().ToLowerInvariant()} ({k.Decision.Code})"));
                html.Append(Inv, $"<li>[{c.Status.ToString().ToLowerInvariant()}] {E(c.Detail)}{E(checks)}</li>");
            }

            html.Append("</ul></details></td></tr>");
        }

        html.Append("</table>");
    }

    private static void Customer(StringBuilder html, CustomerView view)
    {
        html.Append(Inv, $"<section id=\"customer-view\"><h2>Customer {E(view.CustomerId.Value)}</h2>");
        if (view.Profile is not { } p)
        {
            html.Append(view.IsErased ? "<p id=\"customer-erased\">This customer was erased: only hashed suppressions and a tombstone remain.</p></section>" : "<p>No such customer.</p></section>");
            return;
        }

        var b = p.Behaviour;
        var stage = view.Stage ?? "–";
        html.Append(Inv, $"<div class=\"two\"><div><h3>Profile</h3><table id=\"profile\"><tr><th>Id</th><td>{E(p.Id.Value)}</td></tr><tr><th>Stage</th><td id=\"customer-stage\">{E(stage)}</td></tr>");
        html.Append(Inv, $"<tr><th>Identifiers</th><td>{E(string.Join(", ", p.Identifiers.Select(i => i.ToString())))}</td></tr><tr><th>Time zone</th><td>{E(p.TimeZone ?? "–")}</td></tr>");
        html.Append(Inv, $"<tr><th>Orders</th><td id=\"customer-orders\">{N(b.Orders)}</td></tr><tr><th>Net revenue</th><td>{E(b.NetRevenue?.ToString() ?? "–")}</td></tr><tr><th>Product views</th><td>{N(b.ProductViews)}</td></tr>");
        html.Append(Inv, $"<tr><th>First / last seen</th><td>{(b.FirstSeen is { } f ? T(f) : "–")} / {(b.LastSeen is { } l ? T(l) : "–")}</td></tr><tr><th>In cart</th><td>{E(string.Join(", ", b.ItemsInCart))}</td></tr><tr><th>Bought</th><td>{E(string.Join(", ", b.ItemsBought))}</td></tr></table>");

        html.Append("<h3>Path</h3><ol id=\"path\">");
        foreach (var step in view.Path)
        {
            var where = step.Kind == Engagement.Sdk.Journeys.JourneyHistoryKind.Exited ? "left" : step.StageId;
            html.Append(Inv, $"<li>{E(where)} <span class=\"muted\">{T(step.At)} ({E(step.Kind.ToString().ToLowerInvariant())}{(step.Reason is { } reason ? ": " + E(reason) : string.Empty)})</span></li>");
        }

        html.Append("</ol></div><div><h3>May we send marketing now?</h3><table id=\"permissions\"><tr><th></th>");
        var channels = view.Permissions.Select(c => c.Channel).Distinct().ToList();
        foreach (var channel in channels)
        {
            html.Append("<th>").Append(E(channel)).Append("</th>");
        }

        html.Append("</tr>");
        foreach (var type in view.Permissions.GroupBy(c => c.MessageType))
        {
            html.Append("<tr><td>").Append(E(type.Key)).Append("</td>");
            foreach (var cell in type)
            {
                html.Append(Inv, $"<td class=\"{(cell.Allowed ? "ok" : "no")}\" data-cell=\"{E(cell.Channel)}:{E(cell.MessageType)}\">{E(cell.Code)}</td>");
            }

            html.Append("</tr>");
        }

        html.Append("</table><h3>Consent ledger</h3><table id=\"ledger\"><tr><th>Recorded (UTC)</th><th>Channel</th><th>Purpose</th><th>Status</th><th>Source</th><th>Evidence</th></tr>");
        foreach (var r in view.Ledger)
        {
            var evidence = r.Evidence is { } e ? $"{e.NoticeVersion} at {e.CollectionPoint}{(e.ConfirmedAt is { } c ? ", confirmed " + T(c) : string.Empty)}{(e.TokenHash is not null ? ", token sent" : string.Empty)}" : string.Empty;
            html.Append(Inv, $"<tr class=\"consent\"><td>{T(r.RecordedAt ?? r.EffectiveAt)}</td><td>{E(r.Channel?.Name ?? "all")}</td><td>{E(r.Purpose.Name)}</td><td>{E(r.Status.ToString())}</td><td>{E(r.Source)}</td><td>{E(evidence)}</td></tr>");
        }

        html.Append("</table></div></div><div class=\"two\"><div><h3>Events</h3><table id=\"events\"><tr><th>When (UTC)</th><th>Event</th><th>Detail</th></tr>");
        foreach (var e in view.Events)
        {
            html.Append(Inv, $"<tr class=\"event\"><td>{T(e.Timestamp)}</td><td>{E(e.TypeName)}</td><td>{E(Detail(e))}</td></tr>");
        }

        html.Append("</table></div><div><h3>Messages</h3><table id=\"customer-messages\"><tr><th>Created (UTC)</th><th>Channel</th><th>Action</th><th>Status</th></tr>");
        foreach (var m in view.Messages)
        {
            html.Append(Inv, $"<tr><td>{T(m.CreatedAt)}</td><td>{E(m.Channel.Name)}</td><td>{E(m.ActionId)}</td><td>{E(m.Status.ToString())}{(m.Reason is { } r ? " (" + E(r) + ")" : string.Empty)}</td></tr>");
        }

        html.Append("</table><h3>Decisions</h3>");
        Decisions(html, view.Decisions);
        html.Append("</div></div></section>");
    }

    private static string Detail(EngagementEvent e) => e switch
    {
        ProductViewed v => v.ProductId,
        AddedToCart c => c.ProductId,
        Purchased p => $"{p.OrderId}: {string.Join(", ", p.Lines.Select(l => l.ProductId))}",
        PageViewed v => v.Url ?? string.Empty,
        MessageClicked c => c.ActionId ?? string.Empty,
        CustomEvent c => c.Name,
        _ => string.Empty,
    };
}
