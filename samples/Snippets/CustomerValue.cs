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

/// <summary>Marks a snippet that needs something outside the process to run; the snippet tests compile it only.</summary>
/// <param name="what">What it needs.</param>
[AttributeUsage(AttributeTargets.Method)]
public sealed class SnippetNeedsAttribute(string what) : Attribute
{
    /// <summary>Gets what the snippet needs.</summary>
    public string What { get; } = what;
}
