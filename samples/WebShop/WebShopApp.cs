using Engagement.Sdk;
using Engagement.Sdk.Channels;
using Engagement.Sdk.Consent;
using Microsoft.Extensions.Options;
using WebShop.Api;
using WebShop.Demo;
using WebShop.Insights;
using WebShop.Pages;

namespace WebShop;

/// <summary>Builds the web shop: the SDK on SQLite (or PostgreSQL), its background services, the API, the storefront and the dashboard.</summary>
public static class WebShopApp
{
    /// <summary>Creates the application.</summary>
    /// <param name="args">Command-line arguments (any configuration key, for example <c>--WebShop:Database=PostgreSql</c>).</param>
    /// <param name="configure">Adjusts the builder before the services are added (tests use it).</param>
    /// <returns>The application, not yet started.</returns>
    public static WebApplication Create(string[] args, Action<WebApplicationBuilder>? configure = null)
    {
        // The content root is the program's folder, so its appsettings.json is found from whatever folder it is started in.
        var builder = WebApplication.CreateBuilder(new WebApplicationOptions { Args = args, ContentRootPath = AppContext.BaseDirectory });
        configure?.Invoke(builder);
        var settings = builder.Configuration.GetSection(WebShopOptions.Section).Get<WebShopOptions>() ?? new WebShopOptions();
        builder.Services.AddOptions<WebShopOptions>().Bind(builder.Configuration.GetSection(WebShopOptions.Section)).ValidateOnStart();
        builder.Services.AddSingleton<IValidateOptions<WebShopOptions>, WebShopOptionsValidator>();

        // The store is chosen here, so the settings that choose it are checked now: a bad one fails before anything starts.
        if (new WebShopOptionsValidator().Validate(null, settings) is { Failed: true } invalid)
        {
            throw new OptionsValidationException(WebShopOptions.Section, typeof(WebShopOptions), invalid.Failures);
        }

        if (settings.Database == ShopDatabase.Sqlite && string.IsNullOrWhiteSpace(settings.ConnectionString) && !string.IsNullOrWhiteSpace(settings.DataFolder))
        {
            Directory.CreateDirectory(settings.DataFolder);
            if (settings.ResetDemoData)
            {
                foreach (var suffix in new[] { string.Empty, "-wal", "-shm" })
                {
                    File.Delete(settings.SqliteFile + suffix);
                }
            }
        }

        var clock = new DemoClock(TimeProvider.System);
        builder.Services.AddSingleton(clock);
        builder.Services.AddSingleton<TimeProvider>(clock);
        builder.Services.AddSingleton<DemoMailbox>();
        builder.Services.AddSingleton<DemoShop>();
        builder.Services.AddSingleton<DecisionLog>();
        builder.Services.AddSingleton<ShopInsights>();
        builder.Services.AddSingleton<ShopTracker>();
        builder.Services.AddSingleton<PreferenceCentre>();

        var products = new Quickstart.ShopSimulator(settings.DemoSeed, 1, 1, DateTimeOffset.UnixEpoch).Products;
        var engagement = builder.Services.AddEngagement(o =>
            {
                o.Currency = Currency.EUR;
                foreach (var type in ShopCatalogue.MarketingTypes)
                {
                    o.CustomPurposes.Add(type.Purpose.Name);
                }
            }).UseActions(ShopCatalogue.Actions(products));
        _ = settings.Database == ShopDatabase.PostgreSql
            ? engagement.UsePostgreSql(settings.EffectiveConnectionString())
            : engagement.UseSqlite(settings.EffectiveConnectionString());
        foreach (var channel in ShopCatalogue.Channels)
        {
            builder.Services.AddSingleton<IChannelSender>(sp => ActivatorUtilities.CreateInstance<MailboxChannelSender>(sp, channel));
        }

        builder.Services.Configure<ContactPolicyOptions>(ShopCatalogue.ContactPolicy);

        // The seeder runs first (hosted services start in order, and the server after them); then the SDK's background
        // service delivers the outbox, releases held messages and keeps the dashboard's figures fresh.
        builder.Services.AddHostedService<DemoSeeder>();
        builder.Services.AddEngagementBackgroundServices();
        builder.Services.AddEngagementBackgroundWork<DashboardRefreshWork>();
        builder.Services.AddHealthChecks().AddEngagementHealthChecks();
        builder.Services.ConfigureHttpJsonOptions(o => o.SerializerOptions.TypeInfoResolverChain.Insert(0, ApiJson.Default));

        var app = builder.Build();
        app.MapShopPages();
        app.MapDashboard();
        app.MapShopApi();
        app.MapHealthChecks("/health");
        return app;
    }
}
