using Microsoft.Extensions.Time.Testing;
using System.Collections.Immutable;
using System.Globalization;
using System.Text;
using System.Text.Json;
using Engagement.Sdk.Channels;
using Engagement.Sdk.Conditions;
using Engagement.Sdk.Consent;
using Engagement.Sdk.Events;
using Engagement.Sdk.Journeys;
using Engagement.Sdk.Profiles;
using Engagement.Sdk.Segments;
using Engagement.Sdk.Serialization;
using Engagement.Sdk.Storage;
using FsCheck;
using FsCheck.Fluent;
using Microsoft.Extensions.DependencyInjection;

namespace Engagement.Sdk.Testing.Conformance;

/// <summary>One step of a generated history of <see cref="MergeHistoryConformanceTests"/>.</summary>
/// <param name="Kind">What happens: an event, a merge, an unmerge, the clock moving on, or a retention purge.</param>
/// <param name="Customer">The customer the event is addressed to, or the survivor of a merge or unmerge (0 to 2).</param>
/// <param name="Other">The profile merged, for a merge (0 to 2).</param>
/// <param name="Variant">Which event (a view, a page, an order, a refund, a trait, a cart, a consent record) or how far the clock moves.</param>
/// <param name="LateBy">How many minutes before the clock the event is stamped (late arrivals).</param>
/// <param name="Duplicate">Whether the event is sent again (the same id and payload as an earlier one).</param>
internal sealed record HistoryStep(HistoryStepKind Kind, int Customer, int Other, int Variant, int LateBy, bool Duplicate)
{
    /// <inheritdoc />
    public override string ToString() => Kind switch
    {
        HistoryStepKind.Event => $"event {Variant} to c{Customer}{(LateBy > 0 ? $", {LateBy} min late" : "")}{(Duplicate ? ", again" : "")}",
        HistoryStepKind.Merge => $"merge c{Other} into c{Customer}",
        HistoryStepKind.Unmerge => $"unmerge c{Customer}",
        HistoryStepKind.Advance => $"advance {Variant} h",
        _ => "purge",
    };
}

/// <summary>The kinds of <see cref="HistoryStep"/>.</summary>
internal enum HistoryStepKind
{
    /// <summary>An event is tracked.</summary>
    Event,

    /// <summary>Two profiles are merged (by the host).</summary>
    Merge,

    /// <summary>A survivor's latest merge is undone.</summary>
    Unmerge,

    /// <summary>The clock moves on.</summary>
    Advance,

    /// <summary>Retention purges the events older than its period.</summary>
    Purge,
}

/// <summary>
/// Unmerge restores both sides exactly, on every store: an FsCheck property over random histories of events (late ones and
/// duplicates included), merges, unmerges, clock moves and retention purges. Each history runs twice on fresh stores: as
/// generated, and without the merges it later undid (and those unmerges). Every customer's profile (identifiers, traits,
/// aggregates, journey stages, what it was merged into), the consent that decides for them, the segments they are in and the
/// windowed counters those segments read (swept as the clock moves), each segment's member list, and where each customer is in
/// the journeys after a last event each (stage, step, visits, flags, the journeys' counters; swept as the clock moves) must then
/// be the same.
/// Inherit it in the adapter's tests.
/// </summary>
public abstract class MergeHistoryConformanceTests : ConformanceSuite
{
    /// <summary>Gets the names of this suite's checks, one row each, for a test framework's data-driven test.</summary>
    /// <value>One row per check.</value>
    public static IEnumerable<object[]> Checks => CheckRowsOf(typeof(MergeHistoryConformanceTests));

    private static readonly DateTimeOffset T0 = new(2026, 5, 4, 10, 0, 0, TimeSpan.Zero);

    // Segments over aggregates, a windowed count (kept as recent timestamps), a windowed sum (kept in buckets) and an absence
    // of events that comes true with time; the longest window on each counted event type, for comparing counters.
    private static readonly SegmentDefinition[] Segments =
    [
        new("buyers", Condition.Aggregate(ProfileAggregate.Orders, ComparisonOperator.Ge, 1)),
        new("carted", Condition.Aggregate(ProfileAggregate.ItemsInCart, ComparisonOperator.Ge, 1)),
        new("browsing", Condition.EventCount("product_viewed", TimeSpan.FromHours(2), ComparisonOperator.Ge, 2)),
        new("spenders", Condition.EventSum("purchased", TimeSpan.FromDays(1), ComparisonOperator.Ge, 100)),
        new("quiet", Condition.All(Condition.Aggregate(ProfileAggregate.Orders, ComparisonOperator.Ge, 1), Condition.NoEvent("purchased", TimeSpan.FromHours(20)))),
    ];

    // A journey whose stages read aggregates, a windowed count and an absence of events, with waits and a wait for an event, so
    // that positions, steps, visits and the journeys' own counters depend on each side's history and on time.
    private static readonly JourneyDefinition Shopper = JourneyDefinition.Create("shopper")
        .AllowReEntry(TimeSpan.FromHours(6))
        .Stage("browsing", s => s.Entry(Condition.EventCount("product_viewed", TimeSpan.FromHours(2), ComparisonOperator.Ge, 1)).ExitWhenEntryFails().Wait("look", TimeSpan.FromHours(1)).WaitFor("cart", ["added_to_cart"], TimeSpan.FromHours(4)))
        .Stage("buyer", s => s.Entry(Condition.Aggregate(ProfileAggregate.Orders, ComparisonOperator.Ge, 1)).Priority(1).Wait("settle", TimeSpan.FromHours(10)))
        .Stage("lapsed", s => s.Entry(Condition.All(Condition.Aggregate(ProfileAggregate.Orders, ComparisonOperator.Ge, 1), Condition.NoEvent("purchased", TimeSpan.FromHours(20)))).Priority(2))
        .Build();

    private static readonly (string Key, TimeSpan Horizon)[] Counted = [("product_viewed", TimeSpan.FromHours(2)), ("purchased", TimeSpan.FromDays(1))];

    private static readonly (string Key, TimeSpan Horizon)[] JourneyCounted = [("product_viewed", TimeSpan.FromHours(2)), ("purchased", TimeSpan.FromHours(20))];

    /// <summary>Adds the store under test, fresh and empty on each call (nothing for the in-memory stores).</summary>
    /// <param name="builder">The builder.</param>
    protected abstract void AddStore(EngagementBuilder builder);

    /// <summary>How many histories to try (fewer for slow stores).</summary>
    protected virtual int Histories => 60;

    /// <summary>The property: whatever the history, undoing merges leaves every profile as if they had never happened.</summary>
    [ConformanceCheck]
    public void Unmerge_AnyHistory_LeavesEveryProfileAsIfTheUndoneMergesNeverHappened()
    {
        var step = Gen.OneOf(
            Gen.Choose(0, 2).Select(c => Gen.Choose(0, 6).Select(v => Gen.Choose(0, 4).Select(late => Gen.Elements(false, false, false, true).Select(again => new HistoryStep(HistoryStepKind.Event, c, 0, v, late == 4 ? 180 : late * 20, again))))).SelectMany(g => g).SelectMany(g => g).SelectMany(g => g),
            Gen.Choose(0, 2).SelectMany(a => Gen.Choose(0, 2).Select(b => new HistoryStep(HistoryStepKind.Merge, a, b, 0, 0, false))),
            Gen.Choose(0, 2).Select(c => new HistoryStep(HistoryStepKind.Unmerge, c, 0, 0, 0, false)),
            Gen.Choose(1, 60).Select(h => new HistoryStep(HistoryStepKind.Advance, 0, 0, h, 0, false)),
            Gen.Constant(new HistoryStep(HistoryStepKind.Purge, 0, 0, 0, 0, false)));
        var histories = Gen.Frequency((6, step.Where(s => s.Kind == HistoryStepKind.Event)), (2, step.Where(s => s.Kind is HistoryStepKind.Merge)), (2, step.Where(s => s.Kind is HistoryStepKind.Unmerge)), (1, step.Where(s => s.Kind is HistoryStepKind.Advance or HistoryStepKind.Purge)))
            .ListOf().Select(list => list.ToArray()).Where(list => list.Length is > 0 and <= 60);

        Check.One(Config.QuickThrowOnFailure.WithMaxTest(Histories), Prop.ForAll(histories.ToArbitrary(), history => RunAsync(history).GetAwaiter().GetResult()));
    }

    private async Task RunAsync(HistoryStep[] history)
    {
        var (actual, kept) = await PlayAsync(history, skip: null).ConfigureAwait(false);

        // The world in which the undone merges never happened: the same events, and only the merges that were made and kept.
        var skip = Enumerable.Range(0, history.Length).Where(i => history[i].Kind is HistoryStepKind.Merge or HistoryStepKind.Unmerge && !kept.Contains(i)).ToHashSet();
        var (expected, _) = await PlayAsync(history, skip).ConfigureAwait(false);
        var because = "after " + string.Join("; ", history.Select(s => s.ToString()));
        actual.Should().Equal(expected, because);
    }

    // Plays the history; returns what every customer looks like at the end, and the steps of the merges that were made and
    // not undone later. The steps in `skip`, if given, are left out.
    private async Task<(List<string> Outcome, HashSet<int> Kept)> PlayAsync(HistoryStep[] history, HashSet<int>? skip)
    {
        var clock = new FakeTimeProvider(T0);
        var services = new ServiceCollection();
        services.AddSingleton<TimeProvider>(clock);
        var builder = services.AddEngagement(o =>
        {
            o.EventRetention = TimeSpan.FromDays(3);
            o.LatenessWindow = TimeSpan.FromDays(3);
        });
        foreach (var segment in Segments)
        {
            builder.AddSegment(segment);
        }

        builder.AddJourney(Shopper);
        AddStore(builder);
        var provider = services.BuildServiceProvider();
        await using (provider.ConfigureAwait(false))
        {
            var engine = provider.GetRequiredService<IEngagementEngine>();
            var identity = provider.GetRequiredService<IdentityResolver>();
            var sent = new List<EngagementEvent>();
            var mergesOf = new Dictionary<CustomerId, Stack<int>>();
            var kept = new HashSet<int>();
            for (var i = 0; i < history.Length; i++)
            {
                if (skip?.Contains(i) == true)
                {
                    continue;
                }

                var step = history[i];
                var customer = Customer(step.Customer);
                switch (step.Kind)
                {
                    case HistoryStepKind.Event:
                        // Every run plays the same events (only merges and unmerges are left out), so "again" picks the same one.
                        var e = step.Duplicate && sent.Count > 0 ? sent[(i * 7) % sent.Count] : MakeEvent(step, i, clock.GetUtcNow());
                        sent.Add(e);
                        try
                        {
                            await engine.TrackAsync(e).ConfigureAwait(false);
                        }
                        catch (EngagementValidationException)
                        {
                            // Too late, or a refund the customer cannot make: refused the same way in both runs.
                        }

                        break;
                    case HistoryStepKind.Merge:
                        try
                        {
                            await identity.MergeAsync(customer, Customer(step.Other)).ConfigureAwait(false);
                            if (!mergesOf.TryGetValue(customer, out var stack))
                            {
                                mergesOf[customer] = stack = new Stack<int>();
                            }

                            stack.Push(i);
                            kept.Add(i);
                        }
                        catch (EngagementValidationException)
                        {
                            // The same id, an unknown or already merged profile: refused, nothing written.
                        }

                        break;
                    case HistoryStepKind.Unmerge:
                        try
                        {
                            await identity.UnmergeAsync(customer).ConfigureAwait(false);
                            kept.Remove(mergesOf[customer].Pop());
                        }
                        catch (EngagementValidationException)
                        {
                            // Nothing to undo: refused, nothing written.
                        }

                        break;
                    case HistoryStepKind.Advance:
                        clock.Advance(TimeSpan.FromHours(step.Variant));
                        await engine.SweepJourneysAsync().ConfigureAwait(false);
                        await engine.SweepSegmentsAsync().ConfigureAwait(false);
                        break;
                    default:
                        await provider.GetRequiredService<EventRetentionPolicy>().ApplyAsync().ConfigureAwait(false);
                        break;
                }
            }

            var outcome = new List<string>();
            var ledger = provider.GetRequiredService<ConsentLedger>();
            var segments = provider.GetRequiredService<ISegmentStore>();
            var journeyStore = provider.GetRequiredService<IJourneyStore>();

            // Journey positions are compared as an evaluation at the end leaves them: a page view for every customer (the same in
            // both runs), then a sweep. An unmerge emits segment entries and exits the run without the merge does not have, and a
            // stage whose entry reads aggregates moves at whichever event comes first, so the instants stages were entered at are
            // not compared; the positions, steps, visits and the journeys' counters are.
            for (var c = 0; c < 3; c++)
            {
                await engine.TrackAsync(new PageViewed { EventId = "final-" + c.ToString(CultureInfo.InvariantCulture), CustomerId = Customer(c), Timestamp = clock.GetUtcNow(), Url = "/end", Channel = Channel.Web }).ConfigureAwait(false);
            }

            await engine.SweepJourneysAsync().ConfigureAwait(false);
            for (var c = 0; c < 3; c++)
            {
                var profile = await identity.GetAsync(Customer(c)).ConfigureAwait(false);
                outcome.Add(profile is null ? $"c{c}: none" : await DescribeAsync(Customer(c), profile, ledger, clock.GetUtcNow()).ConfigureAwait(false));
                outcome.Add(profile is null ? $"c{c}: no segments" : DescribeSegments(Customer(c), await segments.GetAsync(profile.Id).ConfigureAwait(false), clock.GetUtcNow()));
                outcome.Add(profile is null ? $"c{c}: no journeys" : DescribeJourneys(Customer(c), await journeyStore.GetAsync(profile.Id).ConfigureAwait(false), clock.GetUtcNow()));
            }

            foreach (var segment in Segments)
            {
                var members = new List<string>();
                await foreach (var member in segments.ListMembersAsync(segment.Name).ConfigureAwait(false))
                {
                    members.Add(member.Value);
                }

                outcome.Add(segment.Name + ": " + string.Join(",", members) + " (" + (await segments.CountAsync(segment.Name).ConfigureAwait(false)).ToString(CultureInfo.InvariantCulture) + ")");
            }

            return (outcome, kept);
        }
    }

    private static async Task<string> DescribeAsync(CustomerId asked, CustomerProfile profile, ConsentLedger ledger, DateTimeOffset now)
    {
        // Everything but the bookkeeping that differs between the runs by construction (versions, merge ids and records).
        var plain = profile with
        {
            Version = 0,
            Merges = [],
            MergedInto = null,
            Identifiers = [.. profile.Identifiers.OrderBy(i => i.ToString(), StringComparer.Ordinal)],
        };
        var consent = await ledger.GetStateAsync(profile).ConfigureAwait(false);
        var verdict = consent.Evaluate(Channel.Web, Purpose.Profiling, null, now);
        return new StringBuilder()
            .Append(asked.Value).Append(" → ").Append(profile.Id.Value)
            .Append(" merged ").AppendJoin(",", profile.Merges.Select(m => m.MergedId.Value))
            .Append(" profiling ").Append(verdict.Code)
            .Append(' ').Append(JsonSerializer.Serialize(plain, EngagementJsonContext.Default.CustomerProfile))
            .ToString();
    }

    // The segments a customer is in and the counters they read: the kept timestamps of each counted event type, and the buckets
    // that can still count (older ones are dropped at different moments depending on when events arrived).
    private static string DescribeSegments(CustomerId asked, SegmentRecord? record, DateTimeOffset now)
    {
        var text = new StringBuilder().Append(asked.Value).Append(" segments ");
        if (record is null || (record.Members.IsEmpty && record.Windows.IsEmpty))
        {
            return text.Append("none").ToString(); // a record with nothing in it is as good as none
        }

        text.AppendJoin(",", record.Members.Select(m => m.Segment).Order(StringComparer.Ordinal));
        foreach (var (key, horizon) in Counted)
        {
            text.Append(" | ").Append(key).Append(' ').AppendJoin(",", record.Windows.RecentTicks(key))
                .Append(" / ").AppendJoin(",", record.Windows.BucketsOf(key).Where(b => b.Start + b.Width + horizon.Ticks > now.UtcTicks).Select(b => $"{b.Start}:{b.Count}:{b.Sum.ToString(CultureInfo.InvariantCulture)}"));
        }

        return text.ToString();
    }

    // Where a customer is in each journey (version, stage, step, visits, flags, whether it falls due) and the journeys' counters
    // that can still count.
    private static string DescribeJourneys(CustomerId asked, JourneyRecord? record, DateTimeOffset now)
    {
        var text = new StringBuilder().Append(asked.Value).Append(" journeys ");
        var tracks = record?.Tracks ?? [];
        if (tracks.IsEmpty && (record is null || record.Windows.IsEmpty))
        {
            return text.Append("none").ToString(); // a record with nothing in it is as good as none
        }

        foreach (var t in tracks)
        {
            text.Append(t.JourneyId).Append(" v").Append(t.Version).Append(" stage ").Append(t.StageIndex).Append(" step ").Append(t.StepIndex)
                .Append(" visits ").Append(t.Visits).Append(' ').Append(t.Flags).Append(t.DueAt is null ? string.Empty : " due").Append("; ");
        }

        foreach (var (key, horizon) in JourneyCounted)
        {
            text.Append(" | ").Append(key).Append(' ').AppendJoin(",", record!.Windows.RecentTicks(key).Where(t => t + horizon.Ticks > now.UtcTicks))
                .Append(" / ").AppendJoin(",", record.Windows.BucketsOf(key).Where(b => b.Start + b.Width + horizon.Ticks > now.UtcTicks).Select(b => $"{b.Start}:{b.Count}:{b.Sum.ToString(CultureInfo.InvariantCulture)}"));
        }

        return text.ToString();
    }

    private static CustomerId Customer(int index) => new("c" + index.ToString(CultureInfo.InvariantCulture));

    private static EngagementEvent MakeEvent(HistoryStep step, int index, DateTimeOffset now)
    {
        var customer = Customer(step.Customer);
        var id = "e-" + index.ToString(CultureInfo.InvariantCulture);
        var at = now.AddMinutes(-step.LateBy);
        ImmutableArray<Identifier> identifiers = [Identifier.Device("device-" + customer.Value)];
        return step.Variant switch
        {
            0 => new ProductViewed { EventId = id, CustomerId = customer, Timestamp = at, Identifiers = identifiers, ProductId = "p-" + (index % 4).ToString(CultureInfo.InvariantCulture), Category = index % 2 == 0 ? "boots" : "hats", Channel = Channel.Web },
            1 => new PageViewed { EventId = id, CustomerId = customer, Timestamp = at, Identifiers = identifiers, Url = "/p", Channel = index % 2 == 0 ? Channel.Web : Channel.Email },
            2 => new Purchased { EventId = id, CustomerId = customer, Timestamp = at, Identifiers = identifiers, OrderId = "o-" + customer.Value + "-" + (index % 3).ToString(CultureInfo.InvariantCulture), Lines = [new OrderLine("p-" + (index % 4).ToString(CultureInfo.InvariantCulture), 1, new Money(40m + index, Currency.EUR), "boots")] },
            3 => new Refunded { EventId = id, CustomerId = customer, Timestamp = at, Identifiers = identifiers, OrderId = "o-" + customer.Value + "-" + (index % 3).ToString(CultureInfo.InvariantCulture), Amount = new Money(5m, Currency.EUR) },
            4 => new ProfileUpdated { EventId = id, CustomerId = customer, Timestamp = at, Identifiers = identifiers, Traits = ImmutableDictionary<string, TraitValue>.Empty.Add("size", TraitValue.Of(36 + index)).Add("who", TraitValue.Of(customer.Value)) },
            5 => new AddedToCart { EventId = id, CustomerId = customer, Timestamp = at, Identifiers = identifiers, ProductId = "p-" + (index % 4).ToString(CultureInfo.InvariantCulture), Quantity = 1, UnitPrice = new Money(10m, Currency.EUR) },
            _ => new ConsentChanged
            {
                EventId = id,
                CustomerId = customer,
                Timestamp = at,
                Identifiers = identifiers,
                Record = new ConsentRecord
                {
                    RecordId = "r-" + index.ToString(CultureInfo.InvariantCulture),
                    CustomerId = customer,
                    Channel = null,
                    Purpose = Purpose.Profiling,
                    Status = index % 3 == 0 ? ConsentStatus.Granted : ConsentStatus.Objected,
                    Source = "preference-centre",
                    Evidence = new ConsentEvidence("notice-1", "preference-centre"),
                    EffectiveAt = at,
                },
            },
        };
    }
}
