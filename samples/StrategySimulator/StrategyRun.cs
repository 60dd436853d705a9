using System.Globalization;
using Engagement.Sdk;
using Engagement.Sdk.Channels;
using Engagement.Sdk.Consent;
using Engagement.Sdk.Decisioning;
using Engagement.Sdk.Events;
using Engagement.Sdk.Journeys;
using Engagement.Sdk.Profiles;
using Engagement.Sdk.Storage;
using Microsoft.Extensions.DependencyInjection;

namespace StrategySimulator;

/// <summary>One strategy's figures at the end of the run.</summary>
internal sealed record ArmResult(string Name, int Customers, int Buyers, int Purchases, decimal Revenue, decimal Arpu, decimal Clv, int Messages, decimal Profit, IReadOnlyList<decimal> DailyProfit, IReadOnlyList<decimal> CustomerProfit);

/// <summary>
/// Runs one strategy over the simulated population through the SDK: every visit, cart and order is tracked by the engine;
/// consent is recorded at sign-up and withdrawn on an unsubscription. The journey strategy lets the four-stage journey with
/// lapse stages send (a cart reminder, win-backs) through next-best-action, the permission gate and the outbox, sweeping due
/// timers every evening; the baseline sends the same number of messages as a weekly mass mailing to everyone who may be
/// mailed (batch and blast).
/// </summary>
internal sealed class StrategyRun
{
    private static readonly DateTimeOffset Start = new(2026, 1, 5, 0, 0, 0, TimeSpan.Zero);

    private readonly Population _population;
    private readonly int _days;

    public StrategyRun(Population population, int days)
    {
        _population = population;
        _days = days;
    }

    public static ActionCatalog Actions { get; } = ActionCatalog.Create([
        new ActionDefinition { Id = "cart_reminder", Name = "Your cart is waiting", Kind = ActionKind.Message, Channels = [Channel.Email], Value = 5m, BasePropensity = 0.2 },
        new ActionDefinition { Id = "winback_offer", Name = "We miss you: 10 % off", Channels = [Channel.Email], Value = 12m, BasePropensity = 0.05 },
    ]);

    /// <summary>The journey programme: the four seed stages, lapse stages with win-backs, and a cart reminder after two days.</summary>
    public static JourneyDefinition Journey { get; } = JourneyDefinition.FromJson("""
        {
          "id": "lifecycle",
          "version": 1,
          "name": "Lifecycle programme",
          "goal": { "when": { "aggregate": "orders", "ge": 1 } },
          "stages": [
            { "id": "attraction", "entry": true },
            { "id": "relationship",
              "entry": { "any": [ { "identifier": [ "email" ] }, { "aggregate": "itemsInCart", "ge": 1 } ] },
              "steps": [
                { "id": "wait", "type": "waitForEvent", "events": [ "purchased" ], "timeout": "P2D", "onEvent": "end", "onTimeout": "check" },
                { "id": "check", "type": "branch", "cases": [ { "when": { "aggregate": "itemsInCart", "ge": 1 }, "goto": "remind" } ], "default": "end" },
                { "id": "remind", "type": "send", "actions": [ "cart_reminder" ] } ] },
            { "id": "conversion", "entry": { "aggregate": "ordersKept", "ge": 1 }, "exit": { "when": { "aggregate": "ordersKept", "lt": 1 } },
              "steps": [
                { "id": "wait", "type": "waitForEvent", "events": [ "added_to_cart" ], "timeout": "P30D", "onTimeout": "end", "onEvent": "cart" },
                { "id": "cart", "type": "waitForEvent", "events": [ "purchased" ], "timeout": "P2D", "onEvent": "end", "onTimeout": "remind" },
                { "id": "remind", "type": "send", "actions": [ "cart_reminder" ] } ] },
            { "id": "engagement", "entry": { "aggregate": "ordersKept", "ge": 2 }, "exit": { "when": { "aggregate": "ordersKept", "lt": 2 } } },
            { "id": "at_risk", "priority": 10,
              "entry": { "all": [ { "aggregate": "ordersKept", "ge": 1 }, { "event": "purchased", "within": "P60D", "count": { "eq": 0 } } ] },
              "exit": { "when": { "event": "purchased", "within": "P60D", "count": { "ge": 1 } } },
              "steps": [ { "id": "winback", "type": "send", "actions": [ "winback_offer" ] } ] },
            { "id": "lapsed", "priority": 11,
              "entry": { "all": [ { "aggregate": "ordersKept", "ge": 1 }, { "event": "purchased", "within": "P120D", "count": { "eq": 0 } } ] },
              "exit": { "when": { "event": "purchased", "within": "P120D", "count": { "ge": 1 } } },
              "steps": [ { "id": "winback", "type": "send", "actions": [ "winback_offer" ] } ] }
          ]
        }
        """);

    /// <summary>Runs the strategy.</summary>
    /// <param name="journey">Whether the journey programme sends (else the weekly mass mailing with <paramref name="budget"/> messages).</param>
    /// <param name="budget">The baseline's number of messages.</param>
    /// <returns>The figures.</returns>
    public async Task<ArmResult> RunAsync(bool journey, int budget)
    {
        var clock = new SimulationClock(Start);
        var email = new InMemoryChannelSender(Channel.Email);
        var services = new ServiceCollection();
        services.AddSingleton<TimeProvider>(clock);
        var builder = services.AddEngagement(o =>
        {
            o.DecisionTriggers.Clear();
            o.DecideOnStageChange = false;
            o.LatenessWindow = null;
            o.Journeys.Clear();
        }).AddChannel(email).UseActions(Actions);
        builder.AddJourney(journey ? Journey : JourneyDefinition.Lifecycle);
        await using var provider = services.BuildServiceProvider();
        var engine = provider.GetRequiredService<IEngagementEngine>();
        var worker = provider.GetRequiredService<DispatchWorker>();

        var shoppers = _population.Shoppers;
        var states = shoppers.Select(_ => new ShopperState()).ToArray();
        var daily = new List<decimal>(_days);
        var messages = 0;
        var sequence = 0;
        var weeks = Math.Max(1, _days / 7);
        var seed = _population.Seed;
        for (var day = 0; day < _days; day++)
        {
            var date = Start.AddDays(day);
            foreach (var shopper in shoppers)
            {
                await LiveAsync(engine, clock, shopper, states[shopper.Index], day, date, seed).ConfigureAwait(false);
            }

            clock.MoveTo(date.AddHours(22));
            var sent = new List<(int Shopper, string Kind)>();
            if (journey)
            {
                await engine.SweepJourneysAsync().ConfigureAwait(false);
                foreach (var dispatch in await worker.DeliverDueAsync().ConfigureAwait(false))
                {
                    if (dispatch.Status == DispatchStatus.Sent)
                    {
                        sent.Add((IndexOf(dispatch.CustomerId), dispatch.ActionId));
                    }
                }
            }
            else if (day % 7 == 6)
            {
                // The weekly mass mailing: an equal share of the budget, to everyone who may be mailed, in turn.
                var share = (int)Math.Min(budget - messages, Math.Ceiling(budget / (double)weeks));
                var eligible = shoppers.Where(s => s.SignsUp && states[s.Index].Arrived && !states[s.Index].Unsubscribed).ToList();
                for (var k = 0; k < Math.Min(share, eligible.Count); k++)
                {
                    sent.Add((eligible[(k + (day / 7 * share)) % eligible.Count].Index, "newsletter"));
                }
            }

            foreach (var (index, kind) in sent)
            {
                var state = states[index];
                state.Messages++;
                messages++;
                if (ResponseModel.Respond(seed, shoppers[index], state, kind, day, sequence++))
                {
                    await engine.RecordConsentAsync(Consent(index, ConsentStatus.Withdrawn, clock.GetUtcNow())).ConfigureAwait(false);
                }
            }

            daily.Add(states.Sum(s => (s.Revenue * ResponseModel.Margin) - (s.Messages * ResponseModel.MessageCost)));
        }

        var arrived = states.Count(s => s.Arrived);
        var revenue = states.Sum(s => s.Revenue);
        var customerProfit = states.Select(s => (s.Revenue * ResponseModel.Margin) - (s.Messages * ResponseModel.MessageCost)).ToList();
        var clv = arrived == 0 ? 0m : states.Select((s, i) => (s.Revenue * ResponseModel.Margin) + ResponseModel.FutureMargin(shoppers[i], s)).Sum() / arrived;
        return new ArmResult(
            journey ? "journey" : "baseline",
            arrived,
            states.Count(s => s.Purchases > 0),
            states.Sum(s => s.Purchases),
            decimal.Round(revenue, 2),
            arrived == 0 ? 0m : decimal.Round(revenue / arrived, 2),
            decimal.Round(clv, 2),
            messages,
            decimal.Round(customerProfit.Sum(), 2),
            daily,
            customerProfit);
    }

    // One shopper's day: arriving (and signing up), lapsing or coming back, and perhaps a visit with views, a cart and an order.
    private static async Task LiveAsync(IEngagementEngine engine, SimulationClock clock, Shopper shopper, ShopperState state, int day, DateTimeOffset date, ulong seed)
    {
        if (day < shopper.Arrival)
        {
            return;
        }

        var id = Id(shopper.Index);
        var first = !state.Arrived;
        state.Arrived = true;
        if (first && shopper.SignsUp)
        {
            clock.MoveTo(date.AddHours(9));
            await engine.RecordConsentAsync(Consent(shopper.Index, ConsentStatus.Granted, clock.GetUtcNow())).ConfigureAwait(false);
        }

        if (state.Active && !first && Population.Draw(seed, shopper.Index, day, 10) < shopper.Churn)
        {
            state.Active = false;
        }

        if (!state.Active && state.Revive > 0 && Population.Draw(seed, shopper.Index, day, 11) < state.Revive)
        {
            state.Active = true;
        }

        state.Revive = 0;
        var visits = first || (state.Active && Population.Draw(seed, shopper.Index, day, 12) < shopper.Visit + state.VisitBoost);
        state.VisitBoost = 0;
        if (!visits)
        {
            return;
        }

        var at = date.AddHours(10 + (int)(Population.Draw(seed, shopper.Index, day, 13) * 10));
        clock.MoveTo(at);
        Identifier[] identifiers = shopper.SignsUp ? [Email(shopper.Index)] : [];
        var views = 1 + (int)(Population.Draw(seed, shopper.Index, day, 14) * 4);
        for (var v = 0; v < views; v++)
        {
            await TrackAsync(new ProductViewed { EventId = $"{id}-{day}-v{v}", CustomerId = id, Timestamp = at.AddMinutes(v), ProductId = "p" + ((shopper.Index + v) % 50), Identifiers = v == 0 ? [.. identifiers] : [] }).ConfigureAwait(false);
        }

        if (Population.Draw(seed, shopper.Index, day, 15) >= 0.35 + (state.BuyBoost > 0 ? 0.5 : 0))
        {
            return;
        }

        var product = "p" + (shopper.Index % 50);
        var amount = decimal.Round((decimal)(shopper.Spend * (0.6 + (0.8 * Population.Draw(seed, shopper.Index, day, 16)))), 2);
        await TrackAsync(new AddedToCart { EventId = $"{id}-{day}-c", CustomerId = id, Timestamp = at.AddMinutes(10), ProductId = product, UnitPrice = Money.Of(amount, "EUR") }).ConfigureAwait(false);
        var buys = Population.Draw(seed, shopper.Index, day, 17) < shopper.Buy + state.BuyBoost;
        state.BuyBoost = 0;
        if (!buys)
        {
            state.LastCartDay = day;
            return;
        }

        await TrackAsync(new Purchased { EventId = $"{id}-{day}-o", CustomerId = id, Timestamp = at.AddMinutes(20), OrderId = $"{id}-{day}", Lines = [new OrderLine(product, 1, Money.Of(amount, "EUR"))] }).ConfigureAwait(false);
        state.Purchases++;
        state.Revenue += amount;
        state.LastPurchaseDay = day;

        async Task TrackAsync(EngagementEvent e)
        {
            clock.MoveTo(e.Timestamp);
            await engine.TrackAsync(e).ConfigureAwait(false);
        }
    }

    private static CustomerId Id(int index) => new("c" + index.ToString("D5", CultureInfo.InvariantCulture));

    private static int IndexOf(CustomerId id) => int.Parse(id.Value.AsSpan(1), CultureInfo.InvariantCulture);

    private static Identifier Email(int index) => Identifier.Email("shopper" + index.ToString(CultureInfo.InvariantCulture) + "@example.com");

    private static ConsentRecord Consent(int index, ConsentStatus status, DateTimeOffset at) => new()
    {
        RecordId = $"{Id(index)}-{status}-{at.UtcTicks}",
        CustomerId = Id(index),
        Channel = Channel.Email,
        Purpose = Purpose.Marketing,
        Identifier = Email(index),
        Status = status,
        Source = status == ConsentStatus.Granted ? "signup" : "unsubscribe",
        Evidence = status == ConsentStatus.Granted ? new ConsentEvidence("v1", "signup-form") : null,
        EffectiveAt = at,
    };
}

/// <summary>The simulation's clock: the engine sees the simulated present.</summary>
internal sealed class SimulationClock(DateTimeOffset start) : TimeProvider
{
    private DateTimeOffset _now = start;

    public override DateTimeOffset GetUtcNow() => _now;

    public void MoveTo(DateTimeOffset now)
    {
        if (now > _now)
        {
            _now = now;
        }
    }
}
