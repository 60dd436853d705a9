using Microsoft.Extensions.Time.Testing;
using Engagement.Sdk.Channels;
using Engagement.Sdk.Consent;
using Engagement.Sdk.Decisioning;
using Engagement.Sdk.Events;
using Engagement.Sdk.Profiles;
using Engagement.Sdk.Storage;
using Engagement.Sdk.Testing;
using Microsoft.Extensions.DependencyInjection;

namespace Engagement.Sdk.Tests.Decisioning;

/// <summary>The decision pipeline inside the engine: what a tracked event decides, queues, logs and learns.</summary>
public sealed class EngineDecisioningTests
{
    private static readonly DateTimeOffset T0 = new(2026, 6, 1, 9, 0, 0, TimeSpan.Zero);

    [Fact]
    public async Task Cart_QueuedDecision_LogsItsChoiceProbabilityOnTheDispatchTheMessageSentEventAndTheExport()
    {
        await using var shop = await EngineShop.CreateAsync([Offer("offer", 10m), Offer("other", 8m)], o => o.ExplorationFloor = 0.3);

        var tracked = await shop.CartAsync("c0", "cart-1");
        var queued = tracked.Dispatch!.Result.DispatchId;
        var dispatch = (await shop.Dispatches.GetAsync(queued))!;
        await shop.Worker.DeliverDueAsync();
        var sent = (await shop.Events.ReadAsync(new CustomerId("c0")).ToListAsync()).OfType<MessageSent>().Single();
        var export = await shop.Services.GetRequiredService<CustomerDataPortability>().ExportAsync(new CustomerId("c0"));

        tracked.Decision!.DispatchId.Should().Be(queued, "the trace is linked to the dispatch");
        tracked.Decision.ToTrace().DispatchId.Should().Be(queued);
        dispatch.Decision!.ChoiceProbability.Should().Be(tracked.Decision.ChoiceProbability).And.BeInRange(0.1, 1);
        dispatch.Decision.DecisionId.Should().Be("event:cart-1");
        dispatch.Decision.Policy.Should().Be("champion");
        dispatch.Decision.Candidates.Should().Be(3);
        sent.ChoiceProbability.Should().Be(tracked.Decision.ChoiceProbability);
        sent.Policy.Should().Be("champion");
        export.Dispatches.Single().Decision!.ChoiceProbability.Should().Be(tracked.Decision.ChoiceProbability);
        export.Events.OfType<MessageSent>().Single().ChoiceProbability.Should().Be(tracked.Decision.ChoiceProbability);
    }

    [Fact]
    public async Task Cart_TheSameOfferThreeTimesInFiveDays_IsSentOnceUnderAWeeklyLimit()
    {
        await using var shop = await EngineShop.CreateAsync([
            Offer("offer", 10m) with { ContactPolicy = new ActionContactPolicy { MaxSends = 1, Window = TimeSpan.FromDays(7) } },
            Offer("guide", 2m),
        ]);

        var first = await shop.CartAsync("c0", "cart-1");
        shop.Clock.Advance(TimeSpan.FromDays(2));
        var second = await shop.CartAsync("c0", "cart-2");
        shop.Clock.Advance(TimeSpan.FromDays(3));
        var third = await shop.CartAsync("c0", "cart-3");

        first.Decision!.Action.Id.Should().Be("offer");
        second.Decision!.Action.Id.Should().Be("guide");
        third.Decision!.Action.Id.Should().Be("guide");
        third.Decision.Candidates.Single(c => c.ActionId == "offer").Reason.Should().Be(DecisionReasons.ActionSendLimit);
        (await shop.Dispatches.ListAsync(new CustomerId("c0"), T0.AddDays(-1))).Count(d => d.ActionId == "offer").Should().Be(1);
    }

    [Fact]
    public async Task Cart_ALimitedOfferForFortyCustomers_GoesToItsBudgetOnly()
    {
        await using var shop = await EngineShop.CreateAsync([
            Offer("limited", 50m) with { Budget = new ActionBudget { Limit = 10, Period = BudgetPeriod.Total } },
            Offer("standard", 5m),
        ], customers: 40);

        foreach (var customer in shop.Customers)
        {
            await shop.CartAsync(customer.Value, "cart-" + customer.Value);
        }

        var queued = new List<DispatchRecord>();
        await foreach (var d in shop.Dispatches.ListByStatusAsync(DispatchStatus.Queued))
        {
            queued.Add(d);
        }

        queued.Count(d => d.ActionId == "limited").Should().Be(10);
        queued.Count(d => d.ActionId == "standard").Should().Be(30);
        (await shop.Services.GetRequiredService<IActionBudgetStore>().GetUsedAsync("limited", DateTimeOffset.MinValue)).Should().Be(10);
    }

    [Fact]
    public async Task Cart_WhoseDispatchWasBegunBefore_IsAReplayThatGivesItsBudgetBack()
    {
        await using var shop = await EngineShop.CreateAsync([Offer("limited", 50m) with { Budget = new ActionBudget { Limit = 10, Period = BudgetPeriod.Total } }]);
        var cart = new AddedToCart { EventId = "cart-1", CustomerId = new CustomerId("c0"), Timestamp = shop.Clock.GetUtcNow(), ProductId = "sku-1" };
        var id = EngagementEngine.DispatchIdFor(cart, "limited", Channel.Email);
        (await shop.Dispatches.TryBeginAsync(new DispatchRecord
        {
            DispatchId = id, CustomerId = cart.CustomerId, Channel = Channel.Email, Purpose = Purpose.Marketing, ActionId = "limited", CreatedAt = T0.AddMinutes(-5),
        })).Should().BeTrue();

        var tracked = await shop.Engine.TrackAsync(cart);

        tracked.Decision!.Action.Id.Should().Be("limited");
        tracked.Dispatch!.Result.Should().Be(new DispatchResult(id, DispatchStatus.Queued, 0, null) { WasReplay = true });
        tracked.Decision.DispatchId.Should().Be(id);
        (await shop.Dispatches.GetAsync(id))!.CreatedAt.Should().Be(T0.AddMinutes(-5), "the dispatch begun before is kept as it was");
        var budgets = shop.Services.GetRequiredService<IActionBudgetStore>();
        (await budgets.GetUsedAsync("limited", ActionBudget.PeriodStart(BudgetPeriod.Total, T0))).Should().Be(0, "nothing new was queued, so the reservation was given back");
    }

    [Fact]
    public async Task Cart_AnItemInTheCart_IsNotRecommended()
    {
        await using var shop = await EngineShop.CreateAsync([
            Offer("rec-shoes", 30m) with { ProductId = "sku-shoes", Kind = ActionKind.ProductRecommendation },
            Offer("rec-socks", 10m) with { ProductId = "sku-socks", Kind = ActionKind.ProductRecommendation },
        ]);

        var tracked = await shop.CartAsync("c0", "cart-1", "sku-shoes");

        tracked.Decision!.Action.Id.Should().Be("rec-socks");
        tracked.Decision.Candidates.Single(c => c.ActionId == "rec-shoes").Reason.Should().Be(DecisionReasons.InCart);
    }

    [Fact]
    public async Task Cart_CustomersInTheGlobalControlGroup_GetNothingAndTheirWouldBeSendsAreLogged()
    {
        await using var shop = await EngineShop.CreateAsync([Offer("offer", 10m)], o => o.GlobalControlShare = 0.5, customers: 30);

        var withheld = 0;
        foreach (var customer in shop.Customers)
        {
            var tracked = await shop.CartAsync(customer.Value, "cart-" + customer.Value);
            var logged = await shop.Dispatches.ListAsync(customer, T0.AddDays(-1));
            if (tracked.Decision!.Withheld is not null)
            {
                withheld++;
                tracked.Dispatch.Should().BeNull();
                var log = logged.Single();
                (log.Status, log.Reason, log.Decision!.ControlGroup).Should().Be((DispatchStatus.Cancelled, DispatchReasons.ControlGroup, "global"));
                log.Decision.ChoiceProbability.Should().Be(1);
                tracked.Decision.DispatchId.Should().Be(log.DispatchId);
            }
            else
            {
                logged.Single().Status.Should().Be(DispatchStatus.Queued);
            }
        }

        withheld.Should().BeInRange(5, 25);
        await shop.Worker.DeliverDueAsync();
        shop.Sender.Messages.Should().HaveCount(30 - withheld, "the control group is never sent anything");
    }

    [Fact]
    public async Task Dismissal_KeepsTheActionAwayForItsGap()
    {
        await using var shop = await EngineShop.CreateAsync([
            Offer("offer", 10m) with { ContactPolicy = new ActionContactPolicy { MinGapAfterDismissal = TimeSpan.FromDays(14) } },
            Offer("guide", 2m),
        ]);
        var first = await shop.CartAsync("c0", "cart-1");
        var sent = (await shop.Worker.DeliverDueAsync()).Single();

        await shop.Engine.TrackAsync(new MessageDismissed { EventId = "dismiss-1", CustomerId = new CustomerId("c0"), Timestamp = shop.Clock.GetUtcNow(), Channel = Channel.Email, DispatchId = sent.DispatchId, ActionId = "offer" });
        shop.Clock.Advance(TimeSpan.FromDays(2));
        var second = await shop.CartAsync("c0", "cart-2");

        first.Decision!.Action.Id.Should().Be("offer");
        second.Decision!.Action.Id.Should().Be("guide");
        second.Decision.Candidates.Single(c => c.ActionId == "offer").Reason.Should().Be(DecisionReasons.ActionDismissalGap);
    }

    [Fact]
    public async Task Click_WithinTheWindowRaisesThePropensity_AfterItOrRepeatedDoesNot()
    {
        await using var shop = await EngineShop.CreateAsync([Offer("offer", 10m)], o => { o.AttributionWindow = TimeSpan.FromDays(2); o.Segments = LearningSegments.None; }, customers: 2);
        await shop.CartAsync("c0", "cart-0");
        await shop.CartAsync("c1", "cart-1");
        var sent = await shop.Worker.DeliverDueAsync();
        var model = shop.Services.GetRequiredService<AdaptivePropensities>();
        var afterSends = await model.GetPosteriorAsync("offer", Channel.Email);

        shop.Clock.Advance(TimeSpan.FromDays(1));
        await shop.ClickAsync(sent[0], "k0");
        await shop.ClickAsync(sent[0], "k1");
        shop.Clock.Advance(TimeSpan.FromDays(2));
        await shop.ClickAsync(sent[1], "k2");
        var after = await model.GetPosteriorAsync("offer", Channel.Email);

        (afterSends.Alpha, afterSends.Beta).Should().Be((10, 12), "the prior is Beta(10, 10), and two sends had no response yet");
        (after.Alpha, after.Beta).Should().Be((11, 11), "one message answered within the window, however often it was clicked; the other was clicked too late");
    }

    [Fact]
    public async Task SentDispatches_MakeADecisionLogForOffPolicyEvaluation()
    {
        await using var shop = await EngineShop.CreateAsync([Offer("offer", 10m), Offer("other", 8m)], o => o.ExplorationFloor = 0.4, customers: 8);
        foreach (var customer in shop.Customers)
        {
            await shop.CartAsync(customer.Value, "cart-" + customer.Value);
        }

        var settled = await shop.Worker.DeliverDueAsync();
        await shop.ClickAsync(settled[0], "k0");
        var sent = new List<DispatchRecord>();
        await foreach (var d in shop.Dispatches.ListByStatusAsync(DispatchStatus.Sent))
        {
            sent.Add(d);
        }

        var log = LoggedDispatches.ToDecisionLog(sent, TimeSpan.FromDays(7));

        settled.Should().NotBeEmpty();
        log.Count.Should().Be(settled.Length);
        log.Responses.Should().Be(1);
        for (var i = 0; i < log.Count; i++)
        {
            log[i].Propensity.Should().Be(sent[i].Decision!.ChoiceProbability);
            (log[i].Action, log[i].Channel).Should().Be((sent[i].ActionId, sent[i].Channel));
            log[i].Reward.Should().Be(sent[i].DispatchId == settled[0].DispatchId ? 1 : 0);
        }
    }

    private static ActionDefinition Offer(string id, decimal value) => new() { Id = id, Name = id, Channels = [Channel.Email], Value = value, BasePropensity = 0.5 };

    /// <summary>The engine with in-memory stores, an email channel, and customers c0… with an address and marketing consent.</summary>
    private sealed class EngineShop : IAsyncDisposable
    {
        private EngineShop(ServiceProvider services, FakeTimeProvider clock, InMemoryChannelSender sender, IReadOnlyList<CustomerId> customers)
            => (Services, Clock, Sender, Customers) = (services, clock, sender, customers);

        public ServiceProvider Services { get; }

        public FakeTimeProvider Clock { get; }

        public InMemoryChannelSender Sender { get; }

        public IReadOnlyList<CustomerId> Customers { get; }

        public IEngagementEngine Engine => Services.GetRequiredService<IEngagementEngine>();

        public DispatchWorker Worker => Services.GetRequiredService<DispatchWorker>();

        public IDispatchStore Dispatches => Services.GetRequiredService<IDispatchStore>();

        public IEventStore Events => Services.GetRequiredService<IEventStore>();

        public static async Task<EngineShop> CreateAsync(ActionDefinition[] actions, Action<DecisioningOptions>? configure = null, int customers = 1)
        {
            var clock = new FakeTimeProvider(T0);
            var sender = new InMemoryChannelSender(Channel.Email);
            var services = new ServiceCollection();
            services.AddSingleton<TimeProvider>(clock);
            services.AddEngagement(o => o.DecideOnStageChange = false)
                .AddChannel(sender)
                .UseActions(ActionCatalog.Create(actions))
                .ConfigureDecisions(o =>
                {
                    o.Exploration = ExplorationMode.Greedy;
                    configure?.Invoke(o);
                });
            services.Configure<ContactPolicyOptions>(o =>
            {
                o.Caps.Clear();
                o.Caps.Add(new FrequencyCap { Channel = null, Limit = 20, Window = TimeSpan.FromDays(1) });
            });
            var shop = new EngineShop(services.BuildServiceProvider(), clock, sender, [.. Enumerable.Range(0, customers).Select(i => new CustomerId("c" + i))]);
            foreach (var customer in shop.Customers)
            {
                var email = Identifier.Email(customer.Value + "@example.com");
                await shop.Engine.TrackAsync(new ProfileUpdated { EventId = "p-" + customer.Value, CustomerId = customer, Timestamp = T0.AddDays(-1), TimeZone = "Etc/UTC", Identifiers = [email] });
                await shop.Engine.RecordConsentAsync(new ConsentRecord
                {
                    RecordId = "g-" + customer.Value, CustomerId = customer, Channel = Channel.Email, Purpose = Purpose.Marketing, Identifier = email,
                    Status = ConsentStatus.Granted, Source = "form", Evidence = new ConsentEvidence("v1", "form"), EffectiveAt = T0.AddDays(-1),
                });
            }

            return shop;
        }

        public ValueTask<TrackResult> CartAsync(string customer, string eventId, string product = "sku-1")
            => Engine.TrackAsync(new AddedToCart { EventId = eventId, CustomerId = new CustomerId(customer), Timestamp = Clock.GetUtcNow(), ProductId = product });

        public ValueTask<TrackResult> ClickAsync(DispatchRecord sent, string eventId)
            => Engine.TrackAsync(new MessageClicked { EventId = eventId, CustomerId = sent.CustomerId, Timestamp = Clock.GetUtcNow(), Channel = sent.Channel, DispatchId = sent.DispatchId, ActionId = sent.ActionId });

        public ValueTask DisposeAsync() => Services.DisposeAsync();
    }
}
