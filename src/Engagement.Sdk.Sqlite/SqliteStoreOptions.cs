namespace Engagement.Sdk.Sqlite;

/// <summary>Where the SQLite store keeps its data.</summary>
public sealed class SqliteStoreOptions
{
    /// <summary>The connection string, for example <c>Data Source=shop.db</c>. Required.</summary>
    /// <value>Defaults to empty, which fails validation at start-up.</value>
    public string ConnectionString { get; set; } = string.Empty;

    /// <summary>How long a writer waits for a lock held by another process before failing.</summary>
    /// <value>Defaults to 5 seconds; from 10 milliseconds to 10 minutes.</value>
    public TimeSpan BusyTimeout { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>
    /// How many pages (4 KiB each) the write-ahead log may hold before a commit copies them into the database file (SQLite's
    /// <c>wal_autocheckpoint</c>). A checkpoint waits for the disk; a larger log means fewer, cheaper checkpoints (a page
    /// rewritten many times is copied once), at the price of a larger <c>-wal</c> file beside the database. 0 turns automatic
    /// checkpoints off (then the host must run them).
    /// </summary>
    /// <value>Defaults to 8,192 pages (32 MiB); SQLite's own default is 1,000.</value>
    public int WalAutoCheckpointPages { get; set; } = 8192;

    /// <summary>
    /// Whether checkpoints run on a connection and a thread of their own, so that commits seldom wait for one: every quarter of
    /// <see cref="WalAutoCheckpointPages"/> the writer asks a background thread to copy the log into the database file while it
    /// carries on; when the whole limit has been written since, the writer runs a checkpoint itself between two transactions
    /// (short by then, as most of the log was copied), which lets the log start again from its beginning. The log stays within
    /// about the limit, as with SQLite's own checkpoints. Off: SQLite's automatic checkpoint, inside the commit that reaches the
    /// limit. No effect when <see cref="WalAutoCheckpointPages"/> is 0 or the database is in memory.
    /// </summary>
    /// <value>Defaults to <see langword="true"/>.</value>
    public bool BackgroundCheckpoints { get; set; } = true;

    /// <summary>
    /// How much memory the connection's page cache may use (SQLite's <c>cache_size</c>, in KiB). Pages that are not in it are
    /// read again from the operating system (and looked up in the write-ahead log) on every use; the delivery worker and
    /// tracking touch each customer's profile, events, consent and dispatches, so a cache that holds the working set saves
    /// those reads. Memory is taken only as pages are read.
    /// </summary>
    /// <value>Defaults to 65,536 KiB (64 MiB); from 1,024 KiB to 16,777,216 KiB. SQLite's own default is 2,000 KiB.</value>
    public int CacheSizeKibibytes { get; set; } = 65_536;
}
