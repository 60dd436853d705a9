using System.Text.Json;
using Engagement.Sdk.Channels;
using Engagement.Sdk.Conditions;
using Engagement.Sdk.Consent;
using Engagement.Sdk.Decisioning;
using Engagement.Sdk.Profiles;
using Engagement.Sdk.Storage;
using static Engagement.Sdk.Tests.Decisioning.DecisionHarness;

namespace Engagement.Sdk.Tests.Decisioning;

/// <summary>Each step of the pipeline removes what it should, with its stable reason code and the step's name in the trace.</summary>
public sealed class DecisionPipelineTests
{
    private static ActionDefinition Offer(string id, params Channel[] channels) => new() { Id = id, Name = id, Channels = channels.Length == 0 ? [Channel.Email] : [.. channels], Value = 10m, BasePropensity = 0.1 };

    [Fact]
    public async Task Candidates_AreEveryActionTimesChannelTimesTreatment_PlusDoNothing()
    {
        var harness = await CreateAsync([
            Offer("a", Channel.Email, Channel.Sms) with { Treatments = [new ActionTreatment { Id = "red" }, new ActionTreatment { Id = "blue", Channels = [Channel.Sms] }] },
            Offer("b", Channel.Push),
        ]);

        var decision = await harness.DecideAsync(Profile());

        decision.Candidates.Select(c => (c.ActionId, c.Channel?.Name, c.TreatmentId)).Should().BeEquivalentTo(
        [("a", "email", "red"), ("a", "sms", "red"), ("a", "sms", "blue"), ("b", "push", (string?)null), (ActionCatalog.NoActionId, (string?)null, (string?)null)]);
        decision.CandidateCount.Should().Be(5, "four survivors and do-nothing were weighed");
    }

    [Fact]
    public async Task Validity_BeforeTheStartOrFromTheEnd_IsRemovedFirst()
    {
        var harness = await CreateAsync([
            Offer("early") with { ValidFrom = Now.AddDays(1), ProductId = "p1" },
            Offer("late") with { ValidFrom = Now.AddDays(-10), ValidUntil = Now },
            Offer("now") with { ValidFrom = Now.AddDays(-1), ValidUntil = Now.AddTicks(1), Value = 1m },
        ], stock: new FixedStock("p1"));

        var decision = await harness.DecideAsync(Profile());

        decision.Action.Id.Should().Be("now");
        Reason(decision, "early").Should().Be((DecisionStage.Validity, DecisionReasons.NotYetValid), "validity is checked before stock");
        Reason(decision, "late").Should().Be((DecisionStage.Validity, DecisionReasons.Expired), "the end is exclusive");
    }

    [Fact]
    public async Task Eligibility_StagesAndConditions_NameTheConditionThatFailed()
    {
        var harness = await CreateAsync([
            Offer("loyalty") with { Stages = ["engagement"] },
            Offer("vip") with { Eligibility = Condition.Trait("tier", TraitOperator.Eq, TraitValue.Of("gold")) },
            Offer("other-journey") with { Eligibility = Condition.InStage("lifecycle", "engagement") },
            Offer("silver") with { Eligibility = Condition.Trait("tier", TraitOperator.Eq, TraitValue.Of("silver")), Value = 2m },
            Offer("everyone") with { Value = 1m },
        ], journeyStore: true);

        var decision = await harness.DecideAsync(Profile("conversion").WithTrait("tier", TraitValue.Of("silver")));

        decision.Action.Id.Should().Be("silver");
        Reason(decision, "loyalty").Should().Be((DecisionStage.Eligibility, DecisionReasons.NotInStage));
        Reason(decision, "vip").Should().Be((DecisionStage.Eligibility, DecisionReasons.NotEligible));
        decision.Candidates.Single(c => c.ActionId == "vip").Detail.Should().Contain("tier");
        Reason(decision, "other-journey").Should().Be((DecisionStage.Eligibility, DecisionReasons.NotEligible));
    }

    [Fact]
    public async Task Eligibility_AConditionWithoutTheJourneysFacts_NeverHolds()
    {
        var harness = await CreateAsync([Offer("vip") with { Eligibility = Condition.Always }, Offer("everyone") with { Value = 1m }]);

        var decision = await harness.DecideAsync(Profile());

        decision.Action.Id.Should().Be("everyone");
        decision.Candidates.Single(c => c.ActionId == "vip").Detail.Should().Contain("no journey facts");
    }

    [Fact]
    public async Task Applicability_OwnedInCartOutOfStockCooldownAndReplenishment_EachHasItsReason()
    {
        var harness = await CreateAsync([
            Offer("owned") with { ProductId = "p-owned" },
            Offer("in-cart") with { ProductId = "p-cart" },
            Offer("cart-reminder") with { ProductId = "p-cart", InCart = InCartRule.Require, Value = 2m },
            Offer("reminder-empty") with { ProductId = "p-other", InCart = InCartRule.Require },
            Offer("gone") with { ProductId = "p-gone" },
            Offer("after-purchase") with { PurchaseCooldown = TimeSpan.FromDays(7) },
            Offer("refill-early") with { ProductId = "p-coffee", ReplenishAfter = TimeSpan.FromDays(30) },
            Offer("refill-due") with { ProductId = "p-tea", ReplenishAfter = TimeSpan.FromDays(30), Value = 1m },
        ], stock: new FixedStock("p-gone"));
        var profile = WithBehaviour(Profile(), b => b with
        {
            ItemsBought = ["p-owned", "p-coffee", "p-tea"],
            ItemsInCart = ["p-cart"],
            LastPurchase = Now.AddDays(-3),
            ItemsLastBought = KeyedValues<DateTimeOffset>.Empty.SetItem("p-coffee", Now.AddDays(-3)).SetItem("p-tea", Now.AddDays(-31)).SetItem("p-owned", Now.AddDays(-60)),
        });

        var decision = await harness.DecideAsync(profile);

        Reason(decision, "owned").Should().Be((DecisionStage.Applicability, DecisionReasons.AlreadyBought));
        Reason(decision, "in-cart").Should().Be((DecisionStage.Applicability, DecisionReasons.InCart), "an item in the cart is not recommended");
        Reason(decision, "reminder-empty").Should().Be((DecisionStage.Applicability, DecisionReasons.NotInCart));
        Reason(decision, "gone").Should().Be((DecisionStage.Applicability, DecisionReasons.OutOfStock));
        Reason(decision, "after-purchase").Should().Be((DecisionStage.Applicability, DecisionReasons.PurchaseCooldown));
        Reason(decision, "refill-early").Should().Be((DecisionStage.Applicability, DecisionReasons.BeforeReplenishment));
        decision.Candidates.Single(c => c.ActionId == "refill-early").Detail.Should().Contain("2026-06-28");
        decision.Candidates.Where(c => c.Status != CandidateStatus.Rejected && c.ActionId != ActionCatalog.NoActionId).Select(c => c.ActionId)
            .Should().BeEquivalentTo(["cart-reminder", "refill-due"], "the cart reminder needs the product in the cart, and the tea is due again");
    }

    [Fact]
    public async Task Suitability_AHostRuleThatFails_RemovesTheAction()
    {
        var harness = await CreateAsync([
            Offer("credit") with { Value = 50m, Suitability = [new CustomerRule("affordable", static (p, _) => p.Traits.TryGetValue("income", out var income) && income.AsNumber() > 2000)] },
            Offer("guide") with { Value = 1m },
        ]);

        var decision = await harness.DecideAsync(Profile().WithTrait("income", TraitValue.Of(900)));

        decision.Action.Id.Should().Be("guide");
        Reason(decision, "credit").Should().Be((DecisionStage.Suitability, DecisionReasons.NotSuitable));
        decision.Candidates.Single(c => c.ActionId == "credit").Detail.Should().Contain("'affordable'");
    }

    [Fact]
    public async Task Channel_NoSenderNoAddressOrNotPermitted_IsRemovedPerChannelWithTheGatesCode()
    {
        var harness = await CreateAsync([Offer("a", Channel.Email, Channel.Sms, Channel.Push, Channel.Web)], senders: [Channel.Email, Channel.Push, Channel.Web]);
        var profile = Profile() with { Identifiers = [AnnEmail, AnnPhone] };

        var decision = await harness.DecideAsync(profile);

        decision.Channel.Should().Be(Channel.Email);
        var byChannel = decision.Candidates.Where(c => c.Channel is not null).ToDictionary(c => c.Channel!.Value);
        byChannel[Channel.Sms].Reason.Should().Be(DecisionReasons.NoSender);
        byChannel[Channel.Push].Reason.Should().Be(DecisionReasons.NoAddress);
        byChannel[Channel.Web].Reason.Should().Be(DecisionReasons.NotPermitted);
        byChannel[Channel.Web].PermissionCode.Should().Be(PermissionReasons.NoConsent);
        byChannel[Channel.Web].Stage.Should().Be(DecisionStage.Channel);
    }

    [Fact]
    public async Task ContactPolicy_SendsPerWindowGapAfterSendAndAfterDismissal_AreEnforcedPerAction()
    {
        var policy = new ActionContactPolicy { MaxSends = 2, Window = TimeSpan.FromDays(7), MinGapAfterSend = TimeSpan.FromDays(2), MinGapAfterDismissal = TimeSpan.FromDays(10) };
        var harness = await CreateAsync([
            Offer("twice") with { ContactPolicy = policy },
            Offer("yesterday") with { ContactPolicy = policy },
            Offer("dismissed") with { ContactPolicy = policy },
            Offer("old") with { ContactPolicy = policy, Value = 1m },
        ]);
        var log = harness.Contacts;
        await log.RecordAsync(new ActionContact(Ann, "twice", Channel.Email, ActionContactKind.Sent, Now.AddDays(-6), "d1"));
        await log.RecordAsync(new ActionContact(Ann, "twice", Channel.Email, ActionContactKind.Sent, Now.AddDays(-3), "d2"));
        await log.RecordAsync(new ActionContact(Ann, "yesterday", Channel.Email, ActionContactKind.Sent, Now.AddDays(-1), "d3"));
        await log.RecordAsync(new ActionContact(Ann, "dismissed", Channel.Push, ActionContactKind.Dismissed, Now.AddDays(-4), "d4"));
        await log.RecordAsync(new ActionContact(Ann, "old", Channel.Email, ActionContactKind.Sent, Now.AddDays(-8), "d5"));
        await log.RecordAsync(new ActionContact(Ann, "old", Channel.Email, ActionContactKind.Sent, Now.AddDays(-9), "d6"));

        var decision = await harness.DecideAsync(Profile());

        decision.Action.Id.Should().Be("old", "its sends are outside the window and its gap is over");
        Reason(decision, "twice").Should().Be((DecisionStage.ContactPolicy, DecisionReasons.ActionSendLimit));
        Reason(decision, "yesterday").Should().Be((DecisionStage.ContactPolicy, DecisionReasons.ActionSendGap));
        Reason(decision, "dismissed").Should().Be((DecisionStage.ContactPolicy, DecisionReasons.ActionDismissalGap));
    }

    [Fact]
    public async Task ContactPolicy_HistoryThatCannotBeRead_DeniesTheActionsThatNeedIt()
    {
        var harness = await CreateAsync([Offer("limited") with { ContactPolicy = new ActionContactPolicy { MaxSends = 1 } }, Offer("free") with { Value = 1m }], contacts: new BrokenContactLog());

        var decision = await harness.DecideAsync(Profile());

        decision.Action.Id.Should().Be("free");
        Reason(decision, "limited").Should().Be((DecisionStage.ContactPolicy, DecisionReasons.ContactHistoryUnavailable));
        decision.Candidates.Single(c => c.ActionId == "limited").Detail.Should().Contain("IOException");
    }

    [Fact]
    public async Task Score_IsContextTimesLeversTimesPropensityTimesValueMinusCost()
    {
        var options = new DecisioningOptions { Exploration = ExplorationMode.Greedy, UseChannelAffinity = false, Segments = LearningSegments.None };
        options.ChannelCosts[Channel.Sms] = 0.5m;
        var harness = await CreateAsync([
            Offer("shoes", Channel.Sms) with
            {
                Value = 40m, Cost = 0.25m, Lever = 1.5, BasePropensity = 0.1,
                ContextBoosts = [new ContextBoost(DecisionContext.IntentKey, "shoes", 50), new ContextBoost(DecisionContext.CartKey, "open", -20), new ContextBoost("page", "home", 100)],
                Treatments = [new ActionTreatment { Id = "bold", Lever = 2 }],
            },
        ], options);

        var decision = await harness.DecideAsync(Profile(), new DecisionContext { Intent = "shoes", CartOpen = true });

        var f = decision.Factors;
        f.Context.Should().BeApproximately(1.3, 1e-12, "+50 % for the intent, −20 % for the open cart, the page does not match");
        f.Lever.Should().Be(3);
        f.Propensity.Should().BeApproximately(0.1, 1e-12);
        f.Value.Should().Be(40);
        f.Cost.Should().Be(0.75);
        f.Score.Should().BeApproximately(1.3 * 3 * ((0.1 * 40) - 0.75), 1e-12);
        decision.Explain().Should().Contain("C 1.3 × L 3 × (P 0.100 × V 40 − cost 0.75)");
    }

    [Fact]
    public async Task Score_NoActionWorthMoreThanItsCost_DoNothingScoresZeroAndWins()
    {
        var harness = await CreateAsync([Offer("pricey") with { Value = 1m, BasePropensity = 0.05, Cost = 0.2m }]);

        var decision = await harness.DecideAsync(Profile());

        decision.IsNoAction.Should().BeTrue();
        decision.Candidates[0].Reason.Should().Be(DecisionReasons.NothingBetter);
        decision.Candidates.Single(c => c.ActionId == "pricey").Score.Should().BeApproximately(0.05 - 0.2, 1e-12);
    }

    [Fact]
    public async Task Score_CustomerValueShare_WeighsAValuableCustomerAboveANewVisitor()
    {
        var harness = await CreateAsync([
            Offer("win-back") with { Value = 5m, CustomerValueShare = 0.02 },
            Offer("discount") with { Value = 20m },
        ], customerValue: new HistoricalMarginValue(0.3));
        var valuable = WithBehaviour(Profile(), b => b with { Orders = 12, Revenue = Money.Of(5000m, "EUR"), LastPurchase = Now.AddDays(-200) });

        var forVisitor = await harness.DecideAsync(Profile());
        var forValuable = await harness.DecideAsync(valuable);

        forVisitor.Action.Id.Should().Be("discount");
        forValuable.Action.Id.Should().Be("win-back");
        forValuable.Factors.Value.Should().BeApproximately(5 + (0.02 * 5000 * 0.3), 1e-9, "5 plus 2 % of 1,500 margin");
    }

    [Fact]
    public async Task Fallback_WhenNothingIsWorthSending_IsChosenIfItSurvived()
    {
        var options = new DecisioningOptions { Exploration = ExplorationMode.Greedy, FallbackActionId = "banner" };
        var harness = await CreateAsync([
            Offer("banner", Channel.Push) with { Value = 0m, Kind = ActionKind.Content },
            Offer("pricey") with { Value = 1m, Cost = 5m },
        ], options);

        var decision = await harness.DecideAsync(Profile());

        decision.Action.Id.Should().Be("banner");
        decision.Candidates[0].Reason.Should().Be(DecisionReasons.Fallback);
        decision.Candidates[0].Stage.Should().Be(DecisionStage.Fallback);
        decision.ChoiceProbability.Should().Be(1, "greedy picks do-nothing, which the fallback replaces");
    }

    [Fact]
    public async Task PostRank_SlotsAndDiversity_FillSlotsWithAtMostOnePerGroup()
    {
        var options = new DecisioningOptions { Exploration = ExplorationMode.Greedy, Slots = 3, MaxPerGroup = 1 };
        var harness = await CreateAsync([
            Offer("shoe-1") with { Group = "shoes", Value = 30m },
            Offer("shoe-2") with { Group = "shoes", Value = 29m },
            Offer("bag-1") with { Group = "bags", Value = 10m },
            Offer("hat-1") with { Group = "hats", Value = 5m },
            Offer("hat-2") with { Group = "hats", Value = 4m },
        ], options);

        var decision = await harness.DecideAsync(Profile());

        decision.Slots.Select(s => s.Action.Id).Should().Equal("shoe-1", "bag-1", "hat-1");
        Reason(decision, "shoe-2").Should().Be((DecisionStage.PostRank, DecisionReasons.GroupLimit));
        decision.Slots.Should().OnlyContain(s => s.ChoiceProbability == 1);
    }

    [Fact]
    public async Task PostRank_ABudgetUsedUp_RemovesTheActionBeforeExploration()
    {
        var harness = await CreateAsync([
            Offer("limited") with { Value = 50m, Budget = new ActionBudget { Limit = 2, Period = BudgetPeriod.Day } },
            Offer("plain") with { Value = 1m },
        ], new DecisioningOptions { ExplorationFloor = 0.2 });
        await harness.Budgets.TryReserveAsync("limited", ActionBudget.PeriodStart(BudgetPeriod.Day, Now), 2);
        await harness.Budgets.TryReserveAsync("limited", ActionBudget.PeriodStart(BudgetPeriod.Day, Now), 2);

        var decision = await harness.DecideAsync(Profile());

        Reason(decision, "limited").Should().Be((DecisionStage.PostRank, DecisionReasons.BudgetExhausted));
        decision.CandidateCount.Should().Be(2, "the policy chose between plain and do-nothing only");
        decision.Candidates.Single(c => c.ActionId == "plain").ChoiceProbability.Should().BeApproximately(0.8 + (0.2 / 2), 1e-12);
        decision.Candidates.Single(c => c.ActionId == ActionCatalog.NoActionId).ChoiceProbability.Should().BeApproximately(0.2 / 2, 1e-12);
    }

    [Fact]
    public async Task PostRank_ReservingADecision_UsesTheBudgetAndReleaseGivesItBack()
    {
        var harness = await CreateAsync([Offer("limited") with { Value = 50m, Budget = new ActionBudget { Limit = 1, Period = BudgetPeriod.Total } }, Offer("plain") with { Value = 1m }]);

        var peek = await harness.DecideAsync(Profile());
        var first = await harness.DecideAsync(Profile(), reserve: true);
        var second = await harness.DecideAsync(Profile(), reserve: true);
        await harness.Decider.ReleaseBudgetsAsync(first);
        var third = await harness.DecideAsync(Profile(), reserve: true);

        peek.Action.Id.Should().Be("limited");
        first.Action.Id.Should().Be("limited");
        second.Action.Id.Should().Be("plain", "the budget of one went to the first decision that will be sent");
        third.Action.Id.Should().Be("limited", "the first decision gave its unit back");
        (await harness.Budgets.GetUsedAsync("limited", DateTimeOffset.MinValue)).Should().Be(1);
    }

    [Fact]
    public async Task PostRank_BudgetStoreFailingWhileReserving_DeniesTheActionAndCountsNothing()
    {
        var budgets = new FailingBudgets(failReserve: true);
        var harness = await CreateAsync([Offer("limited") with { Value = 50m, Budget = new ActionBudget { Limit = 10 } }, Offer("plain") with { Value = 1m }], budgets: budgets);

        var decision = await harness.DecideAsync(Profile(), reserve: true);

        decision.Action.Id.Should().Be("plain");
        Reason(decision, "limited").Should().Be((DecisionStage.PostRank, DecisionReasons.BudgetUnavailable));
        budgets.Used.Should().Be(0);
    }

    [Fact]
    public async Task PostRank_BudgetStoreFailingWhileReading_DeniesTheAction()
    {
        var harness = await CreateAsync([Offer("limited") with { Value = 50m, Budget = new ActionBudget { Limit = 10 } }, Offer("plain") with { Value = 1m }], budgets: new FailingBudgets(failRead: true));

        var decision = await harness.DecideAsync(Profile());

        decision.Action.Id.Should().Be("plain");
        Reason(decision, "limited").Should().Be((DecisionStage.PostRank, DecisionReasons.BudgetUnavailable));
    }

    [Fact]
    public async Task Trace_SerialisesEveryCandidateWithItsStepReasonFactorsAndProbability()
    {
        var harness = await CreateAsync([Offer("a", Channel.Email, Channel.Web), Offer("b") with { Stages = ["engagement"] }], new DecisioningOptions { ExplorationFloor = 0.1 });

        var decision = await harness.DecideAsync(Profile(), decisionId: "trace-1");
        var json = JsonSerializer.Serialize(decision.ToTrace(), DecisionTraceJsonContext.Default.DecisionTrace);
        var back = JsonSerializer.Deserialize(json, DecisionTraceJsonContext.Default.DecisionTrace)!;

        back.DecisionId.Should().Be("trace-1");
        back.Candidates.Select(c => (c.ActionId, c.Stage, c.Reason)).Should().Equal(decision.Candidates.Select(c => (c.ActionId, c.Stage, c.Reason)));
        json.Should().Contain("\"reason\":\"not_in_stage\"").And.Contain("\"stage\":\"Eligibility\"").And.Contain("\"permissionCode\":\"no_consent\"").And.Contain("\"factors\":{\"propensity\":0.1");
        back.Candidates[0].ChoiceProbability.Should().Be(decision.ChoiceProbability);
        back.Candidates.Where(c => c.Status == CandidateStatus.Outranked).Should().OnlyContain(c => c.ChoiceProbability > 0, "each survivor's probability under the ε-greedy policy is logged");
    }

    [Fact]
    public async Task Buffer_HoldsTheSameDecisionAsTheImmutableOne()
    {
        var harness = await CreateAsync([Offer("a", Channel.Email, Channel.Sms), Offer("b") with { Value = 20m }], new DecisioningOptions());
        var buffer = DecisionBuffer.Create();
        var request = new DecisionRequest(Profile(), Now) { DecisionId = "same" };

        await harness.Decider.DecideAsync(request, buffer);
        var fromBuffer = buffer.ToDecision();
        var direct = await harness.Decider.DecideAsync(request);

        (buffer.Action.Id, buffer.Channel, buffer.ChoiceProbability, buffer.Score).Should().Be((direct.Action.Id, direct.Channel, direct.ChoiceProbability, direct.Score));
        fromBuffer.Candidates.Select(c => c.Detail).Should().Equal(direct.Candidates.Select(c => c.Detail));
    }

    [Fact]
    public async Task Stock_AnsweredLater_GivesTheSameDecisionAsAnsweredAtOnce()
    {
        ActionDefinition[] actions = [Offer("p1") with { ProductId = "p1", Value = 30m }, Offer("p2") with { ProductId = "p2", Value = 20m }, Offer("p3") with { ProductId = "p3" }];
        var now = await (await CreateAsync(actions, stock: new FixedStock("p1"))).DecideAsync(Profile());
        var later = await (await CreateAsync(actions, stock: new FixedStock("p1") { Later = true })).DecideAsync(Profile());

        later.Action.Id.Should().Be("p2");
        later.Candidates.Select(c => (c.ActionId, c.Reason, c.Score)).Should().Equal(now.Candidates.Select(c => (c.ActionId, c.Reason, c.Score)));
    }

    [Theory]
    [InlineData("validUntil")]
    [InlineData("cost")]
    [InlineData("budget.limit")]
    [InlineData("controlShare")]
    [InlineData("customerValueShare")]
    [InlineData("contactPolicy.maxSends")]
    [InlineData("contactPolicy.window")]
    [InlineData("replenishAfter")]
    [InlineData("treatments[0].channels")]
    [InlineData("treatments[1].id")]
    [InlineData("contextBoosts[0].percent")]
    [InlineData("suitability[0].name")]
    [InlineData("inCart")]
    public void Catalog_BadAction_IsRefusedNamingTheField(string field)
    {
        var good = Offer("a");
        var bad = field switch
        {
            "validUntil" => good with { ValidFrom = Now, ValidUntil = Now.AddDays(-1) },
            "cost" => good with { Cost = -0.01m },
            "budget.limit" => good with { Budget = new ActionBudget { Limit = -1 } },
            "controlShare" => good with { ControlShare = 1 },
            "customerValueShare" => good with { CustomerValueShare = double.NaN },
            "contactPolicy.maxSends" => good with { ContactPolicy = new ActionContactPolicy { MaxSends = 0 } },
            "contactPolicy.window" => good with { ContactPolicy = new ActionContactPolicy { MaxSends = 1, Window = TimeSpan.Zero } },
            "replenishAfter" => good with { ReplenishAfter = TimeSpan.FromDays(30) },
            "treatments[0].channels" => good with { Treatments = [new ActionTreatment { Id = "t", Channels = [Channel.Sms] }] },
            "treatments[1].id" => good with { Treatments = [new ActionTreatment { Id = "t" }, new ActionTreatment { Id = "t" }] },
            "contextBoosts[0].percent" => good with { ContextBoosts = [new ContextBoost("intent", "x", double.PositiveInfinity)] },
            "suitability[0].name" => good with { Suitability = [new CustomerRule(" ", static (_, _) => true)] },
            _ => good with { InCart = InCartRule.Require },
        };

        var act = () => ActionCatalog.Create([bad]);

        act.Should().Throw<EngagementValidationException>().Which.Field.Should().Be("actions[0]." + field);
    }

    [Theory]
    [InlineData("ExplorationFloor", 1.0)]
    [InlineData("ExplorationFloor", -0.1)]
    [InlineData("GlobalControlShare", 1.0)]
    [InlineData("PriorWeight", 0.0)]
    [InlineData("Slots", 0.0)]
    public void Options_OutOfRange_FailWhenTheHostStartsNamingTheOption(string option, double value)
    {
        var options = new DecisioningOptions();
        switch (option)
        {
            case "ExplorationFloor": options.ExplorationFloor = value; break;
            case "GlobalControlShare": options.GlobalControlShare = value; break;
            case "PriorWeight": options.PriorWeight = value; break;
            default: options.Slots = (int)value; break;
        }

        var result = new DecisioningOptionsValidator().Validate(null, options);

        result.Failed.Should().BeTrue();
        result.FailureMessage.Should().Contain(option).And.Contain(value.ToString(System.Globalization.CultureInfo.InvariantCulture));
    }

    [Fact]
    public void Options_ChallengersTakingEveryone_AreRefused()
    {
        var options = new DecisioningOptions();
        options.Challengers.Add(new PolicyVariant { Name = "a", Share = 0.6 });
        options.Challengers.Add(new PolicyVariant { Name = "b", Share = 0.5 });

        new DecisioningOptionsValidator().Validate(null, options).FailureMessage.Should().Contain("shares");
    }

    private static (DecisionStage, string) Reason(Decision decision, string actionId)
    {
        var candidate = decision.Candidates.First(c => c.ActionId == actionId);
        return (candidate.Stage, candidate.Reason);
    }

    private sealed class FixedStock(params string[] outOfStock) : IStockProvider
    {
        public bool Later { get; init; }

        public async ValueTask<bool> IsInStockAsync(string productId, CancellationToken cancellationToken = default)
        {
            if (Later)
            {
                await Task.Yield();
            }

            return !outOfStock.Contains(productId);
        }
    }

    private sealed class BrokenContactLog : IActionContactLog
    {
        public ValueTask<bool> RecordAsync(ActionContact contact, CancellationToken cancellationToken = default) => throw new IOException("the disk went away");

        public ValueTask<ReadOnlyMemory<ActionContact>> ReadAsync(CustomerId customerId, DateTimeOffset since, CancellationToken cancellationToken = default) => throw new IOException("the disk went away");
    }

    private sealed class FailingBudgets(bool failRead = false, bool failReserve = false) : IActionBudgetStore
    {
        public long Used { get; private set; }

        public ValueTask<long> GetUsedAsync(string actionId, DateTimeOffset periodStart, CancellationToken cancellationToken = default)
            => failRead ? throw new IOException("the budget store is down") : ValueTask.FromResult(Used);

        public ValueTask<bool> TryReserveAsync(string actionId, DateTimeOffset periodStart, long limit, CancellationToken cancellationToken = default)
            => failReserve ? throw new IOException("the budget store is down") : ValueTask.FromResult(++Used <= limit);

        public ValueTask<bool> ReleaseAsync(string actionId, DateTimeOffset periodStart, CancellationToken cancellationToken = default) => ValueTask.FromResult(Used-- > 0);
    }
}
