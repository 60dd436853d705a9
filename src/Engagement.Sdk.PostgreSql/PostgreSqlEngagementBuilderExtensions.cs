using Engagement.Sdk.PostgreSql;
using Engagement.Sdk.Decisioning;
using Engagement.Sdk.Storage;
using Engagement.Sdk.Storage.Relational;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Puts Engagement.Sdk's stores in a PostgreSQL database.</summary>
public static class PostgreSqlEngagementBuilderExtensions
{
    /// <summary>Stores profiles, events, the consent ledger, the dispatch log, suppressions, the journeys' state and the decisioning stores (learned propensities, contact history, volume budgets) in PostgreSQL, in the schema <c>engagement</c>.</summary>
    /// <param name="builder">The builder.</param>
    /// <param name="connectionString">The connection string, for example <c>Host=127.0.0.1;Database=shop;Username=shop</c>.</param>
    /// <returns>The builder.</returns>
    public static EngagementBuilder UsePostgreSql(this EngagementBuilder builder, string connectionString)
        => builder.UsePostgreSql(o => o.ConnectionString = connectionString);

    /// <summary>Stores profiles, events, the consent ledger, the dispatch log, suppressions, the journeys' state and the decisioning stores (learned propensities, contact history, volume budgets) in PostgreSQL.</summary>
    /// <param name="builder">The builder.</param>
    /// <param name="configure">Configures the store.</param>
    /// <returns>The builder.</returns>
    public static EngagementBuilder UsePostgreSql(this EngagementBuilder builder, Action<PostgreSqlStoreOptions> configure)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(configure);
        builder.Services.AddOptions<PostgreSqlStoreOptions>()
            .Configure(configure)
            .ValidateOnStart();
        builder.Services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<PostgreSqlStoreOptions>, PostgreSqlStoreOptionsValidator>());
        builder.Services.TryAddSingleton<PostgreSqlDatabase>();
        builder.Services.Replace(ServiceDescriptor.Singleton<IProfileStore, PostgreSqlProfileStore>());
        builder.Services.Replace(ServiceDescriptor.Singleton<IEventStore, PostgreSqlEventStore>());
        builder.Services.Replace(ServiceDescriptor.Singleton<IConsentStore, PostgreSqlConsentStore>());
        builder.Services.Replace(ServiceDescriptor.Singleton<IDispatchStore, PostgreSqlDispatchStore>());
        builder.Services.Replace(ServiceDescriptor.Singleton<ISuppressionStore, PostgreSqlSuppressionStore>());
        builder.Services.Replace(ServiceDescriptor.Singleton<Engagement.Sdk.Journeys.IJourneyStore>(static sp => new Engagement.Sdk.Storage.Relational.RelationalJourneyStore(sp.GetRequiredService<PostgreSqlDatabase>())));
        builder.Services.Replace(ServiceDescriptor.Singleton<IStoreTransactions>(static sp => sp.GetRequiredService<PostgreSqlDatabase>()));
        builder.Services.Replace(ServiceDescriptor.Singleton<IPropensityStore>(static sp => new RelationalPropensityStore(sp.GetRequiredService<PostgreSqlDatabase>())));
        builder.Services.Replace(ServiceDescriptor.Singleton<IActionContactLog>(static sp => new RelationalActionContactLog(sp.GetRequiredService<PostgreSqlDatabase>())));
        builder.Services.Replace(ServiceDescriptor.Singleton<IActionBudgetStore>(static sp => new RelationalActionBudgetStore(sp.GetRequiredService<PostgreSqlDatabase>())));
        builder.Services.Replace(ServiceDescriptor.Singleton<Engagement.Sdk.Households.IHouseholdStore>(static sp => new Engagement.Sdk.Storage.Relational.RelationalHouseholdStore(sp.GetRequiredService<PostgreSqlDatabase>())));
        builder.Services.Replace(ServiceDescriptor.Singleton<Engagement.Sdk.Segments.ISegmentStore>(static sp => new Engagement.Sdk.Storage.Relational.RelationalSegmentStore(sp.GetRequiredService<PostgreSqlDatabase>())));
        return builder;
    }
}
