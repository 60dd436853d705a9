using Engagement.Sdk.Channels;
using Engagement.Sdk.Decisioning;
using Microsoft.Extensions.DependencyInjection;

namespace Engagement.Sdk.OutboxWorkerHost;

/// <summary>
/// The engine as the worker processes and the test that drives them both register it: one marketing email offer, delivered
/// through the webhook channel, with delivery settings short enough for a run of a few minutes and the circuit breaker
/// effectively off (a provider that fails 30 % of the time must not stop the run).
/// </summary>
public static class OutboxWorkerSetup
{
    /// <summary>The one action in the catalogue.</summary>
    public const string ActionId = "offer";

    /// <summary>The catalogue: one offer, by email.</summary>
    public static ActionCatalog Catalog { get; } = ActionCatalog.Create([
        new ActionDefinition { Id = ActionId, Name = "Offer", Channels = [Channel.Email], Value = 10m, BasePropensity = 0.5 },
    ]);

    /// <summary>Registers the engine on the system clock, with email delivered by posting to <paramref name="endpoint"/>.</summary>
    /// <param name="services">The services.</param>
    /// <param name="endpoint">The provider's webhook.</param>
    /// <returns>The builder, to add the store with.</returns>
    public static EngagementBuilder AddShop(IServiceCollection services, Uri endpoint)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(endpoint);
        services.AddSingleton(TimeProvider.System);
        services.Configure<DispatchOptions>(o =>
        {
            o.BatchSize = 20;
            o.MaxAttempts = 50;
            o.RetryBaseDelay = TimeSpan.FromMilliseconds(50);
            o.RetryMaxDelay = TimeSpan.FromSeconds(1);
            o.AttemptTimeout = TimeSpan.FromMilliseconds(500);
            o.LeaseDuration = TimeSpan.FromSeconds(2);
            o.PollInterval = TimeSpan.FromMilliseconds(20);
            o.DefaultChannel = new ChannelResilienceOptions { BreakerMinimumThroughput = 10_000 };
        });
        return services.AddEngagement(o => o.DecideOnStageChange = false)
            .UseActions(Catalog)
            .ConfigureDecisions(static o => o.Exploration = ExplorationMode.Greedy) // every first cart queues the offer
            .AddWebhookChannel(Channel.Email, o => o.Endpoint = endpoint);
    }
}
