using Engagement.Sdk.Channels;
using Engagement.Sdk.Conditions;
using Engagement.Sdk.Consent;
using Engagement.Sdk.Decisioning;
using Engagement.Sdk.Events;
using Engagement.Sdk.Journeys;
using Engagement.Sdk.Profiles;
using Engagement.Sdk.Storage;
using Engagement.Sdk.Testing.Journeys;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace Engagement.Sdk.Tests.Journeys;

/// <summary>The journey engine through the whole SDK: stages in every direction, time, steps, control groups, erasure, merges, versions.</summary>
public sealed class JourneyEngineTests
{
    private static readonly DateTimeOffset T0 = JourneyTestHost.DefaultStart;
    private static readonly CustomerId Ann = new("ann");
    private static readonly Identifier AnnEmail = Identifier.Email("ann@example.com");

    [Fact]
    public async Task Lifecycle_ViewCartOrderOrder_MovesForwardThroughTheFourStages()
    {
        await using var host = JourneyTestHost.Create();

        var first = await host.TrackAsync(View("1", T0));
        await host.TrackAsync(Cart("2", T0.AddMinutes(1)));
        await host.TrackAsync(Order("3", T0.AddMinutes(2)));
        await host.TrackAsync(Order("4", T0.AddDays(20)));

        first.Transitions.Should().ContainSingle().Which.Should().Match<StageTransition>(t => t.FromStageId == null && t.ToStageId == "attraction" && t.Reason == "entry true");
        var path = await host.PathAsync(Ann, "lifecycle");
        path.Stages.Should().Equal("attraction", "relationship", "conversion", "engagement");
        path.CurrentStage.Should().Be("engagement");
    }

    [Fact]
    public async Task Lifecycle_FirstEventIsAPurchase_EntersConversionAndTheFunnelReportsTheEarlierStagesSkipped()
    {
        await using var host = JourneyTestHost.Create();

        await host.TrackAsync(Order("1", T0));

        var path = await host.PathAsync(Ann, "lifecycle");
        path.Stages.Should().Equal("conversion");
        var report = await JourneyKpis.BuildAsync(JourneyDefinition.Lifecycle, host.Store, host.Clock.GetUtcNow());
        report.Stages.Select(s => (s.StageId, s.Reached, s.Skipped, s.Now)).Should().Equal(("attraction", 0, 1, 0), ("relationship", 0, 1, 0), ("conversion", 1, 0, 1), ("engagement", 0, 0, 0));
    }

    [Fact]
    public async Task Lapse_NoPurchaseFor90And180Days_MovesToAtRiskThenLapsedBySweepAndAPurchaseBringsThemBack()
    {
        await using var host = LapseHost();
        await GrantEmail(host);
        await host.TrackAsync(Order("1", T0, AnnEmail));
        await host.TrackAsync(Order("2", T0.AddDays(10)));

        (await host.AdvanceAsync(TimeSpan.FromDays(90).Add(TimeSpan.FromMinutes(-1)))).Customers.Should().Be(0, "nothing is due a minute before 90 days");
        var atRisk = await host.AdvanceAsync(TimeSpan.FromMinutes(1));
        await host.AdvanceAsync(TimeSpan.FromDays(100));
        await host.TrackAsync(Order("3", T0.AddDays(250)));

        atRisk.Customers.Should().Be(1);
        var path = await host.PathAsync(Ann, "lifecycle");
        path.Stages.Should().Equal("conversion", "engagement", "at_risk", "lapsed", "engagement");
        var moves = path.Entries.Where(e => e.Kind == JourneyHistoryKind.Moved).ToList();
        moves[1].At.Should().Be(T0.AddDays(100), "the move is recorded when it fell due: 90 days after the last order");
        moves[2].At.Should().Be(T0.AddDays(190));
        path.Sends.Should().Equal("winback_offer");
        host.Sent.Should().ContainSingle(m => m.ActionId == "winback_offer" && m.Channel == Channel.Email);
    }

    [Fact]
    public async Task Lapse_NoSweepAtAll_TheNextEventCatchesUpWithTheSamePath()
    {
        await using var swept = LapseHost();
        await using var unswept = LapseHost();
        foreach (var host in new[] { swept, unswept })
        {
            await host.TrackAsync(Order("1", T0));
            await host.TrackAsync(Order("2", T0.AddDays(10)));
        }

        while (swept.Clock.GetUtcNow() < T0.AddDays(241))
        {
            await swept.AdvanceAsync(TimeSpan.FromDays(1));
        }

        await swept.TrackAsync(Order("3", T0.AddDays(241)));
        await unswept.TrackAsync(Order("3", T0.AddDays(241)));

        var a = await swept.PathAsync(Ann, "lifecycle");
        var b = await unswept.PathAsync(Ann, "lifecycle");
        b.Stages.Should().Equal("conversion", "engagement", "at_risk", "lapsed", "engagement");
        static IEnumerable<(JourneyHistoryKind, string?, DateTimeOffset)> Moves(JourneyPath p)
            => p.Entries.Where(e => e.Kind is JourneyHistoryKind.Entered or JourneyHistoryKind.Moved or JourneyHistoryKind.Exited).Select(e => (e.Kind, e.StageId, e.At));
        Moves(b).Should().Equal(Moves(a));

        // The win-back of the at-risk visit was sent by the sweep when it fell due; the catch-up does not send it late, after
        // the customer has moved on (and bought again).
        a.Entries.Should().Contain(e => e.StepId == "winback" && e.Kind == JourneyHistoryKind.NotSent && e.At == T0.AddDays(100));
        b.Entries.Should().Contain(e => e.StepId == "winback" && e.Kind == JourneyHistoryKind.NotSent && e.Reason!.Contains("left the stage", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Refund_TheOnlyOrderRefundedInFull_RegressesFromConversion()
    {
        await using var host = LapseHost();
        await host.TrackAsync(Order("1", T0, AnnEmail));
        await host.TrackAsync(new Refunded { EventId = "r1", CustomerId = Ann, Timestamp = T0.AddDays(3), OrderId = "o-1", Amount = Money.Of(40m, "EUR") });

        var path = await host.PathAsync(Ann, "lifecycle");
        path.Stages.Should().Equal("conversion", "relationship");
        path.Entries.Single(e => e.Kind == JourneyHistoryKind.Moved).Reason.Should().StartWith("exit ");
        path.Entries.Where(e => e.Kind == JourneyHistoryKind.Revenue).Select(e => e.Amount).Should().Equal(40m, -40m);
    }

    [Fact]
    public async Task Reminder_CartNotBoughtWithinTwoDays_IsSentThroughTheGateAndTheOutboxOnce()
    {
        await using var host = LapseHost();
        await GrantEmail(host);
        await host.TrackAsync(View("v", T0, AnnEmail));
        await host.TrackAsync(Cart("c", T0.AddHours(1)));

        (await host.AdvanceAsync(TimeSpan.FromDays(1))).History.Should().BeEmpty();
        var due = await host.AdvanceAsync(TimeSpan.FromDays(2));
        await host.AdvanceAsync(TimeSpan.FromDays(1));
        await host.SweepAsync();

        due.History.Should().Contain(e => e.Kind == JourneyHistoryKind.Sent && e.ActionId == "cart_reminder");
        var path = await host.PathAsync(Ann, "lifecycle");
        path.Steps.Should().Equal("relationship/wait", "relationship/check", "relationship/remind");
        path.Sends.Should().Equal("cart_reminder");
        var sent = host.Sent.Where(m => m.ActionId == "cart_reminder").Should().ContainSingle().Subject;
        sent.DispatchId.Should().Be(path.Entries.Single(e => e.Kind == JourneyHistoryKind.Sent).DispatchId);
    }

    [Fact]
    public async Task Reminder_BoughtMeanwhile_IsNeverSent()
    {
        await using var host = LapseHost();
        await GrantEmail(host);
        await host.TrackAsync(Cart("c", T0, AnnEmail));
        await host.TrackAsync(Order("o", T0.AddDays(1)));
        await host.AdvanceAsync(TimeSpan.FromDays(5));

        var path = await host.PathAsync(Ann, "lifecycle");
        path.Stages.Should().Equal("relationship", "conversion");
        path.Sends.Should().BeEmpty();
        host.Sent.Should().NotContain(m => m.ActionId == "cart_reminder");
    }

    [Fact]
    public async Task Reminder_WithoutConsent_IsNotSentAndTheReasonIsRecorded()
    {
        await using var host = LapseHost();
        await host.TrackAsync(Cart("c", T0, AnnEmail));

        await host.AdvanceAsync(TimeSpan.FromDays(3));

        var path = await host.PathAsync(Ann, "lifecycle");
        path.Sends.Should().BeEmpty();
        path.Entries.Should().ContainSingle(e => e.Kind == JourneyHistoryKind.NotSent).Which.Reason.Should().Contain("1 rejected");
        host.Sent.Should().BeEmpty();
    }

    [Fact]
    public async Task ReplayedEventAndRepeatedSweeps_NeverRunAStepTwice()
    {
        await using var host = LapseHost();
        await GrantEmail(host);
        var cart = Cart("c", T0, AnnEmail);
        await host.TrackAsync(cart);
        host.Clock.SetUtcNow(T0.AddDays(3));
        await host.SweepAsync();
        await host.SweepAsync();

        var replay = await host.TrackAsync(cart);
        await host.SweepAsync();

        replay.IsDuplicate.Should().BeTrue();
        (await host.PathAsync(Ann, "lifecycle")).Steps.Should().Equal("relationship/wait", "relationship/check", "relationship/remind");
        host.Sent.Count(m => m.ActionId == "cart_reminder").Should().Be(1);
    }

    [Fact]
    public async Task SendStep_OutboxWriteFails_NothingOfTheEventOrTheStepIsKept()
    {
        var failing = new FailingDispatchStore();
        await using var host = JourneyTestHost.Create(b =>
        {
            b.AddJourney(JourneyDefinition.FromJson("""{"id":"welcome","stages":[{"id":"new","entry":{"identifier":["email"]},"steps":[{"id":"hello","type":"send","actions":["welcome"]}]}]}"""));
            b.UseActions(ActionCatalog.Create([new ActionDefinition { Id = "welcome", Name = "Welcome", Kind = ActionKind.Message, Purpose = Purpose.Transactional, Channels = [Channel.Email], Value = 1m }]));
            b.Services.Replace(ServiceDescriptor.Singleton<IDispatchStore>(failing));
        });

        failing.Fail = true;
        var act = async () => await host.TrackAsync(View("v", T0, AnnEmail));
        await act.Should().ThrowAsync<IOException>();

        (await host.Store.GetAsync(Ann)).Should().BeNull("the step's position is undone with the failed send");
        (await host.PathAsync(Ann, "welcome")).Entries.Should().BeEmpty();
        (await host.Services.GetRequiredService<IEventStore>().ReadAsync(Ann).ToListAsync()).Should().BeEmpty();

        failing.Fail = false;
        await host.TrackAsync(View("v", T0, AnnEmail));
        (await host.PathAsync(Ann, "welcome")).Sends.Should().Equal("welcome");
    }

    [Fact]
    public async Task ControlGroup_StableHashSplit_ControlCustomersMoveButAreNeverSentAndTheirWouldBeSendsAreRecorded()
    {
        var journey = JourneyDefinition.FromJson("""
            {"id":"welcome","controlGroup":{"percent":30,"salt":"t1"},"stages":[{"id":"new","entry":{"identifier":["email"]},
             "steps":[{"id":"hello","type":"send","actions":["welcome"]}]}]}
            """);
        var actions = ActionCatalog.Create([new ActionDefinition { Id = "welcome", Name = "Welcome", Kind = ActionKind.Message, Purpose = Purpose.Transactional, Channels = [Channel.Email], Value = 1m }]);
        await using var host = JourneyTestHost.Create(b => b.AddJourney(journey).UseActions(actions), JourneyOnly);
        var ids = Enumerable.Range(0, 400).Select(i => new CustomerId("c" + i)).ToList();
        foreach (var id in ids)
        {
            await host.TrackAsync(new ProductViewed { EventId = "v-" + id, CustomerId = id, Timestamp = T0, ProductId = "p", Identifiers = [Identifier.Email(id.Value + "@example.com")] });
        }

        var paths = new List<JourneyPath>();
        foreach (var id in ids)
        {
            paths.Add(await host.PathAsync(id, "welcome"));
        }

        var control = paths.Where(p => p.IsControl).ToList();
        control.Count.Should().BeInRange(90, 150, "30 % of 400, give or take the hash");
        control.Should().OnlyContain(p => p.Stages.SequenceEqual(new[] { "new" }) && p.Sends.IsEmpty && p.WouldSends.SequenceEqual(new[] { "welcome" }));
        paths.Where(p => !p.IsControl).Should().OnlyContain(p => p.Sends.SequenceEqual(new[] { "welcome" }) && p.WouldSends.IsEmpty);
        host.Sent.Should().HaveCount(400 - control.Count);
        host.Sent.Select(m => m.CustomerId).Should().NotIntersectWith(control.Select(p => p.CustomerId));

        // The split is a stable hash: the same customers are in control on another host.
        await using var again = JourneyTestHost.Create(b => b.AddJourney(journey).UseActions(actions), JourneyOnly);
        foreach (var id in ids.Take(50))
        {
            await again.TrackAsync(new ProductViewed { EventId = "v-" + id, CustomerId = id, Timestamp = T0, ProductId = "p", Identifiers = [Identifier.Email(id.Value + "@example.com")] });
            (await again.PathAsync(id, "welcome")).IsControl.Should().Be(paths[ids.IndexOf(id)].IsControl);
        }
    }

    [Fact]
    public async Task Erasure_CustomerMidJourney_LeavesNoStateTimersOrHistory()
    {
        await using var host = LapseHost();
        await host.TrackAsync(Order("1", T0, AnnEmail));
        (await host.Store.GetAsync(Ann))!.DueAt.Should().Be(T0.AddDays(90));

        var report = await host.Services.GetRequiredService<CustomerErasure>().EraseAsync(Ann);

        report.ItemsRemoved.Should().ContainKey(nameof(InMemoryJourneyStore)).WhoseValue.Should().BePositive();
        (await host.Store.GetAsync(Ann)).Should().BeNull();
        (await host.Store.ListDueAsync(T0.AddYears(5), 10)).Should().BeEmpty();
        (await host.Store.ReadHistoryAsync(Ann).ToListAsync()).Should().BeEmpty();
        host.Clock.SetUtcNow(T0.AddDays(400));
        (await host.SweepAsync()).Customers.Should().Be(0);
    }

    [Fact]
    public async Task WindowedCondition_AcrossAMerge_CountsTheEventsOfBothProfiles()
    {
        var journey = JourneyDefinition.FromJson("""
            {"id":"interest","stages":[{"id":"browsing","entry":true},{"id":"interested","entry":{"event":"product_viewed","within":"P7D","count":{"ge":3}}}]}
            """);
        await using var host = JourneyTestHost.Create(b => b.AddJourney(journey));
        var cookie = Identifier.Anonymous("cookie-1");
        var anon = new CustomerId("anon-1");
        await host.TrackAsync(new ProductViewed { EventId = "a1", CustomerId = anon, Timestamp = T0, ProductId = "p1", Identifiers = [cookie] });
        await host.TrackAsync(new ProductViewed { EventId = "a2", CustomerId = anon, Timestamp = T0.AddHours(1), ProductId = "p2", Identifiers = [cookie] });
        await host.TrackAsync(new ProductViewed { EventId = "b1", CustomerId = Ann, Timestamp = T0.AddHours(2), ProductId = "p3", Identifiers = [AnnEmail] });
        (await host.PathAsync(Ann, "interest")).CurrentStage.Should().Be("browsing");

        // The anonymous visitor logs in: the profiles merge, and so do their counters.
        var merged = await host.TrackAsync(new PageViewed { EventId = "login", CustomerId = anon, Timestamp = T0.AddHours(3), Url = "/account", Identifiers = [cookie, AnnEmail] });

        var survivor = merged.Profile!.Id;
        (await host.PathAsync(survivor, "interest")).CurrentStage.Should().Be("interested");
        var other = survivor == Ann ? anon : Ann;
        (await host.Store.GetAsync(other)).Should().BeNull("the merged profile's state was folded into the survivor's");
    }

    [Fact]
    public async Task Versions_InFlightCustomersKeepTheirVersionUnlessAMigrationRuleMovesThem()
    {
        var v1 = JourneyDefinition.FromJson("""{"id":"onboarding","version":1,"stages":[{"id":"welcome","entry":true,"steps":[{"id":"w","type":"wait","duration":"P3D"},{"id":"tip","type":"send","actions":["tip"]}]}]}""");
        var v2 = JourneyDefinition.FromJson("""{"id":"onboarding","version":2,"stages":[{"id":"hello","entry":true,"steps":[{"id":"w","type":"wait","duration":"P1D"},{"id":"tip2","type":"send","actions":["tip"]}]}]}""");
        var v3 = JourneyDefinition.FromJson("""{"id":"onboarding","version":3,"migrations":[{"from":1,"stages":{"welcome":"hello"}}],"stages":[{"id":"hello","entry":true,"steps":[{"id":"w","type":"wait","duration":"P1D"},{"id":"tip3","type":"send","actions":["tip"]}]}]}""");
        var actions = ActionCatalog.Create([new ActionDefinition { Id = "tip", Name = "Tip", Kind = ActionKind.Message, Purpose = Purpose.Transactional, Channels = [Channel.Email], Value = 1m }]);
        var shared = new SharedStores();

        await using (var first = JourneyTestHost.Create(b => shared.Use(b.AddJourney(v1).UseActions(actions))))
        {
            await first.TrackAsync(View("v1", T0, AnnEmail));
        }

        // Version 2 is deployed without a rule: the customer in flight keeps version 1 (its three-day wait).
        await using (var second = JourneyTestHost.Create(b => shared.Use(b.AddJourney(v1).AddJourney(v2).UseActions(actions)), start: T0))
        {
            await second.TrackAsync(new ProductViewed { EventId = "bob", CustomerId = new CustomerId("bob"), Timestamp = T0.AddHours(1), ProductId = "p", Identifiers = [Identifier.Email("bob@example.com")] });
            await second.AdvanceAsync(TimeSpan.FromDays(2));
            var ann = await second.PathAsync(Ann, "onboarding");
            ann.Entries.Should().OnlyContain(e => e.Version == 1);
            ann.Sends.Should().BeEmpty("version 1 waits three days");
            (await second.PathAsync(new CustomerId("bob"), "onboarding")).Sends.Should().Equal("tip");
        }

        // Version 3 migrates version 1's customers: the wait keeps its start, so the one-day wait is over.
        await using var third = JourneyTestHost.Create(b => shared.Use(b.AddJourney(v1).AddJourney(v2).AddJourney(v3).UseActions(actions)), start: T0.AddDays(2));
        await third.AdvanceAsync(TimeSpan.FromMinutes(1));
        await third.TrackAsync(new PageViewed { EventId = "later", CustomerId = Ann, Timestamp = third.Clock.GetUtcNow(), Url = "/" });
        var migrated = await third.PathAsync(Ann, "onboarding");
        migrated.Entries.Should().Contain(e => e.Kind == JourneyHistoryKind.Migrated && e.Version == 3 && e.StageId == "hello");
        migrated.Sends.Should().Equal("tip");
        migrated.CurrentStage.Should().Be("hello");
    }

    [Fact]
    public async Task Terminal_AndReEntry_NoMoveOutOfATerminalStageUntilReEntryIsAllowed()
    {
        var journey = JourneyDefinition.FromJson("""
            {"id":"trial","reEntry":{"allowed":true,"after":"P30D"},"stages":[
              {"id":"trying","entry":{"aggregate":"orders","eq":0}},
              {"id":"churned","entry":{"event":"page_viewed","within":"P7D","count":{"eq":0}},"priority":5,"terminal":true},
              {"id":"bought","entry":{"aggregate":"orders","ge":1},"priority":6}]}
            """);
        await using var host = JourneyTestHost.Create(b => b.AddJourney(journey));
        await host.TrackAsync(new PageViewed { EventId = "p1", CustomerId = Ann, Timestamp = T0, Url = "/" });
        await host.AdvanceAsync(TimeSpan.FromDays(8));
        (await host.PathAsync(Ann, "trial")).CurrentStage.Should().Be("churned");

        await host.TrackAsync(Order("o", T0.AddDays(10)));
        (await host.PathAsync(Ann, "trial")).CurrentStage.Should().Be("churned", "nothing moves a customer out of a terminal stage");

        host.Clock.SetUtcNow(T0.AddDays(40));
        await host.TrackAsync(new PageViewed { EventId = "p2", CustomerId = Ann, Timestamp = T0.AddDays(40), Url = "/" });
        var path = await host.PathAsync(Ann, "trial");
        path.Stages.Should().Equal("trying", "churned", "bought");
        path.Entries.Count(e => e.Kind == JourneyHistoryKind.Entered).Should().Be(2);
    }

    [Fact]
    public async Task SeveralTracks_EligibilityNamesTheStageOfAnotherJourney()
    {
        var onboarding = JourneyDefinition.FromJson("""{"id":"onboarding","stages":[{"id":"new","entry":true},{"id":"done","entry":{"aggregate":"orders","ge":1}}]}""");
        var actions = ActionCatalog.Create([
            new ActionDefinition { Id = "first-order", Name = "First order", Channels = [Channel.Email], Value = 10m, BasePropensity = 0.2, Eligibility = Condition.InStage("onboarding", "new") },
            new ActionDefinition { Id = "loyal", Name = "Loyalty", Channels = [Channel.Email], Value = 1m, BasePropensity = 0.2, Eligibility = Condition.InStage("onboarding", "done") },
        ]);
        await using var host = JourneyTestHost.Create(b => b.AddJourney(onboarding).UseActions(actions), JourneyOnly);
        await GrantEmail(host);
        await host.TrackAsync(View("v", T0, AnnEmail));

        var before = await host.Engine.DecideAsync(Ann);
        await host.TrackAsync(Order("o", T0.AddDays(1)));
        var after = await host.Engine.DecideAsync(Ann);

        (await host.StagesAsync(Ann)).Should().BeEquivalentTo(new Dictionary<string, string> { ["lifecycle"] = "conversion", ["onboarding"] = "done" });
        before.Action.Id.Should().Be("first-order");
        before.Candidates.Should().Contain(c => c.ActionId == "loyal" && c.Reason == DecisionReasons.NotEligible);
        after.Action.Id.Should().Be("loyal");
    }

    [Fact]
    public async Task DecideAsync_CustomersOneAfterAnother_EachIsJudgedOnItsOwnStages()
    {
        var onboarding = JourneyDefinition.FromJson("""{"id":"onboarding","stages":[{"id":"new","entry":true},{"id":"done","entry":{"aggregate":"orders","ge":1}}]}""");
        var actions = ActionCatalog.Create([
            new ActionDefinition { Id = "loyal", Name = "Loyalty", Channels = [Channel.Email], Value = 1m, BasePropensity = 0.2, Eligibility = Condition.InStage("onboarding", "done") },
        ]);
        await using var host = JourneyTestHost.Create(b => b.AddJourney(onboarding).UseActions(actions), JourneyOnly);
        await GrantEmail(host);
        await host.TrackAsync(View("v", T0, AnnEmail));
        await host.TrackAsync(Order("o", T0.AddDays(1)));

        // The decisions load each customer's journey facts in turn (into the same reused state, one decision at a time).
        var ann = await host.Engine.DecideAsync(Ann);
        var stranger = await host.Engine.DecideAsync(new CustomerId("stranger"));
        var annAgain = await host.Engine.DecideAsync(Ann);

        ann.Action.Id.Should().Be("loyal");
        stranger.Candidates.Should().Contain(c => c.ActionId == "loyal" && c.Reason == DecisionReasons.NotEligible, "a customer with no journey state is in no stage");
        annAgain.Action.Id.Should().Be("loyal");
    }

    // The seed journey with lapse stages and a reminder step, and only the journey's sends (no live decisions on events).
    private static JourneyTestHost LapseHost() => JourneyTestHost.Create(
        b =>
        {
            b.Services.Configure<EngagementOptions>(o => o.Journeys.Clear());
            b.AddJourney(JourneyDefinition.FromJson(JourneyDefinitionTests.LapseJson)).UseActions(JourneyDefinitionTests.LapseActions);
        },
        JourneyOnly);

    // Only the journeys' sends: no live decisions on events or stage changes.
    private static void JourneyOnly(EngagementOptions o)
    {
        o.DecisionTriggers.Clear();
        o.DecideOnStageChange = false;
    }

    private static ValueTask<AppendOutcome> GrantEmail(JourneyTestHost host) => host.ConsentAsync(new ConsentRecord
    {
        RecordId = "g-" + Guid.NewGuid().ToString("N"), CustomerId = Ann, Channel = Channel.Email, Purpose = Purpose.Marketing, Identifier = AnnEmail,
        Status = ConsentStatus.Granted, Source = "test", Evidence = new ConsentEvidence("v1", "signup"), EffectiveAt = T0.AddDays(-1),
    });

    private static ProductViewed View(string id, DateTimeOffset at, Identifier? identifier = null)
        => new() { EventId = id, CustomerId = Ann, Timestamp = at, ProductId = "p-" + id, Identifiers = identifier is null ? [] : [identifier] };

    private static AddedToCart Cart(string id, DateTimeOffset at, Identifier? identifier = null)
        => new() { EventId = id, CustomerId = Ann, Timestamp = at, ProductId = "p-" + id, Identifiers = identifier is null ? [] : [identifier] };

    private static Purchased Order(string id, DateTimeOffset at, Identifier? identifier = null)
        => new() { EventId = id, CustomerId = Ann, Timestamp = at, OrderId = "o-" + id, Lines = [new OrderLine("p-" + id, 1, Money.Of(40m, "EUR"))], Identifiers = identifier is null ? [] : [identifier] };

    /// <summary>Stores shared by several hosts, as a database outlives a deployment.</summary>
    private sealed class SharedStores
    {
        private readonly IJourneyStore _journeys = new InMemoryJourneyStore();
        private readonly IProfileStore _profiles = new InMemoryProfileStore();
        private readonly IEventStore _events = new InMemoryEventStore();
        private readonly IDispatchStore _dispatches = new InMemoryDispatchStore();
        private readonly IConsentStore _consents = new InMemoryConsentStore();

        public EngagementBuilder Use(EngagementBuilder builder)
        {
            builder.Services.Replace(ServiceDescriptor.Singleton(_journeys));
            builder.Services.Replace(ServiceDescriptor.Singleton(_profiles));
            builder.Services.Replace(ServiceDescriptor.Singleton(_events));
            builder.Services.Replace(ServiceDescriptor.Singleton(_dispatches));
            builder.Services.Replace(ServiceDescriptor.Singleton(_consents));
            return builder;
        }
    }

    /// <summary>A dispatch store whose writes fail on demand.</summary>
    private sealed class FailingDispatchStore : IDispatchStore
    {
        private readonly InMemoryDispatchStore _inner = new();

        public bool Fail { get; set; }

        public ValueTask<bool> TryBeginAsync(DispatchRecord record, CancellationToken cancellationToken = default)
            => Fail ? throw new IOException("the outbox is unavailable") : _inner.TryBeginAsync(record, cancellationToken);

        public ValueTask<bool> TryUpdateAsync(DispatchRecord record, DispatchStatus expected, CancellationToken cancellationToken = default) => _inner.TryUpdateAsync(record, expected, cancellationToken);

        public ValueTask<IReadOnlyList<DispatchRecord>> ClaimAsync(DateTimeOffset now, string owner, DateTimeOffset leaseUntil, int max, CancellationToken cancellationToken = default) => _inner.ClaimAsync(now, owner, leaseUntil, max, cancellationToken);

        public ValueTask<bool> TrySettleAsync(DispatchRecord record, string owner, CancellationToken cancellationToken = default) => _inner.TrySettleAsync(record, owner, cancellationToken);

        public ValueTask<DispatchRecord?> GetAsync(string dispatchId, CancellationToken cancellationToken = default) => _inner.GetAsync(dispatchId, cancellationToken);

        public ValueTask<IReadOnlyList<DispatchRecord>> ListAsync(CustomerId customerId, DateTimeOffset since, CancellationToken cancellationToken = default) => _inner.ListAsync(customerId, since, cancellationToken);

        public IAsyncEnumerable<DispatchRecord> ListByStatusAsync(DispatchStatus status, CancellationToken cancellationToken = default) => _inner.ListByStatusAsync(status, cancellationToken);
    }
}
