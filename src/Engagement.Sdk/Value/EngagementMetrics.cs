using Engagement.Sdk.Events;

namespace Engagement.Sdk.Value;

/// <summary>
/// Transactional and engagement metrics of one period, side by side, in one currency.
/// </summary>
/// <param name="From">The period's inclusive start.</param>
/// <param name="To">The period's exclusive end.</param>
/// <param name="Visitors">Customers with at least one visit event (page or product view, cart, purchase, custom event) in the period; messages, refunds and profile updates are not visits.</param>
/// <param name="Buyers">Customers with at least one purchase.</param>
/// <param name="Orders">Purchases.</param>
/// <param name="Revenue">The amount paid, before refunds.</param>
/// <param name="Refunds">The amount refunded against the period's orders, whenever the refunds arrived.</param>
/// <param name="ConversionRate">Buyers ÷ visitors; <see langword="null"/> without visitors.</param>
/// <param name="AverageOrderValue">Revenue ÷ orders; <see langword="null"/> without orders.</param>
/// <param name="Arpu">Average revenue per user: net revenue ÷ visitors; <see langword="null"/> without visitors.</param>
/// <param name="Arppu">Average revenue per paying user: net revenue ÷ buyers; <see langword="null"/> without buyers.</param>
public sealed record PeriodMetrics(
    DateTimeOffset From,
    DateTimeOffset To,
    int Visitors,
    int Buyers,
    int Orders,
    Money Revenue,
    Money Refunds,
    double? ConversionRate,
    Money? AverageOrderValue,
    Money? Arpu,
    Money? Arppu)
{
    /// <summary>Revenue less refunds.</summary>
    public Money NetRevenue => Revenue - Refunds;

    /// <summary>Visits: a customer's behavioural events with no gap longer than <see cref="EngagementMetrics.SessionTimeout"/> form one session.</summary>
    public int Sessions { get; init; }
}

/// <summary>Computes <see cref="PeriodMetrics"/> from events.</summary>
public static class EngagementMetrics
{
    /// <summary>The inactivity after which a customer's next event starts a new session: 30 minutes, the web analytics convention.</summary>
    public static readonly TimeSpan SessionTimeout = TimeSpan.FromMinutes(30);

    /// <summary>
    /// Computes the metrics of the events with <paramref name="from"/> ≤ timestamp &lt; <paramref name="to"/>. Refunds net
    /// out against their orders: the period's refunds are those of the period's orders, whenever they arrived, so pass every
    /// event (also those after the period); the same rule as <see cref="CohortMetrics"/>.
    /// </summary>
    /// <param name="events">The events (others are ignored); enumerated twice.</param>
    /// <param name="from">The inclusive start.</param>
    /// <param name="to">The exclusive end.</param>
    /// <param name="currency">The currency every amount must be in.</param>
    /// <returns>The metrics.</returns>
    /// <exception cref="CurrencyMismatchException">An amount is in another currency.</exception>
    /// <exception cref="EngagementValidationException">A refund names no order of its customer, or an order's refunds exceed it.</exception>
    public static PeriodMetrics Compute(IEnumerable<EngagementEvent> events, DateTimeOffset from, DateTimeOffset to, Currency currency)
    {
        ArgumentNullException.ThrowIfNull(events);
        if (to <= from)
        {
            throw new EngagementValidationException("to", to, "the period's end must be later than its start");
        }

        var visitors = new HashSet<CustomerId>();
        var times = new Dictionary<CustomerId, List<DateTimeOffset>>();
        var buyers = new HashSet<CustomerId>();
        var orders = 0;
        var revenue = Money.Zero(currency);
        var refunds = Money.Zero(currency);
        foreach (var e in events)
        {
            if (e.Timestamp < from || e.Timestamp >= to)
            {
                continue;
            }

            if (e is PageViewed or ProductViewed or AddedToCart or Purchased or CustomEvent)
            {
                visitors.Add(e.CustomerId);
                if (!times.TryGetValue(e.CustomerId, out var list))
                {
                    list = [];
                    times.Add(e.CustomerId, list);
                }

                list.Add(e.Timestamp);
            }

            if (e is Purchased)
            {
                buyers.Add(e.CustomerId);
            }
        }

        foreach (var order in OrderRefunds.Match(events, currency).Values)
        {
            if (order.PlacedAt >= from && order.PlacedAt < to)
            {
                orders++;
                revenue += order.Total;
                refunds += order.Refunded;
            }
        }

        var sessions = 0;
        foreach (var list in times.Values)
        {
            list.Sort();
            sessions++;
            for (var i = 1; i < list.Count; i++)
            {
                if (list[i] - list[i - 1] > SessionTimeout)
                {
                    sessions++;
                }
            }
        }

        var net = revenue - refunds;
        return new PeriodMetrics(
            from,
            to,
            visitors.Count,
            buyers.Count,
            orders,
            revenue,
            refunds,
            visitors.Count == 0 ? null : (double)buyers.Count / visitors.Count,
            orders == 0 ? null : new Money(revenue.Amount / orders, currency).Round(),
            visitors.Count == 0 ? null : new Money(net.Amount / visitors.Count, currency).Round(),
            buyers.Count == 0 ? null : new Money(net.Amount / buyers.Count, currency).Round())
        {
            Sessions = sessions,
        };
    }
}
