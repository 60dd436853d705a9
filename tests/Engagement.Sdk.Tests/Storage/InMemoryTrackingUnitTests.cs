using Engagement.Sdk.Channels;
using Engagement.Sdk.Consent;
using Engagement.Sdk.Events;
using Engagement.Sdk.Profiles;
using Engagement.Sdk.Storage;
using Microsoft.Extensions.DependencyInjection;

namespace Engagement.Sdk.Tests.Storage;

/// <summary>
/// Tracking in memory runs each event in a unit of work carried by the thread's reused slot (and, when every step completes
/// at once, without an asynchronous wrapper): the caller's flow is left as it was, a unit around the events still owns their
/// writes, and events that wait for their customer's gate or overlap on one thread are all applied.
/// </summary>
public sealed class InMemoryTrackingUnitTests
{
    private static readonly AsyncLocal<string?> CallerValue = new();
    private static readonly CustomerId Ann = new("ann");

    [Fact]
    public async Task TrackAsync_InMemory_LeavesTheCallersFlowAsItWas()
    {
        using var provider = Build();
        var engine = provider.GetRequiredService<IEngagementEngine>();
        CallerValue.Value = "caller";

        for (var i = 0; i < 3; i++)
        {
            var result = await engine.TrackAsync(View(i, Ann));

            result.Profile!.Behaviour.ProductViews.Should().Be(i + 1);
            InMemoryTransactions.Current.Should().BeNull("the event's unit ended with the event");
            CallerValue.Value.Should().Be("caller", "the caller's own values flow on");
        }
    }

    [Fact]
    public async Task TrackAsync_InsideAUnitThatIsNotCompleted_LeavesNothingOfTheEvents()
    {
        using var provider = Build();
        var engine = provider.GetRequiredService<IEngagementEngine>();
        var profiles = provider.GetRequiredService<IProfileStore>();
        var events = provider.GetRequiredService<IEventStore>();

        var outer = InMemoryTransactions.Instance.Begin();
        await engine.TrackAsync(View(0, Ann));
        await engine.TrackAsync(View(1, Ann));
        InMemoryTransactions.Current.Should().BeSameAs(outer, "each event's unit handed its writes to the unit around it and ended");
        (await profiles.GetAsync(Ann))!.Behaviour.ProductViews.Should().Be(2);
        await outer.DisposeAsync();

        (await profiles.GetAsync(Ann)).Should().BeNull("the unit around the events was disposed without completing");
        (await events.ReadAsync(Ann).ToListAsync()).Should().BeEmpty();
        InMemoryTransactions.Current.Should().BeNull();
    }

    [Fact]
    public async Task TrackAsync_ManyWritersOnOneCustomer_AppliesEveryEventOnce()
    {
        using var provider = Build();
        var engine = provider.GetRequiredService<IEngagementEngine>();
        const int Writers = 4;
        const int PerWriter = 300;

        // The writers meet on the customer's gate: waiters continue asynchronously, on whichever thread releases them.
        await Task.WhenAll(Enumerable.Range(0, Writers).Select(w => Task.Run(async () =>
        {
            for (var i = 0; i < PerWriter; i++)
            {
                await engine.TrackAsync(View((w * PerWriter) + i, Ann));
            }
        })));

        var profile = await provider.GetRequiredService<IProfileStore>().GetAsync(Ann);
        profile!.Behaviour.ProductViews.Should().Be(Writers * PerWriter);
        profile.Version.Should().Be(Writers * PerWriter, "every event saved the profile once");
        InMemoryTransactions.Current.Should().BeNull();
    }

    [Fact]
    public async Task ListAsync_DispatchesBegunOutOfOrder_AreListedByCreationWithTiesInTheOrderBegun()
    {
        var store = new InMemoryDispatchStore();
        var t0 = new DateTimeOffset(2026, 12, 1, 12, 0, 0, TimeSpan.Zero);
        await store.TryBeginAsync(Dispatch("b", t0.AddMinutes(2)));
        await store.TryBeginAsync(Dispatch("a", t0.AddMinutes(1)));
        await store.TryBeginAsync(Dispatch("c", t0.AddMinutes(2)));
        await store.TryBeginAsync(Dispatch("old", t0.AddMinutes(-5)));

        (await store.ListAsync(Ann, t0)).Select(d => d.DispatchId).Should().Equal("a", "b", "c");
        (await store.ListAsync(Ann, t0.AddHours(1))).Should().BeEmpty();
        (await store.ListAsync(new CustomerId("nobody"), t0)).Should().BeEmpty();
    }

    [Fact]
    public async Task ListAsync_ManyDispatchesInReverseOrder_AreListedByCreation()
    {
        var store = new InMemoryDispatchStore();
        var t0 = new DateTimeOffset(2026, 12, 1, 12, 0, 0, TimeSpan.Zero);
        for (var i = 99; i >= 0; i--)
        {
            await store.TryBeginAsync(Dispatch("d" + i, t0.AddMinutes(i)));
        }

        (await store.ListAsync(Ann, t0.AddMinutes(10))).Select(d => d.CreatedAt).Should().BeInAscendingOrder().And.HaveCount(90);
        (await store.ListAsync(Ann, t0.AddMinutes(40))).Select(d => d.CreatedAt).Should().BeInAscendingOrder().And.HaveCount(60);
    }

    private static ServiceProvider Build()
    {
        var services = new ServiceCollection();
        services.AddEngagement(o => o.DecisionTriggers.Clear());
        return services.BuildServiceProvider();
    }

    private static ProductViewed View(int i, CustomerId customer) => new()
    {
        EventId = "e" + i,
        CustomerId = customer,
        Timestamp = DateTimeOffset.UtcNow.AddMinutes(-10).AddMilliseconds(i),
        ProductId = "p" + (i % 7),
        Category = "c" + (i % 3),
    };

    private static DispatchRecord Dispatch(string id, DateTimeOffset at) => new()
    {
        DispatchId = id,
        CustomerId = Ann,
        Channel = Channel.Email,
        Purpose = Purpose.Marketing,
        ActionId = "offer",
        CreatedAt = at,
    };
}
