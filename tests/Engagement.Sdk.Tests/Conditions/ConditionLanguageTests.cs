using System.Collections.Immutable;
using Engagement.Sdk.Channels;
using Engagement.Sdk.Conditions;
using Engagement.Sdk.Consent;
using Engagement.Sdk.Events;
using Engagement.Sdk.Profiles;
using FsCheck;
using FsCheck.Fluent;

namespace Engagement.Sdk.Tests.Conditions;

public sealed class ConditionLanguageTests
{
    private static readonly DateTimeOffset T0 = new(2026, 3, 1, 12, 0, 0, TimeSpan.Zero);
    private static readonly CustomerId Ann = new("ann");

    private static readonly ConditionSchema Schema = new ConditionSchema(
        traits: [new("vip", TraitKind.Boolean), new("age", TraitKind.Number), new("tier", TraitKind.String), new("born", TraitKind.Date), new("tags", TraitKind.List)],
        customEvents: ["wishlist_added"]).WithJourney("lifecycle", ["attraction", "conversion"]);

    /// <summary>
    /// A count compared with a whole number is compared as an integer; with any other number (and for amounts of money) as a
    /// decimal. Both give the decimal comparison's answer, for every operator, count and threshold.
    /// </summary>
    [Fact]
    public void AggregateCondition_CountsComparedAsIntegers_AnswerAsTheDecimalComparison()
    {
        ProfileAggregate[] aggregates = [ProfileAggregate.Orders, ProfileAggregate.ProductViews, ProfileAggregate.PageViews, ProfileAggregate.Searches, ProfileAggregate.Revenue];
        decimal[] thresholds = [-1m, 0m, 1m, 2m, 2.5m, 3m, 3.0m, 2.999m, 4m, 1e20m, -1e20m];
        var cases = from aggregate in Gen.Elements(aggregates)
                    from op in Gen.Elements(Enum.GetValues<ComparisonOperator>())
                    from count in Gen.Choose(0, 5)
                    from threshold in Gen.Elements(thresholds)
                    select (aggregate, op, count, threshold);
        var property = Prop.ForAll(cases.ToArbitrary(), c =>
        {
            var behaviour = new BehaviourAggregates { Orders = c.count, ProductViews = c.count, PageViews = c.count, Searches = c.count, Revenue = Money.Of(c.count, "EUR") };
            var profile = CustomerProfile.New(Ann) with { Behaviour = behaviour };
            var answer = new AggregateNode(c.aggregate, c.op, c.threshold).Evaluate(new ConditionContext(profile, EventWindows.None, default, 0, 0));
            return answer == CompiledCondition.Compare((decimal)c.count, c.op, c.threshold);
        });
        Check.One(Config.QuickThrowOnFailure.WithMaxTest(1_000), property);
    }

    public static TheoryData<string> RoundTrips => new()
    {
        "true",
        "false",
        """{"all":[{"trait":"vip","eq":true},{"not":{"identifier":["email","phone"]}}]}""",
        """{"any":[{"aggregate":"orders","ge":2},{"aggregate":"netRevenue","gt":100.5}]}""",
        """{"trait":"tier","in":["gold","silver"]}""",
        """{"trait":"born","lt":{"date":"2000-01-01"}}""",
        """{"trait":"tags","contains":"outdoor"}""",
        """{"trait":"age","exists":false}""",
        """{"consent":"email","purpose":"marketing"}""",
        """{"journey":"lifecycle","stage":["conversion"]}""",
        """{"journey":"lifecycle"}""",
        """{"event":"product_viewed","within":"P7D","count":{"ge":3}}""",
        """{"event":"purchased","within":"P90D","count":{"eq":0}}""",
        """{"event":"purchased","within":"P1DT12H","sum":{"ge":100}}""",
        """{"event":"wishlist_added","within":"PT30M","count":{"gt":0}}""",
    };

    [Theory]
    [MemberData(nameof(RoundTrips))]
    public void Json_EveryKind_RoundTripsTextAndObject(string json)
    {
        var condition = ConditionJson.Parse(json);
        ConditionValidator.Validate(condition, Schema);

        var written = ConditionJson.ToJson(condition);

        written.Should().Be(json);
        ConditionJson.Parse(written).Should().BeEquivalentTo(condition, o => o.RespectingRuntimeTypes());
    }

    [Theory]
    [InlineData("""{"all":[{"trait":"vip","eq":true,"colour":"red"}]}""", "$.all[0].colour", "not a known property")]
    [InlineData("""{"trait":"vip","eq":true,"trait":"x"}""", "$.trait", "only once")]
    [InlineData("""{"trait":"vip","aggregate":"orders","ge":1}""", "$", "one kind")]
    [InlineData("""{"event":"product_viewed","within":"P7X","count":{"ge":3}}""", "$.within", "ISO 8601")]
    [InlineData("""{"event":"product_viewed","within":"P7D","count":{"ge":3,"le":5}}""", "$.count.le", "only one of")]
    [InlineData("""{"event":"product_viewed","within":"P7D"}""", "$", "exactly one of 'count' and 'sum'")]
    [InlineData("""{"aggregate":"lifetime","ge":1}""", "$.aggregate", "not an aggregate")]
    [InlineData("""{"any":{"trait":"vip","eq":true}}""", "$.any", "JSON array")]
    [InlineData("""[1]""", "$", "true, false or an object")]
    [InlineData("""{"trait":"born","lt":{"date":"01/02/2000"}}""", "$.lt.date", "yyyy-MM-dd")]
    public void Parse_BadJson_NamesThePathAndTheRule(string json, string path, string rule)
    {
        var act = () => ConditionJson.Parse(json);

        var error = act.Should().Throw<EngagementValidationException>().Which;
        error.Field.Should().Be(path);
        error.Rule.Should().Contain(rule);
    }

    [Theory]
    [InlineData("""{"all":[true,{"trait":"shoe_size","ge":40}]}""", "$.all[1].trait", "shoe_size", "not a declared trait")]
    [InlineData("""{"event":"product_seen","within":"P7D","count":{"ge":3}}""", "$.event", "product_seen", "not a known event type")]
    [InlineData("""{"event":"product_viewed","within":"-P1D","count":{"ge":3}}""", "$.within", "-P1D", "must be more than zero")]
    [InlineData("""{"event":"product_viewed","within":"P3651D","count":{"ge":3}}""", "$.within", "P3651D", "at most 10 years")]
    [InlineData("""{"event":"product_viewed","within":"P7D","sum":{"ge":3}}""", "$.sum", "product_viewed", "only events with an amount")]
    [InlineData("""{"event":"product_viewed","within":"P7D","count":{"ge":2.5}}""", "$.count.ge", "2.5", "whole number")]
    [InlineData("""{"trait":"vip","eq":"yes"}""", "$.eq", "yes", "must be a boolean")]
    [InlineData("""{"trait":"tier","gt":"gold"}""", "$.gt", "tier", "cannot test a string trait")]
    [InlineData("""{"journey":"loyalty","stage":["gold"]}""", "$.journey", "loyalty", "not a registered journey")]
    [InlineData("""{"journey":"lifecycle","stage":["gold"]}""", "$.stage[0]", "gold", "not a stage of the journey")]
    [InlineData("""{"stage":["conversion"]}""", "$.journey", null, "name the journey")]
    [InlineData("""{"consent":"pigeon","purpose":"marketing"}""", "$.consent", "pigeon", "not a well-known channel")]
    public void Validate_BadCondition_NamesThePathTheValueAndTheRule(string json, string path, string? value, string rule)
    {
        var act = () => ConditionValidator.Validate(ConditionJson.Parse(json), Schema);

        var error = act.Should().Throw<EngagementValidationException>().Which;
        error.Field.Should().Be(path);
        error.Value.Should().Be(value);
        error.Rule.Should().Contain(rule);
    }

    [Fact]
    public void EventCount_ThreeViewsInSevenDays_HoldsUntilTheFirstLeavesTheWindow()
    {
        var set = ConditionSet.Create(Schema, [Condition.EventCount("product_viewed", TimeSpan.FromDays(7), ComparisonOperator.Ge, 3)]);
        var windows = set.NewWindows();
        var profile = CustomerProfile.New(Ann);
        foreach (var day in new[] { 0, 1, 2 })
        {
            set.Record(windows, View(T0.AddDays(day)), T0.AddDays(day)).Should().BeTrue();
        }

        set.Evaluate(0, profile, windows, T0.AddDays(2)).Should().BeTrue();
        set.NextChange(0, profile, windows, T0.AddDays(2)).Should().Be(T0.AddDays(7));
        set.Evaluate(0, profile, windows, T0.AddDays(7).AddSeconds(-1)).Should().BeTrue();
        set.Evaluate(0, profile, windows, T0.AddDays(7)).Should().BeFalse();
    }

    [Fact]
    public void NoEvent_NinetyDaysWithoutAPurchase_BecomesTrueExactlyThen()
    {
        var set = ConditionSet.Create(Schema, [Condition.NoEvent("purchased", TimeSpan.FromDays(90))]);
        var windows = set.NewWindows();
        var profile = CustomerProfile.New(Ann);
        set.Evaluate(0, profile, windows, T0).Should().BeTrue("nothing was ever bought");

        set.Record(windows, Order(T0, 20m), T0);

        set.Evaluate(0, profile, windows, T0.AddDays(89)).Should().BeFalse();
        set.NextChange(0, profile, windows, T0.AddDays(89)).Should().Be(T0.AddDays(90));
        set.Evaluate(0, profile, windows, T0.AddDays(90)).Should().BeTrue();
        set.NextChange(0, profile, windows, T0.AddDays(90)).Should().BeNull("only a purchase can change it now");
    }

    [Fact]
    public void EventSum_OrdersInThirtyDays_CountsWholeDaysAndDropsTheOldest()
    {
        var set = ConditionSet.Create(Schema, [Condition.EventSum("purchased", TimeSpan.FromDays(30), ComparisonOperator.Ge, 100m)]);
        var windows = set.NewWindows();
        var profile = CustomerProfile.New(Ann);
        set.Record(windows, Order(T0, 60m), T0);
        set.Record(windows, Order(T0.AddDays(10), 50m), T0.AddDays(10));

        set.Evaluate(0, profile, windows, T0.AddDays(10)).Should().BeTrue();

        // The first order's bucket (its UTC day) ends at midnight after T0; it counts until that end is 30 days ago.
        var dayEnd = new DateTimeOffset(T0.UtcDateTime.Date.AddDays(1), TimeSpan.Zero);
        set.NextChange(0, profile, windows, T0.AddDays(10)).Should().Be(dayEnd.AddDays(30));
        set.Evaluate(0, profile, windows, dayEnd.AddDays(30).AddTicks(-1)).Should().BeTrue();
        set.Evaluate(0, profile, windows, dayEnd.AddDays(30)).Should().BeFalse();
    }

    [Fact]
    public void EventCount_AboveTheRingsSize_IsCountedInBuckets()
    {
        var set = ConditionSet.Create(Schema, [Condition.EventCount("page_viewed", TimeSpan.FromHours(6), ComparisonOperator.Ge, 100)]);
        var windows = set.NewWindows();
        var profile = CustomerProfile.New(Ann);
        for (var i = 0; i < 100; i++)
        {
            set.Record(windows, Page(T0.AddSeconds(i)), T0.AddSeconds(i));
        }

        set.Evaluate(0, profile, windows, T0.AddMinutes(5)).Should().BeTrue();
        windows.RecentTicks("page_viewed").Should().BeEmpty("a count of 100 is kept in hourly buckets, not as timestamps");
        windows.BucketsOf("page_viewed").Should().ContainSingle().Which.Count.Should().Be(100);
        set.Evaluate(0, profile, windows, T0.AddHours(7)).Should().BeFalse();
    }

    [Fact]
    public void Record_EventTypeNoConditionCounts_IsIgnored()
    {
        var set = ConditionSet.Create(Schema, [Condition.NoEvent("purchased", TimeSpan.FromDays(90))]);
        var windows = set.NewWindows();

        set.Record(windows, View(T0), T0).Should().BeFalse();
        windows.IsEmpty.Should().BeTrue();
    }

    [Fact]
    public void ProfileConditions_TraitsAggregatesIdentifiersAndConsent_AreEvaluated()
    {
        var set = ConditionSet.Create(Schema, [
            Condition.Trait("vip", TraitOperator.Eq, TraitValue.Of(true)),
            Condition.Trait("age", TraitOperator.Ge, TraitValue.Of(18)),
            Condition.Trait("tier", TraitOperator.In, TraitValue.Of("gold"), TraitValue.Of("silver")),
            Condition.Trait("tags", TraitOperator.Contains, TraitValue.Of("outdoor")),
            Condition.Not(Condition.TraitExists("born")),
            Condition.Aggregate(ProfileAggregate.Orders, ComparisonOperator.Ge, 2),
            Condition.HasIdentifier(IdentifierKind.Email),
            Condition.Consent(Channel.Email, Purpose.Marketing),
            Condition.Trait("age", TraitOperator.Ne, TraitValue.Of(30)),
        ]);
        var profile = CustomerProfile.New(Ann)
            .WithTrait("vip", TraitValue.Of(true))
            .WithTrait("age", TraitValue.Of(30))
            .WithTrait("tier", TraitValue.Of("gold"))
            .WithTrait("tags", TraitValue.Of(ImmutableArray.Create("outdoor", "kids")))
            .WithIdentifier(Identifier.Email("ann@example.com")) with
        {
            Behaviour = new BehaviourAggregates { Orders = 2 },
        };
        var granted = ConsentState.Fold(Ann, [new ConsentRecord
        {
            RecordId = "r1", CustomerId = Ann, Channel = Channel.Email, Purpose = Purpose.Marketing, Identifier = Identifier.Email("ann@example.com"),
            Status = ConsentStatus.Granted, Source = "test", Evidence = new ConsentEvidence("v1", "test"), EffectiveAt = T0.AddDays(-1),
        }]);
        var windows = set.NewWindows();

        Enumerable.Range(0, 8).Select(i => set.Evaluate(i, profile, windows, T0, granted)).Should().AllBeEquivalentTo(true);
        set.Evaluate(8, profile, windows, T0).Should().BeFalse("age is 30");
        set.Evaluate(7, profile, windows, T0, consent: null).Should().BeFalse("no consent state, no consent");
        set.Evaluate(1, profile.WithTrait("age", TraitValue.Of("thirty")), windows, T0).Should().BeFalse("a trait of another type than declared fails every test");
        set.Evaluate(0, CustomerProfile.New(Ann), windows, T0).Should().BeFalse("a missing trait is not equal to anything");
    }

    [Fact]
    public void Ring_AnyArrivalOrder_CountsExactlyAsAScanWould()
    {
        var windowDays = 7;
        Prop.ForAll(
            Gen.Choose(0, 240).ListOf().Select(l => l.ToArray()).ToArbitrary(),
            Gen.Choose(0, 12).ToArbitrary(),
            Gen.Choose(0, 260).ToArbitrary(),
            (hours, threshold, nowHour) =>
            {
                foreach (var op in Enum.GetValues<ComparisonOperator>())
                {
                    var set = ConditionSet.Create(Schema, [Condition.EventCount("product_viewed", TimeSpan.FromDays(windowDays), op, threshold)]);
                    var windows = set.NewWindows();
                    foreach (var h in hours)
                    {
                        set.Record(windows, View(T0.AddHours(h)), T0.AddHours(h));
                    }

                    var now = T0.AddHours(nowHour);
                    var count = hours.Count(h => T0.AddHours(h) > now.AddDays(-windowDays));
                    var expected = op switch
                    {
                        ComparisonOperator.Eq => count == threshold,
                        ComparisonOperator.Ne => count != threshold,
                        ComparisonOperator.Gt => count > threshold,
                        ComparisonOperator.Ge => count >= threshold,
                        ComparisonOperator.Lt => count < threshold,
                        _ => count <= threshold,
                    };
                    if (set.Evaluate(0, CustomerProfile.New(Ann), windows, now) != expected)
                    {
                        return false;
                    }

                    // The predicted change is never late: just before it, the answer is still the same.
                    if (set.NextChange(0, CustomerProfile.New(Ann), windows, now) is { } next && next > now
                        && set.Evaluate(0, CustomerProfile.New(Ann), windows, next.AddTicks(-1)) != expected)
                    {
                        return false;
                    }
                }

                return true;
            }).QuickCheckThrowOnFailure();
    }

    [Fact]
    public void MergeFrom_TwoCustomersCounters_KeepsTheMostRecentOfBoth()
    {
        var set = ConditionSet.Create(Schema, [Condition.EventCount("product_viewed", TimeSpan.FromDays(7), ComparisonOperator.Ge, 3), Condition.EventSum("purchased", TimeSpan.FromDays(30), ComparisonOperator.Ge, 100m)]);
        var ours = set.NewWindows();
        var theirs = set.NewWindows();
        set.Record(ours, View(T0), T0);
        set.Record(theirs, View(T0.AddDays(1)), T0.AddDays(1));
        set.Record(theirs, View(T0.AddDays(2)), T0.AddDays(2));
        set.Record(ours, Order(T0, 60m), T0);
        set.Record(theirs, Order(T0, 40m), T0);

        ours.MergeFrom(theirs);

        set.Evaluate(0, CustomerProfile.New(Ann), ours, T0.AddDays(3)).Should().BeTrue();
        set.Evaluate(1, CustomerProfile.New(Ann), ours, T0.AddDays(3)).Should().BeTrue();
        ours.RecentTicks("product_viewed").Should().Equal(T0.AddDays(2).UtcTicks, T0.AddDays(1).UtcTicks, T0.UtcTicks);
    }

    [Fact]
    public void IsoDuration_FormatAndParse_RoundTrip()
    {
        foreach (var text in new[] { "P7D", "PT12H", "P1DT2H30M", "PT0S", "PT45S", "P3650D" })
        {
            IsoDuration.Format(IsoDuration.Parse(text, "$")).Should().Be(text);
        }

        IsoDuration.Parse("P2W", "$").Should().Be(TimeSpan.FromDays(14));
        IsoDuration.TryParse("P1M", out _).Should().BeFalse("months vary in length");
        IsoDuration.TryParse("PT", out _).Should().BeFalse();
        IsoDuration.TryParse("P1H", out _).Should().BeFalse("hours need the T");
        IsoDuration.TryParse("PT1M1H", out _).Should().BeFalse("units go in order");
    }

    private static ProductViewed View(DateTimeOffset at) => new() { EventId = "v" + at.UtcTicks, CustomerId = Ann, Timestamp = at, ProductId = "p1" };

    private static PageViewed Page(DateTimeOffset at) => new() { EventId = "p" + at.UtcTicks, CustomerId = Ann, Timestamp = at, Url = "/" };

    private static Purchased Order(DateTimeOffset at, decimal amount)
        => new() { EventId = "o" + at.UtcTicks + amount, CustomerId = Ann, Timestamp = at, OrderId = "o" + at.UtcTicks + amount, Lines = [new OrderLine("p1", 1, new Money(amount, Currency.EUR))] };
}
