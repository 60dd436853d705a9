using Engagement.Sdk.Sqlite;
using Engagement.Sdk.Decisioning;
using Engagement.Sdk.Storage;
using Engagement.Sdk.Storage.Relational;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Puts Engagement.Sdk's stores in a SQLite file.</summary>
public static class SqliteEngagementBuilderExtensions
{
    /// <summary>Stores profiles, events, the consent ledger, the dispatch log, suppressions, the journeys' state and the decisioning stores (learned propensities, contact history, volume budgets) in SQLite.</summary>
    /// <param name="builder">The builder.</param>
    /// <param name="connectionString">The connection string, for example <c>Data Source=shop.db</c>.</param>
    /// <returns>The builder.</returns>
    public static EngagementBuilder UseSqlite(this EngagementBuilder builder, string connectionString)
        => builder.UseSqlite(o => o.ConnectionString = connectionString);

    /// <summary>Stores profiles, events, the consent ledger, the dispatch log, suppressions, the journeys' state and the decisioning stores (learned propensities, contact history, volume budgets) in SQLite.</summary>
    /// <param name="builder">The builder.</param>
    /// <param name="configure">Configures the store.</param>
    /// <returns>The builder.</returns>
    public static EngagementBuilder UseSqlite(this EngagementBuilder builder, Action<SqliteStoreOptions> configure)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(configure);
        builder.Services.AddOptions<SqliteStoreOptions>()
            .Configure(configure)
            .ValidateOnStart();
        builder.Services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<SqliteStoreOptions>, SqliteStoreOptionsValidator>());
        builder.Services.TryAddSingleton<SqliteDatabase>();
        builder.Services.Replace(ServiceDescriptor.Singleton<IProfileStore, SqliteProfileStore>());
        builder.Services.Replace(ServiceDescriptor.Singleton<IEventStore, SqliteEventStore>());
        builder.Services.Replace(ServiceDescriptor.Singleton<IConsentStore, SqliteConsentStore>());
        builder.Services.Replace(ServiceDescriptor.Singleton<IDispatchStore, SqliteDispatchStore>());
        builder.Services.Replace(ServiceDescriptor.Singleton<ISuppressionStore, SqliteSuppressionStore>());
        builder.Services.Replace(ServiceDescriptor.Singleton<Engagement.Sdk.Journeys.IJourneyStore>(static sp => new Engagement.Sdk.Storage.Relational.RelationalJourneyStore(sp.GetRequiredService<SqliteDatabase>())));
        builder.Services.Replace(ServiceDescriptor.Singleton<IStoreTransactions>(static sp => sp.GetRequiredService<SqliteDatabase>()));
        builder.Services.Replace(ServiceDescriptor.Singleton<IPropensityStore>(static sp => new RelationalPropensityStore(sp.GetRequiredService<SqliteDatabase>())));
        builder.Services.Replace(ServiceDescriptor.Singleton<IActionContactLog>(static sp => new RelationalActionContactLog(sp.GetRequiredService<SqliteDatabase>())));
        builder.Services.Replace(ServiceDescriptor.Singleton<IActionBudgetStore>(static sp => new RelationalActionBudgetStore(sp.GetRequiredService<SqliteDatabase>())));
        builder.Services.Replace(ServiceDescriptor.Singleton<Engagement.Sdk.Households.IHouseholdStore>(static sp => new Engagement.Sdk.Storage.Relational.RelationalHouseholdStore(sp.GetRequiredService<SqliteDatabase>())));
        builder.Services.Replace(ServiceDescriptor.Singleton<Engagement.Sdk.Segments.ISegmentStore>(static sp => new Engagement.Sdk.Storage.Relational.RelationalSegmentStore(sp.GetRequiredService<SqliteDatabase>())));
        return builder;
    }
}
