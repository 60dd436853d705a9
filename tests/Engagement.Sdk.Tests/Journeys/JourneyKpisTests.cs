using Engagement.Sdk.Journeys;

namespace Engagement.Sdk.Tests.Journeys;

public sealed class JourneyKpisTests
{
    private static readonly DateTimeOffset T0 = new(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);

    private static readonly JourneyDefinition Abc = JourneyDefinition.FromJson("""
        {"id":"abc","stages":[{"id":"a","entry":true},{"id":"b","entry":{"aggregate":"orders","ge":1}},{"id":"c","entry":{"aggregate":"orders","ge":2}}]}
        """);

    [Fact]
    public void Compute_HandBuiltHistory_GivesTheFunnelTimesRevenueAndUplift()
    {
        JourneyHistoryEntry[] history =
        [
            E("c1", JourneyHistoryKind.Entered, "a", 0),
            E("c1", JourneyHistoryKind.Moved, "b", 2, from: "a"),
            E("c1", JourneyHistoryKind.Revenue, "b", 3) with { Amount = 10m },
            E("c1", JourneyHistoryKind.Moved, "c", 5, from: "b"),
            E("c2", JourneyHistoryKind.Entered, "a", 0),
            E("c2", JourneyHistoryKind.Moved, "c", 4, from: "a"),
            E("c2", JourneyHistoryKind.Exited, null, 10, from: "c"),
            E("c3", JourneyHistoryKind.Entered, "a", 1) with { IsControl = true },
            E("c4", JourneyHistoryKind.Entered, "a", 1) with { IsControl = true },
            E("c4", JourneyHistoryKind.Moved, "b", 3, from: "a") with { IsControl = true },
        ];

        var report = JourneyKpis.Compute(Abc, history, T0.AddDays(12));

        report.Customers.Should().Be(4);
        report.Stages.Select(s => (s.StageId, s.Now, s.Reached, s.Skipped)).Should().Equal(("a", 1, 4, 0), ("b", 1, 2, 1), ("c", 1, 2, 0));
        report.Stages[1].ConversionFromPrevious.Should().Be(0.5, "2 of the 4 who reached a reached b after it");
        report.Stages[2].ConversionFromPrevious.Should().Be(0.5, "of c1 and c4, who reached b, only c1 reached c after it");
        report.Stages[0].MedianTimeInStage.Should().Be(TimeSpan.FromDays(2), "completed visits to a lasted 2, 4 and 2 days");
        report.Stages[0].P90TimeInStage.Should().Be(TimeSpan.FromDays(4));
        report.Stages[2].MedianTimeToReach.Should().Be(TimeSpan.FromDays(4), "c1 took 5 days, c2 4");
        report.Stages[1].Revenue.Should().Be(10m);
        report.Stages[1].Arpu.Should().Be(5m);
        report.Transitions.Should().BeEquivalentTo(new Dictionary<(string, string), int> { [("a", "b")] = 2, [("b", "c")] = 1, [("a", "c")] = 1 });

        // Without a goal, conversion is buying while in the journey: 1 of 2 treated, 0 of 2 controls.
        var conversion = report.ConversionUplift!;
        conversion.Treatment.Should().Be(0.5);
        conversion.Control.Should().Be(0);
        var se = Math.Sqrt(0.25 / 2);
        conversion.CiLow.Should().BeApproximately(0.5 - (1.959964 * se), 1e-6);
        conversion.CiHigh.Should().BeApproximately(0.5 + (1.959964 * se), 1e-6);

        // Revenue per customer: treated 10 and 0 (mean 5, variance 50), controls 0 and 0: 5 ± 1.96 × √(50 / 2).
        var revenue = report.RevenueUplift!;
        revenue.Difference.Should().Be(5);
        revenue.CiHigh.Should().BeApproximately(5 + (1.959964 * 5), 1e-5);

        // Velocity: 4 moves forward (c1 a→b→c, c2 a→c, c4 a→b) over the customers' time in the journey (12 + 10 + 11 + 11 days).
        report.ForwardMovesPerCustomerMonth.Should().BeApproximately(4 / (44 / 30.0), 1e-9);
    }

    [Fact]
    public void Uplift_GroupOfOne_HasNoInterval()
    {
        UpliftEstimate.OfProportions(1, 1, 0, 10).Should().BeNull();
        UpliftEstimate.OfMeans([1.0], [1.0, 2.0]).Should().BeNull();
    }

    private static JourneyHistoryEntry E(string customer, JourneyHistoryKind kind, string? stage, int day, string? from = null)
        => new() { CustomerId = new CustomerId(customer), JourneyId = "abc", Version = 1, Kind = kind, StageId = stage, FromStageId = from, At = T0.AddDays(day) };
}
