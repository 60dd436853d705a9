using Engagement.Sdk.Channels;
using Engagement.Sdk.Conditions;
using Engagement.Sdk.Consent;
using Engagement.Sdk.Events;
using Engagement.Sdk.Journeys;
using Engagement.Sdk.Profiles;
using Engagement.Sdk.Segments;
using Engagement.Sdk.Storage;
using Engagement.Sdk.Testing.Journeys;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace Engagement.Sdk.Tests.Segments;

/// <summary>Segments through the whole SDK: entries and exits on events and with time, journeys and decisions they trigger, merges, erasure, export.</summary>
public sealed class SegmentEngineTests
{
    private static readonly DateTimeOffset T0 = JourneyTestHost.DefaultStart;
    private static readonly CustomerId Ann = new("ann");
    private static readonly Identifier AnnEmail = Identifier.Email("ann@example.com");

    private static readonly SegmentDefinition Buyers = new("buyers", Condition.Aggregate(ProfileAggregate.Orders, ComparisonOperator.Ge, 1));
    private static readonly SegmentDefinition CartOpen = new("cart_open", Condition.Aggregate(ProfileAggregate.ItemsInCart, ComparisonOperator.Ge, 1));
    private static readonly SegmentDefinition Lapsed = new("lapsed", Condition.All(
        Condition.Aggregate(ProfileAggregate.Orders, ComparisonOperator.Ge, 1),
        Condition.NoEvent("purchased", TimeSpan.FromDays(90))));

    [Fact]
    public async Task Track_ConditionComesTrue_EntersOnceRecordsAndCounts()
    {
        await using var host = Host(b => b.AddSegment(Buyers));

        var view = await host.TrackAsync(View("1", T0));
        var order = await host.TrackAsync(Order("2", T0.AddMinutes(1)));
        var again = await host.TrackAsync(Order("3", T0.AddMinutes(2)));

        view.SegmentChanges.Should().BeEmpty();
        order.SegmentChanges.Should().ContainSingle().Which.Should().Match<SegmentChange>(c => c.Segment == "buyers" && c.Kind == SegmentChangeKind.Entered && c.At == T0.AddMinutes(1) && c.Reason == "purchased");
        again.SegmentChanges.Should().BeEmpty("the customer is in the segment already");
        var store = host.Services.GetRequiredService<ISegmentStore>();
        (await store.CountAsync("buyers")).Should().Be(1);
        (await store.ListMembersAsync("buyers").ToListAsync()).Should().Equal(Ann);
        (await store.ReadHistoryAsync(Ann).ToListAsync()).Should().ContainSingle();
    }

    [Fact]
    public async Task Track_ConditionStopsHolding_ExitsAndLeavesTheMemberList()
    {
        await using var host = Host(b => b.AddSegment(CartOpen));

        var added = await host.TrackAsync(Cart("1", T0));
        var removed = await host.TrackAsync(new RemovedFromCart { EventId = "2", CustomerId = Ann, Timestamp = T0.AddMinutes(5), ProductId = "p-1" });

        added.SegmentChanges.Select(c => (c.Segment, c.Kind)).Should().Equal(("cart_open", SegmentChangeKind.Entered));
        removed.SegmentChanges.Select(c => (c.Segment, c.Kind)).Should().Equal(("cart_open", SegmentChangeKind.Exited));
        var store = host.Services.GetRequiredService<ISegmentStore>();
        (await store.CountAsync("cart_open")).Should().Be(0);
        (await store.ListMembersAsync("cart_open").ToListAsync()).Should().BeEmpty();
        (await store.ReadHistoryAsync(Ann).Select(c => c.Kind).ToListAsync()).Should().Equal(SegmentChangeKind.Entered, SegmentChangeKind.Exited);
    }

    [Fact]
    public async Task Sweep_NoPurchaseFor90Days_EntersWithTimeAndANewOrderTakesThemOut()
    {
        await using var host = Host(b => b.AddSegment(Lapsed));
        await host.TrackAsync(Order("1", T0));

        host.Clock.SetUtcNow(T0.AddDays(90).AddMinutes(-1));
        var early = await host.Engine.SweepSegmentsAsync();
        host.Clock.SetUtcNow(T0.AddDays(90).AddMinutes(1));
        var due = await host.Engine.SweepSegmentsAsync();
        var back = await host.TrackAsync(Order("2", T0.AddDays(95)));

        early.Changes.Should().BeEmpty("nothing is due a minute before 90 days");
        due.Customers.Should().Be(1);
        due.Changes.Should().ContainSingle().Which.Should().Match<SegmentChange>(c => c.Segment == "lapsed" && c.Kind == SegmentChangeKind.Entered && c.Reason == "time");
        back.SegmentChanges.Select(c => (c.Segment, c.Kind)).Should().Equal(("lapsed", SegmentChangeKind.Exited));
        (await host.Services.GetRequiredService<ISegmentStore>().CountAsync("lapsed")).Should().Be(0);
    }

    [Fact]
    public async Task Sweep_NothingDue_ReadsNoCustomer()
    {
        await using var host = Host(b => b.AddSegment(Buyers));
        await host.TrackAsync(Order("1", T0));

        host.Clock.SetUtcNow(T0.AddDays(400));
        var sweep = await host.Engine.SweepSegmentsAsync();

        sweep.Customers.Should().Be(0, "a segment with no windowed condition never falls due");
    }

    [Fact]
    public async Task SegmentEvent_EnteringLapsed_TriggersAJourneyStage()
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
        (await host.Services.GetRequiredService<IEventStore>().ReadAsync(Ann, null, null).CountAsync()).Should().Be(1, "segment events are not customer events: the event store keeps only the order");
    }

    [Fact]
    public async Task SegmentEvent_NamedAsDecisionTrigger_DecidesOnEntry()
    {
        await using var host = Host(b => b.AddSegment(CartOpen), o => o.DecisionTriggers.Add("cart_open-entered"));

        var view = await host.TrackAsync(View("1", T0));
        var cart = await host.TrackAsync(Cart("2", T0.AddMinutes(1)));

        view.Decision.Should().BeNull();
        cart.Decision.Should().NotBeNull("entering cart_open is a decision trigger");
    }

    [Fact]
    public async Task Segment_OnJourneyStage_FollowsTheStageAfterTheEvent()
    {
        var converted = new SegmentDefinition("converted", Condition.InStage("lifecycle", "conversion", "engagement"));
        await using var host = Host(b => b.AddSegment(converted));

        var view = await host.TrackAsync(View("1", T0));
        var order = await host.TrackAsync(Order("2", T0.AddMinutes(1)));

        view.SegmentChanges.Should().BeEmpty();
        order.SegmentChanges.Select(c => c.Segment).Should().Equal("converted");
    }

    [Fact]
    public async Task Segment_OnConsent_EntersWhenEmailMarketingIsGranted()
    {
        var reachable = new SegmentDefinition("reachable", Condition.Consent(Channel.Email, Purpose.Marketing));
        await using var host = Host(b => b.AddSegment(reachable));
        var before = await host.TrackAsync(View("1", T0, AnnEmail));
        await host.ConsentAsync(new ConsentRecord
        {
            RecordId = "g1", CustomerId = Ann, Channel = Channel.Email, Purpose = Purpose.Marketing, Identifier = AnnEmail,
            Status = ConsentStatus.Granted, Source = "test", Evidence = new ConsentEvidence("v1", "signup"), EffectiveAt = T0,
        });

        var after = await host.TrackAsync(View("2", T0.AddMinutes(1)));

        before.SegmentChanges.Should().BeEmpty();
        after.SegmentChanges.Select(c => c.Segment).Should().Equal("reachable");
    }

    [Fact]
    public async Task Merge_TheMergedProfileLeavesItsSegmentsAndTheSurvivorCountsBothSidesEvents()
    {
        var browsing = new SegmentDefinition("browsing", Condition.EventCount("product_viewed", TimeSpan.FromDays(7), ComparisonOperator.Ge, 3));
        var viewer = new SegmentDefinition("viewer", Condition.Aggregate(ProfileAggregate.ProductViews, ComparisonOperator.Ge, 1));
        await using var host = Host(b => b.AddSegment(browsing).AddSegment(viewer));
        var cookie = Identifier.Anonymous("cookie-1");
        var anon = new CustomerId("anon-1");
        await host.TrackAsync(new ProductViewed { EventId = "a1", CustomerId = anon, Timestamp = T0, ProductId = "p1", Identifiers = [cookie] });
        await host.TrackAsync(new ProductViewed { EventId = "a2", CustomerId = anon, Timestamp = T0.AddHours(1), ProductId = "p2", Identifiers = [cookie] });
        await host.TrackAsync(new ProductViewed { EventId = "b1", CustomerId = Ann, Timestamp = T0.AddHours(2), ProductId = "p3", Identifiers = [AnnEmail] });
        var store = host.Services.GetRequiredService<ISegmentStore>();
        (await store.CountAsync("viewer")).Should().Be(2);
        (await store.CountAsync("browsing")).Should().Be(0);

        var merged = await host.TrackAsync(new PageViewed { EventId = "login", CustomerId = anon, Timestamp = T0.AddHours(3), Url = "/account", Identifiers = [cookie, AnnEmail] });

        var survivor = merged.Profile!.Id;
        var other = survivor == Ann ? anon : Ann;
        (await store.ListMembersAsync("viewer").ToListAsync()).Should().Equal(survivor);
        (await store.ListMembersAsync("browsing").ToListAsync()).Should().Equal([survivor], "three views over both profiles, folded into the survivor's counters");
        (await store.ReadHistoryAsync(other).ToListAsync()).Should().Contain(c => c.Segment == "viewer" && c.Kind == SegmentChangeKind.Exited && c.Reason == "merged into " + survivor.Value);
    }

    [Fact]
    public async Task Erasure_RemovesMembershipsCountersAndHistory()
    {
        await using var host = Host(b => b.AddSegment(Buyers).AddSegment(Lapsed));
        await host.TrackAsync(Order("1", T0));

        var report = await host.Services.GetRequiredService<CustomerErasure>().EraseAsync(Ann);

        report.ItemsRemoved.Should().ContainKey(nameof(InMemorySegmentStore)).WhoseValue.Should().BePositive();
        var store = host.Services.GetRequiredService<ISegmentStore>();
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
        var json = System.Text.Encoding.UTF8.GetString(CustomerDataPortability.ToJson(export));

        export.Segments.Select(m => m.Segment).Should().Contain("buyers");
        export.SegmentHistory.Should().Contain(c => c.Segment == "buyers" && c.Kind == SegmentChangeKind.Entered);
        json.Should().Contain("\"segmentHistory\"").And.Contain("buyers");
    }

    [Fact]
    public async Task ProfilingObjection_LeavesEverySegment()
    {
        await using var host = Host(b => b.AddSegment(Buyers));
        await host.TrackAsync(Order("1", T0, AnnEmail));
        await host.ConsentAsync(new ConsentRecord
        {
            RecordId = "obj", CustomerId = Ann, Purpose = Purpose.Profiling, Status = ConsentStatus.Objected, LawfulBasis = LawfulBasis.LegitimateInterest,
            Source = "preference-centre", EffectiveAt = T0.AddMinutes(1),
        });

        var next = await host.TrackAsync(View("2", T0.AddMinutes(2)));

        next.SegmentChanges.Should().ContainSingle().Which.Reason.Should().Be("objection to profiling");
        (await host.Services.GetRequiredService<ISegmentStore>().CountAsync("buyers")).Should().Be(0);
    }

    [Fact]
    public async Task Options_UnknownTrait_FailsAtStartUpNamingTheField()
    {
        var act = () => Host(b => b.AddSegment(new SegmentDefinition("vip", Condition.Trait("tier", TraitOperator.Eq, TraitValue.Of("gold")))));

        var failure = act.Should().Throw<OptionsValidationException>().Which.Message;
        failure.Should().Contain("segments[0].condition").And.Contain("tier");
    }

    [Fact]
    public async Task Options_SegmentCountingASegmentEvent_FailsAtStartUp()
    {
        var loop = new SegmentDefinition("echo", Condition.EventCount("buyers-entered", TimeSpan.FromDays(1), ComparisonOperator.Ge, 1));

        var act = () => Host(b => b.AddSegment(Buyers).AddSegment(loop), o => o.CustomEvents.Add("buyers-entered"));

        act.Should().Throw<OptionsValidationException>().Which.Message.Should().Contain("segments[1].condition.event").And.Contain("may not count segment events");
        await Task.CompletedTask;
    }

    private static JourneyTestHost Host(Action<EngagementBuilder> configure, Action<EngagementOptions>? options = null) => JourneyTestHost.Create(configure, o =>
    {
        o.DecisionTriggers.Clear();
        o.DecideOnStageChange = false;
        options?.Invoke(o);
    });

    private static ProductViewed View(string id, DateTimeOffset at, Identifier? identifier = null)
        => new() { EventId = id, CustomerId = Ann, Timestamp = at, ProductId = "p-" + id, Identifiers = identifier is null ? [] : [identifier] };

    private static AddedToCart Cart(string id, DateTimeOffset at)
        => new() { EventId = id, CustomerId = Ann, Timestamp = at, ProductId = "p-" + id };

    private static Purchased Order(string id, DateTimeOffset at, Identifier? identifier = null)
        => new() { EventId = id, CustomerId = Ann, Timestamp = at, OrderId = "o-" + id, Lines = [new OrderLine("p-" + id, 1, Money.Of(40m, "EUR"))], Identifiers = identifier is null ? [] : [identifier] };
}

/// <summary>The segment tests every store runs, on the in-memory stores.</summary>
public sealed class InMemorySegmentEngineTests : Engagement.Sdk.SharedTests.SegmentEngineStoreTests
{
    protected override void UseStorage(EngagementBuilder builder)
    {
        // The in-memory stores are the default.
    }
}
