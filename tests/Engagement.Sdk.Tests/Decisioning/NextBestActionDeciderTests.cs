using System.Collections.Immutable;
using Engagement.Sdk.Channels;
using Engagement.Sdk.Consent;
using Engagement.Sdk.Decisioning;
using Engagement.Sdk.Journeys;
using Engagement.Sdk.Profiles;
using Engagement.Sdk.Storage;
using Engagement.Sdk.Testing;
using Microsoft.Extensions.Options;

namespace Engagement.Sdk.Tests.Decisioning;

public sealed class NextBestActionDeciderTests
{
    private static readonly DateTimeOffset Now = new(2026, 6, 1, 12, 0, 0, TimeSpan.Zero);
    private static readonly CustomerId Ann = new("ann");
    private static readonly Identifier AnnEmail = Identifier.Email("ann@example.com");
    private static readonly Identifier AnnPhone = Identifier.Phone("+380671234567");

    [Fact]
    public async Task DecideAsync_ProductOutOfStockOrBought_IsRejectedWithItsReason()
    {
        var decider = await DeciderAsync([
            new ActionDefinition { Id = "bought", Name = "B", ProductId = "p1", Channels = [Channel.Email], Value = 9m },
            new ActionDefinition { Id = "gone", Name = "G", ProductId = "p2", Channels = [Channel.Email], Value = 9m },
            new ActionDefinition { Id = "fine", Name = "F", ProductId = "p3", Channels = [Channel.Email], Value = 1m },
        ], stock: new FixedStock("p2"));
        var profile = Profile() with { Behaviour = new BehaviourAggregates { ItemsBought = ["p1"] } };

        var decision = await decider.DecideAsync(profile, Now);

        decision.Action.Id.Should().Be("fine");
        decision.Candidates.Single(c => c.ActionId == "bought").Reason.Should().Be(DecisionReasons.AlreadyBought);
        decision.Candidates.Single(c => c.ActionId == "gone").Reason.Should().Be(DecisionReasons.OutOfStock);
    }

    [Fact]
    public async Task DecideAsync_ActionForAnotherStage_IsNotEligible()
    {
        var decider = await DeciderAsync([new ActionDefinition { Id = "loyalty", Name = "L", Stages = ["engagement"], Channels = [Channel.Email], Value = 9m }]);

        var decision = await decider.DecideAsync(Profile(stage: "conversion"), Now);

        decision.IsNoAction.Should().BeTrue();
        decision.Candidates.Single(c => c.ActionId == "loyalty").Reason.Should().Be(DecisionReasons.NotInStage);
    }

    [Fact]
    public async Task DecideAsync_PreferredChannelForTheMessageType_IsTriedFirst()
    {
        var decider = await DeciderAsync([new ActionDefinition { Id = "offer", Name = "O", MessageType = "offers", Channels = [Channel.Email, Channel.Sms], Value = 9m }]);
        var profile = Profile().WithChannelPreference("offers", Channel.Sms);

        var decision = await decider.DecideAsync(profile, Now);

        decision.Channel.Should().Be(Channel.Sms);
        decision.Address.Should().Be(AnnPhone);
    }

    [Fact]
    public async Task DecideAsync_NoConsentOnTheFirstChannel_FallsBackToAPermittedOne()
    {
        var decider = await DeciderAsync([new ActionDefinition { Id = "offer", Name = "O", Channels = [Channel.Push, Channel.Email], Value = 9m }]);

        var decision = await decider.DecideAsync(Profile(), Now);

        decision.Channel.Should().Be(Channel.Email);
        decision.Candidates[0].ChannelChecks.Select(c => (c.Channel, c.Decision.Code)).Should().Equal((Channel.Email, PermissionReasons.ConsentGranted));
        decision.Candidates.Should().ContainSingle(c => c.Channel == Channel.Push).Which.Reason.Should().Be(DecisionReasons.NoAddress);
    }

    [Fact]
    public async Task DecideAsync_RanksByValueTimesPropensityTimesLever_AndExplainsEveryCandidate()
    {
        var decider = await DeciderAsync([
            new ActionDefinition { Id = "a", Name = "A", Channels = [Channel.Email], Value = 10m, BasePropensity = 0.1 },
            new ActionDefinition { Id = "b", Name = "B", Channels = [Channel.Email], Value = 30m, BasePropensity = 0.05 },
            new ActionDefinition { Id = "c", Name = "C", Channels = [Channel.Email], Value = 10m, BasePropensity = 0.1, Lever = 2 },
        ]);

        var decision = await decider.DecideAsync(Profile(), Now);

        decision.Action.Id.Should().Be("c");
        decision.Score.Should().BeApproximately(2.0, 1e-12);
        decision.Candidates.Select(c => (c.ActionId, c.Status)).Should().Equal(("c", CandidateStatus.Chosen), ("b", CandidateStatus.Outranked), ("a", CandidateStatus.Outranked), (ActionCatalog.NoActionId, CandidateStatus.Outranked));
        decision.Explain().Should().Contain("c on email");
    }

    [Fact]
    public async Task DecideAsync_NothingPermitted_ChoosesToDoNothing()
    {
        var decider = await DeciderAsync([new ActionDefinition { Id = "push-only", Name = "P", Channels = [Channel.Push], Value = 9m }]);

        var decision = await decider.DecideAsync(Profile(), Now);

        decision.IsNoAction.Should().BeTrue();
        decision.Channel.Should().BeNull();
        decision.Candidates[0].Reason.Should().Be(DecisionReasons.NothingBetter);
    }

    [Fact]
    public async Task Propensities_AfterManyOutcomes_MoveTowardTheObservedRate()
    {
        var catalog = ActionCatalog.Create([new ActionDefinition { Id = "a", Name = "A", Channels = [Channel.Email, Channel.Sms], Value = 1m, BasePropensity = 0.05 }]);
        var model = new AdaptivePropensities(new InMemoryPropensityStore(), catalog, Options.Create(new DecisioningOptions { Segments = LearningSegments.None }), new ManualTimeProvider(Now));
        for (var i = 0; i < 1000; i++)
        {
            var dispatch = new DispatchRecord { DispatchId = "d" + i, CustomerId = Ann, Channel = Channel.Email, Purpose = Purpose.Marketing, ActionId = "a", CreatedAt = Now, CompletedAt = Now };
            (await model.RecordSendAsync(dispatch, Now)).Should().BeTrue();
            if (i % 5 == 0)
            {
                (await model.RecordResponseAsync(dispatch, Now.AddHours(1))).Should().BeTrue();
            }
        }

        (await model.GetPosteriorAsync("a", Channel.Email)).Mean.Should().BeApproximately((200 + (0.05 * 20)) / 1020, 1e-12);
        (await model.GetPosteriorAsync("a", Channel.Sms)).Mean.Should().BeApproximately(0.05, 1e-9);
    }

    [Theory]
    [InlineData("dup")]
    [InlineData("no-channel")]
    [InlineData("negative")]
    [InlineData("propensity")]
    [InlineData("transactional-offer")]
    public void CatalogCreate_BadAction_IsRejected(string problem)
    {
        var good = new ActionDefinition { Id = "a", Name = "A", Channels = [Channel.Email], Value = 1m };
        ActionDefinition[] actions = problem switch
        {
            "dup" => [good, good],
            "no-channel" => [good with { Channels = [] }],
            "negative" => [good with { Value = -1m }],
            "propensity" => [good with { BasePropensity = 1.5 }],
            _ => [good with { Purpose = Purpose.Transactional, Kind = ActionKind.Offer }],
        };

        FluentActions.Invoking(() => ActionCatalog.Create(actions)).Should().Throw<EngagementValidationException>();
    }

    private static CustomerProfile Profile(string stage = "conversion") => CustomerProfile.New(Ann).WithIdentifier(AnnEmail).WithIdentifier(AnnPhone) with
    {
        TimeZone = "Europe/Kyiv",
        Journeys = KeyedValues<JourneyPosition>.Empty.SetItem("lifecycle", new JourneyPosition("lifecycle", [new StageVisit(stage, Now.AddDays(-1), "test")])),
    };

    private static async Task<NextBestActionDecider> DeciderAsync(ActionDefinition[] actions, IStockProvider? stock = null)
    {
        var consents = new InMemoryConsentStore();
        foreach (var (channel, address) in new[] { (Channel.Email, AnnEmail), (Channel.Sms, AnnPhone) })
        {
            await consents.AppendAsync(new ConsentRecord
            {
                RecordId = "g-" + channel.Name, CustomerId = Ann, Channel = channel, Purpose = Purpose.Marketing, Identifier = address,
                Status = ConsentStatus.Granted, Source = "form", Evidence = new ConsentEvidence("v1", "form"), EffectiveAt = Now.AddDays(-30),
            });
        }

        var gate = new PermissionGate(consents, new InMemoryDispatchStore(), Options.Create(new ContactPolicyOptions()));
        var catalog = ActionCatalog.Create(actions);
        var propensities = new AdaptivePropensities(new InMemoryPropensityStore(), catalog, time: new ManualTimeProvider(Now));
        return new NextBestActionDecider(catalog, gate, propensities, stock ?? new UnlimitedStockProvider(), _ => true, "lifecycle", new DecisioningOptions { Exploration = ExplorationMode.Greedy });
    }

    private sealed class FixedStock(params string[] outOfStock) : IStockProvider
    {
        public ValueTask<bool> IsInStockAsync(string productId, CancellationToken cancellationToken = default) => ValueTask.FromResult(!outOfStock.Contains(productId));
    }
}
