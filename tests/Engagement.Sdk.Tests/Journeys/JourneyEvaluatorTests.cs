using Engagement.Sdk.Events;
using Engagement.Sdk.Journeys;
using Engagement.Sdk.Profiles;

namespace Engagement.Sdk.Tests.Journeys;

public sealed class JourneyEvaluatorTests
{
    private static readonly DateTimeOffset T0 = new(2026, 1, 1, 10, 0, 0, TimeSpan.Zero);
    private static readonly CustomerId Ann = new("ann");

    [Fact]
    public void Evaluate_Lifecycle_MovesThroughTheFourSeedStagesInOrder()
    {
        var profile = CustomerProfile.New(Ann);
        var stages = new List<string>();
        EngagementEvent[] events =
        [
            new ProductViewed { EventId = "1", CustomerId = Ann, Timestamp = T0, ProductId = "p" },
            new AddedToCart { EventId = "2", CustomerId = Ann, Timestamp = T0.AddMinutes(1), ProductId = "p" },
            Order("3", T0.AddMinutes(2)),
            Order("4", T0.AddDays(20)),
        ];

        foreach (var e in events)
        {
            profile = ProfileUpdater.Apply(profile, e);
            profile = JourneyEvaluator.Evaluate(JourneyDefinition.Lifecycle, profile, e, e.Timestamp, out var transition);
            stages.Add(transition!.ToStageId);
        }

        stages.Should().Equal("attraction", "relationship", "conversion", "engagement");
        profile.Journeys["lifecycle"].History.Select(v => v.StageId).Should().Equal(stages);
        profile.Journeys["lifecycle"].EnteredAt.Should().Be(T0.AddDays(20));
        profile.Journeys["lifecycle"].TimeInStage(T0.AddDays(21)).Should().Be(TimeSpan.FromDays(1));
    }

    [Fact]
    public void Evaluate_FirstEventIsAPurchase_SkipsToConversion()
    {
        var e = Order("1", T0);
        var profile = ProfileUpdater.Apply(CustomerProfile.New(Ann), e);

        profile = JourneyEvaluator.Evaluate(JourneyDefinition.Lifecycle, profile, e, T0, out var transition);

        transition!.FromStageId.Should().BeNull();
        transition.ToStageId.Should().Be("conversion");
        transition.Reason.Should().Be("placed an order");
    }

    [Fact]
    public void Evaluate_LaterEventThatFitsAnEarlierStage_NeverMovesBackwards()
    {
        var order = Order("1", T0);
        var profile = JourneyEvaluator.Evaluate(JourneyDefinition.Lifecycle, ProfileUpdater.Apply(CustomerProfile.New(Ann), order), order, T0, out _);
        var view = new ProductViewed { EventId = "2", CustomerId = Ann, Timestamp = T0.AddDays(1), ProductId = "p" };

        var after = JourneyEvaluator.Evaluate(JourneyDefinition.Lifecycle, ProfileUpdater.Apply(profile, view), view, view.Timestamp, out var transition);

        transition.Should().BeNull();
        after.Journeys["lifecycle"].StageId.Should().Be("conversion");
    }

    [Fact]
    public void Funnel_Profiles_CountsCurrentAndReachedStagesAndConversion()
    {
        var profiles = new[] { "attraction", "attraction", "relationship", "conversion", "engagement" }
            .Select((stage, i) => CustomerProfile.New(new CustomerId("c" + i)) with
            {
                Journeys = KeyedValues<JourneyPosition>.Empty.SetItem("lifecycle", new JourneyPosition("lifecycle", [new StageVisit(stage, T0, "test")])),
            });

        var funnel = JourneyFunnel.Compute(JourneyDefinition.Lifecycle, profiles);

        funnel.Select(r => r.Current).Should().Equal(2, 1, 1, 1);
        funnel.Select(r => r.Reached).Should().Equal(5, 3, 2, 1);
        funnel[0].ConversionFromPrevious.Should().BeNull();
        funnel[1].ConversionFromPrevious.Should().BeApproximately(0.6, 1e-12);
        funnel[3].ConversionFromPrevious.Should().BeApproximately(0.5, 1e-12);
    }

    [Fact]
    public void Create_DuplicateStageIds_IsRejected()
    {
        var act = () => JourneyDefinition.Create("j", [new JourneyStage("a", "A", StageRule.AnyEvent), new JourneyStage("a", "A again", StageRule.HasCarted)]);

        act.Should().Throw<EngagementValidationException>().Which.Field.Should().Be("journey.stages[1].id");
    }

    private static Purchased Order(string id, DateTimeOffset at)
        => new() { EventId = id, CustomerId = Ann, Timestamp = at, OrderId = id, Lines = [new OrderLine("p", 1, Money.Of(10m, "EUR"))] };
}
