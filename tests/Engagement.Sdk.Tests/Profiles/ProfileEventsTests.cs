using System.Text;
using Engagement.Sdk.Channels;
using Engagement.Sdk.Consent;
using Engagement.Sdk.Events;
using Engagement.Sdk.Profiles;
using Engagement.Sdk.Storage;
using Engagement.Sdk.Testing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;

namespace Engagement.Sdk.Tests.Profiles;

public sealed class ProfileEventsTests : IAsyncDisposable
{
    private static readonly DateTimeOffset T0 = new(2026, 6, 1, 12, 0, 0, TimeSpan.Zero);
    private static readonly CustomerId Ann = new("ann");
    private readonly ServiceProvider _provider;

    public ProfileEventsTests()
    {
        var services = new ServiceCollection();
        services.AddSingleton<TimeProvider>(new FakeTimeProvider(T0.AddDays(10)));
        services.AddEngagement();
        _provider = services.BuildServiceProvider();
    }

    private IEngagementEngine Engine => _provider.GetRequiredService<IEngagementEngine>();

    public ValueTask DisposeAsync() => _provider.DisposeAsync();

    [Fact]
    public async Task TrackAsync_RefundWithinTheOrder_ReducesWhatIsLeftToRefund()
    {
        await Engine.TrackAsync(Order("o1", 100m));

        var result = await Engine.TrackAsync(Refund("r1", "o1", 30m));

        result.Profile!.Behaviour.RefundableByOrder["o1"].Should().Be(Money.Of(70m, "EUR"));
        result.Profile.Behaviour.NetRevenue.Should().Be(Money.Of(70m, "EUR"));
    }

    [Theory]
    [InlineData("o1", 130, "amount")]
    [InlineData("o-unknown", 10, "orderId")]
    public async Task TrackAsync_RefundThatExceedsOrDoesNotMatchItsOrder_IsRejectedAndNothingIsStored(string order, int amount, string field)
    {
        await Engine.TrackAsync(Order("o1", 100m));
        await Engine.TrackAsync(Refund("r0", "o1", 20m));

        var act = async () => await Engine.TrackAsync(Refund("r1", order, amount));

        (await act.Should().ThrowAsync<EngagementValidationException>()).Which.Field.Should().Be(field);
        var stored = new List<EngagementEvent>();
        await foreach (var e in _provider.GetRequiredService<IEventStore>().ReadAsync(Ann))
        {
            stored.Add(e);
        }

        stored.Select(e => e.EventId).Should().Equal("o1", "r0");
    }

    [Fact]
    public async Task TrackAsync_RemovedFromCartAndSearched_UpdateTheAggregates()
    {
        await Engine.TrackAsync(new AddedToCart { EventId = "c1", CustomerId = Ann, Timestamp = T0, ProductId = "socks" });
        await Engine.TrackAsync(new Searched { EventId = "s1", CustomerId = Ann, Timestamp = T0.AddMinutes(1), Query = "wool socks" });
        var result = await Engine.TrackAsync(new RemovedFromCart { EventId = "c2", CustomerId = Ann, Timestamp = T0.AddMinutes(2), ProductId = "socks" });

        result.Profile!.Behaviour.ItemsInCart.Should().BeEmpty();
        result.Profile.Behaviour.Searches.Should().Be(1);
    }

    [Fact]
    public async Task TrackAsync_HardBounce_SuppressesTheAddressButASoftOneDoesNot()
    {
        var hard = Identifier.Email("gone@example.com");
        var soft = Identifier.Email("full@example.com");
        var dispatches = _provider.GetRequiredService<IDispatchStore>();
        foreach (var id in new[] { "d1", "d2" })
        {
            await dispatches.TryBeginAsync(new DispatchRecord { DispatchId = id, CustomerId = Ann, Channel = Channel.Email, Purpose = Purpose.Marketing, ActionId = "a", CreatedAt = T0, Status = DispatchStatus.Sent });
        }

        await Engine.TrackAsync(new MessageBounced { EventId = "b1", CustomerId = Ann, Timestamp = T0, Channel = Channel.Email, DispatchId = "d1", ActionId = "a", IsHard = true, Identifiers = [hard] });
        await Engine.TrackAsync(new MessageBounced { EventId = "b2", CustomerId = Ann, Timestamp = T0, Channel = Channel.Email, DispatchId = "d2", ActionId = "a", IsHard = false, Identifiers = [soft] });

        var suppressions = _provider.GetRequiredService<ISuppressionStore>();
        (await suppressions.FindAsync(IdentifierHashing.Hash(hard))).Should().ContainSingle().Which.Reason.Should().Be(SuppressionReason.HardBounce);
        (await suppressions.FindAsync(IdentifierHashing.Hash(soft))).Should().BeEmpty();
    }

    [Fact]
    public async Task UpdateAsync_ConcurrentChanges_LoseNoUpdate()
    {
        var store = _provider.GetRequiredService<IProfileStore>();

        await Task.WhenAll(Enumerable.Range(0, 20).Select(i => Task.Run(async () =>
            await store.UpdateAsync(Ann, p => p.WithTrait("t" + i, TraitValue.Of(i)), maxAttempts: 100))));

        (await store.GetAsync(Ann))!.Traits.Should().HaveCount(20);
    }

    [Fact]
    public async Task CountAsync_ViewedThreeTimesInSevenDays_CountsOnlyTheWindow()
    {
        var events = _provider.GetRequiredService<IEventStore>();
        foreach (var (id, day) in new[] { ("v1", 0), ("v2", 3), ("v3", 6), ("v4", 9) })
        {
            await Engine.TrackAsync(new ProductViewed { EventId = id, CustomerId = Ann, Timestamp = T0.AddDays(day), ProductId = "boots" });
        }

        var count = await events.CountAsync(Ann, e => e is ProductViewed { ProductId: "boots" }, TimeSpan.FromDays(7), T0.AddDays(9).AddHours(1));

        count.Should().Be(3, "days 3, 6 and 9 fall in the seven days before day 9 + 1 hour");
    }

    [Fact]
    public void EventJson_NewEventTypes_RoundTrip()
    {
        EngagementEvent[] events =
        [
            new Searched { EventId = "s", CustomerId = Ann, Timestamp = T0, Query = "ботинки 👢" },
            new RemovedFromCart { EventId = "r", CustomerId = Ann, Timestamp = T0, ProductId = "p" },
            new CheckoutStarted { EventId = "c", CustomerId = Ann, Timestamp = T0, CartValue = Money.Of(12.5m, "EUR") },
            new MessageBounced { EventId = "b", CustomerId = Ann, Timestamp = T0, Channel = Channel.Sms, DispatchId = "d", ActionId = "a", IsHard = true },
        ];

        foreach (var e in events)
        {
            var json = EventJson.Serialize(e);
            Encoding.UTF8.GetString(json).Should().Contain($"\"type\":\"{e.TypeName}\"");
            EventJson.Deserialize(json).Should().BeEquivalentTo(e, o => o.RespectingRuntimeTypes());
        }
    }

    private static Purchased Order(string id, decimal amount)
        => new() { EventId = id, CustomerId = Ann, Timestamp = T0, OrderId = id, Lines = [new OrderLine("p", 1, Money.Of(amount, "EUR"))] };

    private static Refunded Refund(string id, string order, decimal amount)
        => new() { EventId = id, CustomerId = Ann, Timestamp = T0.AddDays(1), OrderId = order, Amount = Money.Of(amount, "EUR") };
}

public sealed class BehaviourAggregateTests
{
    private static readonly DateTimeOffset T0 = new(2026, 6, 1, 12, 0, 0, TimeSpan.Zero);

    [Fact]
    public void Apply_ViewsAndOrders_RecordItemsViewedAndCategoriesBought()
    {
        var profile = CustomerProfile.New(new CustomerId("ann"));
        profile = ProfileUpdater.Apply(profile, new ProductViewed { EventId = "v1", CustomerId = profile.Id, Timestamp = T0, ProductId = "boots", Category = "shoes" });
        profile = ProfileUpdater.Apply(profile, new ProductViewed { EventId = "v2", CustomerId = profile.Id, Timestamp = T0, ProductId = "boots" });
        profile = ProfileUpdater.Apply(profile, new ProductViewed { EventId = "v3", CustomerId = profile.Id, Timestamp = T0, ProductId = "scarf" });
        profile = ProfileUpdater.Apply(profile, new Purchased
        {
            EventId = "o1", CustomerId = profile.Id, Timestamp = T0.AddHours(1), OrderId = "1",
            Lines = [new OrderLine("boots", 1, Money.Of(90m, "EUR"), "shoes"), new OrderLine("gift-card", 1, Money.Of(10m, "EUR"))],
        });

        profile.Behaviour.ItemsViewed.Should().BeEquivalentTo(["boots", "scarf"]);
        profile.Behaviour.ProductViews.Should().Be(3);
        profile.Behaviour.CategoriesBought.Should().BeEquivalentTo(["shoes"]);
        profile.Behaviour.ItemsBought.Should().BeEquivalentTo(["boots", "gift-card"]);
    }
}

public sealed class ConsentChangedEventTests
{
    private static readonly DateTimeOffset Now = new(2026, 6, 1, 12, 0, 0, TimeSpan.Zero);

    [Fact]
    public async Task Track_ConsentChanged_RecordsInTheLedgerAndKeepsTheTimeline()
    {
        await using var provider = Provider();
        var engine = provider.GetRequiredService<IEngagementEngine>();
        var change = Change("c1", ConsentStatus.Granted, new ConsentEvidence("v1", "app-settings"));

        await engine.TrackAsync(change);

        (await provider.GetRequiredService<ConsentLedger>().GetStateAsync(new CustomerId("ann"))).Evaluate(Channel.Email, Purpose.Marketing, Identifier.Email("ann@example.com"), Now).IsAllowed.Should().BeTrue();
        (await provider.GetRequiredService<IEventStore>().ReadAsync(new CustomerId("ann")).ToListAsync()).Should().ContainSingle().Which.Should().BeOfType<ConsentChanged>();
        var json = EventJson.Serialize(change);
        EventJson.Deserialize(json).Should().BeEquivalentTo(change);
    }

    [Fact]
    public async Task TrackBatch_ConsentChangedTheLedgerRefuses_IsRejectedAloneAndNothingOfItIsStored()
    {
        await using var provider = Provider();
        var engine = provider.GetRequiredService<IEngagementEngine>();

        var results = await engine.TrackBatchAsync([
            Change("bad", ConsentStatus.Granted, evidence: null),
            Change("good", ConsentStatus.Withdrawn, evidence: null),
            Change("other-customer", ConsentStatus.Withdrawn, evidence: null) with { CustomerId = new CustomerId("bob") },
        ]);

        results[0].Error.Should().BeOfType<EngagementValidationException>().Which.Field.Should().Be("evidence");
        results[1].IsSuccess.Should().BeTrue();
        results[2].Error.Should().BeOfType<EngagementValidationException>().Which.Field.Should().Be("record.customerId");
        (await provider.GetRequiredService<IEventStore>().ReadAsync(new CustomerId("ann")).ToListAsync()).Select(e => e.EventId).Should().Equal("evt-good");
        (await provider.GetRequiredService<IConsentStore>().ReadAsync(new CustomerId("ann"))).Select(r => r.RecordId).Should().Equal("good");
    }

    private static ConsentChanged Change(string id, ConsentStatus status, ConsentEvidence? evidence) => new()
    {
        EventId = "evt-" + id,
        CustomerId = new CustomerId("ann"),
        Timestamp = Now,
        Record = new ConsentRecord
        {
            RecordId = id, CustomerId = new CustomerId("ann"), Channel = Channel.Email, Identifier = Identifier.Email("ann@example.com"),
            Purpose = Purpose.Marketing, Status = status, Source = "app-settings", Evidence = evidence, EffectiveAt = Now.AddMinutes(-1),
        },
    };

    private static ServiceProvider Provider()
    {
        var services = new ServiceCollection();
        services.AddSingleton<TimeProvider>(new FakeTimeProvider(Now));
        services.AddEngagement();
        return services.BuildServiceProvider();
    }
}
