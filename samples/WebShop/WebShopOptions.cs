using Microsoft.Extensions.Options;

namespace WebShop;

/// <summary>The database the shop keeps its engagement data in.</summary>
public enum ShopDatabase
{
    /// <summary>An embedded SQLite file (the default; no set-up).</summary>
    Sqlite,

    /// <summary>A PostgreSQL server named by <see cref="WebShopOptions.ConnectionString"/>.</summary>
    PostgreSql,
}

/// <summary>The web shop's settings (section <c>WebShop</c> of the configuration; validated when the host starts).</summary>
public sealed class WebShopOptions
{
    /// <summary>The configuration section.</summary>
    public const string Section = "WebShop";

    /// <summary>Which database to use.</summary>
    /// <value>Defaults to <see cref="ShopDatabase.Sqlite"/>.</value>
    public ShopDatabase Database { get; set; } = ShopDatabase.Sqlite;

    /// <summary>
    /// The connection string: required for PostgreSQL; for SQLite it overrides <see cref="DataFolder"/> when set.
    /// </summary>
    /// <value>Defaults to none.</value>
    public string? ConnectionString { get; set; }

    /// <summary>The folder of the SQLite file <c>webshop.db</c>.</summary>
    /// <value>Defaults to <c>engagement-webshop</c> in the system's temporary folder.</value>
    public string DataFolder { get; set; } = Path.Combine(Path.GetTempPath(), "engagement-webshop");

    /// <summary>How many simulated customers the demo data has (0 seeds nothing).</summary>
    /// <value>Defaults to 5,000 (0 to 100,000).</value>
    public int DemoCustomers { get; set; } = 5000;

    /// <summary>How many days of history the demo data covers, ending at midnight (UTC) before the first start.</summary>
    /// <value>Defaults to 90 (1 to 730).</value>
    public int DemoDays { get; set; } = 90;

    /// <summary>The simulator's seed: the same seed gives the same demo shop.</summary>
    /// <value>Defaults to 2026.</value>
    public int DemoSeed { get; set; } = 2026;

    /// <summary>Whether to delete the SQLite file and seed again on start.</summary>
    /// <value>Defaults to <see langword="false"/>: the demo data is seeded on the first start only.</value>
    public bool ResetDemoData { get; set; }

    /// <summary>How often the dashboard's figures are recomputed while the shop is taking events.</summary>
    /// <value>Defaults to 30 seconds (1 second to 1 hour); <c>/dashboard?refresh=true</c> recomputes at once.</value>
    public TimeSpan DashboardRefresh { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>The SQLite file for these options.</summary>
    public string SqliteFile => Path.Combine(DataFolder, "webshop.db");

    /// <summary>The connection string the store is opened with.</summary>
    /// <returns>The connection string.</returns>
    public string EffectiveConnectionString()
        => !string.IsNullOrWhiteSpace(ConnectionString) ? ConnectionString : $"Data Source={SqliteFile}";
}

/// <summary>Validates <see cref="WebShopOptions"/>, naming each setting with its value and rule.</summary>
internal sealed class WebShopOptionsValidator : IValidateOptions<WebShopOptions>
{
    public ValidateOptionsResult Validate(string? name, WebShopOptions options)
    {
        var failures = new List<string>();
        if (!Enum.IsDefined(options.Database))
        {
            failures.Add($"WebShop:Database is '{options.Database}': it must be Sqlite or PostgreSql.");
        }

        if (options.Database == ShopDatabase.PostgreSql && string.IsNullOrWhiteSpace(options.ConnectionString))
        {
            failures.Add("WebShop:ConnectionString is empty: PostgreSQL needs a connection string (for example Host=127.0.0.1;Database=shop;Username=shop).");
        }

        if (options.Database == ShopDatabase.Sqlite && string.IsNullOrWhiteSpace(options.ConnectionString) && string.IsNullOrWhiteSpace(options.DataFolder))
        {
            failures.Add("WebShop:DataFolder is empty: SQLite needs a folder for its file, or a ConnectionString.");
        }

        if (options.DemoCustomers is < 0 or > 100_000)
        {
            failures.Add($"WebShop:DemoCustomers is {options.DemoCustomers}: it must be from 0 to 100,000.");
        }

        if (options.DemoDays is < 1 or > 730)
        {
            failures.Add($"WebShop:DemoDays is {options.DemoDays}: it must be from 1 to 730.");
        }

        if (options.DashboardRefresh < TimeSpan.FromSeconds(1) || options.DashboardRefresh > TimeSpan.FromHours(1))
        {
            failures.Add($"WebShop:DashboardRefresh is {options.DashboardRefresh}: it must be from 1 second to 1 hour.");
        }

        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }
}
