namespace Engagement.Sdk.PostgreSql;

/// <summary>Where the PostgreSQL store keeps its data.</summary>
public sealed class PostgreSqlStoreOptions
{
    /// <summary>The connection string, for example <c>Host=127.0.0.1;Database=shop;Username=shop</c>. Required.</summary>
    /// <value>Defaults to empty, which fails validation at start-up.</value>
    public string ConnectionString { get; set; } = string.Empty;

    /// <summary>
    /// The database schema that holds the store's tables; created on first use if it does not exist. Letters, digits and
    /// underscores only, starting with a letter or underscore, at most 63 characters.
    /// </summary>
    /// <value>Defaults to <c>engagement</c>.</value>
    public string Schema { get; set; } = "engagement";

    /// <summary>How long one command may run before it is cancelled.</summary>
    /// <value>Defaults to 30 seconds; from 1 second to 1 hour.</value>
    public TimeSpan CommandTimeout { get; set; } = TimeSpan.FromSeconds(30);
}
