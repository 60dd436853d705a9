using Engagement.Sdk;
using Engagement.Sdk.Channels;
using Engagement.Sdk.Consent;
using Engagement.Sdk.Decisioning;
using Engagement.Sdk.Journeys;
using Engagement.Sdk.Profiles;
using Engagement.Sdk.Storage;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Registers Engagement.Sdk in a service collection.</summary>
public static class EngagementServiceCollectionExtensions
{
    /// <summary>
    /// Adds the engagement engine with in-memory stores (and their units of work, <see cref="InMemoryTransactions"/>), the outbox and its <see cref="DispatchWorker"/> (run it, or call
    /// <see cref="DispatchWorker.RunOnceAsync"/>, to deliver what the engine queues), the system clock (unless a <see cref="TimeProvider"/> is registered),
    /// the permission gate, the next-best-action decider with its learned propensities, contact history and volume budgets (in
    /// memory), and an empty action catalogue. Options are validated when the
    /// host starts. Calling it again adds nothing twice.
    /// </summary>
    /// <param name="services">The services.</param>
    /// <param name="configure">Configures <see cref="EngagementOptions"/>.</param>
    /// <returns>A builder to add stores, channels, journeys and actions.</returns>
    public static EngagementBuilder AddEngagement(this IServiceCollection services, Action<EngagementOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(services);
        var options = services.AddOptions<EngagementOptions>().ValidateOnStart();
        if (configure is not null)
        {
            options.Configure(configure);
        }

        services.AddOptions<ContactPolicyOptions>().ValidateOnStart();
        services.AddOptions<DecisioningOptions>().ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<DecisioningOptions>, DecisioningOptionsValidator>());
        services.AddOptions<DispatchOptions>().ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<DispatchOptions>, DispatchOptionsValidator>());
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<EngagementOptions>, EngagementOptionsValidator>());
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<ContactPolicyOptions>, ContactPolicyOptionsValidator>());
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<DispatchOptions>, ChannelSendersValidator>());
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IPostConfigureOptions<EngagementOptions>, Engagement.Sdk.Diagnostics.LogRedactorSetup>());
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<EngagementOptions>, JourneyCatalogValidator>());

        services.TryAddSingleton(TimeProvider.System);
        services.TryAddSingleton<IProfileStore, InMemoryProfileStore>();
        services.TryAddSingleton<IEventStore, InMemoryEventStore>();
        services.TryAddSingleton<IConsentStore, InMemoryConsentStore>();
        services.TryAddSingleton<IDispatchStore, InMemoryDispatchStore>();
        services.TryAddSingleton<ISuppressionStore, InMemorySuppressionStore>();
        services.TryAddSingleton<IJourneyStore, InMemoryJourneyStore>();
        services.TryAddSingleton(static sp => JourneyCatalog.FromOptions(sp.GetRequiredService<IOptions<EngagementOptions>>().Value, sp.GetRequiredService<ActionCatalog>()));
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<EngagementOptions>, Engagement.Sdk.Segments.SegmentCatalogValidator>());
        services.TryAddSingleton<Engagement.Sdk.Segments.ISegmentStore, Engagement.Sdk.Segments.InMemorySegmentStore>();
        services.TryAddSingleton(static sp => Engagement.Sdk.Segments.SegmentCatalog.FromOptions(sp.GetRequiredService<IOptions<EngagementOptions>>().Value, sp.GetRequiredService<JourneyCatalog>()));
        services.TryAddSingleton<Engagement.Sdk.Households.IHouseholdStore, Engagement.Sdk.Households.InMemoryHouseholdStore>();
        services.TryAddSingleton<Engagement.Sdk.Households.HouseholdRegistry>();
        services.TryAddSingleton<IPermissionGate, PermissionGate>();
        services.TryAddSingleton<ConsentLedger>();
        services.TryAddSingleton<IdentityResolver>();
        services.TryAddSingleton<CustomerDataPortability>();
        services.TryAddSingleton<EventRetentionPolicy>();
        services.TryAddSingleton<IStoreTransactions>(InMemoryTransactions.Instance);
        services.TryAddSingleton<Engagement.Sdk.Profiles.CustomerErasure>();
        services.TryAddSingleton<IPropensityStore, InMemoryPropensityStore>();
        services.TryAddSingleton<IActionContactLog, InMemoryActionContactLog>();
        services.TryAddSingleton<IActionBudgetStore, InMemoryActionBudgetStore>();
        services.TryAddSingleton(static sp => new AdaptivePropensities(
            sp.GetRequiredService<IPropensityStore>(), sp.GetRequiredService<ActionCatalog>(), sp.GetRequiredService<IOptions<DecisioningOptions>>(),
            sp.GetRequiredService<TimeProvider>(), sp.GetRequiredService<IOptions<EngagementOptions>>()));
        services.TryAddSingleton(static sp => new NextBestActionDecider(
            sp.GetRequiredService<ActionCatalog>(),
            sp.GetRequiredService<IPermissionGate>(),
            sp.GetRequiredService<AdaptivePropensities>(),
            sp.GetRequiredService<IStockProvider>(),
            sp.GetRequiredService<DispatchOutbox>().CanSend,
            sp.GetRequiredService<IOptions<EngagementOptions>>().Value.DecisionJourneyId,
            sp.GetRequiredService<IOptions<DecisioningOptions>>().Value,
            sp.GetRequiredService<IActionContactLog>(),
            sp.GetRequiredService<IActionBudgetStore>(),
            sp.GetService<ICustomerValueEstimator>(),
            sp.GetRequiredService<IStoreTransactions>(),
            sp.GetRequiredService<JourneyCatalog>(),
            sp.GetRequiredService<IJourneyStore>(),
            sp.GetRequiredService<ConsentLedger>()));
        services.TryAddSingleton<IStockProvider, UnlimitedStockProvider>();
        services.TryAddSingleton(ActionCatalog.Empty);
        services.TryAddSingleton<DispatchOutbox>();
        services.TryAddSingleton<DispatchWorker>();
        services.TryAddSingleton<IEngagementEngine, EngagementEngine>();
        return new EngagementBuilder(services);
    }
}
