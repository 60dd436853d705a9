using Engagement.Sdk;
using Engagement.Sdk.Channels;
using Engagement.Sdk.Decisioning;
using Engagement.Sdk.Events;
using Engagement.Sdk.Profiles;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace Snippets;

/// <summary>The snippets of docs/getting-started.md (its complete program is samples/GettingStarted).</summary>
public static class GettingStartedSnippets
{
    public static async Task WiringAsync()
    {
        IReadOnlyList<ActionDefinition> myActions = [new ActionDefinition { Id = "welcome", Name = "Welcome", Channels = [Channel.Email], Value = 1m }];
        var services = new ServiceCollection();
        #region getting-started-wiring
        services.AddEngagement(o => o.Currency = Currency.EUR)   // the shop's currency; options are validated at start-up
            .UseSqlite("Data Source=shop.db")                    // or leave it out for the in-memory stores
            .AddChannel<MyEmailSender>()                         // your IChannelSender per channel
            .AddChannel<MySmsSender>()
            .UseActions(ActionCatalog.Create(myActions));        // what decisions may choose from
        #endregion
        await using var provider = services.BuildServiceProvider();
        _ = provider.GetRequiredService<IEngagementEngine>();
    }

    public static async Task TrackAsync()
    {
        await using var provider = new ServiceCollection().AddEngagement().Services.BuildServiceProvider();
        var engine = provider.GetRequiredService<IEngagementEngine>();
        #region getting-started-track
        var result = await engine.TrackAsync(new Purchased
        {
            EventId = "order-1001-paid",
            CustomerId = new CustomerId("cust-42"),
            Timestamp = DateTimeOffset.UtcNow,
            Identifiers = [Identifier.Email("ann@example.com")],
            OrderId = "1001",
            Lines = [new OrderLine("sku-7", 1, Money.Of(49.90m, "EUR"))],
        });
        #endregion
        if (result.Profile is null)
        {
            throw new InvalidOperationException("tracking returned no profile");
        }
    }

    public static void Host()
    {
        var builder = Microsoft.Extensions.Hosting.Host.CreateApplicationBuilder();
        #region getting-started-host
        builder.Services.AddEngagement().UseSqlite("Data Source=shop.db");
        builder.Services.AddEngagementBackgroundServices();
        builder.Services.AddHealthChecks().AddEngagementHealthChecks();
        #endregion
        using var host = builder.Build();
    }
}
