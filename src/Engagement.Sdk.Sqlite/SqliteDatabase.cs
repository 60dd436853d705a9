using System.Buffers;
using System.Data;
using System.Text.Json;
using System.Text.Json.Serialization.Metadata;
using Engagement.Sdk.Profiles;
using Engagement.Sdk.Serialization;
using Engagement.Sdk.Storage;
using Engagement.Sdk.Storage.Relational;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Options;

namespace Engagement.Sdk.Sqlite;

/// <summary>
/// One SQLite database shared by the SQLite stores: a single long-lived connection in write-ahead-log mode, used by one
/// operation at a time (SQLite serialises writers anyway), with prepared commands reused across calls. Creates the schema
/// on first use.
/// </summary>
public sealed class SqliteDatabase : IStoreTransactions, IOptimisticTransactions, IRelationalDatabase, IAsyncDisposable, IDisposable
{
    /// <summary>The schema version this package writes.</summary>
    public const int SchemaVersion = 5;

    // The steps from each version to the next, run in order in one write transaction each; index 0 takes version 1 to 2.
    private static readonly string[] Migrations =
    [
        // 2: the transactional outbox. Channel and purpose are columns, so frequency caps are counted without reading documents.
        // The index by status goes: every claim and settlement would move its entry; held messages and dead letters, which
        // are listed by status, have partial indexes of their own, and the claimable ones the index on `due`.
        // A claimable dispatch (queued, unknown, or sending under a lease) carries the instant it
        // falls due (its lease's end, for a sending one); a dispatch that was pending when an older version stopped may have been
        // sent (unknown, to reconcile), and a failed one is a dead letter.
        """
        ALTER TABLE dispatches ADD COLUMN due INTEGER;
        ALTER TABLE dispatches ADD COLUMN lease_owner TEXT;
        ALTER TABLE dispatches ADD COLUMN channel TEXT;
        ALTER TABLE dispatches ADD COLUMN purpose TEXT;
        UPDATE dispatches SET channel = json_extract(document, '$.channel'), purpose = json_extract(document, '$.purpose');
        UPDATE dispatches SET status = 'Unknown', due = created, document = json_set(document, '$.status', 'Unknown', '$.dueAt', json_extract(document, '$.createdAt'), '$.reason', 'outcome_unknown') WHERE status = 'Pending';
        UPDATE dispatches SET status = 'DeadLettered', document = json_set(document, '$.status', 'DeadLettered', '$.reason', 'retries_exhausted') WHERE status = 'Failed';
        CREATE INDEX IF NOT EXISTS dispatches_due ON dispatches (due) WHERE due IS NOT NULL;
        DROP INDEX IF EXISTS dispatches_by_status;
        CREATE INDEX IF NOT EXISTS dispatches_held ON dispatches (created, dispatch_id) WHERE status = 'Held';
        CREATE INDEX IF NOT EXISTS dispatches_dead ON dispatches (created, dispatch_id) WHERE status = 'DeadLettered';
        """,

        // 3: identifiers are indexed by their key (an e-mail address lower-cased), and suppressions filed under its hash too:
        // IdentifierKeyMigration, run in .NET after this step.
        "SELECT 3",

        // 4: events keep their order of arrival in the rowid and are found by a 64-bit key of their id (EventKey, computed by
        // the function the connection registers), in an index of integers instead of the ids' text; the index by customer
        // and the index by time hold only what their queries seek on (the rowid is in every index entry anyway). Each
        // tracked event writes an entry into every index of the table, and with random ids the id index's entry lands on a
        // page of its own: smaller entries, fewer pages a batch dirties. The indexes keep their names, so that the
        // statements above, run at every opening, find them present.
        """
        CREATE TABLE events_v4 (
            seq INTEGER PRIMARY KEY,
            id_key INTEGER NOT NULL,
            event_id TEXT NOT NULL,
            customer_id TEXT NOT NULL,
            ts INTEGER NOT NULL,
            document TEXT NOT NULL);
        INSERT INTO events_v4 (id_key, event_id, customer_id, ts, document)
            SELECT engagement_event_key(event_id), event_id, customer_id, ts, document FROM events ORDER BY ts, event_id;
        DROP TABLE events;
        ALTER TABLE events_v4 RENAME TO events;
        CREATE INDEX events_by_id ON events (id_key);
        CREATE INDEX events_by_customer ON events (customer_id, ts);
        CREATE INDEX events_by_time ON events (ts);
        """,

        // 5: the id index is unique, so that an append is one statement (an insert that does nothing when its key is
        // held) instead of a look-up and an insert. Two ids may share a key: the first stored holds it,
        // the others are stored without one (NULL) and found by their id's text in an index of those rows alone, which is
        // empty but for such rare ids. The table is copied to let the key be NULL; of the rows a version 4 file holds
        // under one key, the first keeps it.
        """
        CREATE TABLE events_v5 (
            seq INTEGER PRIMARY KEY,
            id_key INTEGER,
            event_id TEXT NOT NULL,
            customer_id TEXT NOT NULL,
            ts INTEGER NOT NULL,
            document TEXT NOT NULL);
        INSERT INTO events_v5 (seq, id_key, event_id, customer_id, ts, document)
            SELECT seq, CASE WHEN seq = (SELECT min(e.seq) FROM events e WHERE e.id_key = events.id_key) THEN id_key END,
                event_id, customer_id, ts, document
            FROM events ORDER BY seq;
        DROP TABLE events;
        ALTER TABLE events_v5 RENAME TO events;
        CREATE UNIQUE INDEX events_by_id ON events (id_key);
        CREATE INDEX events_by_id_unkeyed ON events (event_id) WHERE id_key IS NULL;
        CREATE INDEX events_by_customer ON events (customer_id, ts);
        CREATE INDEX events_by_time ON events (ts);
        """,
    ];

    private const string Schema = """
        CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL);
        CREATE TABLE IF NOT EXISTS profiles (
            customer_id TEXT NOT NULL PRIMARY KEY,
            version INTEGER NOT NULL,
            document TEXT NOT NULL);
        CREATE TABLE IF NOT EXISTS identifiers (
            kind TEXT NOT NULL,
            value TEXT NOT NULL,
            customer_id TEXT NOT NULL,
            PRIMARY KEY (kind, value));
        CREATE INDEX IF NOT EXISTS identifiers_by_customer ON identifiers (customer_id);
        CREATE TABLE IF NOT EXISTS events (
            event_id TEXT NOT NULL PRIMARY KEY,
            customer_id TEXT NOT NULL,
            ts INTEGER NOT NULL,
            document TEXT NOT NULL);
        CREATE INDEX IF NOT EXISTS events_by_customer ON events (customer_id, ts, event_id);
        CREATE INDEX IF NOT EXISTS events_by_time ON events (ts, event_id);
        CREATE TABLE IF NOT EXISTS consent_records (
            seq INTEGER PRIMARY KEY AUTOINCREMENT,
            record_id TEXT NOT NULL UNIQUE,
            customer_id TEXT NOT NULL,
            document TEXT NOT NULL);
        CREATE INDEX IF NOT EXISTS consent_by_customer ON consent_records (customer_id, seq);
        CREATE TRIGGER IF NOT EXISTS consent_records_no_update BEFORE UPDATE ON consent_records
            BEGIN SELECT RAISE(ABORT, 'the consent ledger is append-only'); END;
        CREATE TABLE IF NOT EXISTS dispatches (
            dispatch_id TEXT NOT NULL PRIMARY KEY,
            customer_id TEXT NOT NULL,
            created INTEGER NOT NULL,
            status TEXT NOT NULL,
            document TEXT NOT NULL);
        CREATE INDEX IF NOT EXISTS dispatches_by_customer ON dispatches (customer_id, created);
        CREATE TABLE IF NOT EXISTS suppressions (
            identifier_hash TEXT NOT NULL,
            reason TEXT NOT NULL,
            at INTEGER NOT NULL,
            at_offset INTEGER NOT NULL,
            source TEXT NOT NULL,
            PRIMARY KEY (identifier_hash, reason, at, source));
        """;

    private readonly SemaphoreSlim _gate = new(1, 1);
    private readonly AsyncLocal<SqliteUnitOfWork?> _current = new();
    private int _rollbacks;
    private int _epoch;
    private long _dataVersion = -1;
    private readonly Dictionary<string, SqliteCommand> _commands = new(StringComparer.Ordinal);
    private readonly Dictionary<string, SqliteStatement> _statements = new(StringComparer.Ordinal);
    private readonly ArrayBufferWriter<byte> _document = new(4096);
    private Utf8JsonWriter? _documentWriter;
    private readonly SqliteConnection _connection;
    private SqliteTransaction? _transaction;
    private readonly int _walAutoCheckpointPages;
    private readonly int _cacheSizeKibibytes;
    private readonly bool _backgroundCheckpoints;
    private SqliteCheckpointer? _checkpointer;
    private long _pagesSinceRequest;
    private long _pagesSinceOwnCheckpoint;
    private bool _initialised;

    /// <summary>Creates the database handle (the file is opened on first use).</summary>
    /// <param name="options">The options.</param>
    public SqliteDatabase(IOptions<SqliteStoreOptions> options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var o = options.Value;
        if (string.IsNullOrWhiteSpace(o.ConnectionString))
        {
            throw new EngagementValidationException("SqliteStoreOptions.ConnectionString", o.ConnectionString, "a connection string such as 'Data Source=shop.db' is required");
        }

        if (BusyTimeoutProblem(o.BusyTimeout) is { } busyProblem)
        {
            throw new EngagementValidationException("SqliteStoreOptions.BusyTimeout", o.BusyTimeout, busyProblem);
        }

        var builder = new SqliteConnectionStringBuilder(o.ConnectionString) { Pooling = false, DefaultTimeout = (int)Math.Ceiling(o.BusyTimeout.TotalSeconds) };
        _connection = new SqliteConnection(builder.ToString());
        BusyTimeout = o.BusyTimeout;
        _walAutoCheckpointPages = o.WalAutoCheckpointPages >= 0
            ? o.WalAutoCheckpointPages
            : throw new EngagementValidationException("SqliteStoreOptions.WalAutoCheckpointPages", o.WalAutoCheckpointPages, "must be 0 (off) or a positive number of pages");
        _cacheSizeKibibytes = CacheSizeProblem(o.CacheSizeKibibytes) is { } cacheProblem
            ? throw new EngagementValidationException("SqliteStoreOptions.CacheSizeKibibytes", o.CacheSizeKibibytes, cacheProblem)
            : o.CacheSizeKibibytes;
        _backgroundCheckpoints = o.BackgroundCheckpoints && _walAutoCheckpointPages > 0;
    }

    /// <summary>What is wrong with a busy timeout, or <see langword="null"/> when it is in its range (10 milliseconds to 10 minutes).</summary>
    internal static string? BusyTimeoutProblem(TimeSpan timeout)
        => timeout < TimeSpan.FromMilliseconds(10) || timeout > TimeSpan.FromMinutes(10)
            ? "it must be from 10 milliseconds to 10 minutes (00:00:00.0100000 to 00:10:00)"
            : null;

    /// <summary>What is wrong with a page cache size, or <see langword="null"/> when it is in its range (1 MiB to 16 GiB).</summary>
    internal static string? CacheSizeProblem(int kibibytes)
        => kibibytes is < 1_024 or > 16_777_216 ? "it must be from 1,024 KiB (1 MiB) to 16,777,216 KiB (16 GiB)" : null;

    /// <summary>How long a writer waits for another process's lock.</summary>
    public TimeSpan BusyTimeout { get; }

    /// <inheritdoc />
    SqlDialect IRelationalDatabase.Dialect => SqliteDialect.Instance;

    /// <inheritdoc />
    int? IRelationalDatabase.CacheEpoch => Epoch;

    /// <inheritdoc />
    bool IRelationalDatabase.IsCurrent(int epoch) => IsCurrent(epoch);

    /// <inheritdoc />
    async ValueTask<T> IRelationalDatabase.ReadAsync<TState, T>(TState state, Func<RelationalSession, TState, CancellationToken, ValueTask<T>> work, CancellationToken cancellationToken)
    {
        if (Current is { } unit)
        {
            await unit.StartAsync(cancellationToken).ConfigureAwait(false);
            return await work(Session(), state, cancellationToken).ConfigureAwait(false);
        }

        await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            EnsureOpen();
            return await work(Session(), state, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <inheritdoc />
    async ValueTask<T> IRelationalDatabase.WriteAsync<TState, T>(TState state, Func<RelationalSession, TState, CancellationToken, ValueTask<T>> work, CancellationToken cancellationToken)
    {
        if (Current is { } unit)
        {
            // The unit's transaction holds the work: a failure fails the unit, which is then rolled back.
            await unit.StartAsync(cancellationToken).ConfigureAwait(false);
            return await work(Session(), state, cancellationToken).ConfigureAwait(false);
        }

        await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            EnsureOpen();
            using var transaction = _connection.BeginTransaction(IsolationLevel.Serializable);
            _transaction = transaction;
            try
            {
                var result = await work(Session(), state, cancellationToken).ConfigureAwait(false);
                transaction.Commit();
                return result;
            }
            catch
            {
                RolledBack();
                throw;
            }
            finally
            {
                _transaction = null;
            }
        }
        finally
        {
            AfterWrites();
            _gate.Release();
        }
    }

    // The connection, its transaction, and the prepared commands, for a store written once for every relational database.
    private RelationalSession Session() => new(SqliteDialect.Instance, _connection, _transaction, Command);

    /// <summary>Runs <paramref name="work"/> with the connection, one operation at a time.</summary>
    /// <typeparam name="T">The result type.</typeparam>
    /// <param name="work">The work; it receives this database to get prepared commands from.</param>
    /// <param name="cancellationToken">Cancels waiting for the connection.</param>
    /// <returns>The work's result.</returns>
    internal ValueTask<T> RunAsync<T>(Func<SqliteDatabase, T> work, CancellationToken cancellationToken)
        => RunAsync(work, static (db, w) => w(db), cancellationToken);

    /// <summary>Runs <paramref name="work"/> on <paramref name="state"/> with the connection, one operation at a time (the hot paths pass their arguments as state instead of capturing them in a new closure per call).</summary>
    /// <typeparam name="TState">The state's type.</typeparam>
    /// <typeparam name="T">The result type.</typeparam>
    /// <param name="state">The work's arguments.</param>
    /// <param name="work">The work; it receives this database and the state.</param>
    /// <param name="cancellationToken">Cancels waiting for the connection.</param>
    /// <returns>The work's result.</returns>
    internal async ValueTask<T> RunAsync<TState, T>(TState state, Func<SqliteDatabase, TState, T> work, CancellationToken cancellationToken)
    {
        if (Current is { } unit)
        {
            // Inside a unit of work: its outermost unit holds the connection and the transaction.
            await unit.StartAsync(cancellationToken).ConfigureAwait(false);
            return work(this, state);
        }

        await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            EnsureOpen();
            return work(this, state);
        }
        finally
        {
            AfterWrites();
            _gate.Release();
        }
    }

    /// <summary>Runs <paramref name="work"/> inside one transaction: all of it is written, or none.</summary>
    /// <typeparam name="T">The result type.</typeparam>
    /// <param name="work">The work.</param>
    /// <param name="cancellationToken">Cancels waiting for the connection.</param>
    /// <returns>The work's result.</returns>
    internal ValueTask<T> RunInTransactionAsync<T>(Func<SqliteDatabase, T> work, CancellationToken cancellationToken)
        => RunInTransactionAsync(work, static (db, w) => w(db), cancellationToken);

    /// <summary>Runs <paramref name="work"/> on <paramref name="state"/> inside one transaction: all of it is written, or none.</summary>
    /// <typeparam name="TState">The state's type.</typeparam>
    /// <typeparam name="T">The result type.</typeparam>
    /// <param name="state">The work's arguments.</param>
    /// <param name="work">The work.</param>
    /// <param name="cancellationToken">Cancels waiting for the connection.</param>
    /// <returns>The work's result.</returns>
    internal ValueTask<T> RunInTransactionAsync<TState, T>(TState state, Func<SqliteDatabase, TState, T> work, CancellationToken cancellationToken)
        // Inside a unit of work the unit's transaction holds the operation: an operation that fails either wrote nothing
        // (a version or id conflict is detected before any write) or fails its unit, which is then rolled back.
        => Current is not null
            ? RunAsync(state, work, cancellationToken)
            : RunAsync(
            (State: state, Work: work),
            static (db, a) =>
            {
                using var transaction = db._connection.BeginTransaction(IsolationLevel.Serializable);
                db._transaction = transaction;
                try
                {
                    var result = a.Work(db, a.State);
                    transaction.Commit();
                    return result;
                }
                catch
                {
                    db.RolledBack();
                    throw;
                }
                finally
                {
                    db._transaction = null;
                }
            },
            cancellationToken);

    /// <inheritdoc />
    public IUnitOfWork Begin()
    {
        var parent = Current;
        var depth = 0;
        for (var p = parent; p is not null; p = p.Parent)
        {
            depth++;
        }

        var unit = new SqliteUnitOfWork(this, parent, depth);
        _current.Value = unit;
        return unit;
    }

    /// <summary>How many savepoints nested units of work began on this connection (for tests and diagnostics).</summary>
    internal long SavepointsBegun { get; set; }

    /// <inheritdoc />
    public IOptimisticUnitOfWork? TryBeginOptimistic()
    {
        if (Current is not null)
        {
            return null;
        }

        var unit = new SqliteUnitOfWork(this, null, 0, optimistic: true);
        _current.Value = unit;
        return unit;
    }

    /// <inheritdoc />
    public ValueTask FlushAsync(CancellationToken cancellationToken = default)
    {
        var root = Current;
        while (root?.Parent is not null)
        {
            root = root.Parent;
        }

        if (root is null || !root.IsStarted || _transaction is null)
        {
            return ValueTask.CompletedTask;
        }

        // Commit and carry on in a new transaction, with the open nested units' savepoints re-established.
        _transaction.Commit();
        _transaction.Dispose();
        _transaction = _connection.BeginTransaction(IsolationLevel.Serializable);
        ObserveOtherWriters(); // another connection may have committed between the two transactions
        var chain = new Stack<SqliteUnitOfWork>();
        for (var unit = Current; unit is not null && unit != root; unit = unit.Parent)
        {
            if (unit.IsStarted)
            {
                chain.Push(unit);
            }
        }

        foreach (var unit in chain)
        {
            if (!unit.IsOptimistic)
            {
                Execute("SAVEPOINT " + unit.Savepoint); // rare: after a flush
            }
        }

        return ValueTask.CompletedTask;
    }

    /// <summary>The calling flow's open unit of work, if any (what a store's read-ahead is tied to).</summary>
    internal SqliteUnitOfWork? CurrentUnit => Current;

    private SqliteUnitOfWork? Current
    {
        get
        {
            var unit = _current.Value;
            while (unit is not null && !unit.IsOpen)
            {
                unit = unit.Parent;
            }

            return unit;
        }
    }

    internal async ValueTask AcquireForUnitAsync(CancellationToken cancellationToken)
    {
        await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            EnsureOpen();
            _transaction = _connection.BeginTransaction(IsolationLevel.Serializable);
            ObserveOtherWriters();
        }
        catch
        {
            _gate.Release();
            throw;
        }
    }

    internal void EndUnit(bool commit)
    {
        try
        {
            if (commit)
            {
                try
                {
                    _transaction!.Commit();
                }
                catch
                {
                    // A commit that failed wrote nothing: what caches kept of the unit's writes is no longer what the table holds.
                    RolledBack();
                    throw;
                }
            }
            else
            {
                _transaction!.Rollback();
                RolledBack();
            }
        }
        finally
        {
            _transaction!.Dispose();
            _transaction = null;
            AfterWrites();
            _gate.Release();
        }
    }

    /// <summary>The background checkpointer, when checkpoints run in the background and the file is in WAL mode (for tests).</summary>
    internal SqliteCheckpointer? Checkpointer => _checkpointer;

    /// <summary>How many checkpoints the writer ran itself because the log reached its limit (for tests and diagnostics).</summary>
    internal long OwnCheckpoints { get; private set; }

    // With the connection held and no transaction open, after work that may have committed: counts the pages written to the
    // log since the last call (SQLITE_DBSTATUS_CACHE_WRITE, read and reset), asks the background checkpointer for a checkpoint
    // every quarter of the limit, and runs one on this connection when the whole limit was written since its last own one
    // (see SqliteCheckpointer).
    private void AfterWrites()
    {
        if (_checkpointer is not { } checkpointer || _transaction is not null)
        {
            return;
        }

        SQLitePCL.raw.sqlite3_db_status(_connection.Handle, SQLitePCL.raw.SQLITE_DBSTATUS_CACHE_WRITE, out var written, out _, 1);
        if (written <= 0)
        {
            return;
        }

        checkpointer.Committed();
        _pagesSinceRequest += written;
        _pagesSinceOwnCheckpoint += written;
        if (_pagesSinceOwnCheckpoint >= _walAutoCheckpointPages)
        {
            // It does not run when another process's checkpoint holds the log: tried again after the next write.
            if (checkpointer.RunOwn(_connection.Handle!))
            {
                _pagesSinceOwnCheckpoint = 0;
                _pagesSinceRequest = 0;
                OwnCheckpoints++;
            }
        }
        else if (_pagesSinceRequest >= Math.Max(1, _walAutoCheckpointPages / 4))
        {
            _pagesSinceRequest = 0;
            checkpointer.Request();
        }
    }

    internal void Leave(SqliteUnitOfWork unit)
    {
        if (_current.Value == unit)
        {
            _current.Value = unit.Parent;
        }
    }

    /// <summary>How many times written work was rolled back: caches of what was read or written compare it.</summary>
    internal int Rollbacks => Volatile.Read(ref _rollbacks);

    /// <summary>
    /// Changes whenever what this connection read or wrote earlier may no longer be what the database holds: when written
    /// work is rolled back, and when another connection (or process) is seen to have committed. Caches of rows keep the
    /// epoch at which they were read or written.
    /// </summary>
    internal int Epoch => Volatile.Read(ref _epoch);

    /// <summary>What the caps count of each customer's dispatches, kept current by every dispatch store on this database.</summary>
    internal DispatchCapCache CapCache { get; } = new();

    /// <summary>
    /// Whether a cache entry of <paramref name="epoch"/> can be used without reading the database: only inside a unit of work
    /// (whose transaction holds the write lock, so no other connection can commit until it ends, and which checked at its
    /// start that none had since the last check), and only when nothing was rolled back or written by others since the entry
    /// was made. Outside a unit another connection could commit at any moment, so callers read the database.
    /// </summary>
    /// <param name="epoch">The entry's epoch.</param>
    /// <returns>Whether the entry is certainly current.</returns>
    internal bool IsCurrent(int epoch) => epoch == Epoch && _transaction is not null && Current is { IsStarted: true };

    internal void RollbackTo(string rollbackStatement)
    {
        Execute(rollbackStatement);
        RolledBack();
    }

    private void RolledBack()
    {
        Interlocked.Increment(ref _rollbacks);
        Interlocked.Increment(ref _epoch);
    }

    // PRAGMA data_version changes between two reads on one connection exactly when another connection committed in between.
    // Read at the start of every unit's transaction (which holds the write lock); a change ends the current epoch.
    private void ObserveOtherWriters()
    {
        var version = (long)Command("PRAGMA data_version").ExecuteScalar()!;
        if (version != _dataVersion)
        {
            _dataVersion = version;
            Interlocked.Increment(ref _epoch);
        }
    }

    internal void Execute(string sql) => Statement(sql).Execute();

    /// <summary>The rowid of the row the connection inserted last (only while the connection is held).</summary>
    internal long LastInsertRowId => SQLitePCL.raw.sqlite3_last_insert_rowid(_connection.Handle);

    /// <summary>
    /// Copies the write-ahead log into the database file and truncates the log to zero bytes (<c>wal_checkpoint(TRUNCATE)</c>),
    /// so that the rows an erasure deleted, which <c>secure_delete</c> overwrote in the database file, leave no older copy in
    /// the <c>-wal</c> file. Inside a unit of work it does nothing (the erasure is not committed yet: checkpoint after the
    /// unit). A reader in another process that holds an older snapshot keeps the log from being truncated until it ends.
    /// </summary>
    /// <param name="cancellationToken">Cancels waiting for the connection.</param>
    /// <returns>A task.</returns>
    internal ValueTask CheckpointAsync(CancellationToken cancellationToken)
        => Current is not null
            ? ValueTask.CompletedTask
            : new ValueTask(RunAsync(
                static db =>
                {
                    using var checkpoint = db._connection.CreateCommand();
                    checkpoint.CommandText = "PRAGMA wal_checkpoint(TRUNCATE)";
                    checkpoint.ExecuteNonQuery();
                    return 0;
                },
                cancellationToken).AsTask());

    /// <summary>
    /// A statement for <paramref name="sql"/> prepared on the connection's handle, reused across calls: for the statements
    /// every tracked event runs. Only while the connection is held (inside <see cref="RunAsync{T}"/> or a unit of work).
    /// </summary>
    /// <param name="sql">The SQL text, with positional parameters (<c>?1</c>).</param>
    /// <returns>The statement.</returns>
    internal SqliteStatement Statement(string sql)
    {
        if (!_statements.TryGetValue(sql, out var statement))
        {
            statement = new SqliteStatement(_connection.Handle!, sql);
            _statements[sql] = statement;
        }

        return statement;
    }

    /// <summary>
    /// Writes a profile's document (<see cref="ProfileJson"/>, the bytes the source-generated contract writes) into this
    /// database's reused buffer and returns its UTF-8 text, valid until the next call: no string and no UTF-8 copy of one.
    /// Only while the connection is held.
    /// </summary>
    /// <param name="profile">The profile.</param>
    /// <returns>The profile's UTF-8 JSON.</returns>
    internal ReadOnlySpan<byte> Utf8Profile(CustomerProfile profile)
    {
        var writer = DocumentWriter();
        ProfileJson.Write(writer, profile);
        writer.Flush();
        return _document.WrittenSpan;
    }

    /// <summary>As <see cref="Utf8Profile"/> for an event, written by <see cref="EventDocumentJson"/>.</summary>
    /// <param name="engagementEvent">The event.</param>
    /// <returns>The event's UTF-8 JSON.</returns>
    internal ReadOnlySpan<byte> Utf8Event(Events.EngagementEvent engagementEvent)
    {
        var writer = DocumentWriter();
        EventDocumentJson.Write(writer, engagementEvent);
        writer.Flush();
        return _document.WrittenSpan;
    }

    /// <summary>As <see cref="Utf8Profile"/> for a dispatch, written by <see cref="DispatchJson"/>.</summary>
    /// <param name="record">The dispatch.</param>
    /// <returns>The dispatch's UTF-8 JSON.</returns>
    internal ReadOnlySpan<byte> Utf8Dispatch(DispatchRecord record)
    {
        var writer = DocumentWriter();
        DispatchJson.Write(writer, record);
        writer.Flush();
        return _document.WrittenSpan;
    }

    /// <summary>
    /// Writes a JSON array of one string of each item into this database's reused buffer and returns its UTF-8 text, valid until
    /// the next call (for <c>json_each</c>). Only while the connection is held.
    /// </summary>
    /// <typeparam name="T">The items' type.</typeparam>
    /// <param name="items">The items.</param>
    /// <param name="text">The string of an item.</param>
    /// <returns>The array's UTF-8 JSON.</returns>
    internal ReadOnlySpan<byte> Utf8Strings<T>(IReadOnlyList<T> items, Func<T, string> text)
    {
        var writer = DocumentWriter();
        writer.WriteStartArray();
        for (var i = 0; i < items.Count; i++)
        {
            writer.WriteStringValue(text(items[i]));
        }

        writer.WriteEndArray();
        writer.Flush();
        return _document.WrittenSpan;
    }

    // The context's options write with the default encoder, unindented: the writer's defaults.
    private Utf8JsonWriter DocumentWriter()
    {
        _document.ResetWrittenCount();
        var writer = _documentWriter ??= new Utf8JsonWriter(_document, new JsonWriterOptions { SkipValidation = true });
        writer.Reset(_document);
        return writer;
    }

    /// <summary>Deletes one customer's rows from a table (erasure).</summary>
    /// <param name="table">The table (one of this package's own, never user input).</param>
    /// <param name="customerId">The customer.</param>
    /// <param name="cancellationToken">Cancels waiting for the connection.</param>
    /// <returns>How many rows were deleted.</returns>
    internal ValueTask<int> DeleteByCustomerAsync(string table, CustomerId customerId, CancellationToken cancellationToken)
        => RunAsync(
            db =>
            {
                var delete = db.Command($"DELETE FROM {table} WHERE customer_id = $customer");
                delete.Bind("$customer", customerId.Value);
                var deleted = delete.ExecuteNonQuery();
                if (table == "dispatches")
                {
                    db.CapCache.Clear();
                }

                return deleted;
            },
            cancellationToken);

    /// <summary>
    /// A prepared command for <paramref name="sql"/>, reused across calls with its parameters: every caller sets each of its
    /// parameters with <see cref="SqliteCommandExtensions.Bind"/> before executing it. The values of the previous use are
    /// cleared, so that a parameter left unbound fails the command instead of running it with a stale value.
    /// </summary>
    /// <param name="sql">The SQL text, with named parameters.</param>
    /// <returns>The command.</returns>
    internal SqliteCommand Command(string sql)
    {
        if (!_commands.TryGetValue(sql, out var command))
        {
            command = _connection.CreateCommand();
            command.CommandText = sql;
            _commands[sql] = command;
        }
        else
        {
            var parameters = command.Parameters;
            for (var i = 0; i < parameters.Count; i++)
            {
                parameters[i].Value = null;
            }
        }

        command.Transaction = _transaction;
        return command;
    }

    private void EnsureOpen()
    {
        if (_initialised)
        {
            return;
        }

        _connection.Open();
        using (var pragmas = _connection.CreateCommand())
        {
            // temp_store=MEMORY keeps the savepoint journal in memory. Each nested unit (every event of a batch) is a
            // savepoint, and SQLite copies each page the unit changes into that journal so that the unit alone can be
            // rolled back; by default the journal moves to a file in the temporary directory once one savepoint has
            // copied more than 64 KiB, and then stays there until the transaction ends, so the rest of the batch pays a
            // write system call for every page it changes. The journal only serves rollbacks within the open
            // transaction (the write-ahead log is what survives a crash), and is emptied as each unit ends, so it holds
            // at most the pages of one unit. Temporary tables and sorts are kept in memory too.
            pragmas.CommandText = $"PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON; PRAGMA secure_delete=ON; PRAGMA wal_autocheckpoint={(_backgroundCheckpoints ? 0 : _walAutoCheckpointPages)}; PRAGMA busy_timeout={(int)BusyTimeout.TotalMilliseconds}; PRAGMA cache_size=-{_cacheSizeKibibytes}; PRAGMA temp_store=MEMORY;";
            pragmas.ExecuteNonQuery();
        }

        if (_backgroundCheckpoints)
        {
            // Only a file in WAL mode has a log to copy (an in-memory database keeps its journal in memory).
            using var mode = _connection.CreateCommand();
            mode.CommandText = "PRAGMA journal_mode";
            if (string.Equals(mode.ExecuteScalar() as string, "wal", StringComparison.OrdinalIgnoreCase))
            {
                _checkpointer = new SqliteCheckpointer(_connection.ConnectionString, BusyTimeout);
            }
        }

        // For the migration to version 4, and for the event store, which gives a row stored without its key the key when
        // a delete frees it.
        _connection.CreateFunction<string, long>("engagement_event_key", EventKey.Of, isDeterministic: true);
        using (var schema = _connection.CreateCommand())
        {
            schema.CommandText = Schema;
            schema.ExecuteNonQuery();
        }

        using (var version = _connection.CreateCommand())
        {
            version.CommandText = "BEGIN IMMEDIATE";
            version.ExecuteNonQuery();
            try
            {
                // Read and migrated under the write lock: two processes opening an older file migrate it once.
                version.CommandText = "SELECT version FROM schema_version LIMIT 1";
                var stored = version.ExecuteScalar();
                var current = SchemaVersion;
                if (stored is null)
                {
                    // A new file: the tables above are version 1's; the migrations bring them up to date.
                    version.CommandText = "INSERT INTO schema_version (version) VALUES (1)";
                    version.ExecuteNonQuery();
                    current = 1;
                }
                else
                {
                    current = Convert.ToInt32(stored, System.Globalization.CultureInfo.InvariantCulture);
                    if (current > SchemaVersion)
                    {
                        throw new InvalidOperationException($"The database was written by a newer schema (version {stored}); this package understands version {SchemaVersion}.");
                    }
                }

                for (; current < SchemaVersion; current++)
                {
                    version.CommandText = Migrations[current - 1] + $"; UPDATE schema_version SET version = {current + 1};";
                    version.ExecuteNonQuery();
                    if (current + 1 == 3)
                    {
                        IdentifierKeyMigration.ApplyAsync(SqliteDialect.Instance, _connection, null, CancellationToken.None).GetAwaiter().GetResult();
                    }
                }

                // The tables of the stores written once for every relational database, each module at its own version.
                SchemaModules.ApplyAsync(SqliteDialect.Instance, _connection, null, SchemaModules.All, CancellationToken.None).GetAwaiter().GetResult();

                version.CommandText = "COMMIT";
                version.ExecuteNonQuery();
            }
            catch
            {
                version.CommandText = "ROLLBACK";
                version.ExecuteNonQuery();
                throw;
            }
        }

        _initialised = true;
    }

    /// <inheritdoc />
    public void Dispose()
    {
        foreach (var command in _commands.Values)
        {
            command.Dispose();
        }

        _commands.Clear();
        foreach (var statement in _statements.Values)
        {
            statement.Dispose();
        }

        _statements.Clear();
        _documentWriter?.Dispose();

        // The checkpointer's connection closes first, so that the writer's is the last and SQLite's final checkpoint on close
        // copies the rest of the log and removes it.
        _checkpointer?.Dispose();
        _connection.Dispose();
        _gate.Dispose();
    }

    /// <inheritdoc />
    public ValueTask DisposeAsync()
    {
        Dispose();
        return ValueTask.CompletedTask;
    }
}

/// <summary>Binds parameter values on the reused commands of <see cref="SqliteDatabase"/>.</summary>
internal static class SqliteCommandExtensions
{
    /// <summary>Sets the value of the parameter <paramref name="name"/>, adding it the first time the command is used.</summary>
    /// <param name="command">The command.</param>
    /// <param name="name">The parameter's name, with its prefix (<c>$id</c>).</param>
    /// <param name="value">The value.</param>
    internal static void Bind(this SqliteCommand command, string name, object value)
    {
        var parameters = command.Parameters;
        for (var i = 0; i < parameters.Count; i++)
        {
            if (string.Equals(parameters[i].ParameterName, name, StringComparison.Ordinal))
            {
                parameters[i].Value = value;
                return;
            }
        }

        parameters.AddWithValue(name, value);
    }
}
