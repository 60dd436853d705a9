namespace Engagement.Sdk.Sqlite;

/// <summary>Where the SQLite store keeps its data.</summary>
public sealed class SqliteStoreOptions
{
    /// <summary>The connection string, for example <c>Data Source=shop.db</c>. Required.</summary>
    /// <value>Defaults to empty, which fails validation at start-up.</value>
    public string ConnectionString { get; set; } = string.Empty;

    /// <summary>How long a writer waits for a lock held by another process before failing.</summary>
    /// <value>Defaults to 5 seconds.</value>
    public TimeSpan BusyTimeout { get; set; } = TimeSpan.FromSeconds(5);
}
