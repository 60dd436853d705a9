using Engagement.Sdk.Events;
using Engagement.Sdk.Journeys;
using Engagement.Sdk.Profiles;
using Engagement.Sdk.Value;

namespace Engagement.Sdk.Tests.Value;

public sealed class CohortMetricsTests
{
    private static readonly Currency Eur = Currency.EUR;

    [Fact]
    public void Compute_TwoMonthlyCohorts_CountsRetentionAndNetRevenuePerPeriod()
    {
        var events = new EngagementEvent[]
        {
            Order("a", "o1", new DateTimeOffset(2026, 1, 5, 10, 0, 0, TimeSpan.Zero), 100m),
            Order("b", "o2", new DateTimeOffset(2026, 1, 20, 10, 0, 0, TimeSpan.Zero), 50m),
            Order("a", "o3", new DateTimeOffset(2026, 2, 3, 10, 0, 0, TimeSpan.Zero), 30m),
            Order("c", "o4", new DateTimeOffset(2026, 2, 10, 10, 0, 0, TimeSpan.Zero), 70m),
            Order("a", "o5", new DateTimeOffset(2026, 3, 1, 10, 0, 0, TimeSpan.Zero), 20m),
            Order("c", "o6", new DateTimeOffset(2026, 3, 9, 10, 0, 0, TimeSpan.Zero), 10m),
            // A refund in March against January's order counts against January.
            new Refunded { EventId = "r1", CustomerId = new CustomerId("b"), Timestamp = new DateTimeOffset(2026, 3, 15, 0, 0, 0, TimeSpan.Zero), OrderId = "o2", Amount = Money.Of(20m, "EUR") },
        };

        var cohorts = CohortMetrics.Compute(events, CohortPeriod.Month, Eur);

        cohorts.Should().HaveCount(2);
        var january = cohorts[0];
        january.Start.Should().Be(new DateOnly(2026, 1, 1));
        january.Customers.Should().Be(2);
        january.Active.Should().Equal(2, 1, 1);
        january.Retention(1).Should().Be(0.5);
        january.Churn(1).Should().Be(0.5);
        january.NetRevenue.Should().Equal(Money.Of(130m, "EUR"), Money.Of(30m, "EUR"), Money.Of(20m, "EUR"));
        var february = cohorts[1];
        february.Start.Should().Be(new DateOnly(2026, 2, 1));
        february.Active.Should().Equal(1, 1);
        february.Retention(5).Should().BeNull();
    }

    [Fact]
    public void Compute_WeeklyCohorts_StartOnMonday()
    {
        var cohorts = CohortMetrics.Compute([Order("a", "o1", new DateTimeOffset(2026, 1, 8, 10, 0, 0, TimeSpan.Zero), 10m)], CohortPeriod.Week, Eur);

        cohorts.Single().Start.Should().Be(new DateOnly(2026, 1, 5));
        cohorts.Single().Start.DayOfWeek.Should().Be(DayOfWeek.Monday);
    }

    [Fact]
    public void Compute_OtherCurrency_IsAnError()
    {
        var act = () => CohortMetrics.Compute([Order("a", "o1", DateTimeOffset.UnixEpoch.AddYears(56), 10m, "USD")], CohortPeriod.Month, Eur);

        act.Should().Throw<CurrencyMismatchException>();
    }

    [Fact]
    public void RepeatPurchaseRateAndRevenueByStage_Profiles_AreCountedPerStage()
    {
        var profiles = new[]
        {
            Profile("a", orders: 3, revenue: 90m, stage: "engagement"),
            Profile("b", orders: 1, revenue: 40m, stage: "conversion"),
            Profile("c", orders: 0, revenue: null, stage: "attraction"),
            Profile("d", orders: 2, revenue: 60m, stage: "engagement"),
        };

        CohortMetrics.RepeatPurchaseRate(profiles).Should().BeApproximately(2.0 / 3, 1e-12);
        var byStage = CohortMetrics.RevenueByStage(profiles, "lifecycle", Eur);
        byStage["engagement"].Should().Be((2, Money.Of(150m, "EUR")));
        byStage["conversion"].Should().Be((1, Money.Of(40m, "EUR")));
        byStage["attraction"].Should().Be((1, Money.Of(0m, "EUR")));
    }

    [Fact]
    public void Compute_RefundOfAnUnknownOrder_IsATypedErrorAsInPeriodMetrics()
    {
        var refund = new Refunded { EventId = "r1", CustomerId = new CustomerId("a"), Timestamp = new DateTimeOffset(2026, 2, 1, 0, 0, 0, TimeSpan.Zero), OrderId = "o9", Amount = Money.Of(5m, "EUR") };

        var act = () => CohortMetrics.Compute([Order("a", "o1", new DateTimeOffset(2026, 1, 8, 10, 0, 0, TimeSpan.Zero), 10m), refund], CohortPeriod.Month, Eur);

        act.Should().Throw<EngagementValidationException>().Which.Field.Should().Be("refund.orderId");
    }

    private static Purchased Order(string customer, string order, DateTimeOffset at, decimal amount, string currency = "EUR") => new()
    {
        EventId = order,
        CustomerId = new CustomerId(customer),
        Timestamp = at,
        OrderId = order,
        Lines = [new OrderLine("sku", 1, Money.Of(amount, currency))],
    };

    private static CustomerProfile Profile(string id, int orders, decimal? revenue, string stage) => CustomerProfile.New(new CustomerId(id)) with
    {
        Behaviour = new BehaviourAggregates { Orders = orders, Revenue = revenue is { } r ? Money.Of(r, "EUR") : null },
        Journeys = KeyedValues<JourneyPosition>.Empty.SetItem("lifecycle", new JourneyPosition("lifecycle", [new StageVisit(stage, DateTimeOffset.UnixEpoch, "test")])),
    };
}
