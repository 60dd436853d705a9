using Engagement.Sdk.PostgreSql;
using Engagement.Sdk.Value.Clv;
using Npgsql;

namespace Snippets;

/// <summary>The snippet of docs/customer-value.md.</summary>
public static class CustomerValueSnippets
{
    /// <summary>Needs a PostgreSQL server with the shop's orders table: the snippet tests compile it and do not run it.</summary>
    /// <param name="connectionString">The server.</param>
    /// <returns>A task.</returns>
    [SnippetNeeds("a PostgreSQL server with the shop's orders table")]
    public static async Task RfmInsidePostgreSqlAsync(string connectionString)
    {
        var calibrationEnd = new DateOnly(2026, 1, 1);
        var holdoutEnd = calibrationEnd.AddDays(91);
        #region customer-value-postgresql
        await using var dataSource = NpgsqlDataSource.Create(connectionString);
        var table = new PostgreSqlTransactionTable("orders", customerIdColumn: "customer_id", dateColumn: "ordered_at", amountColumn: "total", schema: "shop");
        var summary = new PostgreSqlRfmSummary(dataSource, table);

        RfmData data = await summary.ReadModelDataAsync(calibrationEnd, TimeUnit.Weeks);   // distinct (x, t_x, T) rows with counts
        var bgnbd = BgNbdModel.Fit(data);
        var spend = GammaGammaModel.Fit(await summary.ReadSpendDataAsync(calibrationEnd));   // distinct (x, mean spend) with counts

        await foreach (CustomerRfm customer in summary.ReadCustomersAsync(calibrationEnd, holdoutEnd, TimeUnit.Weeks))
        {
            // one customer at a time, streamed as PostgreSQL produces them: score, store, move on
        }
        #endregion
    }
}

/// <summary>The prepared per-customer intervals of docs/customer-value.md, on a small seeded shop.</summary>
public static class CustomerValueIntervalSnippets
{
    /// <summary>Fits BG/NBD, draws its parameters by the refit bootstrap and asks one preparation for several kinds of intervals.</summary>
    public static void PreparedIntervals()
    {
        var orders = SeededOrders();
        #region customer-value-intervals
        var summary = RfmSummary.FromTransactions(orders, calibrationEnd: new DateOnly(2026, 1, 1), unit: TimeUnit.Weeks);
        var data = summary.ToData();
        var model = BgNbdModel.Fit(data);
        var draws = ParameterDraws.Bootstrap(model, data, 200, seed: 1);        // 200 refits to resampled customers

        var customers = summary.Customers;
        double[] x = [.. customers.Select(c => (double)c.Frequency)];
        double[] tx = [.. customers.Select(c => c.Recency)];
        double[] age = [.. customers.Select(c => c.Age)];
        var intervals = PredictionIntervals.Prepare(model, draws, x, tx, age);   // what the histories share, once

        var (pAliveLow, pAliveHigh) = (new double[x.Length], new double[x.Length]);
        var (dertLow, dertHigh) = (new double[x.Length], new double[x.Length]);
        intervals.ProbabilityAlive(0.9, pAliveLow, pAliveHigh);                  // 90 % of the draws' P(alive) lie between
        intervals.DiscountedExpectedTransactions(Math.Log(1.1) / 52, 0.9, dertLow, dertHigh);   // DERT at 10 % a year
        #endregion
        for (var i = 0; i < x.Length; i++)
        {
            if (!(pAliveLow[i] <= pAliveHigh[i] && pAliveHigh[i] <= 1 && dertLow[i] >= 0 && dertLow[i] <= dertHigh[i]))
            {
                throw new InvalidOperationException($"Customer {customers[i].CustomerId}: intervals [{pAliveLow[i]}, {pAliveHigh[i]}] and [{dertLow[i]}, {dertHigh[i]}] are not intervals.");
            }
        }
    }

    // 1,500 customers of 2025: a first order in the first twelve weeks, then a few more at random days of the year.
    private static List<Transaction> SeededOrders()
    {
        var random = new Random(3);
        var orders = new List<Transaction>();
        var start = new DateOnly(2025, 1, 1);
        for (var i = 0; i < 1_500; i++)
        {
            var id = "c" + i.ToString(System.Globalization.CultureInfo.InvariantCulture);
            var first = start.AddDays(random.Next(84));
            orders.Add(new Transaction(id, first, 20 + random.Next(80)));
            var repeats = random.Next(4) == 0 ? 0 : random.Next(1, 8);
            for (var k = 0; k < repeats; k++)
            {
                var day = first.AddDays(1 + random.Next(new DateOnly(2025, 12, 31).DayNumber - first.DayNumber));
                orders.Add(new Transaction(id, day, 20 + random.Next(80)));
            }
        }

        return orders;
    }
}

/// <summary>Marks a snippet that needs something outside the process to run; the snippet tests compile it only.</summary>
/// <param name="what">What it needs.</param>
[AttributeUsage(AttributeTargets.Method)]
public sealed class SnippetNeedsAttribute(string what) : Attribute
{
    /// <summary>Gets what the snippet needs.</summary>
    public string What { get; } = what;
}
