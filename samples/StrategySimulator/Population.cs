namespace StrategySimulator;

/// <summary>
/// The simulated shoppers: each has a day they first arrive, whether they sign up (an email and marketing consent), how often
/// they visit, how likely they buy from a cart, what they spend, and a daily chance of drifting away for good (a lapse)
/// unless a message brings them back. Every random draw is a hash of the seed, the customer, the day and the draw's purpose
/// (common random numbers): both strategies see the same shoppers doing the same things, except where a message changes it.
/// </summary>
internal sealed class Population
{
    public Population(int customers, int days, ulong seed)
    {
        Seed = seed;
        Shoppers = new Shopper[customers];
        for (var i = 0; i < customers; i++)
        {
            Shoppers[i] = new Shopper
            {
                Index = i,
                Arrival = (int)(Draw(seed, i, 0, 1) * (days / 2.0)),
                SignsUp = Draw(seed, i, 0, 2) < 0.55,
                Visit = 0.02 + (0.13 * Draw(seed, i, 0, 3)),
                Buy = 0.05 + (0.30 * Draw(seed, i, 0, 4)),
                Churn = 0.003 + (0.009 * Draw(seed, i, 0, 5)),
                Spend = 20 + (60 * Draw(seed, i, 0, 6)),
            };
        }
    }

    public ulong Seed { get; }

    public Shopper[] Shoppers { get; }

    /// <summary>A uniform draw in [0, 1) for a customer, a day and a purpose (SplitMix64 of the four).</summary>
    public static double Draw(ulong seed, int customer, int day, int purpose)
    {
        var x = seed ^ ((ulong)(uint)customer * 0x9E3779B97F4A7C15UL) ^ ((ulong)(uint)day * 0xC2B2AE3D27D4EB4FUL) ^ ((ulong)(uint)purpose * 0x165667B19E3779F9UL);
        x += 0x9E3779B97F4A7C15UL;
        x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9UL;
        x = (x ^ (x >> 27)) * 0x94D049BB133111EBUL;
        x ^= x >> 31;
        return (x >> 11) * (1.0 / (1UL << 53));
    }
}

/// <summary>One simulated shopper's fixed traits.</summary>
internal sealed class Shopper
{
    public int Index { get; init; }

    public int Arrival { get; init; }

    public bool SignsUp { get; init; }

    public double Visit { get; init; }

    public double Buy { get; init; }

    public double Churn { get; init; }

    public double Spend { get; init; }
}

/// <summary>One shopper's state in one strategy's run.</summary>
internal sealed class ShopperState
{
    public bool Arrived { get; set; }

    public bool Active { get; set; } = true;

    public bool Unsubscribed { get; set; }

    public int LastCartDay { get; set; } = -100;

    public int LastPurchaseDay { get; set; } = -100;

    /// <summary>Extra chance to visit tomorrow (a message's pull).</summary>
    public double VisitBoost { get; set; }

    /// <summary>Extra chance to buy from the cart on the next visit.</summary>
    public double BuyBoost { get; set; }

    /// <summary>The chance a message brings a lapsed shopper back tomorrow.</summary>
    public double Revive { get; set; }

    public int Purchases { get; set; }

    public decimal Revenue { get; set; }

    public int Messages { get; set; }
}
