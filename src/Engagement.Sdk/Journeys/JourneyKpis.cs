using System.Collections.Immutable;

namespace Engagement.Sdk.Journeys;

/// <summary>One stage's figures in a <see cref="JourneyFunnelReport"/>.</summary>
/// <param name="StageId">The stage.</param>
/// <param name="Now">Customers in the stage now.</param>
/// <param name="Reached">Customers who were ever in the stage.</param>
/// <param name="Skipped">Customers who were never in the stage but reached a later one (in funnel order): skipped, not reached.</param>
/// <param name="ConversionFromPrevious">Of the customers who reached the previous stage, the share who reached this one after it; <see langword="null"/> for the first stage or when none reached the previous one.</param>
/// <param name="MedianTimeInStage">The median length of completed visits to the stage.</param>
/// <param name="P90TimeInStage">The 90th percentile of the length of completed visits.</param>
/// <param name="MedianTimeToReach">Velocity: the median time from entering the journey to first reaching the stage.</param>
/// <param name="Revenue">Net revenue (purchases less refunds) made while customers were in the stage, in the shop's currency.</param>
/// <param name="Arpu">Revenue per customer who reached the stage.</param>
public sealed record JourneyStageKpi(
    string StageId,
    int Now,
    int Reached,
    int Skipped,
    double? ConversionFromPrevious,
    TimeSpan? MedianTimeInStage,
    TimeSpan? P90TimeInStage,
    TimeSpan? MedianTimeToReach,
    decimal Revenue,
    decimal? Arpu);

/// <summary>A difference between the journey's customers (treatment) and its control group, with a 95% confidence interval.</summary>
/// <param name="Treatment">The treatment group's value (a rate, or a mean per customer).</param>
/// <param name="Control">The control group's value.</param>
/// <param name="Difference">Treatment − control.</param>
/// <param name="CiLow">The interval's lower end.</param>
/// <param name="CiHigh">The interval's upper end.</param>
/// <param name="TreatmentCustomers">Customers in the treatment group.</param>
/// <param name="ControlCustomers">Customers in the control group.</param>
public sealed record UpliftEstimate(double Treatment, double Control, double Difference, double CiLow, double CiHigh, int TreatmentCustomers, int ControlCustomers)
{
    /// <summary>The two-sided 95% normal quantile.</summary>
    public const double Z95 = 1.959963984540054;

    /// <summary>
    /// The difference of two proportions with a Wald interval (normal approximation: fine for groups of hundreds, optimistic
    /// for small ones).
    /// </summary>
    /// <param name="treatmentSuccesses">Successes in the treatment group.</param>
    /// <param name="treatment">Size of the treatment group (at least 2).</param>
    /// <param name="controlSuccesses">Successes in the control group.</param>
    /// <param name="control">Size of the control group (at least 2).</param>
    /// <returns>The estimate, or <see langword="null"/> when a group has fewer than 2 customers.</returns>
    public static UpliftEstimate? OfProportions(int treatmentSuccesses, int treatment, int controlSuccesses, int control)
    {
        if (treatment < 2 || control < 2)
        {
            return null;
        }

        var pt = (double)treatmentSuccesses / treatment;
        var pc = (double)controlSuccesses / control;
        var se = Math.Sqrt((pt * (1 - pt) / treatment) + (pc * (1 - pc) / control));
        return new UpliftEstimate(pt, pc, pt - pc, pt - pc - (Z95 * se), pt - pc + (Z95 * se), treatment, control);
    }

    /// <summary>The difference of two means with a Welch (unequal variances) normal interval.</summary>
    /// <param name="treatment">The treatment group's values (at least 2).</param>
    /// <param name="control">The control group's values (at least 2).</param>
    /// <returns>The estimate, or <see langword="null"/> when a group has fewer than 2 values.</returns>
    public static UpliftEstimate? OfMeans(IReadOnlyList<double> treatment, IReadOnlyList<double> control)
    {
        ArgumentNullException.ThrowIfNull(treatment);
        ArgumentNullException.ThrowIfNull(control);
        if (treatment.Count < 2 || control.Count < 2)
        {
            return null;
        }

        var (mt, vt) = MeanVariance(treatment);
        var (mc, vc) = MeanVariance(control);
        var se = Math.Sqrt((vt / treatment.Count) + (vc / control.Count));
        return new UpliftEstimate(mt, mc, mt - mc, mt - mc - (Z95 * se), mt - mc + (Z95 * se), treatment.Count, control.Count);
    }

    // Welford's one pass: numerically stable for large sums.
    private static (double Mean, double Variance) MeanVariance(IReadOnlyList<double> values)
    {
        double mean = 0, m2 = 0;
        for (var i = 0; i < values.Count; i++)
        {
            var delta = values[i] - mean;
            mean += delta / (i + 1);
            m2 += delta * (values[i] - mean);
        }

        return (mean, m2 / (values.Count - 1));
    }
}

/// <summary>A journey's funnel and KPIs at one instant.</summary>
/// <param name="JourneyId">The journey.</param>
/// <param name="At">The instant the figures are for.</param>
/// <param name="Customers">Customers who ever entered the journey.</param>
/// <param name="Stages">One row per stage, in funnel order (the latest version's stages, then stages only older versions had).</param>
/// <param name="Transitions">How many times customers moved from one stage to another (from → to).</param>
/// <param name="ForwardMovesPerCustomerMonth">Velocity over the whole journey: moves to a later stage per customer per 30 days in the journey.</param>
/// <param name="ConversionUplift">The goal's conversion rate (or, without a goal, the share who bought while in the journey), journey against control.</param>
/// <param name="RevenueUplift">Net revenue per customer while in the journey, journey against control.</param>
public sealed record JourneyFunnelReport(
    string JourneyId,
    DateTimeOffset At,
    int Customers,
    ImmutableArray<JourneyStageKpi> Stages,
    ImmutableDictionary<(string From, string To), int> Transitions,
    double ForwardMovesPerCustomerMonth,
    UpliftEstimate? ConversionUplift,
    UpliftEstimate? RevenueUplift);

/// <summary>Computes a journey's funnel and KPIs from its history (the journey store's record of entries, moves, goals and revenue).</summary>
public static class JourneyKpis
{
    /// <summary>Reads a journey's history from the store and computes its report.</summary>
    /// <param name="journey">The journey (its latest version gives the funnel order).</param>
    /// <param name="store">The journey store.</param>
    /// <param name="now">The instant the figures are for (open visits are measured up to it).</param>
    /// <param name="cancellationToken">Cancels the read.</param>
    /// <returns>The report.</returns>
    public static async ValueTask<JourneyFunnelReport> BuildAsync(JourneyDefinition journey, IJourneyStore store, DateTimeOffset now, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(journey);
        ArgumentNullException.ThrowIfNull(store);
        var history = new List<JourneyHistoryEntry>();
        await foreach (var entry in store.ReadJourneyHistoryAsync(journey.Id, cancellationToken).ConfigureAwait(false))
        {
            history.Add(entry);
        }

        return Compute(journey, history, now);
    }

    /// <summary>Computes a journey's report from its history entries (each customer's in the order they were recorded).</summary>
    /// <param name="journey">The journey.</param>
    /// <param name="history">The journey's history.</param>
    /// <param name="now">The instant the figures are for.</param>
    /// <returns>The report.</returns>
    public static JourneyFunnelReport Compute(JourneyDefinition journey, IEnumerable<JourneyHistoryEntry> history, DateTimeOffset now)
    {
        ArgumentNullException.ThrowIfNull(journey);
        ArgumentNullException.ThrowIfNull(history);
        var order = journey.Stages.Select(s => s.Id).ToList();
        var customers = history.Where(e => e.JourneyId == journey.Id).GroupBy(e => e.CustomerId).ToList();
        foreach (var stage in customers.SelectMany(c => c).Select(e => e.StageId).OfType<string>().Distinct().Where(s => !order.Contains(s)).Order(StringComparer.Ordinal))
        {
            order.Add(stage);
        }

        var index = order.Select((s, i) => KeyValuePair.Create(s, i)).ToDictionary(StringComparer.Ordinal);
        var n = order.Count;
        var nowCount = new int[n];
        var reached = new int[n];
        var skipped = new int[n];
        var converted = new int[n];
        var revenue = new decimal[n];
        var inStage = Enumerable.Range(0, n).Select(_ => new List<long>()).ToArray();
        var toReach = Enumerable.Range(0, n).Select(_ => new List<long>()).ToArray();
        var transitions = new Dictionary<(string, string), int>();
        long forwardMoves = 0;
        long timeInJourney = 0;
        int treatmentConverted = 0, controlConverted = 0;
        var treatmentRevenue = new List<double>();
        var controlRevenue = new List<double>();
        var entered = 0;

        foreach (var customer in customers)
        {
            var firstReach = new long?[n];
            var current = -1;
            long since = 0;
            long? firstEntry = null;
            bool? control = null;
            var goal = false;
            var bought = false;
            var net = 0m;

            void Leave(long at)
            {
                if (current >= 0)
                {
                    inStage[current].Add(at - since);
                    timeInJourney += at - since;
                }

                current = -1;
            }

            void Arrive(int stage, long at, bool move)
            {
                if (move && current >= 0)
                {
                    transitions[(order[current], order[stage])] = transitions.GetValueOrDefault((order[current], order[stage])) + 1;
                    if (stage > current)
                    {
                        forwardMoves++;
                    }

                    inStage[current].Add(at - since);
                    timeInJourney += at - since;
                }

                current = stage;
                since = at;
                firstReach[stage] ??= at;
            }

            foreach (var entry in customer)
            {
                var at = entry.At.UtcTicks;
                var stage = entry.StageId is { } id && index.TryGetValue(id, out var i) ? i : -1;
                switch (entry.Kind)
                {
                    case JourneyHistoryKind.Entered when stage >= 0:
                        Leave(at);
                        firstEntry ??= at;
                        control ??= entry.IsControl;
                        Arrive(stage, at, move: false);
                        break;
                    case JourneyHistoryKind.Moved or JourneyHistoryKind.Migrated when stage >= 0:
                        Arrive(stage, at, move: entry.Kind == JourneyHistoryKind.Moved);
                        break;
                    case JourneyHistoryKind.Exited or JourneyHistoryKind.Reset:
                        Leave(at);
                        break;
                    case JourneyHistoryKind.Goal:
                        goal = true;
                        break;
                    case JourneyHistoryKind.Revenue when entry.Amount is { } amount:
                        net += amount;
                        bought |= amount > 0;
                        if (stage >= 0)
                        {
                            revenue[stage] += amount;
                        }

                        break;
                }
            }

            if (firstEntry is null)
            {
                continue;
            }

            entered++;
            if (current >= 0)
            {
                nowCount[current]++;
                timeInJourney += Math.Max(0, now.UtcTicks - since);
            }

            var furthest = -1;
            for (var s = 0; s < n; s++)
            {
                if (firstReach[s] is { } first)
                {
                    reached[s]++;
                    furthest = s;
                    toReach[s].Add(first - firstEntry.Value);
                    if (s > 0 && firstReach[s - 1] is { } previous && first >= previous)
                    {
                        converted[s]++;
                    }
                }
            }

            for (var s = 0; s < furthest; s++)
            {
                if (firstReach[s] is null)
                {
                    skipped[s]++;
                }
            }

            var success = journey.Goal is not null ? goal : bought;
            if (control == true)
            {
                controlConverted += success ? 1 : 0;
                controlRevenue.Add((double)net);
            }
            else
            {
                treatmentConverted += success ? 1 : 0;
                treatmentRevenue.Add((double)net);
            }

        }

        var rows = ImmutableArray.CreateBuilder<JourneyStageKpi>(n);
        for (var s = 0; s < n; s++)
        {
            double? conversion = s == 0 || reached[s - 1] == 0 ? null : (double)converted[s] / reached[s - 1];
            rows.Add(new JourneyStageKpi(
                order[s],
                nowCount[s],
                reached[s],
                skipped[s],
                conversion,
                Quantile(inStage[s], 0.5),
                Quantile(inStage[s], 0.9),
                Quantile(toReach[s], 0.5),
                revenue[s],
                reached[s] == 0 ? null : decimal.Round(revenue[s] / reached[s], 4)));
        }

        var months = timeInJourney / (double)TimeSpan.FromDays(30).Ticks;
        return new JourneyFunnelReport(
            journey.Id,
            now,
            entered,
            rows.MoveToImmutable(),
            transitions.ToImmutableDictionary(),
            months > 0 ? forwardMoves / months : 0,
            UpliftEstimate.OfProportions(treatmentConverted, treatmentRevenue.Count, controlConverted, controlRevenue.Count),
            UpliftEstimate.OfMeans(treatmentRevenue, controlRevenue));
    }

    // The nearest-rank quantile of durations in ticks.
    private static TimeSpan? Quantile(List<long> values, double q)
    {
        if (values.Count == 0)
        {
            return null;
        }

        values.Sort();
        var rank = (int)Math.Ceiling(q * values.Count);
        return TimeSpan.FromTicks(values[Math.Clamp(rank, 1, values.Count) - 1]);
    }
}
