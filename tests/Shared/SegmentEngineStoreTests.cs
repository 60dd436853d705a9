using Engagement.Sdk.Conditions;
using Engagement.Sdk.Events;
using Engagement.Sdk.Households;
using Engagement.Sdk.Journeys;
using Engagement.Sdk.Profiles;
using Engagement.Sdk.Segments;
using Engagement.Sdk.Testing.Journeys;
using Microsoft.Extensions.DependencyInjection;

namespace Engagement.Sdk.SharedTests;

/// <summary>
/// Segments through the whole engine on a store: membership kept as events arrive, sweeps for windows, enter and exit events
/// run through the journeys, merges and unmerges (each side's counters exactly its own again), erasure, export, and bad input
/// that writes nothing. This file is shared by the in-memory, SQLite and PostgreSQL tests.
/// </summary>
public abstract class SegmentEngineStoreTests
{
    private static readonly DateTimeOffset T0 = JourneyTestHost.DefaultStart;
    private static readonly CustomerId Ann = new("ann");
    private static readonly CustomerId Anon = new("anon-1");
    private static readonly Identifier AnnEmail = Identifier.Email("ann@example.com");

    private static readonly SegmentDefinition Buyers = new("buyers", Condition.Aggregate(ProfileAggregate.Orders, ComparisonOperator.Ge, 1));
    private static readonly SegmentDefinition CartOpen = new("cart_open", Condition.Aggregate(ProfileAggregate.ItemsInCart, ComparisonOperator.Ge, 1));
    private static readonly SegmentDefinition Browsing = new("browsing", Condition.EventCount("product_viewed", TimeSpan.FromDays(7), ComparisonOperator.Ge, 3));
    private static readonly SegmentDefinition BigSpenders = new("big_spenders", Condition.EventSum("purchased", TimeSpan.FromDays(30), ComparisonOperator.Ge, 100));
    private static readonly SegmentDefinition Lapsed = new("lapsed", Condition.All(
        Condition.Aggregate(ProfileAggregate.Orders, ComparisonOperator.Ge, 1),
        Condition.NoEvent("purchased", TimeSpan.FromDays(90))));

    /// <summary>Puts the engine's stores on the test's store (the same one on every call within a test).</summary>
    protected abstract void UseStorage(EngagementBuilder builder);

    [Fact]
    public async Task Track_EntersAndExitsAsEventsArrive_CountsMembersAndHistoryFromTheStore()
    {
        await using var host = Host(b => b.AddSegment(Buyers).AddSegment(CartOpen));

        var carted = await host.TrackAsync(Cart("1", T0));
        var bought = await host.TrackAsync(Order("2", T0.AddMinutes(1)));
        var again = await host.TrackAsync(Order("3", T0.AddMinutes(2)));
        var removed = await host.TrackAsync(new RemovedFromCart { EventId = "4", CustomerId = Ann, Timestamp = T0.AddMinutes(3), ProductId = "p-1" });

        carted.SegmentChanges.Select(c => (c.Segment, c.Kind)).Should().Equal(("cart_open", SegmentChangeKind.Entered));
        bought.SegmentChanges.Select(c => (c.Segment, c.Kind, c.Reason)).Should().Equal(("buyers", SegmentChangeKind.Entered, "purchased"));
        again.SegmentChanges.Should().BeEmpty("the customer is in the segment already");
        removed.SegmentChanges.Select(c => (c.Segment, c.Kind)).Should().Equal(("cart_open", SegmentChangeKind.Exited));
        var store = Store(host);
        (await store.CountAsync("buyers")).Should().Be(1);
        (await store.CountAsync("cart_open")).Should().Be(0);
        (await store.ListMembersAsync("buyers").ToListAsync()).Should().Equal(Ann);
        (await store.ReadHistoryAsync(Ann).Select(c => (c.Segment, c.Kind)).ToListAsync()).Should().Equal(
            ("cart_open", SegmentChangeKind.Entered), ("buyers", SegmentChangeKind.Entered), ("cart_open", SegmentChangeKind.Exited));
    }

    [Fact]
    public async Task Sweep_WindowsPassing_EnterAndLeaveWithTimeAndOnlyDueCustomersAreRead()
    {
        await using var host = Host(b => b.AddSegment(Lapsed).AddSegment(BigSpenders));
        await host.TrackAsync(Order("1", T0, amount: 120m));
        (await Store(host).CountAsync("big_spenders")).Should().Be(1);

        host.Clock.SetUtcNow(T0.AddDays(31));
        var month = await host.Engine.SweepSegmentsAsync();
        host.Clock.SetUtcNow(T0.AddDays(60));
        var idle = await host.Engine.SweepSegmentsAsync();
        host.Clock.SetUtcNow(T0.AddDays(90).AddMinutes(1));
        var lapsed = await host.Engine.SweepSegmentsAsync();
        var back = await host.TrackAsync(Order("2", T0.AddDays(91), amount: 150m));

        month.Changes.Select(c => (c.Segment, c.Kind, c.Reason)).Should().Equal(("big_spenders", SegmentChangeKind.Exited, "time"));
        idle.Customers.Should().Be(0, "nothing falls due between the sum's window and the 90 days");
        lapsed.Changes.Select(c => (c.Segment, c.Kind)).Should().Equal(("lapsed", SegmentChangeKind.Entered));
        back.SegmentChanges.Select(c => (c.Segment, c.Kind)).Should().Equal(("lapsed", SegmentChangeKind.Exited), ("big_spenders", SegmentChangeKind.Entered));
        (await Store(host).ListMembersAsync("lapsed").ToListAsync()).Should().BeEmpty();
    }

    [Fact]
    public async Task SegmentEvents_EnteringWithTime_MoveAJourney()
    {
        var winback = JourneyDefinition.Create("winback")
            .CustomEvent("lapsed-entered")
            .Stage("watching", s => s.Entry(Condition.Always))
            .Stage("win_back", s => s.Entry(Condition.EventCount("lapsed-entered", TimeSpan.FromDays(30), ComparisonOperator.Ge, 1)))
            .Build();
        await using var host = Host(b => b.AddSegment(Lapsed).AddJourney(winback));
        await host.TrackAsync(Order("1", T0));

        host.Clock.SetUtcNow(T0.AddDays(91));
        var sweep = await host.Engine.SweepSegmentsAsync();

        sweep.Journeys.Should().Contain(e => e.JourneyId == "winback" && e.StageId == "win_back" && e.Kind == JourneyHistoryKind.Moved);
        (await host.PathAsync(Ann, "winback")).CurrentStage.Should().Be("win_back");
    }

    [Fact]
    public async Task MergeThenUnmerge_EachSideGetsBackExactlyItsOwnCountersAndMemberships()
    {
        await using var host = Host(b => b.AddSegment(Browsing));
        var store = Store(host);
        var identity = host.Services.GetRequiredService<IdentityResolver>();
        await host.TrackAsync(View(Anon, "a1", T0));
        await host.TrackAsync(View(Ann, "b1", T0.AddHours(1)));
        await host.TrackAsync(View(Ann, "b2", T0.AddHours(2)));

        await identity.MergeAsync(Ann, Anon);
        var mergedMembers = await store.ListMembersAsync("browsing").ToListAsync();
        await host.TrackAsync(View(Anon, "a2", T0.AddHours(3)));
        await host.TrackAsync(View(Anon, "a3", T0.AddHours(4)));
        await host.TrackAsync(View(Anon, "late", T0.AddMinutes(30)));
        var whileMerged = (await store.GetAsync(Ann))!.Windows.RecentTicks("product_viewed");
        await identity.UnmergeAsync(Ann);

        mergedMembers.Should().Equal([Ann], "three views over both sides, counted by the survivor as soon as the merge is made");
        whileMerged.Should().Equal([T0.AddHours(4).UtcTicks, T0.AddHours(3).UtcTicks, T0.AddHours(2).UtcTicks], "the three newest views of both sides decide 'at least 3'");
        (await store.ListMembersAsync("browsing").ToListAsync()).Should().Equal([Anon], "after the unmerge each side counts only its own views: Ann 2, the anonymous side 4");
        (await store.GetAsync(Ann))!.Windows.RecentTicks("product_viewed").Should().Equal([T0.AddHours(2).UtcTicks, T0.AddHours(1).UtcTicks]);
        (await store.GetAsync(Anon))!.Windows.RecentTicks("product_viewed").Should().Equal([T0.AddHours(4).UtcTicks, T0.AddHours(3).UtcTicks, T0.AddMinutes(30).UtcTicks], "the late view was not among the three newest while merged, yet is the anonymous side's own");
        (await store.ReadHistoryAsync(Ann).Select(c => (c.Kind, c.Reason)).ToListAsync()).Should().Equal((SegmentChangeKind.Entered, "merge"), (SegmentChangeKind.Exited, "unmerge"));
        (await store.ReadHistoryAsync(Anon).Select(c => (c.Kind, c.Reason)).ToListAsync()).Should().Equal((SegmentChangeKind.Entered, "unmerge"));

        // Counting goes on for each side on its own.
        await host.TrackAsync(View(Ann, "b3", T0.AddHours(5)));
        (await store.ListMembersAsync("browsing").ToListAsync()).Should().BeEquivalentTo([Ann, Anon]);
    }

    [Fact]
    public async Task Unmerge_OfAMergeThatNeverHappenedOrWasUndone_IsATypedErrorAndLeavesTheSegmentsAsTheyWere()
    {
        await using var host = Host(b => b.AddSegment(Browsing));
        var store = Store(host);
        var identity = host.Services.GetRequiredService<IdentityResolver>();
        await host.TrackAsync(View(Anon, "a1", T0));
        await host.TrackAsync(View(Ann, "b1", T0.AddHours(1)));
        var merge = (await identity.MergeAsync(Ann, Anon)).Merges[^1];
        await identity.UnmergeAsync(Ann, merge.MergeId);
        var before = (await store.GetAsync(Ann), await store.GetAsync(Anon));

        var again = await FluentActions.Awaiting(() => identity.UnmergeAsync(Ann, merge.MergeId).AsTask()).Should().ThrowAsync<EngagementValidationException>();
        var never = await FluentActions.Awaiting(() => identity.UnmergeAsync(Ann, "merge-000000000000").AsTask()).Should().ThrowAsync<EngagementValidationException>();

        again.Which.Field.Should().Be("mergeId");
        again.Which.Value.Should().Be(merge.MergeId);
        again.Which.Rule.Should().Contain("undone already");
        never.Which.Field.Should().Be("mergeId");
        never.Which.Rule.Should().Contain("never happened");
        (await store.GetAsync(Ann))!.Version.Should().Be(before.Item1!.Version, "a refused unmerge writes nothing");
        (await store.GetAsync(Anon))!.Version.Should().Be(before.Item2!.Version);
    }

    [Fact]
    public async Task Household_WithAMemberOfAnotherTenantOrAnAddressClaimedTwice_IsATypedErrorThatWritesNothing()
    {
        await using var host = Host(b => b.AddSegment(Buyers));
        var bob = new CustomerId("bob");
        var family = Identifier.Email("family@example.com");
        await host.TrackAsync(View(Ann, "a1", T0));
        await host.TrackAsync(View(bob, "b1", T0));
        var households = host.Services.GetRequiredService<HouseholdRegistry>();
        await households.CreateAsync("smiths", [Ann], [family]);

        var stranger = await FluentActions.Awaiting(() => households.CreateAsync("jones", [bob, new CustomerId("tenant-b:dave")], []).AsTask()).Should().ThrowAsync<EngagementValidationException>();
        var claimed = await FluentActions.Awaiting(() => households.CreateAsync("jones", [bob], [Identifier.Email("FAMILY@example.com")]).AsTask()).Should().ThrowAsync<EngagementValidationException>();

        stranger.Which.Field.Should().Be("members[1]");
        stranger.Which.Value.Should().Be("tenant-b:dave");
        stranger.Which.Rule.Should().Contain("another tenant");
        claimed.Which.Field.Should().Be("sharedIdentifiers[0]");
        claimed.Which.Rule.Should().Contain("'smiths'");
        (await households.FindAsync(bob)).Should().BeNull("nothing was written");
        (await host.Services.GetRequiredService<IHouseholdStore>().GetAsync("jones")).Should().BeNull();
    }

    [Fact]
    public async Task Erasure_RemovesMembershipsCountersHistoryAndTimer()
    {
        await using var host = Host(b => b.AddSegment(Buyers).AddSegment(Lapsed));
        await host.TrackAsync(Order("1", T0));

        var report = await host.Services.GetRequiredService<CustomerErasure>().EraseAsync(Ann);

        report.ItemsRemoved.Where(i => i.Key.Contains("Segment", StringComparison.Ordinal)).Sum(i => i.Value).Should().BePositive();
        var store = Store(host);
        (await store.GetAsync(Ann)).Should().BeNull();
        (await store.CountAsync("buyers")).Should().Be(0);
        (await store.ReadHistoryAsync(Ann).ToListAsync()).Should().BeEmpty();
        host.Clock.SetUtcNow(T0.AddDays(400));
        (await host.Engine.SweepSegmentsAsync()).Customers.Should().Be(0, "the erased customer's timer went with the record");
    }

    [Fact]
    public async Task Export_CarriesMembershipsAndHistory()
    {
        await using var host = Host(b => b.AddSegment(Buyers).AddSegment(CartOpen));
        await host.TrackAsync(Cart("1", T0));
        await host.TrackAsync(Order("2", T0.AddMinutes(1)));

        var export = await host.Services.GetRequiredService<CustomerDataPortability>().ExportAsync(Ann);

        export.Segments.Select(m => m.Segment).Should().BeEquivalentTo(["buyers", "cart_open"]);
        export.SegmentHistory.Select(c => (c.Segment, c.Kind)).Should().Equal(("cart_open", SegmentChangeKind.Entered), ("buyers", SegmentChangeKind.Entered));
    }

    private static ISegmentStore Store(JourneyTestHost host) => host.Services.GetRequiredService<ISegmentStore>();

    private JourneyTestHost Host(Action<EngagementBuilder> configure) => JourneyTestHost.Create(
        b =>
        {
            UseStorage(b);
            configure(b);
        },
        o =>
        {
            o.DecisionTriggers.Clear();
            o.DecideOnStageChange = false;
        });

    private static ProductViewed View(CustomerId customer, string id, DateTimeOffset at)
        => new() { EventId = id, CustomerId = customer, Timestamp = at, ProductId = "p-" + id };

    private static AddedToCart Cart(string id, DateTimeOffset at)
        => new() { EventId = id, CustomerId = Ann, Timestamp = at, ProductId = "p-" + id };

    private static Purchased Order(string id, DateTimeOffset at, decimal amount = 40m)
        => new() { EventId = id, CustomerId = Ann, Timestamp = at, OrderId = "o-" + id, Lines = [new OrderLine("p-" + id, 1, Money.Of(amount, "EUR"))], Identifiers = [AnnEmail] };
}
