using Engagement.Sdk.Channels;
using Engagement.Sdk.Conditions;
using Engagement.Sdk.Decisioning;
using Engagement.Sdk.Journeys;
using Engagement.Sdk.Profiles;
using Engagement.Sdk.Tests.Snapshots;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace Engagement.Sdk.Tests.Journeys;

public sealed class JourneyDefinitionTests
{
    internal static string LapseJson => File.ReadAllText(Snapshot.RepositoryPath("tests/Engagement.Sdk.Tests/Journeys/lifecycle-with-lapse.json"));

    internal static ActionCatalog LapseActions { get; } = ActionCatalog.Create([
        new ActionDefinition { Id = "cart_reminder", Name = "Cart reminder", Kind = ActionKind.Message, Channels = [Channel.Email], Value = 5m, BasePropensity = 0.2 },
        new ActionDefinition { Id = "winback_offer", Name = "Win-back offer", Channels = [Channel.Email, Channel.Sms], Value = 12m, BasePropensity = 0.05 },
    ]);

    [Fact]
    public void FromJson_TheSeedJourneyWithLapse_RoundTripsTextAndObject()
    {
        var journey = JourneyDefinition.FromJson(LapseJson);

        var written = journey.ToJson();
        var again = JourneyDefinition.FromJson(written);

        again.ToJson().Should().Be(written);
        again.Should().BeEquivalentTo(journey, o => o.RespectingRuntimeTypes().Excluding(j => j.Fingerprint));
        again.Fingerprint.Should().Be(journey.Fingerprint);
        journey.Stages.Select(s => s.Id).Should().Equal("attraction", "relationship", "conversion", "engagement", "at_risk", "lapsed");
        journey.PriorityOf(journey.IndexOf("lapsed")).Should().Be(11);
        journey.Stages[1].Steps.Should().HaveCount(3).And.Subject.First().Should().BeOfType<WaitForEventStep>().Which.Timeout.Should().Be(TimeSpan.FromDays(2));
    }

    [Fact]
    public void Build_TheSameJourneyInCSharp_WritesTheSameJson()
    {
        var fromJson = JourneyDefinition.FromJson("""
            {"id":"cart","version":3,"controlGroup":{"percent":10,"salt":"2026"},"reEntry":{"allowed":true,"after":"P30D"},
             "goal":{"when":{"aggregate":"orders","ge":1},"exit":true},
             "stages":[{"id":"carted","entry":{"aggregate":"itemsInCart","ge":1},"steps":[
               {"id":"w","type":"wait","duration":"PT2H"},{"id":"r","type":"send","actions":["cart_reminder"]},{"id":"x","type":"exit"}]}],
             "migrations":[{"from":2,"stages":{"basket":"carted"}}]}
            """);

        var built = JourneyDefinition.Create("cart", 3)
            .ControlGroup(10, "2026")
            .AllowReEntry(TimeSpan.FromDays(30))
            .Goal(Condition.Aggregate(ProfileAggregate.Orders, ComparisonOperator.Ge, 1), exitOnGoal: true)
            .Stage("carted", s => s.Entry(Condition.Aggregate(ProfileAggregate.ItemsInCart, ComparisonOperator.Ge, 1)).Wait("w", TimeSpan.FromHours(2)).Send("r", "cart_reminder").ExitJourney("x"))
            .Migrate(2, [new("basket", "carted")])
            .Build();

        built.ToJson().Should().Be(fromJson.ToJson());
        built.Fingerprint.Should().Be(fromJson.Fingerprint);
    }

    [Fact]
    public void Lifecycle_TheDefaultJourney_HasTheFourSeedStages()
    {
        JourneyDefinition.Lifecycle.Stages.Select(s => s.Id).Should().Equal("attraction", "relationship", "conversion", "engagement");
        JourneyDefinition.FromJson(JourneyDefinition.Lifecycle.ToJson()).ToJson().Should().Be(JourneyDefinition.Lifecycle.ToJson());
    }

    public static TheoryData<string, string, string?, string> BadDefinitions => new()
    {
        // An unknown event type, in a condition and in a wait.
        { Stage("""{"id":"a","entry":{"event":"product_seen","within":"P7D","count":{"ge":3}}}"""), "$.stages[0].entry.event", "product_seen", "not a known event type" },
        { Stage("""{"id":"a","entry":true,"steps":[{"id":"w","type":"waitForEvent","events":["bought"],"timeout":"P1D"}]}"""), "$.stages[0].steps[0].events[0]", "bought", "not a known event type" },
        // A cycle of zero-duration waits (and a cycle through sends and branches).
        { Stage("""{"id":"a","entry":true,"steps":[{"id":"w1","type":"wait","duration":"PT0S"},{"id":"w2","type":"wait","duration":"PT0S","next":"w1"}]}"""), "$.stages[0].steps[0]", "w1 → w2 → w1", "a cycle of steps that takes no time" },
        { Stage("""{"id":"a","entry":true,"steps":[{"id":"s","type":"send","actions":["x"]},{"id":"b","type":"branch","cases":[{"when":true,"goto":"s"}],"default":"end"}]}"""), "$.stages[0].steps[0]", "s → b → s", "a cycle of steps that takes no time" },
        { Stages("""{"id":"a","entry":true,"steps":[{"id":"m","type":"moveTo","stage":"b"}]}""", """{"id":"b","steps":[{"id":"m","type":"moveTo","stage":"a"}]}"""), "$.stages[0].steps[0]", "m → m → m", "a cycle of steps that takes no time" },
        // A branch with no default.
        { Stage("""{"id":"a","entry":true,"steps":[{"id":"b","type":"branch","cases":[{"when":true,"goto":"end"}]}]}"""), "$.stages[0].steps[0].default", null, "a branch needs a default" },
        // An unreachable stage, and an unreachable step.
        { Stages("""{"id":"a","entry":true}""", """{"id":"b","name":"never entered"}"""), "$.stages[1]", "b", "is unreachable" },
        { Stage("""{"id":"a","entry":true,"steps":[{"id":"x","type":"exit"},{"id":"y","type":"goal"}]}"""), "$.stages[0].steps[1]", "y", "is unreachable" },
        // Duplicate ids.
        { Stages("""{"id":"a","entry":true}""", """{"id":"a","entry":false}"""), "$.stages[1].id", "a", "a duplicate id" },
        { Stage("""{"id":"a","entry":true,"steps":[{"id":"s","type":"goal"},{"id":"s","type":"goal"}]}"""), "$.stages[0].steps[1].id", "s", "a duplicate id" },
        // A negative or absurd duration.
        { Stage("""{"id":"a","entry":true,"steps":[{"id":"w","type":"wait","duration":"-P1D"}]}"""), "$.stages[0].steps[0].duration", "-P1D", "must not be negative" },
        { Stage("""{"id":"a","entry":true,"steps":[{"id":"w","type":"wait","duration":"P3651D"}]}"""), "$.stages[0].steps[0].duration", "P3651D", "at most 10 years" },
        { Stage("""{"id":"a","entry":true,"steps":[{"id":"w","type":"waitForEvent","events":["purchased"],"timeout":"P20000D"}]}"""), "$.stages[0].steps[0].timeout", "P20000D", "at most 10 years" },
        { """{"id":"j","reEntry":{"allowed":true,"after":"P4000D"},"stages":[{"id":"a","entry":true}]}""", "$.reEntry.after", "P4000D", "at most 10 years" },
        // A condition on an unknown trait.
        { Stage("""{"id":"a","entry":{"trait":"shoe_size","ge":40}}"""), "$.stages[0].entry.trait", "shoe_size", "not a declared trait" },
        // Shapes and references.
        { Stage("""{"id":"a","entry":true,"colour":"red"}"""), "$.stages[0].colour", "red", "not a known property" },
        { Stage("""{"id":"a","entry":true,"steps":[{"id":"g","type":"goal","next":"nowhere"}]}"""), "$.stages[0].steps[0].next", "nowhere", "not a step of this stage" },
        { Stage("""{"id":"a","entry":true,"exit":{"when":true,"to":"b"}}"""), "$.stages[0].exit.to", "b", "not a stage of this journey" },
        { Stage("""{"id":"a","entry":true,"steps":[{"id":"s","type":"send","actions":[]}]}"""), "$.stages[0].steps[0].actions", null, "at least one action" },
        { Stage("""{"id":"a","entry":true,"steps":[{"id":"s","type":"teleport"}]}"""), "$.stages[0].steps[0].type", "teleport", "not a step type" },
        { """{"id":"j","controlGroup":{"percent":80},"stages":[{"id":"a","entry":true}]}""", "$.controlGroup.percent", "80", "at most 50" },
        { """{"id":"j","version":2,"migrations":[{"from":2,"stages":{}}],"stages":[{"id":"a","entry":true}]}""", "$.migrations[0].from", "2", "an earlier version" },
        { """{"id":"J","stages":[{"id":"a","entry":true}]}""", "$.id", "J", "lower-case" },
        { """{"id":"j","stages":[]}""", "$.stages", "j", "at least one stage" },
        { """{"id":"j","customEvents":["purchased"],"stages":[{"id":"a","entry":true}]}""", "$.customEvents[0]", "purchased", "built-in event type" },
    };

    [Theory]
    [MemberData(nameof(BadDefinitions))]
    public void FromJson_BadDefinition_IsRejectedNamingThePathTheValueAndTheRule(string json, string path, string? value, string rule)
    {
        var act = () => JourneyDefinition.FromJson(json);

        var error = act.Should().Throw<EngagementValidationException>().Which;
        error.Field.Should().Be(path);
        error.Value.Should().Be(value);
        error.Rule.Should().Contain(rule);
    }

    [Fact]
    public void Build_BadDefinitionInCSharp_FailsWithTheSamePathAsJson()
    {
        var act = () => JourneyDefinition.Create("j").Stage("a", s => s.Entry(Condition.Always).Step(new BranchStep("b", [new BranchCase(Condition.Always, "end")], null!))).Build();

        act.Should().Throw<EngagementValidationException>().Which.Field.Should().Be("$.stages[0].steps[0].default");
    }

    [Fact]
    public void Create_CatalogWithAnUnknownActionOrJourney_NamesTheJourneyAndThePath()
    {
        var sends = JourneyDefinition.FromJson(Stage("""{"id":"a","entry":true,"steps":[{"id":"s","type":"send","actions":["cart_reminder","confetti"]}]}"""));
        var act = () => JourneyCatalog.Create([sends], LapseActions);
        act.Should().Throw<EngagementValidationException>().Which.Field.Should().Be("j v1: $.stages[0].steps[0].actions[1]");

        var crossJourney = JourneyDefinition.FromJson(Stage("""{"id":"a","entry":{"journey":"loyalty","stage":["gold"]}}"""));
        var unknown = () => JourneyCatalog.Create([crossJourney]);
        unknown.Should().Throw<EngagementValidationException>().Which.Field.Should().Be("j v1: $.stages[0].entry.journey");

        var loyalty = JourneyDefinition.FromJson("""{"id":"loyalty","stages":[{"id":"gold","entry":{"aggregate":"orders","ge":10}}]}""");
        JourneyCatalog.Create([crossJourney, loyalty]).JourneyIds.Should().Equal("j", "loyalty");

        var twice = () => JourneyCatalog.Create([loyalty, loyalty]);
        twice.Should().Throw<EngagementValidationException>().Which.Rule.Should().Contain("registered twice");
    }

    [Fact]
    public void AddEngagement_JourneyNamingAMissingAction_FailsWhenTheHostStarts()
    {
        var services = new ServiceCollection();
        services.AddEngagement().AddJourney(JourneyDefinition.FromJson(LapseJson));
        using var provider = services.BuildServiceProvider();

        var act = () => provider.GetRequiredService<IOptions<EngagementOptions>>().Value;

        act.Should().Throw<OptionsValidationException>().WithMessage("*cart_reminder*not an action of the catalogue*");
    }

    [Fact]
    public void ActionEligibility_UnknownTrait_FailsWhenTheHostStarts()
    {
        var services = new ServiceCollection();
        services.AddEngagement().UseActions(ActionCatalog.Create([
            new ActionDefinition { Id = "vip", Name = "VIP", Channels = [Channel.Email], Value = 1m, Eligibility = Condition.Trait("tier", TraitOperator.Eq, TraitValue.Of("gold")) },
        ]));
        using var provider = services.BuildServiceProvider();

        var act = () => provider.GetRequiredService<IOptions<EngagementOptions>>().Value;

        act.Should().Throw<OptionsValidationException>().WithMessage("*actions[0].eligibility.trait*tier*not a declared trait*");
    }

    private static string Stage(string stage) => """{"id":"j","stages":[""" + stage + "]}";

    private static string Stages(string a, string b) => """{"id":"j","stages":[""" + a + "," + b + "]}";
}
