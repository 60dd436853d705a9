using Engagement.Sdk.Events;
using Engagement.Sdk.Storage;
using Engagement.Sdk.Testing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;

namespace Engagement.Sdk.Tests.Events;

public sealed class MoneyLimitTests : IAsyncDisposable
{
    private static readonly DateTimeOffset Now = new(2026, 6, 1, 12, 0, 0, TimeSpan.Zero);
    private static readonly CustomerId Ann = new("ann");
    private readonly ServiceProvider _provider;

    public MoneyLimitTests()
    {
        var services = new ServiceCollection();
        services.AddSingleton<TimeProvider>(new FakeTimeProvider(Now));
        services.AddEngagement(o => o.DecisionTriggers.Clear());
        _provider = services.BuildServiceProvider();
    }

    private IEngagementEngine Engine => _provider.GetRequiredService<IEngagementEngine>();

    [Fact]
    public async Task Track_OrderLineOfHalfTheLargestDecimal_IsATypedErrorNamingFieldValueAndLimit()
    {
        var act = async () => await Engine.TrackAsync(Order("o1", decimal.MaxValue / 2));

        var error = (await act.Should().ThrowAsync<EngagementValidationException>()).Which;
        error.Field.Should().Be("lines[0].unitPrice");
        error.Value.Should().Be((decimal.MaxValue / 2).ToString(System.Globalization.CultureInfo.InvariantCulture) + " EUR");
        error.Rule.Should().Contain("1,000,000,000,000,000,000 EUR");
        (await _provider.GetRequiredService<IEventStore>().ReadAsync(Ann).ToListAsync()).Should().BeEmpty();
    }

    [Fact]
    public async Task Track_TwoOrdersOf6E28_AreTypedErrorsNeverAnOverflow()
    {
        foreach (var id in new[] { "o1", "o2" })
        {
            var act = async () => await Engine.TrackAsync(Order(id, 6e28m));
            (await act.Should().ThrowAsync<EngagementValidationException>()).Which.Rule.Should().Contain("Money.MaxAmount");
        }

        (await _provider.GetRequiredService<IProfileStore>().GetAsync(Ann)).Should().BeNull();
    }

    [Fact]
    public async Task Track_QuantityTimesPriceOrLinesAboveTheLimit_NameTheLineOrTheOrder()
    {
        var line = async () => await Engine.TrackAsync(Order("o1", 1e15m) with { Lines = [new OrderLine("boots", 2_000, Money.Of(1e15m, "EUR"))] });
        (await line.Should().ThrowAsync<EngagementValidationException>()).Which.Field.Should().Be("lines[0]");

        var lines = async () => await Engine.TrackAsync(Order("o2", 6e17m) with { Lines = [new OrderLine("boots", 1, Money.Of(6e17m, "EUR")), new OrderLine("hat", 1, Money.Of(6e17m, "EUR"))] });
        (await lines.Should().ThrowAsync<EngagementValidationException>()).Which.Field.Should().Be("lines");
    }

    [Fact]
    public async Task TrackBatch_ViewOrderPastTheRevenueLimitView_RejectsOnlyTheOrder()
    {
        await Engine.TrackAsync(Order("o1", 6e17m));

        var results = await Engine.TrackBatchAsync([View("v1"), Order("o2", 6e17m), View("v2")]);

        results.Select(r => r.IsSuccess).Should().Equal(true, false, true);
        var error = results[1].Error.Should().BeOfType<EngagementValidationException>().Which;
        error.Field.Should().Be("lines");
        error.Value.Should().Be("600000000000000000.00 EUR");
        error.Rule.Should().Contain("revenue").And.Contain("1,000,000,000,000,000,000 EUR");
        (await _provider.GetRequiredService<IEventStore>().ReadAsync(Ann).ToListAsync()).Select(e => e.EventId).Should().BeEquivalentTo(["o1", "v1", "v2"]);
        var profile = (await _provider.GetRequiredService<IProfileStore>().GetAsync(Ann))!;
        profile.Behaviour.ProductViews.Should().Be(2);
        profile.Behaviour.Orders.Should().Be(1);
        profile.Behaviour.Revenue.Should().Be(Money.Of(6e17m, "EUR"));
    }

    [Fact]
    public async Task Track_RevenueUpToTheLimit_IsAccepted()
    {
        await Engine.TrackAsync(Order("o1", Money.MaxAmount / 2));
        var result = await Engine.TrackAsync(Order("o2", Money.MaxAmount / 2));

        result.Profile!.Behaviour.Revenue.Should().Be(Money.Of(Money.MaxAmount, "EUR"));
    }

    public ValueTask DisposeAsync() => _provider.DisposeAsync();

    internal static Purchased Order(string id, decimal price)
        => new() { EventId = id, CustomerId = Ann, Timestamp = Now.AddMinutes(-1), OrderId = id, Lines = [new OrderLine("boots", 1, Money.Of(price, "EUR"))] };

    internal static ProductViewed View(string id) => new() { EventId = id, CustomerId = Ann, Timestamp = Now.AddMinutes(-1), ProductId = "boots" };
}
