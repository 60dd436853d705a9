using System.Globalization;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Engagement.Sdk.PostgreSql.Tests;

namespace Engagement.Sdk.WebShop.Tests;

/// <summary>
/// The shop on PostgreSQL by one setting: seeded, tracking and serving the dashboard. The server is the one
/// <c>ENGAGEMENT_SDK_POSTGRES</c> names, else a throw-away local one (installed when missing, as the PostgreSQL adapter's tests
/// do); skipped with the reason when neither can be had, unless <c>ENGAGEMENT_SDK_REQUIRE_POSTGRES=1</c>.
/// </summary>
public sealed class PostgreSqlShopTests
{
    [PostgreSqlFact]
    public async Task Shop_OnPostgreSql_SeedsTracksAndServesTheDashboard()
    {
        var external = Environment.GetEnvironmentVariable("ENGAGEMENT_SDK_POSTGRES");
        await using var local = string.IsNullOrWhiteSpace(external) ? await LocalPostgreSqlServer.StartAsync() : null;
        var connectionString = local?.ConnectionString ?? external!;
        await using var app = global::WebShop.WebShopApp.Create(
        [
            "--urls=http://127.0.0.1:0",
            "--WebShop:Database=PostgreSql",
            "--WebShop:ConnectionString=" + connectionString,
            "--WebShop:DemoCustomers=100",
            "--WebShop:DemoDays=20",
            "--Logging:LogLevel:Default=Warning",
        ]);
        await app.StartAsync();
        try
        {
            using var client = new HttpClient { BaseAddress = new Uri(app.Urls.First()) };
            var now = DateTimeOffset.UtcNow.AddSeconds(-1).ToString("O", CultureInfo.InvariantCulture);
            var id = "pg-" + Guid.NewGuid().ToString("N");
            var batch = $$"""[{"type":"product_viewed","eventId":"{{id}}-1","customerId":"{{id}}","timestamp":"{{now}}","productId":"sku-001"},{"type":"added_to_cart","eventId":"{{id}}-2","customerId":"{{id}}","timestamp":"{{now}}","productId":"sku-001","quantity":1}]""";

            var tracked = await (await client.PostAsync("/api/events/batch", new StringContent(batch, Encoding.UTF8, "application/json"))).Content.ReadFromJsonAsync<JsonElement>();
            (await client.GetAsync("/dashboard?refresh=true")).EnsureSuccessStatusCode();
            var summary = await client.GetFromJsonAsync<JsonElement>("/api/dashboard");

            tracked.GetProperty("accepted").GetInt32().Should().Be(2);
            summary.GetProperty("customers").GetInt32().Should().Be(101, "the 100 seeded customers and the one just tracked");
            summary.GetProperty("funnel").EnumerateArray().Single(s => s.GetProperty("stageId").GetString() == "relationship").GetProperty("reached").GetInt32().Should().BeGreaterThan(0);
            (await client.GetStringAsync($"/dashboard?customer={id}")).Should().Contain("sku-001");
            (await client.GetStringAsync("/health")).Should().Be("Healthy");
        }
        finally
        {
            await app.StopAsync();
        }
    }
}

/// <summary>A fact that needs a PostgreSQL server: skipped, with the reason, when none can be had and none is required.</summary>
public sealed class PostgreSqlFactAttribute : FactAttribute
{
    /// <summary>Creates the attribute.</summary>
    public PostgreSqlFactAttribute()
    {
        if (Environment.GetEnvironmentVariable("ENGAGEMENT_SDK_REQUIRE_POSTGRES") != "1"
            && string.IsNullOrWhiteSpace(Environment.GetEnvironmentVariable("ENGAGEMENT_SDK_POSTGRES"))
            && LocalPostgreSqlServer.FindBinDirectory() is null
            && !LocalPostgreSqlServer.CanInstall)
        {
            Skip = "No PostgreSQL server is available: set ENGAGEMENT_SDK_POSTGRES to a connection string, or install the PostgreSQL server binaries (initdb and pg_ctl); set ENGAGEMENT_SDK_REQUIRE_POSTGRES=1 to fail instead of skipping.";
        }
    }
}
