using Engagement.Sdk.Channels;
using Engagement.Sdk.Consent;
using Engagement.Sdk.Events;
using Engagement.Sdk.Journeys;
using Engagement.Sdk.Profiles;
using Engagement.Sdk.Testing.Journeys;
using Engagement.Sdk.Tests.Snapshots;
using Microsoft.Extensions.DependencyInjection;

namespace Engagement.Sdk.Tests.Journeys;

/// <summary>Deterministic replay: the same event log and clock give the same stages, history and decisions, pinned by a golden file.</summary>
public sealed class JourneyReplayTests
{
    private static readonly DateTimeOffset T0 = JourneyTestHost.DefaultStart;

    [Fact]
    public async Task Replay_SameScriptTwice_GivesTheSameHistoryAsTheGoldenFile()
    {
        var script = Script();

        var (first, second) = await script.RunTwiceAsync(Host);

        second.Should().Be(first);
        Snapshot.Verify(first, Snapshot.RepositoryPath("tests/Engagement.Sdk.Tests/Journeys/Golden"), "lapse-replay");
    }

    [Fact]
    public async Task Replay_EventLogWithAndWithoutDailySweeps_GivesTheSameStages()
    {
        var events = Events().ToList();
        await using var daily = Host();
        await using var none = Host();

        await JourneyScript.FromEvents(events, sweepEvery: TimeSpan.FromDays(1), until: T0.AddDays(300)).RunAsync(daily);
        await JourneyScript.FromEvents(events).RunAsync(none);
        none.Clock.SetUtcNow(T0.AddDays(300));
        await none.SweepAsync();

        foreach (var customer in new[] { "ann", "bob", "cy" })
        {
            var a = await daily.PathAsync(new CustomerId(customer), "lifecycle");
            var b = await none.PathAsync(new CustomerId(customer), "lifecycle");
            b.Stages.Should().Equal(a.Stages, customer);
            b.Entries.Where(e => e.Kind == JourneyHistoryKind.Moved).Select(e => e.At).Should().Equal(a.Entries.Where(e => e.Kind == JourneyHistoryKind.Moved).Select(e => e.At));
        }
    }

    private static JourneyTestHost Host() => JourneyTestHost.Create(
        b =>
        {
            b.Services.Configure<EngagementOptions>(o => o.Journeys.Clear());
            b.AddJourney(JourneyDefinition.FromJson(JourneyDefinitionTests.LapseJson)).UseActions(JourneyDefinitionTests.LapseActions);
        },
        o => o.DecisionTriggers.Remove("added_to_cart"));

    private static JourneyScript Script()
    {
        var script = JourneyScript.Create()
            .Consent(new ConsentRecord
            {
                RecordId = "g-ann", CustomerId = new CustomerId("ann"), Channel = Channel.Email, Purpose = Purpose.Marketing, Identifier = Identifier.Email("ann@example.com"),
                Status = ConsentStatus.Granted, Source = "signup", Evidence = new ConsentEvidence("v1", "signup"), EffectiveAt = T0,
            });
        var day = 0;
        foreach (var e in Events())
        {
            while (T0.AddDays(day + 1) <= e.Timestamp)
            {
                script.Advance(TimeSpan.FromDays(1));
                day++;
            }

            script.Track(e);
        }

        for (; day < 300; day++)
        {
            script.Advance(TimeSpan.FromDays(1));
        }

        return script;
    }

    // Ann registers, carts and does not buy (a reminder), buys twice, lapses and comes back; Bob buys at once and refunds it;
    // Cy browses three products and leaves.
    private static IEnumerable<EngagementEvent> Events()
    {
        var ann = new CustomerId("ann");
        var bob = new CustomerId("bob");
        var cy = new CustomerId("cy");
        yield return new ProductViewed { EventId = "a1", CustomerId = ann, Timestamp = T0.AddHours(1), ProductId = "boots", Identifiers = [Identifier.Email("ann@example.com")] };
        yield return new AddedToCart { EventId = "a2", CustomerId = ann, Timestamp = T0.AddHours(2), ProductId = "boots" };
        yield return new ProductViewed { EventId = "c1", CustomerId = cy, Timestamp = T0.AddHours(3), ProductId = "hat" };
        yield return new ProductViewed { EventId = "c2", CustomerId = cy, Timestamp = T0.AddHours(4), ProductId = "scarf" };
        yield return Order("b1", bob, T0.AddDays(1), 30m);
        yield return new ProductViewed { EventId = "c3", CustomerId = cy, Timestamp = T0.AddDays(1).AddHours(5), ProductId = "gloves" };
        yield return Order("a3", ann, T0.AddDays(5), 80m);
        yield return new Refunded { EventId = "b2", CustomerId = bob, Timestamp = T0.AddDays(6), OrderId = "o-b1", Amount = Money.Of(30m, "EUR") };
        yield return Order("a4", ann, T0.AddDays(20), 45m);
        yield return Order("a5", ann, T0.AddDays(260), 60m);
    }

    private static Purchased Order(string id, CustomerId customer, DateTimeOffset at, decimal amount)
        => new() { EventId = id, CustomerId = customer, Timestamp = at, OrderId = "o-" + id, Lines = [new OrderLine("p-" + id, 1, Money.Of(amount, "EUR"))] };
}
