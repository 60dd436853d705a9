using Engagement.Sdk.Channels;
using Engagement.Sdk.Consent;
using Engagement.Sdk.Decisioning;
using Engagement.Sdk.Events;
using Engagement.Sdk.Profiles;
using Engagement.Sdk.Storage;
using Engagement.Sdk.Testing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;

namespace Engagement.Sdk.Tests;

public sealed class EngagementEngineTests : IAsyncDisposable
{
    private static readonly DateTimeOffset Start = new(2026, 6, 1, 12, 0, 0, TimeSpan.Zero);
    private static readonly CustomerId Ann = new("ann");
    private static readonly Identifier AnnEmail = Identifier.Email("ann@example.com");
    private static readonly Identifier AnnPhone = Identifier.Phone("+380671234567");
    private readonly FakeTimeProvider _clock = new(Start);
    private readonly InMemoryChannelSender _email = new(Channel.Email);
    private readonly InMemoryChannelSender _sms = new(Channel.Sms);
    private readonly ServiceProvider _provider;

    public EngagementEngineTests()
    {
        var services = new ServiceCollection();
        services.AddSingleton<TimeProvider>(_clock);
        services.AddEngagement().AddChannel(_email).AddChannel(_sms).UseActions(ActionCatalog.Create([
            new ActionDefinition { Id = "spring-sale", Name = "Spring sale", Channels = [Channel.Email, Channel.Sms], Value = 10m, BasePropensity = 0.1 },
            new ActionDefinition { Id = "recommend-boots", Name = "Boots", ProductId = "boots", Channels = [Channel.Email, Channel.Sms], Value = 50m, BasePropensity = 0.1 },
        ]));
        _provider = services.BuildServiceProvider();
    }

    private IEngagementEngine Engine => DeliveringEngine.From(_provider);

    public ValueTask DisposeAsync() => _provider.DisposeAsync();

    [Fact]
    public async Task TrackAsync_CustomerWhoWithdrewEmailConsent_IsNeverSentMarketingEmailButGetsSmsWithSmsConsent()
    {
        await Engine.RecordConsentAsync(Grant("g-email", Channel.Email, AnnEmail, Start.AddDays(-10)));
        await Engine.RecordConsentAsync(Grant("g-sms", Channel.Sms, AnnPhone, Start.AddDays(-10)));
        await Engine.RecordConsentAsync(Grant("w-email", Channel.Email, AnnEmail, Start.AddDays(-1)) with { Status = ConsentStatus.Withdrawn, Evidence = null });
        await Engine.TrackAsync(new ProfileUpdated { EventId = "tz", CustomerId = Ann, Timestamp = Start.AddDays(-1), TimeZone = "Europe/Kyiv" });

        // Several triggers over several days, so caps do not hide a wrong send.
        for (var day = 0; day < 5; day++)
        {
            _clock.SetUtcNow(Start.AddDays(day));
            await Engine.TrackAsync(new AddedToCart { EventId = $"cart-{day}", CustomerId = Ann, Timestamp = _clock.GetUtcNow(), Identifiers = [AnnEmail, AnnPhone], ProductId = "socks" });
        }

        _email.Messages.Should().BeEmpty();
        _sms.Messages.Should().NotBeEmpty().And.OnlyContain(m => m.Address == AnnPhone && m.Purpose == Purpose.Marketing);
    }

    [Fact]
    public async Task TrackAsync_CustomerWhoBoughtAnItem_IsNeverOfferedThatItem()
    {
        await Engine.RecordConsentAsync(Grant("g-email", Channel.Email, AnnEmail, Start.AddDays(-10)));
        await Engine.TrackAsync(new Purchased
        {
            EventId = "order-1", CustomerId = Ann, Timestamp = Start, Identifiers = [AnnEmail], OrderId = "1",
            Lines = [new OrderLine("boots", 1, Money.Of(120m, "EUR"))],
        });

        for (var day = 1; day < 6; day++)
        {
            _clock.SetUtcNow(Start.AddDays(day));
            var result = await Engine.TrackAsync(new AddedToCart { EventId = $"cart-{day}", CustomerId = Ann, Timestamp = _clock.GetUtcNow(), ProductId = "socks" });
            result.Decision!.Candidates.Should().Contain(c => c.ActionId == "recommend-boots" && c.Reason == DecisionReasons.AlreadyBought);
        }

        _email.Messages.Should().NotBeEmpty().And.NotContain(m => m.ActionId == "recommend-boots");
    }

    [Fact]
    public async Task TrackAsync_SameEventTwice_HasOneEffect()
    {
        var order = new Purchased { EventId = "order-1", CustomerId = Ann, Timestamp = Start, OrderId = "1", Lines = [new OrderLine("boots", 1, Money.Of(120m, "EUR"))] };

        var first = await Engine.TrackAsync(order);
        var second = await Engine.TrackAsync(order with { });

        first.IsDuplicate.Should().BeFalse();
        second.IsDuplicate.Should().BeTrue();
        (await _provider.GetRequiredService<IProfileStore>().GetAsync(Ann))!.Behaviour.Orders.Should().Be(1);
    }

    [Fact]
    public async Task TrackAsync_InvalidEvent_IsRejectedAndStoresNothing()
    {
        var act = async () => await Engine.TrackAsync(new AddedToCart { EventId = "cart-1", CustomerId = Ann, Timestamp = Start, ProductId = "socks", Quantity = 0 });

        (await act.Should().ThrowAsync<EngagementValidationException>()).Which.Field.Should().Be("quantity");
        (await _provider.GetRequiredService<IProfileStore>().GetAsync(Ann)).Should().BeNull();
        (await Engine.TrackAsync(new AddedToCart { EventId = "cart-1", CustomerId = Ann, Timestamp = Start, ProductId = "socks" })).IsDuplicate.Should().BeFalse();
    }

    [Fact]
    public async Task TrackBatchAsync_OneBadEvent_IsRejectedAloneWithItsReason()
    {
        var results = await Engine.TrackBatchAsync([
            new ProductViewed { EventId = "v1", CustomerId = Ann, Timestamp = Start, ProductId = "p" },
            new ProductViewed { EventId = "v2", CustomerId = Ann, Timestamp = Start.AddDays(3), ProductId = "p" },
            new ProductViewed { EventId = "v3", CustomerId = Ann, Timestamp = Start, ProductId = "p" },
        ]);

        results.Select(r => r.IsSuccess).Should().Equal(true, false, true);
        results[1].Error.Should().BeOfType<EngagementValidationException>().Which.Field.Should().Be("timestamp");
        (await _provider.GetRequiredService<IProfileStore>().GetAsync(Ann))!.Behaviour.ProductViews.Should().Be(2);
    }

    [Fact]
    public async Task TrackAsync_EventThatMovesAStage_ReportsTheTransitionAndDecides()
    {
        // product_viewed is not a decision trigger: only a stage change makes a decision.
        var first = await Engine.TrackAsync(new ProductViewed { EventId = "v1", CustomerId = Ann, Timestamp = Start, ProductId = "p" });
        var second = await Engine.TrackAsync(new ProductViewed { EventId = "v2", CustomerId = Ann, Timestamp = Start.AddMinutes(1), ProductId = "p" });
        var identified = await Engine.TrackAsync(new ProductViewed { EventId = "v3", CustomerId = Ann, Timestamp = Start.AddMinutes(2), ProductId = "p", Identifiers = [AnnEmail] });

        first.Transitions.Should().ContainSingle().Which.Should().Match<Engagement.Sdk.Journeys.StageTransition>(t => t.FromStageId == null && t.ToStageId == "attraction");
        first.Decision.Should().NotBeNull();
        second.Transitions.Should().BeEmpty();
        second.Decision.Should().BeNull();
        identified.Transitions.Should().ContainSingle().Which.Should().Match<Engagement.Sdk.Journeys.StageTransition>(t => t.FromStageId == "attraction" && t.ToStageId == "relationship");
        identified.Decision.Should().NotBeNull();
    }

    [Fact]
    public async Task TrackAsync_StageChangeWithoutDecisions_StillReportsTheTransition()
    {
        var services = new ServiceCollection();
        services.AddSingleton<TimeProvider>(_clock);
        services.AddEngagement(o => o.DecideOnStageChange = false);
        await using var provider = services.BuildServiceProvider();
        var engine = DeliveringEngine.From(provider);

        var first = await engine.TrackAsync(new ProductViewed { EventId = "v1", CustomerId = Ann, Timestamp = Start, ProductId = "p" });
        var second = await engine.TrackAsync(new ProductViewed { EventId = "v2", CustomerId = Ann, Timestamp = Start.AddMinutes(1), ProductId = "p" });

        first.Transitions.Should().ContainSingle().Which.ToStageId.Should().Be("attraction");
        first.Decision.Should().BeNull();
        second.Transitions.Should().BeEmpty();
    }

    [Fact]
    public async Task TrackAsync_PurchaseInAnotherCurrency_IsRejected()
    {
        var act = async () => await Engine.TrackAsync(new Purchased { EventId = "o", CustomerId = Ann, Timestamp = Start, OrderId = "1", Lines = [new OrderLine("boots", 1, Money.Of(10m, "USD"))] });

        (await act.Should().ThrowAsync<EngagementValidationException>()).Which.Field.Should().Be("currency");
    }

    private static ConsentRecord Grant(string id, Channel channel, Identifier address, DateTimeOffset at) => new()
    {
        RecordId = id,
        CustomerId = Ann,
        Channel = channel,
        Purpose = Purpose.Marketing,
        Identifier = address,
        Status = ConsentStatus.Granted,
        Source = "form",
        Evidence = new ConsentEvidence("v1", "form"),
        EffectiveAt = at,
    };
}
