namespace StrategySimulator;

/// <summary>
/// How shoppers respond to a message, by what it is and where they are: a cart reminder to someone who just left a cart
/// behind converts often, a win-back brings some lapsed shoppers back, a mass mailing to someone it does not concern does
/// little and makes more of them unsubscribe.
/// </summary>
internal static class ResponseModel
{
    public const decimal MessageCost = 0.10m;
    public const decimal Margin = 0.30m;

    /// <summary>Applies a message sent on <paramref name="day"/>: tomorrow's visit and purchase chances, a revival, or an unsubscription.</summary>
    /// <returns>Whether the shopper unsubscribed.</returns>
    public static bool Respond(ulong seed, Shopper shopper, ShopperState state, string kind, int day, int sequence)
    {
        var relevant = kind switch
        {
            "cart_reminder" => day - state.LastCartDay <= 3 && state.LastCartDay > state.LastPurchaseDay,
            "winback_offer" => day - state.LastPurchaseDay >= 60 && state.LastPurchaseDay >= 0,
            _ => false,
        };
        var unsubscribe = relevant ? 0.003 : 0.015;
        if (Population.Draw(seed, shopper.Index, day, 1000 + sequence) < unsubscribe)
        {
            state.Unsubscribed = true;
            return true;
        }

        switch (kind)
        {
            case "cart_reminder" when relevant:
                state.VisitBoost += 0.45;
                state.BuyBoost += 0.35;
                break;
            case "winback_offer" when relevant:
                state.Revive += state.Active ? 0 : 0.10;
                state.VisitBoost += state.Active ? 0.25 : 0;
                state.BuyBoost += 0.15;
                break;
            default:
                state.Revive += state.Active ? 0 : 0.01;
                state.VisitBoost += state.Active ? 0.04 : 0;
                break;
        }

        return false;
    }

    /// <summary>
    /// The expected margin of a shopper's next year under the simulation's own behaviour model (it knows who is still active):
    /// visits × purchase chance × spend × margin, day by day while the shopper has not lapsed.
    /// </summary>
    public static decimal FutureMargin(Shopper shopper, ShopperState state)
    {
        if (!state.Active || !state.Arrived)
        {
            return 0m;
        }

        var survive = 1 - shopper.Churn;
        var days = survive * (1 - Math.Pow(survive, 365)) / shopper.Churn;
        return (decimal)(days * shopper.Visit * 0.35 * shopper.Buy * shopper.Spend) * Margin;
    }
}
