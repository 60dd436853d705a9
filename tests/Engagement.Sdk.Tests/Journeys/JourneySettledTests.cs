using Engagement.Sdk.Events;
using Engagement.Sdk.Journeys;
using Engagement.Sdk.Profiles;
using Engagement.Sdk.Storage;
using Engagement.Sdk.Testing.Journeys;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace Engagement.Sdk.Tests.Journeys;

/// <summary>
/// Events whose evaluation is known to change nothing (<see cref="JourneySettled"/>) are not evaluated again: the paths must be
/// those of a store whose records carry no such knowledge, and a profile changed by other means than events must still move.
/// </summary>
public sealed class JourneySettledTests
{
    private static readonly DateTimeOffset T0 = JourneyTestHost.DefaultStart;

    // Exits, priorities, a terminal stage, re-entry after a cool-down, a goal, waits and an exit step; no windowed counts and
    // no consent, so that settled evaluations are skipped.
    private const string BrowseJson = """
        {"id":"browse","reEntry":{"allowed":true,"after":"P3D"},"goal":{"when":{"aggregate":"orders","ge":2}},"stages":[
          {"id":"looking","entry":{"aggregate":"productViews","ge":1},"exit":{"when":{"aggregate":"itemsInCart","ge":3}},
           "steps":[{"id":"w","type":"wait","duration":"PT6H"},{"id":"x","type":"exit"}]},
          {"id":"keen","entry":{"aggregate":"productViews","ge":4},"priority":3,"steps":[{"id":"k","type":"wait","duration":"P1D"}]},
          {"id":"known","entry":{"all":[{"identifier":["email"]},{"journey":"lifecycle","stage":["relationship","conversion"]}]},"priority":4},
          {"id":"bought","entry":{"aggregate":"orders","ge":1},"priority":6,"terminal":true}]}
        """;

    [Fact]
    public async Task TrackAsync_RandomEventsOverWeeks_SamePathsAsAStoreThatKeepsNoSettledEvaluations()
    {
        await using var settled = Host(wrapStore: false);
        await using var wrapped = Host(wrapStore: true);
        var random = new Random(20261207);
        var at = T0;
        for (var i = 0; i < 600; i++)
        {
            at = at.AddMinutes(random.Next(1, 6 * 60));
            var customer = new CustomerId("c" + random.Next(6));
            var roll = random.Next(100);
            EngagementEvent e = roll switch
            {
                < 60 => new ProductViewed { EventId = "e" + i, CustomerId = customer, Timestamp = at, ProductId = "p" + random.Next(5) },
                < 80 => new AddedToCart { EventId = "e" + i, CustomerId = customer, Timestamp = at, ProductId = "p" + random.Next(5) },
                < 88 => new RemovedFromCart { EventId = "e" + i, CustomerId = customer, Timestamp = at, ProductId = "p" + random.Next(5) },
                < 94 => new ProfileUpdated { EventId = "e" + i, CustomerId = customer, Timestamp = at, Identifiers = [Identifier.Email(customer.Value + "@example.com")] },
                _ => new Purchased { EventId = "e" + i, CustomerId = customer, Timestamp = at, OrderId = "o" + i, Lines = [new OrderLine("p" + random.Next(5), 1, Money.Of(20m, "EUR"))] },
            };

            await settled.TrackAsync(e);
            await wrapped.TrackAsync(e);
            if (i % 97 == 0)
            {
                await settled.SweepAsync();
                await wrapped.SweepAsync();
            }
        }

        var expected = await wrapped.HistoryTextAsync();
        expected.Should().Contain("keen").And.Contain("bought").And.Contain("known");
        (await settled.HistoryTextAsync()).Should().Be(expected);
        var records = new List<JourneyRecord>();
        await foreach (var record in settled.Store.ListAsync())
        {
            records.Add(record);
        }

        records.Should().Contain(r => IsSettled(settled, r), "the journeys keep what the last evaluation of the in-memory store's records learned");
    }

    [Fact]
    public async Task TrackAsync_ProfileChangedInTheStoreAfterASettledEvaluation_TheNextEventStillMoves()
    {
        await using var host = JourneyTestHost.Create();
        var ann = new CustomerId("ann");
        await host.TrackAsync(new ProductViewed { EventId = "1", CustomerId = ann, Timestamp = T0, ProductId = "p" });
        await host.TrackAsync(new ProductViewed { EventId = "2", CustomerId = ann, Timestamp = T0.AddMinutes(1), ProductId = "p" });
        IsSettled(host, (await host.Store.GetAsync(ann))!).Should().BeTrue("the second view changed nothing");

        // The address arrives by another way than an event (an import writing the profile).
        var profiles = host.Services.GetRequiredService<IProfileStore>();
        var profile = (await profiles.GetAsync(ann))!;
        await profiles.SaveAsync(profile.WithIdentifier(Identifier.Email("ann@example.com")));
        var result = await host.TrackAsync(new ProductViewed { EventId = "3", CustomerId = ann, Timestamp = T0.AddMinutes(2), ProductId = "p" });

        result.Transitions.Should().ContainSingle().Which.ToStageId.Should().Be("relationship");
    }

    [Fact]
    public async Task TrackAsync_ConditionOnAnotherJourneysStageAfterASettledEvaluation_SeesThatStage()
    {
        // "known" needs a phone and the lifecycle's relationship stage: the settled evaluation must answer it with the stages
        // the customer is in, or the phone written to the store would be judged against no stage at all.
        var follow = JourneyDefinition.FromJson("""
            {"id":"follow","stages":[{"id":"known","entry":{"all":[{"identifier":["phone"]},{"journey":"lifecycle","stage":["relationship"]}]}}]}
            """);
        await using var host = JourneyTestHost.Create(b => b.AddJourney(follow));
        var ann = new CustomerId("ann");
        await host.TrackAsync(new ProductViewed { EventId = "1", CustomerId = ann, Timestamp = T0, ProductId = "p", Identifiers = [Identifier.Email("ann@example.com")] });
        await host.TrackAsync(new ProductViewed { EventId = "2", CustomerId = ann, Timestamp = T0.AddMinutes(1), ProductId = "p" });
        IsSettled(host, (await host.Store.GetAsync(ann))!).Should().BeTrue("the second view changed nothing");

        var profiles = host.Services.GetRequiredService<IProfileStore>();
        var profile = (await profiles.GetAsync(ann))!;
        await profiles.SaveAsync(profile.WithIdentifier(Identifier.Phone("+15555550123")));
        var result = await host.TrackAsync(new ProductViewed { EventId = "3", CustomerId = ann, Timestamp = T0.AddMinutes(2), ProductId = "p" });

        result.Transitions.Should().ContainSingle().Which.Should().Match<StageTransition>(t => t.JourneyId == "follow" && t.ToStageId == "known");
    }

    private static bool IsSettled(JourneyTestHost host, JourneyRecord record)
        => ((EngagementEngine)host.Services.GetRequiredService<IEngagementEngine>()).Journeys.IsSettled(record);

    private static JourneyTestHost Host(bool wrapStore) => JourneyTestHost.Create(
        b =>
        {
            b.AddJourney(JourneyDefinition.FromJson(BrowseJson));
            if (wrapStore)
            {
                b.Services.Replace(ServiceDescriptor.Singleton<IJourneyStore>(new PassThroughJourneyStore(new InMemoryJourneyStore())));
            }
        },
        o =>
        {
            o.DecisionTriggers.Clear();
            o.DecideOnStageChange = false;
        });

    /// <summary>A store that is not the in-memory one: the journeys keep no settled evaluations of its records.</summary>
    private sealed class PassThroughJourneyStore(IJourneyStore inner) : IJourneyStore
    {
        public ValueTask<JourneyRecord?> GetAsync(CustomerId customerId, CancellationToken cancellationToken = default) => inner.GetAsync(customerId, cancellationToken);

        public ValueTask<JourneyRecord> SaveAsync(JourneyRecord record, CancellationToken cancellationToken = default) => inner.SaveAsync(record, cancellationToken);

        public ValueTask<bool> DeleteAsync(CustomerId customerId, CancellationToken cancellationToken = default) => inner.DeleteAsync(customerId, cancellationToken);

        public ValueTask AppendHistoryAsync(IReadOnlyList<JourneyHistoryEntry> entries, CancellationToken cancellationToken = default) => inner.AppendHistoryAsync(entries, cancellationToken);

        public IAsyncEnumerable<JourneyHistoryEntry> ReadHistoryAsync(CustomerId customerId, CancellationToken cancellationToken = default) => inner.ReadHistoryAsync(customerId, cancellationToken);

        public IAsyncEnumerable<JourneyHistoryEntry> ReadJourneyHistoryAsync(string journeyId, CancellationToken cancellationToken = default) => inner.ReadJourneyHistoryAsync(journeyId, cancellationToken);

        public ValueTask<IReadOnlyList<CustomerId>> ListDueAsync(DateTimeOffset now, int max, CancellationToken cancellationToken = default) => inner.ListDueAsync(now, max, cancellationToken);

        public IAsyncEnumerable<JourneyRecord> ListAsync(CancellationToken cancellationToken = default) => inner.ListAsync(cancellationToken);
    }
}
