using System.Text.Json;
using Engagement.Sdk.Events;
using Engagement.Sdk.Profiles;
using Engagement.Sdk.Serialization;
using Engagement.Sdk.Storage;
using Engagement.Sdk.Testing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;

namespace Engagement.Sdk.Tests;

/// <summary>
/// The engine takes a short path when the profile store answers at once and a general one when it does not, or when a save
/// meets a concurrent writer: both must give the same profiles.
/// </summary>
public sealed class EngineStorePathTests
{
    private static readonly DateTimeOffset Start = new(2026, 6, 1, 12, 0, 0, TimeSpan.Zero);

    [Fact]
    public async Task TrackAsync_StoreThatAnswersLater_GivesTheSameProfilesAsOneThatAnswersAtOnce()
    {
        var direct = await RunAsync(static inner => inner);
        var later = await RunAsync(static inner => new LaterProfileStore(inner));

        later.Keys.Should().BeEquivalentTo(direct.Keys);
        foreach (var (id, json) in direct)
        {
            later[id].Should().Be(json, "the profile of '{0}' does not depend on when the store answers", id);
        }

        direct["anon-1"].Should().Contain("\"mergedInto\"", "the script merges the anonymous profile into a known one");
        direct["known-1"].Should().Contain("\"orders\":1", "the purchase under the anonymous id reached the known profile");
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task TrackAsync_AConcurrentWriterSavesFirst_TheEventIsAppliedOnceOnTopOfTheirs(bool later)
    {
        var inner = new InMemoryProfileStore();
        var racing = new RacingProfileStore(later ? new LaterProfileStore(inner) : inner, inner);
        await using var provider = Build(racing);
        var engine = provider.GetRequiredService<IEngagementEngine>();
        var ann = new CustomerId("ann");
        await engine.TrackAsync(View("v1", ann, 0));

        racing.RaceNextSave = true;
        var result = await engine.TrackAsync(View("v2", ann, 1));

        racing.Races.Should().Be(1);
        result.Profile!.Behaviour.ProductViews.Should().Be(2, "the second view is counted once, after the first");
        result.Profile.Traits.Should().ContainKey("raced", "the concurrent writer's change is kept");
        result.Profile.Version.Should().Be(3, "the first view, the concurrent write, the second view");
        (await inner.GetAsync(ann))!.Should().BeSameAs(result.Profile);
    }

    [Fact]
    public async Task TrackAsync_TwoEnginesWritingOneCustomerInOneStore_NoUpdateIsLostOrAppliedTwice()
    {
        // Two engines (as two processes would) share the profile store but not their per-customer locks, so their saves
        // of the same customer conflict and are retried; an event whose retries run out is reported, never half-applied.
        var shared = new InMemoryProfileStore();
        await using var first = Build(shared);
        await using var second = Build(shared);
        var ann = new CustomerId("ann");
        var engines = new[] { first.GetRequiredService<IEngagementEngine>(), second.GetRequiredService<IEngagementEngine>() };

        using var start = new Barrier(2);
        var outcomes = await Task.WhenAll(engines.Select((engine, e) => Task.Run(async () =>
        {
            start.SignalAndWait(TimeSpan.FromSeconds(30));
            var (applied, refused) = (0, 0);
            for (var i = 0; i < 2_000; i++)
            {
                try
                {
                    await engine.TrackAsync(View($"e{e}-{i}", ann, i % 50));
                    applied++;
                }
                catch (ConcurrencyConflictException)
                {
                    refused++;
                }
            }

            return (applied, refused);
        })));

        var profile = (await shared.GetAsync(ann))!;
        var appliedTotal = outcomes.Sum(o => o.applied);
        outcomes.Sum(o => o.applied + o.refused).Should().Be(4_000);
        profile.Behaviour.ProductViews.Should().Be(appliedTotal, "every accepted event counted once, every refused one not at all");
        profile.Version.Should().Be(appliedTotal);
    }

    [Fact]
    public async Task TrackAsync_EventThatStitchesNothing_ReportsWhereItWentAndADuplicateReportsNothing()
    {
        await using var provider = Build(new InMemoryProfileStore());
        var engine = provider.GetRequiredService<IEngagementEngine>();
        var ann = new CustomerId("ann");
        var cookie = Identifier.Anonymous("cookie-ann");
        await engine.TrackAsync(View("v1", ann, 0) with { Identifiers = [cookie] });

        var again = await engine.TrackAsync(View("v2", ann, 1) with { Identifiers = [cookie] });
        var duplicate = await engine.TrackAsync(View("v2", ann, 1) with { Identifiers = [cookie] });

        again.Identity.Should().NotBeNull();
        again.Identity!.CustomerId.Should().Be(ann);
        again.Identity.Merges.Should().BeEmpty();
        again.Identity.Conflicts.Should().BeEmpty();
        again.Identity.Should().Be(again.Identity, "asked twice, the same resolution");
        duplicate.IsDuplicate.Should().BeTrue();
        duplicate.Identity.Should().BeNull("a duplicate is not routed");
    }

    private static async Task<Dictionary<string, string>> RunAsync(Func<IProfileStore, IProfileStore> wrap)
    {
        var inner = new InMemoryProfileStore();
        await using var provider = Build(wrap(inner));
        var engine = provider.GetRequiredService<IEngagementEngine>();
        var cookie = Identifier.Anonymous("cookie-1");
        var email = Identifier.Email("ann@example.com");
        var anon = new CustomerId("anon-1");
        var known = new CustomerId("known-1");
        var other = new CustomerId("known-2");
        EngagementEvent[] script =
        [
            View("e1", anon, 0) with { Identifiers = [cookie] },
            View("e2", anon, 1) with { Identifiers = [cookie] },
            new AddedToCart { EventId = "e3", CustomerId = anon, Timestamp = Start.AddMinutes(2), ProductId = "p1" },
            View("e4", known, 3) with { Identifiers = [email] },
            View("e5", known, 4) with { Identifiers = [email, cookie] }, // stitches the anonymous profile into the known one
            View("e6", anon, 5), // follows the redirect
            new Purchased
            {
                EventId = "e7", CustomerId = anon, Timestamp = Start.AddMinutes(6), OrderId = "o1",
                Lines = [new OrderLine("p1", 1, new Money(10m, Currency.EUR), "shoes")],
            },
            View("e8", other, 7) with { Identifiers = [Identifier.Email("bob@example.com")] },
            View("e9", known, 8) with { Identifiers = [email] },
        ];
        foreach (var e in script)
        {
            await engine.TrackAsync(e);
        }

        var profiles = new Dictionary<string, string>();
        await foreach (var profile in inner.ListAsync())
        {
            profiles[profile.Id.Value] = JsonSerializer.Serialize(profile, EngagementJsonContext.Default.CustomerProfile);
        }

        return profiles;
    }

    private static ServiceProvider Build(IProfileStore profiles)
    {
        var services = new ServiceCollection();
        services.AddSingleton<TimeProvider>(new FakeTimeProvider(Start.AddHours(1)));
        services.AddSingleton(profiles);
        services.AddEngagement(o => o.DecisionTriggers.Clear());
        return services.BuildServiceProvider();
    }

    private static ProductViewed View(string id, CustomerId customer, int minute)
        => new() { EventId = id, CustomerId = customer, Timestamp = Start.AddMinutes(minute), ProductId = "p" + minute, Category = "c" + (minute % 3) };

    // A store that answers every call only after yielding, as a store over a network would.
    private sealed class LaterProfileStore(IProfileStore inner) : IProfileStore
    {
        public async ValueTask<CustomerProfile?> GetAsync(CustomerId customerId, CancellationToken cancellationToken = default)
        {
            await Task.Yield();
            return await inner.GetAsync(customerId, cancellationToken);
        }

        public async ValueTask<CustomerProfile?> FindByIdentifierAsync(Identifier identifier, CancellationToken cancellationToken = default)
        {
            await Task.Yield();
            return await inner.FindByIdentifierAsync(identifier, cancellationToken);
        }

        public async ValueTask<CustomerProfile> SaveAsync(CustomerProfile profile, CancellationToken cancellationToken = default)
        {
            await Task.Yield();
            return await inner.SaveAsync(profile, cancellationToken);
        }

        public IAsyncEnumerable<CustomerProfile> ListAsync(CancellationToken cancellationToken = default) => inner.ListAsync(cancellationToken);
    }

    // When armed, lets another writer change the profile just before the engine's next save, which then conflicts.
    private sealed class RacingProfileStore(IProfileStore store, InMemoryProfileStore shared) : IProfileStore
    {
        public bool RaceNextSave { get; set; }

        public int Races { get; private set; }

        public ValueTask<CustomerProfile?> GetAsync(CustomerId customerId, CancellationToken cancellationToken = default) => store.GetAsync(customerId, cancellationToken);

        public ValueTask<CustomerProfile?> FindByIdentifierAsync(Identifier identifier, CancellationToken cancellationToken = default) => store.FindByIdentifierAsync(identifier, cancellationToken);

        public ValueTask<CustomerProfile> SaveAsync(CustomerProfile profile, CancellationToken cancellationToken = default)
        {
            if (RaceNextSave)
            {
                RaceNextSave = false;
                Races++;
                var current = shared.GetAsync(profile.Id, cancellationToken).AsTask().GetAwaiter().GetResult()!;
                shared.SaveAsync(current with { Traits = current.Traits.SetItem("raced", TraitValue.Of(true)) }, cancellationToken).AsTask().GetAwaiter().GetResult();
            }

            return store.SaveAsync(profile, cancellationToken);
        }

        public IAsyncEnumerable<CustomerProfile> ListAsync(CancellationToken cancellationToken = default) => store.ListAsync(cancellationToken);
    }
}
