using Engagement.Sdk.Channels;
using Engagement.Sdk.Consent;
using Engagement.Sdk.Decisioning;
using Engagement.Sdk.Events;
using Engagement.Sdk.Profiles;
using Engagement.Sdk.Storage;
using Engagement.Sdk.Testing;
using Microsoft.Extensions.DependencyInjection;

namespace Engagement.Sdk.Tests.Consent;

/// <summary>
/// Contact pressure as a priority queue: a message a cap defers is held instead of dropped, released when policy allows,
/// highest priority first, and a higher-priority message takes the place of a lower one.
/// </summary>
public sealed class HeldMessageTests
{
    private static readonly CustomerId Ann = new("ann");
    private static readonly Identifier AnnEmail = Identifier.Email("ann@example.com");
    private static readonly DateTimeOffset T0 = new(2026, 3, 2, 9, 0, 0, TimeSpan.Zero);

    // Scores: welcome 5 > promo 0.5 > urgent 0.1; priorities: urgent 10 > welcome 5 > promo 1.
    private static readonly ActionDefinition Welcome = new() { Id = "welcome", Name = "Welcome", Channels = [Channel.Email], Value = 50m, BasePropensity = 0.1, Priority = 5 };
    private static readonly ActionDefinition Promo = new() { Id = "promo", Name = "Promo", Channels = [Channel.Email], Value = 5m, BasePropensity = 0.1, Priority = 1, HoldFor = TimeSpan.FromDays(3) };
    private static readonly ActionDefinition Urgent = new() { Id = "urgent", Name = "Back in stock", Channels = [Channel.Email], Value = 1m, BasePropensity = 0.1, Priority = 10, HoldFor = TimeSpan.FromDays(3), ProductId = "sku-x" };

    [Fact]
    public async Task TrackAsync_CappedActionWithHoldFor_IsHeldNotDroppedAndNotCountedByTheCap()
    {
        await using var shop = await Shop.CreateAsync();
        await shop.CartAsync("c1", T0); // welcome takes the day's slot

        var result = await shop.CartAsync("c2", T0.AddHours(1));

        var held = result.HeldMessages.Should().ContainSingle().Subject;
        held.Status.Should().Be(HeldMessageStatus.Held);
        held.Reason.Should().Be(HoldReasons.Deferred);
        held.Detail.Should().StartWith(PermissionReasons.FrequencyCap);
        held.Record.ActionId.Should().Be("urgent", "of the deferred candidates that may be held, the highest priority is held");
        held.Record.ReleaseAt.Should().Be(T0.AddDays(1), "the rolling one-day cap frees its slot a day after the first send");
        held.Record.ExpiresAt.Should().Be(T0.AddHours(1) + Urgent.HoldFor!.Value);
        (await shop.LogAsync()).Should().Contain(d => d.ActionId == "urgent" && d.Status == DispatchStatus.Held);
        shop.Email.Messages.Select(m => m.ActionId).Should().Equal("welcome");
    }

    [Fact]
    public async Task ReleaseHeldAsync_TwoHeldForOneSlot_SendsTheHigherPriorityFirstEvenIfHeldLater()
    {
        await using var shop = await Shop.CreateAsync();
        shop.Stock.Out.Add("sku-x");
        await shop.CartAsync("c1", T0);
        await shop.CartAsync("c2", T0.AddHours(1)); // promo held first
        shop.Stock.Out.Clear();
        (await shop.CartAsync("c3", T0.AddHours(2))).HeldMessages.Should().ContainSingle(h => h.Record.ActionId == "urgent" && h.Status == HeldMessageStatus.Held);

        shop.Clock.Now = T0.AddDays(1).AddMinutes(1);
        var first = await shop.Engine.ReleaseHeldAsync();

        first.Should().HaveCount(2);
        first[0].Record.ActionId.Should().Be("urgent");
        first[0].Status.Should().Be(HeldMessageStatus.Released);
        first[0].Dispatch!.Status.Should().Be(DispatchStatus.Queued);
        first[1].Record.ActionId.Should().Be("promo");
        first[1].Status.Should().Be(HeldMessageStatus.Rescheduled, "urgent took the only slot");
        first[1].Record.ReleaseAt.Should().Be(shop.Clock.Now.AddDays(1));
        shop.Email.Messages.Select(m => m.ActionId).Should().Equal("welcome", "urgent");

        shop.Clock.Now = T0.AddDays(2).AddMinutes(2);
        var second = await shop.Engine.ReleaseHeldAsync();

        second.Should().ContainSingle().Which.Status.Should().Be(HeldMessageStatus.Released);
        shop.Email.Messages.Select(m => m.ActionId).Should().Equal("welcome", "urgent", "promo");
        (await shop.LogAsync()).Should().OnlyContain(d => d.Status == DispatchStatus.Sent);
        (await shop.ProfileAsync()).Behaviour.MessagesSent[Channel.Email].Should().Be(3);
        (await shop.Engine.ReleaseHeldAsync()).Should().BeEmpty("nothing is held any more");
    }

    [Fact]
    public async Task TrackAsync_QueueFull_AHigherPriorityMessageTakesTheLowerOnesPlaceAndALowerOneIsNotHeld()
    {
        await using var shop = await Shop.CreateAsync(maxHeld: 1);
        shop.Stock.Out.Add("sku-x");
        await shop.CartAsync("c1", T0);
        await shop.CartAsync("c2", T0.AddHours(1)); // promo held
        shop.Stock.Out.Clear();

        var takeover = await shop.CartAsync("c3", T0.AddHours(2));
        var refused = await shop.CartAsync("c4", T0.AddHours(3));

        takeover.HeldMessages.Select(h => (h.Record.ActionId, h.Status, h.Reason)).Should().Equal(
            ("promo", HeldMessageStatus.Cancelled, HoldReasons.Preempted),
            ("urgent", HeldMessageStatus.Held, HoldReasons.Deferred));
        refused.HeldMessages.Should().ContainSingle().Which.Should().Match<HeldMessageOutcome>(h => h.Record.ActionId == "promo" && h.Reason == HoldReasons.QueueFull);
        var log = await shop.LogAsync();
        log.Should().ContainSingle(d => d.Status == DispatchStatus.Held).Which.ActionId.Should().Be("urgent");
        log.Should().ContainSingle(d => d.Status == DispatchStatus.Cancelled).Which.Error.Should().StartWith(HoldReasons.Preempted);

        shop.Clock.Now = T0.AddDays(1).AddMinutes(1);
        await shop.Engine.ReleaseHeldAsync();
        shop.Clock.Now = T0.AddDays(3);
        await shop.Engine.ReleaseHeldAsync();
        shop.Email.Messages.Select(m => m.ActionId).Should().Equal("welcome", "urgent");
    }

    [Fact]
    public async Task TrackAsync_DueHeldMessageOfHigherPriority_GoesBeforeTheLiveDecision()
    {
        await using var shop = await Shop.CreateAsync();
        await shop.CartAsync("c1", T0);
        await shop.CartAsync("c2", T0.AddHours(1)); // urgent held (priority 10), in stock
        shop.Clock.Now = T0.AddDays(1).AddMinutes(1);

        var result = await shop.CartAsync("c3", shop.Clock.Now);

        result.Decision!.Action.Id.Should().Be("welcome", "the decision itself is unchanged");
        result.Dispatch.Should().BeNull("the held urgent message (priority 10) took the slot before welcome (priority 5)");
        result.HeldMessages.Should().Contain(h => h.Record.ActionId == "urgent" && h.Status == HeldMessageStatus.Released);
        shop.Email.Messages.Select(m => m.ActionId).Should().Equal("welcome", "urgent");
    }

    [Fact]
    public async Task TrackAsync_LiveDecisionOfHigherPriority_GoesBeforeADueLowerPriorityHeldMessage()
    {
        await using var shop = await Shop.CreateAsync();
        shop.Stock.Out.Add("sku-x");
        await shop.CartAsync("c1", T0);
        await shop.CartAsync("c2", T0.AddHours(1)); // promo held (priority 1)
        shop.Clock.Now = T0.AddDays(1).AddMinutes(1);

        var result = await shop.CartAsync("c3", shop.Clock.Now);

        result.Dispatch!.Result.Status.Should().Be(DispatchStatus.Queued);
        result.Dispatch.ActionId.Should().Be("welcome");
        result.HeldMessages.Should().ContainSingle().Which.Status.Should().Be(HeldMessageStatus.Rescheduled);
        shop.Email.Messages.Select(m => m.ActionId).Should().Equal("welcome", "welcome");
    }

    [Fact]
    public async Task TrackAsync_MessageHeldForAProfileMergedSince_CompetesOnTheSurvivorsNextEvent()
    {
        await using var shop = await Shop.CreateAsync();
        await shop.CartAsync("c1", T0);
        await shop.CartAsync("c2", T0.AddHours(1)); // urgent held for ann
        var account = new CustomerId("ann-account");
        var loyalty = new Identifier(IdentifierKind.Loyalty, "L-1");
        shop.Clock.Now = T0.AddHours(2);
        await shop.Engine.TrackAsync(new PageViewed { EventId = "p1", CustomerId = account, Timestamp = T0.AddHours(2), Identifiers = [loyalty], Url = "https://shop.example/" });
        await shop.Engine.RecordConsentAsync(Grant("g2", T0.AddHours(2)) with { CustomerId = account });
        shop.Clock.Now = T0.AddHours(3);
        var merged = await shop.Engine.TrackAsync(new PageViewed { EventId = "p2", CustomerId = account, Timestamp = shop.Clock.Now, Identifiers = [loyalty, AnnEmail], Url = "https://shop.example/" });
        merged.Identity!.Merges.Should().ContainSingle(m => m.MergedId == Ann, "ann's profile merged into the account the event named");
        shop.Clock.Now = T0.AddDays(1).AddHours(4); // past the held message's release and the cap's slot

        var result = await shop.Engine.TrackAsync(new AddedToCart { EventId = "c3", CustomerId = account, Timestamp = shop.Clock.Now, ProductId = "sku-c3" });

        result.HeldMessages.Should().Contain(h => h.Record.ActionId == "urgent" && h.Status == HeldMessageStatus.Released, "the survivor's own event releases what was held for the profile merged into it, without waiting for the sweep");
        shop.Email.Messages.Should().Contain(m => m.ActionId == "urgent");
    }

    [Fact]
    public async Task TrackAsync_HeldCopyOfTheLiveActionGoesFirst_TheLiveOneIsNotHeldAgain()
    {
        await using var shop = await Shop.CreateAsync(actions: [Promo]);
        await shop.CartAsync("c1", T0); // promo sent
        await shop.CartAsync("c2", T0.AddHours(1)); // promo held
        shop.Clock.Now = T0.AddDays(1).AddMinutes(1);

        var result = await shop.CartAsync("c3", shop.Clock.Now);

        result.HeldMessages.Should().ContainSingle().Which.Status.Should().Be(HeldMessageStatus.Released, "the tie goes to the message held first");
        result.Dispatch.Should().BeNull("the live promo lost its slot to the held copy of itself");
        (await shop.LogAsync()).Should().NotContain(d => d.Status == DispatchStatus.Held, "the action that just went out is not queued again");
        shop.Email.Messages.Select(m => m.ActionId).Should().Equal("promo", "promo");
    }

    [Fact]
    public async Task ReleaseHeldAsync_ConsentWithdrawnWhileHeld_CancelsInsteadOfSending()
    {
        await using var shop = await Shop.CreateAsync();
        await shop.CartAsync("c1", T0);
        await shop.CartAsync("c2", T0.AddHours(1));
        shop.Clock.Now = T0.AddHours(2);
        await shop.Engine.RecordConsentAsync(Grant("w1", T0.AddHours(2)) with { Status = ConsentStatus.Withdrawn, Evidence = null });
        shop.Clock.Now = T0.AddDays(1).AddMinutes(1);

        var outcomes = await shop.Engine.ReleaseHeldAsync();

        outcomes.Should().ContainSingle().Which.Should().Match<HeldMessageOutcome>(h => h.Status == HeldMessageStatus.Cancelled && h.Reason == HoldReasons.NotPermitted);
        outcomes[0].Detail.Should().StartWith(PermissionReasons.Withdrawn);
        shop.Email.Messages.Select(m => m.ActionId).Should().Equal("welcome");
    }

    [Fact]
    public async Task TrackAsync_DeferredBeyondHoldFor_IsNotHeld()
    {
        var brief = Promo with { HoldFor = TimeSpan.FromHours(2) };
        await using var shop = await Shop.CreateAsync(actions: [Welcome, brief]);
        await shop.CartAsync("c1", T0);

        var result = await shop.CartAsync("c2", T0.AddHours(1));

        result.HeldMessages.Should().ContainSingle().Which.Should().Match<HeldMessageOutcome>(h => h.Status == HeldMessageStatus.Cancelled && h.Reason == HoldReasons.Expired);
        (await shop.LogAsync()).Should().NotContain(d => d.ActionId == "promo");
    }

    [Fact]
    public async Task ReleaseHeldAsync_NotReleasedBeforeItExpires_IsCancelledAsExpired()
    {
        await using var shop = await Shop.CreateAsync();
        await shop.CartAsync("c1", T0);
        await shop.CartAsync("c2", T0.AddHours(1));
        shop.Clock.Now = T0.AddDays(4);

        var outcomes = await shop.Engine.ReleaseHeldAsync();

        outcomes.Should().ContainSingle().Which.Reason.Should().Be(HoldReasons.Expired);
        shop.Email.Messages.Should().ContainSingle();
        (await shop.LogAsync()).Should().ContainSingle(d => d.Status == DispatchStatus.Cancelled).Which.CompletedAt.Should().Be(T0.AddDays(4));
    }

    [Fact]
    public async Task ReleaseHeldAsync_ConcurrentSweeps_SendEachHeldMessageOnce()
    {
        await using var shop = await Shop.CreateAsync();
        await shop.CartAsync("c1", T0);
        await shop.CartAsync("c2", T0.AddHours(1));
        shop.Clock.Now = T0.AddDays(1).AddMinutes(1);

        await Task.WhenAll(Enumerable.Range(0, 8).Select(_ => Task.Run(async () => await shop.Engine.ReleaseHeldAsync())));

        shop.Email.Messages.Select(m => m.ActionId).Should().Equal("welcome", "urgent");
    }

    [Theory]
    [InlineData(0)]
    [InlineData(-1)]
    [InlineData(31 * 24)]
    public void Create_HoldForOutOfRange_IsATypedErrorNamingTheField(int hours)
    {
        var act = () => ActionCatalog.Create([Promo with { HoldFor = TimeSpan.FromHours(hours) }]);

        var error = act.Should().Throw<EngagementValidationException>().Which;
        error.Field.Should().Be("actions[0].holdFor");
        error.Value.Should().Be(TimeSpan.FromHours(hours).ToString());
    }

    private static ConsentRecord Grant(string id, DateTimeOffset at) => new()
    {
        RecordId = id,
        CustomerId = Ann,
        Channel = Channel.Email,
        Purpose = Purpose.Marketing,
        Identifier = AnnEmail,
        Status = ConsentStatus.Granted,
        Source = "form",
        Evidence = new ConsentEvidence("v1", "form"),
        EffectiveAt = at,
    };

    private sealed class Stock : IStockProvider
    {
        public HashSet<string> Out { get; } = [];

        public ValueTask<bool> IsInStockAsync(string productId, CancellationToken cancellationToken = default) => ValueTask.FromResult(!Out.Contains(productId));
    }

    private sealed class Shop : IAsyncDisposable
    {
        private readonly ServiceProvider _provider;

        private Shop(ServiceProvider provider, LedgerClock clock, Stock stock, InMemoryChannelSender email)
            => (_provider, Clock, Stock, Email) = (provider, clock, stock, email);

        public LedgerClock Clock { get; }

        public Stock Stock { get; }

        public InMemoryChannelSender Email { get; }

        public IEngagementEngine Engine => DeliveringEngine.From(_provider);

        public static async Task<Shop> CreateAsync(int maxHeld = 3, ActionDefinition[]? actions = null)
        {
            var clock = new LedgerClock(T0);
            var stock = new Stock();
            var email = new InMemoryChannelSender(Channel.Email);
            var services = new ServiceCollection();
            services.AddSingleton<TimeProvider>(clock);
            services.AddSingleton<IStockProvider>(stock);
            services.AddEngagement().AddChannel(email).UseActions(ActionCatalog.Create(actions ?? [Welcome, Promo, Urgent]));
            services.Configure<ContactPolicyOptions>(o => o.MaxHeldPerCustomer = maxHeld);
            var shop = new Shop(services.BuildServiceProvider(), clock, stock, email);
            await shop.Engine.RecordConsentAsync(Grant("g1", T0.AddDays(-1)));
            return shop;
        }

        public async Task<TrackResult> CartAsync(string id, DateTimeOffset at)
        {
            Clock.Now = at;
            return await Engine.TrackAsync(new AddedToCart { EventId = id, CustomerId = Ann, Timestamp = at, Identifiers = [AnnEmail], ProductId = "sku-" + id });
        }

        public async Task<IReadOnlyList<DispatchRecord>> LogAsync()
            => await _provider.GetRequiredService<IDispatchStore>().ListAsync(Ann, T0.AddDays(-1));

        public async Task<CustomerProfile> ProfileAsync()
            => (await _provider.GetRequiredService<IProfileStore>().GetAsync(Ann))!;

        public ValueTask DisposeAsync() => _provider.DisposeAsync();
    }
}
