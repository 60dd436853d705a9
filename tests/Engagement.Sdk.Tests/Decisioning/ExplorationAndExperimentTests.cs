using Engagement.Sdk.Channels;
using Engagement.Sdk.Decisioning;
using Engagement.Sdk.Profiles;
using static Engagement.Sdk.Tests.Decisioning.DecisionHarness;

namespace Engagement.Sdk.Tests.Decisioning;

/// <summary>Exploration among the survivors with its logged probability, the best channel per customer, control groups and champion/challenger.</summary>
public sealed class ExplorationAndExperimentTests
{
    private static readonly ActionDefinition Good = new() { Id = "good", Name = "Good", Channels = [Channel.Email], Value = 30m, BasePropensity = 0.1 };
    private static readonly ActionDefinition Fair = new() { Id = "fair", Name = "Fair", Channels = [Channel.Email], Value = 10m, BasePropensity = 0.1 };

    [Fact]
    public async Task EpsilonGreedy_LogsTheExactProbabilityOfEachChoice_AndChoosesWithIt()
    {
        var harness = await CreateAsync([Good, Fair], new DecisioningOptions { ExplorationFloor = 0.3 });
        var counts = new Dictionary<string, int>();
        var logged = new Dictionary<string, double>();
        const int Decisions = 4000;

        for (var i = 0; i < Decisions; i++)
        {
            var decision = await harness.DecideAsync(Profile(), decisionId: "d" + i);
            counts[decision.Action.Id] = counts.GetValueOrDefault(decision.Action.Id) + 1;
            logged[decision.Action.Id] = decision.ChoiceProbability;
        }

        logged["good"].Should().BeApproximately(0.7 + (0.3 / 3), 1e-12);
        logged["fair"].Should().BeApproximately(0.3 / 3, 1e-12);
        logged[ActionCatalog.NoActionId].Should().BeApproximately(0.3 / 3, 1e-12);
        foreach (var (action, probability) in logged)
        {
            // 4,000 decisions: the frequency is within 4 standard errors of the logged probability.
            var tolerance = 4 * Math.Sqrt(probability * (1 - probability) / Decisions);
            ((double)counts[action] / Decisions).Should().BeApproximately(probability, tolerance, action);
        }
    }

    [Fact]
    public async Task Exploration_SameSeedAndDecisionId_GivesTheSameChoice_AnotherSeedCanDiffer()
    {
        var first = await CreateAsync([Good, Fair], new DecisioningOptions { ExplorationFloor = 0.5, Seed = 1 });
        var again = await CreateAsync([Good, Fair], new DecisioningOptions { ExplorationFloor = 0.5, Seed = 1 });
        var other = await CreateAsync([Good, Fair], new DecisioningOptions { ExplorationFloor = 0.5, Seed = 2 });

        var ids = Enumerable.Range(0, 200).Select(i => "d" + i).ToArray();
        var a = new List<string>();
        var b = new List<string>();
        var c = new List<string>();
        foreach (var id in ids)
        {
            a.Add((await first.DecideAsync(Profile(), decisionId: id)).Action.Id);
            b.Add((await again.DecideAsync(Profile(), decisionId: id)).Action.Id);
            c.Add((await other.DecideAsync(Profile(), decisionId: id)).Action.Id);
        }

        b.Should().Equal(a);
        c.Should().NotEqual(a);
    }

    [Fact]
    public async Task Exploration_RunsAfterEveryFilter_AFilteredCandidateIsNeverChosen()
    {
        var harness = await CreateAsync([Good with { Channels = [Channel.Email, Channel.Web] }, Fair with { Stages = ["engagement"] }], new DecisioningOptions { ExplorationFloor = 0.9 });

        for (var i = 0; i < 500; i++)
        {
            var decision = await harness.DecideAsync(Profile("conversion"), decisionId: "d" + i);
            decision.Channel.Should().NotBe(Channel.Web, "web has no consent");
            decision.Action.Id.Should().NotBe("fair", "fair is not eligible in this stage");
            decision.CandidateCount.Should().Be(2);
        }
    }

    [Fact]
    public async Task Thompson_LogsProbabilitiesThatMatchHowOftenItChooses()
    {
        var harness = await CreateAsync([Good, Fair with { Value = 25m }], new DecisioningOptions { Exploration = ExplorationMode.Thompson, ExplorationFloor = 0.1, PriorWeight = 4 });
        const int Decisions = 1500;
        var chosen = new Dictionary<string, int>();
        var logged = new Dictionary<string, double>();
        for (var i = 0; i < Decisions; i++)
        {
            var decision = await harness.DecideAsync(Profile(), decisionId: "t" + i);
            chosen[decision.Action.Id] = chosen.GetValueOrDefault(decision.Action.Id) + 1;
            logged[decision.Action.Id] = decision.ChoiceProbability;
            decision.ChoiceProbability.Should().BeInRange(0.1 / 3, 1);
        }

        chosen.Keys.Should().Contain(["good", "fair"], "with a weak prior both are drawn best now and then");
        foreach (var (action, probability) in logged)
        {
            var tolerance = 4 * Math.Sqrt(probability * (1 - probability) / Decisions);
            ((double)chosen[action] / Decisions).Should().BeApproximately(probability, tolerance, action);
        }
    }

    [Fact]
    public async Task BestChannel_LearnedResponsePerChannel_NotTheFirstPermittedOne()
    {
        var offer = Good with { Channels = [Channel.Email, Channel.Push] };
        var harness = await CreateAsync([offer], new DecisioningOptions { Exploration = ExplorationMode.Greedy, Segments = LearningSegments.None });
        await harness.LearnAsync("good", Channel.Email, 500, 5);
        await harness.LearnAsync("good", Channel.Push, 500, 125);

        var decision = await harness.DecideAsync(Profile());

        decision.Channel.Should().Be(Channel.Push, "the customers answer push 25 times as often as email");
        decision.Candidates.Single(c => c.Channel == Channel.Email).Status.Should().Be(CandidateStatus.Outranked);
    }

    [Fact]
    public async Task BestChannel_LearnedPerSegment_EachSegmentGetsItsOwn()
    {
        var offer = Good with { Channels = [Channel.Email, Channel.Push] };
        var harness = await CreateAsync([offer]);
        await harness.LearnAsync("good", Channel.Email, 300, 60, segment: "engagement");
        await harness.LearnAsync("good", Channel.Push, 300, 6, segment: "engagement");
        await harness.LearnAsync("good", Channel.Email, 300, 6, segment: "conversion");
        await harness.LearnAsync("good", Channel.Push, 300, 60, segment: "conversion");

        (await harness.DecideAsync(Profile("engagement"))).Channel.Should().Be(Channel.Email);
        (await harness.DecideAsync(Profile("conversion"))).Channel.Should().Be(Channel.Push);
        (await harness.DecideAsync(Profile("conversion"))).Segment.Should().Be("conversion");
    }

    [Fact]
    public async Task BestChannel_TheCustomersOwnResponseAndPreference_WeighTheChannels()
    {
        var offer = Good with { Channels = [Channel.Email, Channel.Push, Channel.Sms], MessageType = "offers" };
        var harness = await CreateAsync([offer], new DecisioningOptions { Exploration = ExplorationMode.Greedy });
        var answersPush = WithBehaviour(Profile(), b => b with { MessagesSent = Counts((Channel.Email, 40), (Channel.Push, 10)), Engagements = Counts((Channel.Email, 1), (Channel.Push, 9)) });
        var prefersSms = Profile().WithChannelPreference("offers", Channel.Sms);

        var byResponse = await harness.DecideAsync(answersPush);
        var byPreference = await harness.DecideAsync(prefersSms);

        byResponse.Channel.Should().Be(Channel.Push);
        byResponse.Factors.Context.Should().BeGreaterThan(1);
        byResponse.Candidates.Single(c => c.Channel == Channel.Email).Factors!.Value.Context.Should().BeLessThan(1);
        byPreference.Channel.Should().Be(Channel.Sms);
        byPreference.Factors.Context.Should().Be(1.25);
    }

    [Fact]
    public async Task GlobalControl_AStableShareOfCustomers_IsWithheldAndLoggedAsWouldBeSends()
    {
        var harness = await CreateAsync([Good], new DecisioningOptions { Exploration = ExplorationMode.Greedy, GlobalControlShare = 0.3 }, everyoneConsents: true);
        var withheld = 0;
        const int Customers = 2000;
        for (var i = 0; i < Customers; i++)
        {
            var profile = Profile() with { Id = new CustomerId("c" + i) };
            var decision = await harness.DecideAsync(profile);
            var again = await harness.DecideAsync(profile);
            again.ControlGroup.Should().Be(decision.ControlGroup, "the split is stable for a customer");
            if (decision.Withheld is { } would)
            {
                withheld++;
                decision.IsNoAction.Should().BeTrue();
                decision.ControlGroup.Should().Be("global");
                would.Action.Id.Should().Be("good");
                decision.ChoiceProbability.Should().Be(1);
                decision.Candidates[0].Reason.Should().Be(DecisionReasons.GlobalControl);
            }
        }

        ((double)withheld / Customers).Should().BeApproximately(0.3, 4 * Math.Sqrt(0.3 * 0.7 / Customers));
    }

    [Fact]
    public async Task ActionControl_HoldsOutTheActionsShare_OnlyWhenItIsChosen()
    {
        var harness = await CreateAsync([Good with { ControlShare = 0.5 }, Fair], new DecisioningOptions { Exploration = ExplorationMode.Greedy }, everyoneConsents: true);
        var withheld = 0;
        for (var i = 0; i < 1000; i++)
        {
            var decision = await harness.DecideAsync(Profile() with { Id = new CustomerId("c" + i) });
            if (decision.Withheld is not null)
            {
                withheld++;
                decision.ControlGroup.Should().Be("action");
                decision.Candidates.Single(c => c.ActionId == "good").Reason.Should().Be(DecisionReasons.ControlGroup);
            }
            else
            {
                decision.Action.Id.Should().Be("good");
            }
        }

        withheld.Should().BeInRange(440, 560);
    }

    [Fact]
    public async Task ChampionChallenger_AStableShareOfCustomers_IsDecidedByTheChallenger()
    {
        var options = new DecisioningOptions { ExplorationFloor = 0.2, ChampionName = "exploring" };
        options.Challengers.Add(new PolicyVariant { Name = "greedy", Share = 0.25, Mode = ExplorationMode.Greedy });
        var harness = await CreateAsync([Good, Fair], options, everyoneConsents: true);
        var byPolicy = new Dictionary<string, int>();
        for (var i = 0; i < 2000; i++)
        {
            var profile = Profile() with { Id = new CustomerId("c" + i) };
            var decision = await harness.DecideAsync(profile);
            (await harness.DecideAsync(profile)).Policy.Should().Be(decision.Policy);
            byPolicy[decision.Policy] = byPolicy.GetValueOrDefault(decision.Policy) + 1;
            if (decision.Policy == "greedy")
            {
                decision.Action.Id.Should().Be("good");
                decision.ChoiceProbability.Should().Be(1);
            }
        }

        (byPolicy["greedy"] / 2000.0).Should().BeApproximately(0.25, 4 * Math.Sqrt(0.25 * 0.75 / 2000));
        byPolicy["exploring"].Should().Be(2000 - byPolicy["greedy"]);
    }
}
