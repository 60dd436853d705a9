using System.Collections.Immutable;
using System.Diagnostics;
using Engagement.Sdk;
using Engagement.Sdk.Channels;
using Engagement.Sdk.Consent;
using Engagement.Sdk.Events;
using Engagement.Sdk.Journeys;
using Engagement.Sdk.Profiles;
using Engagement.Sdk.Storage;
using Engagement.Sdk.Value;
using Engagement.Sdk.Value.Clv;
using Microsoft.Extensions.Options;
using WebShop.Demo;

namespace WebShop.Insights;

/// <summary>
/// All the dashboard's data access in one place: the aggregate figures (computed in the background into a
/// <see cref="DashboardSnapshot"/>, so that serving the page reads nothing) and one customer's view (read live). The figures
/// come from the SDK's stores and calculators: the journey store's history and <see cref="JourneyKpis"/>,
/// <see cref="EngagementMetrics"/>, the BG/NBD and Gamma-Gamma models, the outbox and the consent ledger.
/// </summary>
public sealed class ShopInsights
{
    private const decimal GrossMargin = 0.30m;
    private readonly IProfileStore _profiles;
    private readonly IEventStore _events;
    private readonly IDispatchStore _dispatches;
    private readonly ConsentLedger _ledger;
    private readonly ISuppressionStore _suppressions;
    private readonly IJourneyStore _journeys;
    private readonly JourneyCatalog _catalog;
    private readonly DecisionLog _decisions;
    private readonly TimeProvider _time;
    private readonly EngagementOptions _options;
    private readonly SemaphoreSlim _computing = new(1, 1);
    private DashboardSnapshot? _current;
    private long _changes;
    private long _computedChanges = -1;

    /// <summary>Creates the service.</summary>
    /// <param name="profiles">The profile store.</param>
    /// <param name="events">The event store.</param>
    /// <param name="dispatches">The outbox.</param>
    /// <param name="ledger">The consent ledger.</param>
    /// <param name="suppressions">The suppression list (erasure tombstones).</param>
    /// <param name="journeys">The journey store (where each customer is, and the history of every move).</param>
    /// <param name="catalog">The registered journeys (to name a customer's stage).</param>
    /// <param name="decisions">The log of recent decisions.</param>
    /// <param name="time">The clock.</param>
    /// <param name="options">The engine's options (currency, journeys).</param>
    public ShopInsights(IProfileStore profiles, IEventStore events, IDispatchStore dispatches, ConsentLedger ledger, ISuppressionStore suppressions, IJourneyStore journeys, JourneyCatalog catalog, DecisionLog decisions, TimeProvider time, IOptions<EngagementOptions> options)
    {
        ArgumentNullException.ThrowIfNull(options);
        _profiles = profiles;
        _events = events;
        _dispatches = dispatches;
        _ledger = ledger;
        _suppressions = suppressions;
        _journeys = journeys;
        _catalog = catalog;
        _decisions = decisions;
        _time = time;
        _options = options.Value;
    }

    /// <summary>The figures last computed, or <see langword="null"/> before the first computation.</summary>
    public DashboardSnapshot? Current => Volatile.Read(ref _current);

    /// <summary>Whether something changed since the figures were computed.</summary>
    public bool IsStale => Interlocked.Read(ref _changes) != Interlocked.Read(ref _computedChanges);

    /// <summary>Notes that the data changed (an event tracked, consent recorded, a customer erased).</summary>
    public void MarkChanged() => Interlocked.Increment(ref _changes);

    /// <summary>Computes the figures again if anything changed since the last time (or always, when <paramref name="force"/>).</summary>
    /// <param name="force">Compute even when nothing changed.</param>
    /// <param name="cancellationToken">Cancels the work.</param>
    /// <returns>The figures.</returns>
    public async Task<DashboardSnapshot> RefreshAsync(bool force = false, CancellationToken cancellationToken = default)
    {
        await _computing.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            var changes = Interlocked.Read(ref _changes);
            if (!force && _current is { } current && changes == Interlocked.Read(ref _computedChanges))
            {
                return current;
            }

            var snapshot = await ComputeAsync(cancellationToken).ConfigureAwait(false);
            Volatile.Write(ref _current, snapshot);
            Interlocked.Exchange(ref _computedChanges, changes);
            return snapshot;
        }
        finally
        {
            _computing.Release();
        }
    }

    /// <summary>Reads one customer's view.</summary>
    /// <param name="customerId">The customer.</param>
    /// <param name="cancellationToken">Cancels the reads.</param>
    /// <returns>The view.</returns>
    public async Task<CustomerView> GetCustomerAsync(CustomerId customerId, CancellationToken cancellationToken = default)
    {
        var now = _time.GetUtcNow();
        var erased = await CustomerErasure.IsErasedAsync(_suppressions, customerId, cancellationToken).ConfigureAwait(false);
        var profile = await _profiles.GetAsync(customerId, cancellationToken).ConfigureAwait(false);
        if (profile?.MergedInto is { } redirect && await _profiles.GetAsync(redirect.SurvivorId, cancellationToken).ConfigureAwait(false) is { } survivor)
        {
            profile = survivor;
        }

        var id = profile?.Id ?? customerId;
        var state = await _ledger.GetStateAsync(id, cancellationToken).ConfigureAwait(false);
        var permissions = ImmutableArray.CreateBuilder<PermissionCell>();
        foreach (var type in ShopCatalogue.MarketingTypes)
        {
            foreach (var channel in ShopCatalogue.Channels)
            {
                Identifier? address = null;
                if (profile is not null)
                {
                    ChannelAddress.TryFind(profile, channel, out address);
                }

                var verdict = state.Evaluate(channel, type.Purpose, address, now);
                permissions.Add(new PermissionCell(type.Id, channel.Name, verdict.IsAllowed, verdict.Code));
            }
        }

        var events = new List<EngagementEvent>();
        await foreach (var e in _events.ReadAsync(id, cancellationToken: cancellationToken).ConfigureAwait(false))
        {
            events.Add(e);
        }

        var messages = await _dispatches.ListAsync(id, now.AddDays(-90), cancellationToken).ConfigureAwait(false);
        var path = ImmutableArray.CreateBuilder<JourneyHistoryEntry>();
        string? stage = null;
        if (profile is not null)
        {
            await foreach (var entry in _journeys.ReadHistoryAsync(id, cancellationToken).ConfigureAwait(false))
            {
                if (entry.JourneyId == _options.DecisionJourneyId && entry.Kind is JourneyHistoryKind.Entered or JourneyHistoryKind.Moved or JourneyHistoryKind.Migrated or JourneyHistoryKind.Exited)
                {
                    path.Add(entry);
                }
            }

            var record = await _journeys.GetAsync(id, cancellationToken).ConfigureAwait(false);
            foreach (var track in record?.Tracks ?? [])
            {
                if (track.JourneyId == _options.DecisionJourneyId)
                {
                    stage = _catalog.StageOf(track);
                }
            }
        }

        return new CustomerView(
            customerId,
            profile,
            erased,
            [.. state.Records.OrderBy(r => r.RecordedAt ?? r.EffectiveAt).ThenBy(r => r.RecordId, StringComparer.Ordinal)],
            permissions.ToImmutable(),
            stage,
            path.ToImmutable(),
            [.. events.OrderByDescending(e => e.Timestamp).Take(30)],
            [.. messages.OrderByDescending(m => m.CreatedAt)],
            _decisions.Recent(10, id));
    }

    private async Task<DashboardSnapshot> ComputeAsync(CancellationToken cancellationToken)
    {
        var started = Stopwatch.GetTimestamp();
        var now = _time.GetUtcNow();
        var currency = _options.Currency;
        var journey = _options.Journeys.First(j => j.Id == _options.DecisionJourneyId);

        var profiles = new List<CustomerProfile>();
        await foreach (var profile in _profiles.ListAsync(cancellationToken).ConfigureAwait(false))
        {
            if (!profile.IsMerged)
            {
                profiles.Add(profile);
            }
        }

        var firstSeen = profiles.Select(p => p.Behaviour.FirstSeen).Where(t => t is not null).Select(t => t!.Value).DefaultIfEmpty(now).Min();
        var from = StartOfWeek(firstSeen);
        var events = new List<EngagementEvent>();
        await foreach (var e in _events.ReadRangeAsync(from, now.AddMinutes(1), cancellationToken).ConfigureAwait(false))
        {
            events.Add(e);
        }

        // The journey figures come from the journey store's history: every entry, move and exit, and the revenue made in each stage.
        var history = new List<JourneyHistoryEntry>();
        await foreach (var entry in _journeys.ReadJourneyHistoryAsync(journey.Id, cancellationToken).ConfigureAwait(false))
        {
            history.Add(entry);
        }

        var report = JourneyKpis.Compute(journey, history, now);
        var stages = Stages(report, history, now);
        var byWeek = StagesByWeek(journey, history, from, now);

        var weeks = ImmutableArray.CreateBuilder<PeriodMetrics>();
        // Each week's refunds net out against their orders whenever they arrived: every week sees all orders and refunds.
        var orderEvents = events.Where(e => e is Purchased or Refunded).ToList();
        var byWeekEvents = events.Where(e => e is not (Purchased or Refunded)).GroupBy(e => (int)((e.Timestamp - from).TotalDays / 7)).ToDictionary(g => g.Key, g => g.ToList());
        for (var weekStart = from; weekStart < now; weekStart = weekStart.AddDays(7))
        {
            var index = (int)((weekStart - from).TotalDays / 7);
            weeks.Add(EngagementMetrics.Compute((byWeekEvents.GetValueOrDefault(index) ?? []).Concat(orderEvents), weekStart, weekStart.AddDays(7), currency));
        }

        var total = events.Count == 0 ? null : EngagementMetrics.Compute(events, from, now.AddMinutes(1), currency);
        var messages = await MessagesAsync(cancellationToken).ConfigureAwait(false);
        var clv = Clv(events, DateOnly.FromDateTime(from.UtcDateTime), DateOnly.FromDateTime(now.UtcDateTime));
        return new DashboardSnapshot(
            now,
            Stopwatch.GetElapsedTime(started).TotalMilliseconds,
            profiles.Count,
            events.Count,
            journey.Id,
            report,
            stages,
            byWeek,
            Charts.StagesOverTime(journey, byWeek),
            total,
            weeks.ToImmutable(),
            messages,
            clv,
            currency.Code);
    }

    private static ImmutableArray<StageKpi> Stages(JourneyFunnelReport report, List<JourneyHistoryEntry> history, DateTimeOffset now)
    {
        // Customers who entered each stage in the last seven days (each customer once per stage).
        var weekAgo = now.AddDays(-7);
        var entered = new Dictionary<string, HashSet<CustomerId>>(StringComparer.Ordinal);
        foreach (var entry in history)
        {
            if (entry.Kind is JourneyHistoryKind.Entered or JourneyHistoryKind.Moved && entry.At > weekAgo && entry.At <= now && entry.StageId is { } stage)
            {
                if (!entered.TryGetValue(stage, out var customers))
                {
                    entered[stage] = customers = [];
                }

                customers.Add(entry.CustomerId);
            }
        }

        return [.. report.Stages.Select(k => new StageKpi(
            k.StageId,
            k.Now,
            k.Reached,
            k.Skipped,
            k.ConversionFromPrevious,
            k.MedianTimeInStage?.TotalDays,
            k.MedianTimeToReach?.TotalDays,
            entered.GetValueOrDefault(k.StageId)?.Count ?? 0,
            k.Revenue,
            k.Arpu))];
    }

    private static ImmutableArray<WeekStages> StagesByWeek(JourneyDefinition journey, List<JourneyHistoryEntry> history, DateTimeOffset from, DateTimeOffset now)
    {
        var weeks = Math.Max(1, (int)Math.Ceiling((now - from).TotalDays / 7));
        var stageCount = journey.Stages.Length;
        var inStage = new int[weeks, stageCount];
        var entered = new int[weeks, stageCount];

        // The history comes by customer, each customer's entries in order: follow each customer's stage through it.
        var customer = default(CustomerId);
        var current = -1;
        var since = from;
        void Close(DateTimeOffset until)
        {
            // In the current stage at the end of every week that ends in [since, until); the week under way counts as ending now.
            if (current < 0)
            {
                return;
            }

            for (var w = Math.Max(0, (int)Math.Floor((since - from).TotalDays / 7)); w < weeks; w++)
            {
                var end = w == weeks - 1 ? now : from.AddDays(7 * (w + 1));
                if (end >= until)
                {
                    break;
                }

                if (end >= since)
                {
                    inStage[w, current]++;
                }
            }
        }

        foreach (var entry in history)
        {
            if (entry.CustomerId != customer)
            {
                Close(DateTimeOffset.MaxValue);
                customer = entry.CustomerId;
                current = -1;
            }

            switch (entry.Kind)
            {
                case JourneyHistoryKind.Entered or JourneyHistoryKind.Moved or JourneyHistoryKind.Migrated:
                    Close(entry.At);
                    current = entry.StageId is { } id ? journey.IndexOf(id) : -1;
                    since = entry.At;
                    var week = (int)Math.Floor((entry.At - from).TotalDays / 7);
                    if (current >= 0 && entry.Kind != JourneyHistoryKind.Migrated && week >= 0 && week < weeks)
                    {
                        entered[week, current]++;
                    }

                    break;
                case JourneyHistoryKind.Exited or JourneyHistoryKind.Reset:
                    Close(entry.At);
                    current = -1;
                    break;
            }
        }

        Close(DateTimeOffset.MaxValue);
        var result = ImmutableArray.CreateBuilder<WeekStages>(weeks);
        for (var w = 0; w < weeks; w++)
        {
            var counts = ImmutableArray.CreateBuilder<int>(stageCount);
            var entries = ImmutableArray.CreateBuilder<int>(stageCount);
            for (var s = 0; s < stageCount; s++)
            {
                counts.Add(inStage[w, s]);
                entries.Add(entered[w, s]);
            }

            result.Add(new WeekStages(DateOnly.FromDateTime(from.UtcDateTime).AddDays(7 * w), counts.MoveToImmutable(), entries.MoveToImmutable()));
        }

        return result.MoveToImmutable();
    }

    private async Task<ImmutableArray<ChannelMessages>> MessagesAsync(CancellationToken cancellationToken)
    {
        var counts = new Dictionary<string, int[]>(StringComparer.Ordinal);
        (DispatchStatus Status, int Column)[] statuses =
        [
            (DispatchStatus.Sent, 0), (DispatchStatus.Queued, 1), (DispatchStatus.Sending, 1), (DispatchStatus.Held, 2),
            (DispatchStatus.Cancelled, 3), (DispatchStatus.Undeliverable, 4), (DispatchStatus.DeadLettered, 4),
        ];
        foreach (var (status, column) in statuses)
        {
            await foreach (var record in _dispatches.ListByStatusAsync(status, cancellationToken).ConfigureAwait(false))
            {
                if (!counts.TryGetValue(record.Channel.Name, out var row))
                {
                    counts[record.Channel.Name] = row = new int[5];
                }

                row[column]++;
            }
        }

        var refusals = _decisions.Refusals().ToDictionary(r => r.Channel, StringComparer.Ordinal);
        return [.. counts.Keys.Union(refusals.Keys).Order(StringComparer.Ordinal).Select(channel =>
        {
            var row = counts.GetValueOrDefault(channel) ?? new int[5];
            var refused = refusals.GetValueOrDefault(channel);
            return new ChannelMessages(channel, row[0], row[1], row[2], row[3], row[4], refused?.Suppressed ?? 0, refused?.Deferred ?? 0);
        })];
    }

    private static ClvOverview Clv(List<EngagementEvent> events, DateOnly first, DateOnly today)
    {
        var transactions = new List<Transaction>();
        var refunds = new Dictionary<string, decimal>(StringComparer.Ordinal);
        foreach (var e in events)
        {
            if (e is Purchased purchase)
            {
                var amount = purchase.Lines.Sum(l => l.Total.Amount);
                if (amount > 0)
                {
                    transactions.Add(new Transaction(purchase.CustomerId.Value, DateOnly.FromDateTime(purchase.Timestamp.UtcDateTime), amount));
                }
            }
        }

        var customers = transactions.Select(t => t.CustomerId).Distinct(StringComparer.Ordinal).Count();
        try
        {
            if (customers < 20)
            {
                throw new ClvModelException($"Only {customers} customers have bought: the models need at least 20.");
            }

            // The tracking chart: fitted on the first two thirds of the period, compared with what happened in the last third.
            var days = today.DayNumber - first.DayNumber;
            var calibrationEnd = first.AddDays(Math.Max(7, days * 2 / 3));
            var tracked = RfmSummary.FromTransactions(transactions, calibrationEnd, today, TimeUnit.Weeks);
            var trackingModel = BgNbdModel.Fit(tracked.ToData());
            var trackingSvg = Charts.Tracking(transactions, tracked, trackingModel);

            // The values: fitted on everything up to today, a year ahead, 30 % margin, 10 % a year discount (0.8 % a month).
            var summary = RfmSummary.FromTransactions(transactions, today, null, TimeUnit.Weeks);
            var model = BgNbdModel.Fit(summary.ToData());
            var spend = GammaGammaModel.Fit(summary);
            var values = summary.Customers
                .Select(c => new KeyValuePair<string, double>(c.CustomerId, CustomerLifetimeValue.Compute(model, spend, c, 12, 52.0 / 12, 0.008, (double)GrossMargin)))
                .Where(v => double.IsFinite(v.Value))
                .ToList();
            var alive = summary.Customers.Average(c => model.ProbabilityAlive(c.Frequency, c.Recency, c.Age));
            var histogram = Histogram(values.Select(v => v.Value).ToList(), 20);
            return new ClvOverview(
                null,
                customers,
                [new("r", model.R), new("alpha", model.Alpha), new("a", model.A), new("b", model.B), new("p", spend.P), new("q", spend.Q), new("gamma", spend.Gamma)],
                alive,
                values.Sum(v => v.Value),
                histogram,
                [.. values.OrderByDescending(v => v.Value).ThenBy(v => v.Key, StringComparer.Ordinal).Take(10)],
                Charts.Histogram(histogram, "Predicted CLV, next 12 months (BG/NBD × Gamma-Gamma, 30 % margin)", "CLV (EUR)"),
                trackingSvg);
        }
        catch (Exception ex) when (ex is ClvModelException or EngagementValidationException or ArgumentException or InvalidOperationException)
        {
            return new ClvOverview(ex.Message, customers, [], double.NaN, 0, [], [], string.Empty, string.Empty);
        }
    }

    private static ImmutableArray<HistogramBin> Histogram(List<double> values, int bins)
    {
        if (values.Count == 0)
        {
            return [];
        }

        // Bars up to the 99th percentile; the rest fall in the last bar.
        var sorted = values.Order().ToArray();
        var max = Math.Max(sorted[(int)Math.Min(sorted.Length - 1, Math.Floor(sorted.Length * 0.99))], 1e-9);
        var width = max / bins;
        var counts = new int[bins];
        foreach (var v in sorted)
        {
            counts[Math.Clamp((int)(v / width), 0, bins - 1)]++;
        }

        return [.. counts.Select((c, i) => new HistogramBin(i * width, (i + 1) * width, c))];
    }

    private static DateTimeOffset StartOfWeek(DateTimeOffset at)
    {
        var day = at.UtcDateTime.Date;
        var offset = ((int)day.DayOfWeek + 6) % 7; // weeks start on Monday
        return new DateTimeOffset(day.AddDays(-offset), TimeSpan.Zero);
    }
}
