using Engagement.Sdk.Events;
using Engagement.Sdk.Value;

namespace Engagement.Sdk.Tests.Value;

public sealed class EngagementMetricsTests
{
    private static readonly DateTimeOffset T0 = new(2026, 3, 2, 9, 0, 0, TimeSpan.Zero);

    [Fact]
    public void Compute_SmallShop_GivesHandComputedMetrics()
    {
        var events = new EngagementEvent[]
        {
            View("a", "e1", T0), View("a", "e2", T0.AddMinutes(10)), Order("a", "o1", T0.AddMinutes(20), 60m),
            View("a", "e3", T0.AddHours(5)), Order("a", "o2", T0.AddHours(5).AddMinutes(5), 40m),
            View("b", "e4", T0.AddMinutes(1)), Order("b", "o3", T0.AddMinutes(2), 20m),
            View("c", "e5", T0.AddDays(1)),
            View("d", "e6", T0.AddDays(40)),
            new Refunded { EventId = "r1", CustomerId = new CustomerId("b"), Timestamp = T0.AddDays(2), OrderId = "o3", Amount = Money.Of(20m, "EUR") },
            new MessageSent { EventId = "m1", CustomerId = new CustomerId("e"), Timestamp = T0, Channel = Engagement.Sdk.Channels.Channel.Email, DispatchId = "d", ActionId = "x" },
        };

        var m = EngagementMetrics.Compute(events, T0, T0.AddDays(30), Currency.EUR);

        m.Visitors.Should().Be(3, "d is outside the period and a message is not a visit");
        m.Sessions.Should().Be(4, "a visited twice (five hours apart), b and c once");
        m.Buyers.Should().Be(2);
        m.Orders.Should().Be(3);
        m.Revenue.Should().Be(Money.Of(120m, "EUR"));
        m.Refunds.Should().Be(Money.Of(20m, "EUR"));
        m.NetRevenue.Should().Be(Money.Of(100m, "EUR"));
        m.ConversionRate.Should().BeApproximately(2.0 / 3, 1e-12);
        m.AverageOrderValue.Should().Be(Money.Of(40m, "EUR"));
        m.Arpu.Should().Be(Money.Of(33.33m, "EUR"));
        m.Arppu.Should().Be(Money.Of(50m, "EUR"));
    }

    [Fact]
    public void Compute_NoVisitors_LeavesRatiosUndefinedRatherThanDividingByZero()
    {
        var m = EngagementMetrics.Compute([], T0, T0.AddDays(1), Currency.EUR);

        m.ConversionRate.Should().BeNull();
        m.Arpu.Should().BeNull();
        m.AverageOrderValue.Should().BeNull();
        m.Sessions.Should().Be(0);
    }

    [Fact]
    public void Compute_OrderInAnotherCurrency_Throws()
    {
        var act = () => EngagementMetrics.Compute([Order("a", "o1", T0, 10m, "USD")], T0, T0.AddDays(1), Currency.EUR);

        act.Should().Throw<CurrencyMismatchException>();
    }

    [Fact]
    public void Compute_Refunds_NetAgainstTheirOrdersPeriodWheneverTheyArrive()
    {
        var events = new EngagementEvent[]
        {
            Order("a", "before", T0.AddDays(-3), 50m),
            Order("a", "inside", T0.AddDays(1), 80m),
            Refund("a", "r1", "before", T0.AddDays(2), 50m), // in the period, against an earlier order: not this period's
            Refund("a", "r2", "inside", T0.AddDays(40), 30m), // after the period, against its order: this period's
        };

        var m = EngagementMetrics.Compute(events, T0, T0.AddDays(30), Currency.EUR);

        m.Orders.Should().Be(1);
        m.Revenue.Should().Be(Money.Of(80m, "EUR"));
        m.Refunds.Should().Be(Money.Of(30m, "EUR"));
        m.NetRevenue.Should().Be(Money.Of(50m, "EUR"));
    }

    [Fact]
    public void Compute_RefundOfAnUnknownOrderOrBeyondItsTotal_IsATypedError()
    {
        var unknown = () => EngagementMetrics.Compute([Order("a", "o1", T0, 10m), Refund("a", "r1", "o9", T0, 5m)], T0, T0.AddDays(1), Currency.EUR);
        var othersOrder = () => EngagementMetrics.Compute([Order("a", "o1", T0, 10m), Refund("b", "r1", "o1", T0, 5m)], T0, T0.AddDays(1), Currency.EUR);
        var tooMuch = () => EngagementMetrics.Compute([Order("a", "o1", T0, 10m), Refund("a", "r1", "o1", T0, 6m), Refund("a", "r2", "o1", T0, 5m)], T0, T0.AddDays(1), Currency.EUR);

        unknown.Should().Throw<EngagementValidationException>().Which.Field.Should().Be("refund.orderId");
        othersOrder.Should().Throw<EngagementValidationException>().Which.Value.Should().Be("o1");
        tooMuch.Should().Throw<EngagementValidationException>().Which.Field.Should().Be("refund.amount");
    }

    private static Refunded Refund(string customer, string id, string order, DateTimeOffset at, decimal amount)
        => new() { EventId = id, CustomerId = new CustomerId(customer), Timestamp = at, OrderId = order, Amount = Money.Of(amount, "EUR") };

    private static ProductViewed View(string customer, string id, DateTimeOffset at) => new() { EventId = id, CustomerId = new CustomerId(customer), Timestamp = at, ProductId = "p" };

    private static Purchased Order(string customer, string id, DateTimeOffset at, decimal amount, string currency = "EUR")
        => new() { EventId = id, CustomerId = new CustomerId(customer), Timestamp = at, OrderId = id, Lines = [new OrderLine("p", 1, Money.Of(amount, currency))] };
}
