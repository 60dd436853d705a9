using Engagement.Sdk.Channels;
using Engagement.Sdk.Consent;
using Engagement.Sdk.Decisioning;
using Engagement.Sdk.Storage;
using Engagement.Sdk.Testing;
using Microsoft.Extensions.Options;

namespace Engagement.Sdk.Tests.Decisioning;

/// <summary>Learned propensities: counted once per dispatch within the attribution window, decayed, pooled per segment, kept in the store.</summary>
public sealed class AdaptivePropensitiesTests
{
    private static readonly DateTimeOffset T0 = new(2026, 6, 1, 12, 0, 0, TimeSpan.Zero);
    private static readonly ActionCatalog Catalog = ActionCatalog.Create([new ActionDefinition { Id = "offer", Name = "Offer", Channels = [Channel.Email, Channel.Push], Value = 10m, BasePropensity = 0.05 }]);

    [Fact]
    public async Task Response_CountsOnlyOnceAndOnlyWithinTheAttributionWindow()
    {
        var (model, _) = Create(new DecisioningOptions { AttributionWindow = TimeSpan.FromDays(3), Segments = LearningSegments.None });
        var d1 = Dispatch("d1", T0);
        var d2 = Dispatch("d2", T0);
        await model.RecordSendAsync(d1, T0);
        await model.RecordSendAsync(d2, T0);

        (await model.RecordResponseAsync(d1, T0.AddDays(1))).Should().BeTrue();
        (await model.RecordResponseAsync(d1, T0.AddDays(1))).Should().BeFalse("a second click on the same message");
        (await model.RecordResponseAsync(d2, T0.AddDays(4))).Should().BeFalse("three days after the send the click is not the message's doing");

        Same(await model.GetPosteriorAsync("offer", Channel.Email), (0.05 * 20) + 1, (0.95 * 20) + 1);
    }

    [Fact]
    public async Task Response_WhoseSendReceiptNeverCame_CountsTheSendToo()
    {
        var (model, store) = Create(new DecisioningOptions { Segments = LearningSegments.None });

        (await model.RecordResponseAsync(Dispatch("d1", T0), T0.AddHours(1))).Should().BeTrue();

        (await store.ReadAsync(DateTimeOffset.MinValue)).Should().ContainSingle().Which.Should().Match<PropensityCount>(c => c.Sends == 1 && c.Responses == 1);
    }

    [Fact]
    public async Task HalfLife_HalvesTheWeightOfEvidenceThatOld()
    {
        var time = new ManualTimeProvider(T0);
        var (model, _) = Create(new DecisioningOptions { HalfLife = TimeSpan.FromDays(7), BucketSize = TimeSpan.FromHours(1), RefreshInterval = TimeSpan.Zero, Segments = LearningSegments.None }, time);
        for (var i = 0; i < 100; i++)
        {
            var d = Dispatch("d" + i, T0.AddDays(-14));
            await model.RecordSendAsync(d, T0.AddDays(-14));
            if (i < 50)
            {
                await model.RecordResponseAsync(d, T0.AddDays(-14));
            }
        }

        var posterior = await model.GetPosteriorAsync("offer", Channel.Email);

        // Two half-lives: 100 sends weigh about 25 (the bucket's middle is half an hour later than the sends).
        var weight = Math.Pow(2, -(14 * 24 - 0.5) / (7 * 24));
        posterior.Alpha.Should().BeApproximately(1 + (50 * weight), 1e-9);
        posterior.Beta.Should().BeApproximately(19 + (50 * weight), 1e-9);
    }

    [Fact]
    public async Task Segment_IsShrunkTowardTheArmOverAllCustomers()
    {
        var (model, _) = Create(new DecisioningOptions());
        for (var i = 0; i < 200; i++)
        {
            var segment = i < 100 ? "vip" : "new";
            var d = Dispatch("d" + i, T0) with { Decision = new DispatchDecision { DecisionId = "x", Policy = "champion", ChoiceProbability = 1, Segment = segment } };
            await model.RecordSendAsync(d, T0);
            if ((segment == "vip" && i % 2 == 0) || (segment == "new" && i % 20 == 0))
            {
                await model.RecordResponseAsync(d, T0);
            }
        }

        var overall = await model.GetPosteriorAsync("offer", Channel.Email);
        var vip = await model.GetPosteriorAsync("offer", Channel.Email, segment: "vip");
        var fresh = await model.GetPosteriorAsync("offer", Channel.Email, segment: "new");

        overall.Mean.Should().BeApproximately((1 + 55) / 220.0, 1e-12);
        vip.Mean.Should().BeInRange(overall.Mean, 0.5);
        fresh.Mean.Should().BeInRange(0.05, overall.Mean);
        vip.Alpha.Should().BeApproximately((overall.Mean * 20) + 50, 1e-9);
    }

    [Fact]
    public async Task Counts_AreKeptInTheStore_ANewInstanceSeesThem()
    {
        var (model, store) = Create(new DecisioningOptions { Segments = LearningSegments.None });
        var d = Dispatch("d1", T0);
        await model.RecordSendAsync(d, T0);
        await model.RecordResponseAsync(d, T0.AddHours(2));
        var before = await model.GetPosteriorAsync("offer", Channel.Email);

        var restarted = new AdaptivePropensities(store, Catalog, Options.Create(new DecisioningOptions { Segments = LearningSegments.None }), new ManualTimeProvider(T0));

        (await restarted.GetPosteriorAsync("offer", Channel.Email)).Should().Be(before);
    }

    [Fact]
    public async Task TwoInstancesLearningAtOnce_EachSeesBothAfterARefresh()
    {
        var store = new InMemoryPropensityStore();
        var time = new ManualTimeProvider(T0);
        var options = Options.Create(new DecisioningOptions { Segments = LearningSegments.None, RefreshInterval = TimeSpan.FromMinutes(1) });
        var first = new AdaptivePropensities(store, Catalog, options, time);
        var second = new AdaptivePropensities(store, Catalog, options, time);
        await first.GetPosteriorAsync("offer", Channel.Email);
        await second.GetPosteriorAsync("offer", Channel.Email);

        await Task.WhenAll(Enumerable.Range(0, 400).Select(i => Task.Run(async () =>
        {
            var model = i % 2 == 0 ? first : second;
            var d = Dispatch("d" + i, T0);
            await model.RecordSendAsync(d, T0);
            await model.RecordResponseAsync(d, T0);
        })));

        (await first.GetPosteriorAsync("offer", Channel.Email)).Alpha.Should().BeApproximately(1 + 200, 1e-9, "until the refresh each sees its own");
        time.Advance(TimeSpan.FromMinutes(1));
        Same(await first.GetPosteriorAsync("offer", Channel.Email), 1 + 400, 19);
        Same(await second.GetPosteriorAsync("offer", Channel.Email), 1 + 400, 19);
    }

    private static void Same(Engagement.Sdk.Decisioning.Learning.BetaPosterior posterior, double alpha, double beta)
    {
        posterior.Alpha.Should().BeApproximately(alpha, 1e-9);
        posterior.Beta.Should().BeApproximately(beta, 1e-9);
    }

    private static (AdaptivePropensities Model, InMemoryPropensityStore Store) Create(DecisioningOptions options, TimeProvider? time = null)
    {
        var store = new InMemoryPropensityStore();
        return (new AdaptivePropensities(store, Catalog, Options.Create(options), time ?? new ManualTimeProvider(T0)), store);
    }

    private static DispatchRecord Dispatch(string id, DateTimeOffset sentAt) => new()
    {
        DispatchId = id, CustomerId = new CustomerId("ann"), Channel = Channel.Email, Purpose = Purpose.Marketing, ActionId = "offer", CreatedAt = sentAt, CompletedAt = sentAt,
    };
}
