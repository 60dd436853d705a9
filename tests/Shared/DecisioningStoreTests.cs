using Microsoft.Extensions.Time.Testing;
using Engagement.Sdk.Channels;
using Engagement.Sdk.Consent;
using Engagement.Sdk.Decisioning;
using Engagement.Sdk.Events;
using Engagement.Sdk.Profiles;
using Engagement.Sdk.Storage;
using Engagement.Sdk.Testing;
using Microsoft.Extensions.DependencyInjection;

namespace Engagement.Sdk.SharedTests;

/// <summary>
/// The decisioning stores on a database: what the engine learns survives a restart, and what engines sharing the database
/// learn and reserve is shared. This file is shared by the SQLite and PostgreSQL tests.
/// </summary>
public abstract class DecisioningStoreTests
{
    private static readonly DateTimeOffset T0 = new(2026, 6, 1, 9, 0, 0, TimeSpan.Zero);

    /// <summary>A new, empty database for one test (a file, a schema), named for <see cref="UseStorage"/>.</summary>
    protected abstract string NewDatabase();

    /// <summary>Puts the engine's stores on <paramref name="database"/>; engines given the same one share it, each with a pool of its own.</summary>
    protected abstract void UseStorage(EngagementBuilder builder, string database);

    [Fact]
    public async Task LearnedPropensities_SurviveARestart()
    {
        var database = NewDatabase();
        var clock = new FakeTimeProvider(T0);
        Engagement.Sdk.Decisioning.Learning.BetaPosterior learned;
        await using (var provider = Provider(database, clock))
        {
            var engine = provider.GetRequiredService<IEngagementEngine>();
            await CustomerAsync(engine, "c0");
            await CustomerAsync(engine, "c1");
            await engine.TrackAsync(Cart("c0", "cart-0"));
            await engine.TrackAsync(Cart("c1", "cart-1"));
            var sent = await provider.GetRequiredService<DispatchWorker>().DeliverDueAsync();
            sent.Should().HaveCount(2);
            await engine.TrackAsync(new MessageClicked { EventId = "k0", CustomerId = sent[0].CustomerId, Timestamp = T0, Channel = Channel.Email, DispatchId = sent[0].DispatchId, ActionId = "offer" });
            learned = await provider.GetRequiredService<AdaptivePropensities>().GetPosteriorAsync("offer", Channel.Email);
        }

        await using (var restarted = Provider(database, clock))
        {
            var posterior = await restarted.GetRequiredService<AdaptivePropensities>().GetPosteriorAsync("offer", Channel.Email);

            posterior.Should().Be(learned);
            (posterior.Alpha, posterior.Beta).Should().Be((10 + 1, 10 + 1), "two sends and one response on the prior Beta(10, 10)");
        }
    }

    [Fact]
    public async Task TwoProcessesLearningAtOnce_LoseNoCount()
    {
        var database = NewDatabase();
        var clock = new FakeTimeProvider(T0);
        await using var first = Provider(database, clock);
        await using var second = Provider(database, clock);
        var a = first.GetRequiredService<AdaptivePropensities>();
        var b = second.GetRequiredService<AdaptivePropensities>();

        await Task.WhenAll(Enumerable.Range(0, 200).Select(i => Task.Run(async () =>
        {
            var model = i % 2 == 0 ? a : b;
            var dispatch = new DispatchRecord { DispatchId = "d" + i, CustomerId = new CustomerId("c" + i), Channel = Channel.Email, Purpose = Purpose.Marketing, ActionId = "offer", CreatedAt = T0, CompletedAt = T0 };
            await model.RecordSendAsync(dispatch, T0);
            if (i % 4 == 0)
            {
                await model.RecordResponseAsync(dispatch, T0);
            }
        })));
        await a.RefreshAsync();

        var posterior = await a.GetPosteriorAsync("offer", Channel.Email);
        (posterior.Alpha, posterior.Beta).Should().Be((10 + 50, 10 + 150));
    }

    [Fact]
    public async Task LimitedOffer_TwoEnginesOnOneDatabase_NeverExceedItsBudget()
    {
        var database = NewDatabase();
        var clock = new FakeTimeProvider(T0);
        await using var first = Provider(database, clock, budget: 7);
        await using var second = Provider(database, clock, budget: 7);
        foreach (var i in Enumerable.Range(0, 20))
        {
            await CustomerAsync(first.GetRequiredService<IEngagementEngine>(), "c" + i);
        }

        var results = await Task.WhenAll(Enumerable.Range(0, 20).Select(i => Task.Run(async () =>
            await (i % 2 == 0 ? first : second).GetRequiredService<IEngagementEngine>().TrackAsync(Cart("c" + i, "cart-" + i)))));

        results.Count(r => r.Dispatch is not null && r.Decision!.Action.Id == "offer").Should().Be(7);
        (await first.GetRequiredService<IActionBudgetStore>().GetUsedAsync("offer", DateTimeOffset.MinValue)).Should().Be(7);
    }

    private ServiceProvider Provider(string database, TimeProvider clock, long? budget = null)
    {
        var services = new ServiceCollection();
        services.AddSingleton(clock);
        var builder = services.AddEngagement(o => o.DecideOnStageChange = false)
            .AddChannel(new InMemoryChannelSender(Channel.Email));
        UseStorage(builder, database);
        builder.ConfigureDecisions(o => (o.Exploration, o.Segments) = (ExplorationMode.Greedy, LearningSegments.None))
            .UseActions(ActionCatalog.Create([
                new ActionDefinition { Id = "offer", Name = "Offer", Channels = [Channel.Email], Value = 10m, BasePropensity = 0.5, Budget = budget is { } limit ? new ActionBudget { Limit = limit } : null },
                new ActionDefinition { Id = "guide", Name = "Guide", Channels = [Channel.Email], Value = 1m, BasePropensity = 0.5 },
            ]));
        services.Configure<ContactPolicyOptions>(o => o.Caps.Clear());
        return services.BuildServiceProvider();
    }

    private static async Task CustomerAsync(IEngagementEngine engine, string id)
    {
        var customer = new CustomerId(id);
        var email = Identifier.Email(id + "@example.com");
        await engine.TrackAsync(new ProfileUpdated { EventId = "p-" + id, CustomerId = customer, Timestamp = T0.AddDays(-1), TimeZone = "Etc/UTC", Identifiers = [email] });
        await engine.RecordConsentAsync(new ConsentRecord
        {
            RecordId = "g-" + id, CustomerId = customer, Channel = Channel.Email, Purpose = Purpose.Marketing, Identifier = email,
            Status = ConsentStatus.Granted, Source = "form", Evidence = new ConsentEvidence("v1", "form"), EffectiveAt = T0.AddDays(-1),
        });
    }

    private static AddedToCart Cart(string customer, string eventId) => new() { EventId = eventId, CustomerId = new CustomerId(customer), Timestamp = T0, ProductId = "sku-1" };
}
