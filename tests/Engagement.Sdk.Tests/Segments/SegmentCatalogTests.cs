using Engagement.Sdk.Conditions;
using Engagement.Sdk.Events;
using Engagement.Sdk.Journeys;
using Engagement.Sdk.Profiles;
using Engagement.Sdk.Segments;

namespace Engagement.Sdk.Tests.Segments;

/// <summary>Segment definitions, their JSON, the catalogue's rules, and evaluation per kind of condition (on the orchestrator alone).</summary>
public sealed class SegmentCatalogTests
{
    private static readonly DateTimeOffset T0 = new(2026, 2, 1, 10, 0, 0, TimeSpan.Zero);
    private static readonly CustomerId Ann = new("ann");

    [Fact]
    public void FromJson_ReadsNameDescriptionAndCondition_AndWritesItBack()
    {
        var json = """{"name":"lapsed","description":"bought, but not for 90 days","condition":{"all":[{"aggregate":"orders","ge":1},{"event":"purchased","within":"P90D","count":{"eq":0}}]}}""";

        var segment = SegmentDefinition.FromJson(json);

        segment.Name.Should().Be("lapsed");
        segment.Description.Should().Be("bought, but not for 90 days");
        segment.EnteredEvent.Should().Be("lapsed-entered");
        segment.ExitedEvent.Should().Be("lapsed-exited");
        SegmentDefinition.FromJson(segment.ToJson()).Condition.ToString().Should().Be(segment.Condition.ToString());
        segment.Condition.Should().BeOfType<AllCondition>().Which.Conditions.Should().HaveCount(2);
    }

    [Theory]
    [InlineData("""{"name":"vip","condition":true,"colour":"red"}""", "$.colour")]
    [InlineData("""{"name":"vip"}""", "$.condition")]
    [InlineData("""{"name":"VIP","condition":true}""", "$.name")]
    [InlineData("""{"name":"a-name-that-is-far-too-long","condition":true}""", "$.name")]
    [InlineData("""{"name":"vip","condition":{"trait":"tier","eq":1,"ne":2}}""", "$.condition")]
    public void FromJson_BadInput_NamesTheJsonPath(string json, string field)
    {
        var act = () => SegmentDefinition.FromJson(json);

        act.Should().Throw<EngagementValidationException>().Which.Field.Should().StartWith(field);
    }

    [Fact]
    public void ListFromJson_ReadsAnArrayAndNamesTheItemOfAnError()
    {
        var list = SegmentDefinition.ListFromJson("""[{"name":"a","condition":true},{"name":"b","condition":false}]""");
        var bad = () => SegmentDefinition.ListFromJson("""[{"name":"a","condition":true},{"name":"b"}]""");

        list.Select(s => s.Name).Should().Equal("a", "b");
        bad.Should().Throw<EngagementValidationException>().Which.Field.Should().Be("$[1].condition");
    }

    [Fact]
    public void Create_DuplicateName_NamesTheSecondAndTheFirst()
    {
        var act = () => SegmentCatalog.Create([new("vip", Condition.Always), new("buyers", Condition.Always), new("vip", Condition.Never)]);

        var error = act.Should().Throw<EngagementValidationException>().Which;
        error.Field.Should().Be("segments[2].name");
        error.Value.Should().Be("vip");
        error.Message.Should().Contain("segments[0]");
    }

    [Theory]
    [MemberData(nameof(UnknownFields))]
    public void Create_ConditionNamingSomethingUnknown_FailsNamingThePath(Condition condition, string field)
    {
        var act = () => SegmentCatalog.Create([new("bad", condition)], JourneyCatalog.Create([JourneyDefinition.Lifecycle]));

        act.Should().Throw<EngagementValidationException>().Which.Field.Should().StartWith(field);
    }

    public static TheoryData<Condition, string> UnknownFields() => new()
    {
        { Condition.Trait("tier", TraitOperator.Eq, TraitValue.Of("gold")), "segments[0].condition" },
        { Condition.EventCount("wishlisted", TimeSpan.FromDays(7), ComparisonOperator.Ge, 1), "segments[0].condition" },
        { Condition.InStage("onboarding", "welcome"), "segments[0].condition" },
        { Condition.InStage("lifecycle", "loyal"), "segments[0].condition" },
        { Condition.InStage(null, "conversion"), "segments[0].condition" },
        { Condition.All(Condition.Always, Condition.EventCount("product_viewed", TimeSpan.FromDays(-1), ComparisonOperator.Ge, 1)), "segments[0].condition" },
    };

    [Fact]
    public void Create_SegmentCountingSegmentEvents_IsRejectedEvenWhenDeclaredAsCustomEvents()
    {
        var schema = new ConditionSchema(customEvents: ["vip-entered"]);

        var act = () => SegmentCatalog.Create([new("vip", Condition.Always), new("echo", Condition.Not(Condition.NoEvent("vip-entered", TimeSpan.FromDays(1))))], null, schema);

        var error = act.Should().Throw<EngagementValidationException>().Which;
        error.Field.Should().Be("segments[1].condition.not.event");
        error.Value.Should().Be("vip-entered");
    }

    [Fact]
    public void Create_NullSegment_IsNamed()
    {
        var act = () => SegmentCatalog.Create([new("a", Condition.Always), null!]);

        act.Should().Throw<EngagementValidationException>().Which.Field.Should().Be("segments[1]");
    }

    [Fact]
    public async Task Trait_EntersWhenTheTraitHasTheValueAndLeavesWhenItChanges()
    {
        var orchestrator = Orchestrator(new SegmentDefinition("vip", Condition.Trait("tier", TraitOperator.Eq, TraitValue.Of("gold"))), new ConditionSchema(traits: [new("tier", TraitKind.String)]));
        var gold = CustomerProfile.New(Ann) with { Traits = CustomerProfile.New(Ann).Traits.SetItem("tier", TraitValue.Of("gold")) };
        var silver = gold with { Traits = gold.Traits.SetItem("tier", TraitValue.Of("silver")) };

        var entered = await orchestrator.OnEventAsync(gold, Updated("1", T0), T0);
        var left = await orchestrator.OnEventAsync(silver, Updated("2", T0.AddMinutes(1)), T0.AddMinutes(1));

        entered.Changes.Select(c => (c.Segment, c.Kind)).Should().Equal(("vip", SegmentChangeKind.Entered));
        left.Changes.Select(c => (c.Segment, c.Kind)).Should().Equal(("vip", SegmentChangeKind.Exited));
    }

    [Fact]
    public async Task Identifier_EntersWhenTheProfileHasAnEmail()
    {
        var orchestrator = Orchestrator(new SegmentDefinition("known", Condition.HasIdentifier(IdentifierKind.Email)));
        var anonymous = CustomerProfile.New(Ann);
        var known = anonymous with { Identifiers = [Identifier.Email("ann@example.com")] };

        (await orchestrator.OnEventAsync(anonymous, Updated("1", T0), T0)).Changes.Should().BeEmpty();
        (await orchestrator.OnEventAsync(known, Updated("2", T0), T0)).Changes.Select(c => c.Segment).Should().Equal("known");
    }

    [Fact]
    public async Task WindowedSum_CountsOnlyTheWindowAndFallsDueWhenTheOrderLeavesIt()
    {
        var orchestrator = Orchestrator(new SegmentDefinition("spent_100_in_30d", Condition.EventSum("purchased", TimeSpan.FromDays(30), ComparisonOperator.Ge, 100m)));
        var profile = CustomerProfile.New(Ann);

        var first = await orchestrator.OnEventAsync(profile, Order("1", T0, 60m), T0);
        var second = await orchestrator.OnEventAsync(profile, Order("2", T0.AddDays(1), 60m), T0.AddDays(1));
        var record = await orchestrator.Store.GetAsync(Ann);
        var expired = await orchestrator.OnTimeAsync(profile, T0.AddDays(31));

        first.Changes.Should().BeEmpty();
        second.Changes.Select(c => (c.Segment, c.Kind)).Should().Equal(("spent_100_in_30d", SegmentChangeKind.Entered));
        record!.DueAt.Should().NotBeNull().And.BeOnOrBefore(T0.AddDays(30).AddDays(1), "the first order leaves the window within a bucket of 30 days");
        expired.Changes.Select(c => (c.Segment, c.Kind, c.Reason)).Should().Equal(("spent_100_in_30d", SegmentChangeKind.Exited, "time"));
    }

    [Fact]
    public async Task RecordsOnlyWhatChanges_AnEventThatChangesNothingSavesNothing()
    {
        var store = new InMemorySegmentStore();
        var orchestrator = new SegmentOrchestrator(SegmentCatalog.Create([new("buyers", Condition.Aggregate(ProfileAggregate.Orders, ComparisonOperator.Ge, 1))]), store);
        var profile = CustomerProfile.New(Ann);

        await orchestrator.OnEventAsync(profile, Updated("1", T0), T0);
        var v1 = (await store.GetAsync(Ann))!.Version;
        await orchestrator.OnEventAsync(profile, Updated("2", T0.AddMinutes(1)), T0.AddMinutes(1));

        (await store.GetAsync(Ann))!.Version.Should().Be(v1, "nothing the segments keep changed");
    }

    [Fact]
    public async Task RemovedSegment_ItsMembersLeaveItAtTheirNextEvent()
    {
        var store = new InMemorySegmentStore();
        var profile = CustomerProfile.New(Ann);
        await new SegmentOrchestrator(SegmentCatalog.Create([new("old", Condition.Always), new("kept", Condition.Always)]), store).OnEventAsync(profile, Updated("1", T0), T0);

        var outcome = await new SegmentOrchestrator(SegmentCatalog.Create([new("kept", Condition.Always)]), store).OnEventAsync(profile, Updated("2", T0.AddMinutes(1)), T0.AddMinutes(1));

        outcome.Changes.Select(c => (c.Segment, c.Kind)).Should().Equal(("old", SegmentChangeKind.Exited));
        (await store.GetAsync(Ann))!.Members.Select(m => m.Segment).Should().Equal("kept");
        (await store.CountAsync("old")).Should().Be(0);
    }

    [Fact]
    public void EventOf_IsTheSegmentsCustomEventWithAStableId()
    {
        var change = new SegmentChange { CustomerId = Ann, Segment = "vip", Kind = SegmentChangeKind.Exited, At = T0 };

        var e = SegmentOrchestrator.EventOf(change);

        e.Name.Should().Be("vip-exited");
        e.Properties["segment"].Should().Be(TraitValue.Of("vip"));
        e.Timestamp.Should().Be(T0);
        e.EventId.Should().Be(SegmentOrchestrator.EventOf(change).EventId).And.NotBe(SegmentOrchestrator.EventOf(change with { At = T0.AddTicks(1) }).EventId);
    }

    private static SegmentOrchestrator Orchestrator(SegmentDefinition segment, ConditionSchema? schema = null)
        => new(SegmentCatalog.Create([segment], null, schema), new InMemorySegmentStore());

    private static ProfileUpdated Updated(string id, DateTimeOffset at) => new() { EventId = id, CustomerId = Ann, Timestamp = at };

    private static Purchased Order(string id, DateTimeOffset at, decimal amount)
        => new() { EventId = id, CustomerId = Ann, Timestamp = at, OrderId = "o-" + id, Lines = [new OrderLine("p", 1, Money.Of(amount, "EUR"))] };
}
