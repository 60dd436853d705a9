using System.Collections.Immutable;
using Engagement.Sdk.Events;
using Engagement.Sdk.Profiles;

namespace Engagement.Sdk.Value;

/// <summary>The length of a cohort and of the periods it is followed over.</summary>
public enum CohortPeriod
{
    /// <summary>Calendar months (UTC).</summary>
    Month,

    /// <summary>ISO weeks starting on Monday (UTC).</summary>
    Week,
}

/// <summary>One acquisition cohort followed over time.</summary>
/// <param name="Start">The first day of the cohort's period.</param>
/// <param name="Customers">Customers whose first purchase fell in the period.</param>
/// <param name="Active">For period k = 0, 1, …: customers of the cohort who bought in the k-th period after acquisition.</param>
/// <param name="NetRevenue">For each period: the cohort's revenue net of refunds (refunds count against their orders' periods).</param>
public sealed record Cohort(DateOnly Start, int Customers, ImmutableArray<int> Active, ImmutableArray<Money> NetRevenue)
{
    /// <summary>Retention in period k: active ÷ customers (period 0 is 1 by definition).</summary>
    /// <param name="k">The period after acquisition.</param>
    /// <returns>The share, or <see langword="null"/> beyond the data.</returns>
    public double? Retention(int k) => k < Active.Length && Customers > 0 ? (double)Active[k] / Customers : null;

    /// <summary>Churn in period k: 1 − retention.</summary>
    /// <param name="k">The period after acquisition.</param>
    /// <returns>The share, or <see langword="null"/> beyond the data.</returns>
    public double? Churn(int k) => Retention(k) is { } r ? 1 - r : null;
}

/// <summary>Engagement measured per acquisition cohort, per repeat behaviour and per journey stage.</summary>
public static class CohortMetrics
{
    /// <summary>
    /// Groups buyers by the period of their first purchase and counts, for each later period, how many bought again and what
    /// they spent net of refunds. Refunds are netted against their orders (matched by order id), whenever they arrive.
    /// </summary>
    /// <param name="events">The events (purchases and refunds are used).</param>
    /// <param name="period">Months or weeks.</param>
    /// <param name="currency">The currency every amount must be in.</param>
    /// <returns>The cohorts, oldest first.</returns>
    /// <exception cref="CurrencyMismatchException">An amount is in another currency.</exception>
    /// <exception cref="EngagementValidationException">A refund names no order of its customer, or an order's refunds exceed it.</exception>
    public static ImmutableArray<Cohort> Compute(IEnumerable<EngagementEvent> events, CohortPeriod period, Currency currency)
    {
        ArgumentNullException.ThrowIfNull(events);
        var orders = OrderRefunds.Match(events, currency).Values
            .Select(o => (o.Customer, Period: Index(DateOnly.FromDateTime(o.PlacedAt.UtcDateTime), period), o.Net))
            .ToList();

        var firstPeriod = new Dictionary<CustomerId, int>();
        foreach (var (customer, index, _) in orders)
        {
            firstPeriod[customer] = firstPeriod.TryGetValue(customer, out var p) ? Math.Min(p, index) : index;
        }

        if (firstPeriod.Count == 0)
        {
            return [];
        }

        var last = orders.Max(o => o.Period);
        var active = new Dictionary<int, HashSet<CustomerId>[]>();
        var revenue = new Dictionary<int, Money[]>();
        foreach (var (customer, index, net) in orders)
        {
            if (net.Currency != currency)
            {
                throw new CurrencyMismatchException(currency, net.Currency);
            }

            var cohort = firstPeriod[customer];
            if (!active.TryGetValue(cohort, out var sets))
            {
                sets = Enumerable.Range(0, last - cohort + 1).Select(_ => new HashSet<CustomerId>()).ToArray();
                active[cohort] = sets;
                revenue[cohort] = Enumerable.Repeat(Money.Zero(currency), last - cohort + 1).ToArray();
            }

            sets[index - cohort].Add(customer);
            revenue[cohort][index - cohort] += net;
        }

        return [.. active.Keys.Order().Select(c => new Cohort(
            Start(c, period),
            active[c][0].Count,
            [.. active[c].Select(s => s.Count)],
            [.. revenue[c]]))];
    }

    /// <summary>The share of buyers with at least two orders.</summary>
    /// <param name="profiles">The profiles.</param>
    /// <returns>The repeat-purchase rate, or <see langword="null"/> without buyers.</returns>
    public static double? RepeatPurchaseRate(IEnumerable<CustomerProfile> profiles)
    {
        ArgumentNullException.ThrowIfNull(profiles);
        int buyers = 0, repeaters = 0;
        foreach (var profile in profiles)
        {
            if (profile.Behaviour.Orders >= 1)
            {
                buyers++;
                if (profile.Behaviour.Orders >= 2)
                {
                    repeaters++;
                }
            }
        }

        return buyers == 0 ? null : (double)repeaters / buyers;
    }

    /// <summary>
    /// Net revenue of the customers in each stage of a journey (by their current stage), from the positions recorded on
    /// profiles (<see cref="CustomerProfile.Journeys"/>). Journeys now keep their state in the journey store: for revenue per
    /// stage of those, use <see cref="Journeys.JourneyKpis"/>.
    /// </summary>
    /// <param name="profiles">The profiles.</param>
    /// <param name="journeyId">The journey.</param>
    /// <param name="currency">The currency every amount must be in.</param>
    /// <returns>Stage id → (customers, net revenue).</returns>
    public static ImmutableDictionary<string, (int Customers, Money NetRevenue)> RevenueByStage(IEnumerable<CustomerProfile> profiles, string journeyId, Currency currency)
    {
        ArgumentNullException.ThrowIfNull(profiles);
        var result = new Dictionary<string, (int, Money)>(StringComparer.Ordinal);
        foreach (var profile in profiles)
        {
            if (!profile.Journeys.TryGetValue(journeyId, out var position))
            {
                continue;
            }

            var net = profile.Behaviour.NetRevenue ?? Money.Zero(currency);
            var (customers, sum) = result.TryGetValue(position.StageId, out var current) ? current : (0, Money.Zero(currency));
            result[position.StageId] = (customers + 1, sum + net);
        }

        return result.ToImmutableDictionary(StringComparer.Ordinal);
    }

    private static int Index(DateOnly day, CohortPeriod period)
        => period == CohortPeriod.Month ? (day.Year * 12) + day.Month - 1 : (day.DayNumber - ((int)day.DayOfWeek + 6) % 7) / 7;

    private static DateOnly Start(int index, CohortPeriod period)
        => period == CohortPeriod.Month ? new DateOnly(index / 12, (index % 12) + 1, 1) : DateOnly.FromDayNumber(index * 7);
}
