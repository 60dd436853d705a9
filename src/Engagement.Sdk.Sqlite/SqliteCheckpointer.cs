using Microsoft.Data.Sqlite;
using SQLitePCL;

namespace Engagement.Sdk.Sqlite;

/// <summary>
/// Copies the write-ahead log into the database file on a connection and a thread of its own, so that the writer's commits
/// seldom wait for a checkpoint (see <see cref="SqliteStoreOptions.BackgroundCheckpoints"/>).
/// </summary>
/// <remarks>
/// <para>
/// SQLite's automatic checkpoint runs inside the commit that takes the log past its limit: that commit copies every page of
/// the log into the database file and waits for the disk twice. Here the writer keeps automatic checkpoints off and counts
/// the pages it writes to the log (<c>SQLITE_DBSTATUS_CACHE_WRITE</c>); every quarter of the limit it asks this checkpointer,
/// which runs a <c>PASSIVE</c> checkpoint on its own connection while the writer carries on (a passive checkpoint takes no
/// lock a writer needs, and copies only frames that are committed).
/// </para>
/// <para>
/// The log can only start again from its beginning when a write transaction begins after every frame was copied, which
/// back-to-back transactions may never allow. So when the writer has written the whole limit since its last own checkpoint,
/// it runs one itself between two transactions, as SQLite's automatic checkpoint would: by then the background one has
/// copied all but the last quarter or so, so that checkpoint is short, and the next transaction starts the log again. The
/// log therefore stays within about the limit plus one transaction, as with SQLite's own checkpoints. The two never run at
/// once, and none runs in the background between the writer's own one and its next transaction: a checkpoint copying when a
/// transaction begins makes that transaction read through the log, and only a transaction that does not can start it again.
/// </para>
/// </remarks>
internal sealed class SqliteCheckpointer : IDisposable
{
    private readonly SqliteConnection _connection;
    private readonly Thread _thread;
    private readonly SemaphoreSlim _requests = new(0);
    private volatile bool _stopping;
    private readonly Lock _turn = new();
    private bool _restartPending;
    private bool _deferred;
    private int _requested;
    private long _checkpoints;
    private long _framesCopied;

    /// <summary>Opens the checkpointer's connection to the writer's database file and starts its thread.</summary>
    /// <param name="connectionString">The writer's connection string (the same file).</param>
    /// <param name="busyTimeout">How long a checkpoint waits for a lock another checkpoint holds.</param>
    public SqliteCheckpointer(string connectionString, TimeSpan busyTimeout)
    {
        _connection = new SqliteConnection(connectionString);
        _connection.Open();
        using (var pragmas = _connection.CreateCommand())
        {
            // No automatic checkpoint of its own (it never writes), the same wait as the writer's for a busy file; reading the
            // journal mode reads the file's header, without which a new connection does not know the file is in WAL mode and
            // its checkpoints do nothing.
            pragmas.CommandText = $"PRAGMA wal_autocheckpoint=0; PRAGMA busy_timeout={(int)busyTimeout.TotalMilliseconds}; PRAGMA journal_mode;";
            pragmas.ExecuteNonQuery();
        }

        _thread = new Thread(Run) { IsBackground = true, Name = "Engagement.Sdk SQLite checkpoints" };
        _thread.Start();
    }

    /// <summary>How many background checkpoints ran to the end (for tests and diagnostics).</summary>
    public long Checkpoints => Interlocked.Read(ref _checkpoints);

    /// <summary>How many log frames the background checkpoints found copied when they ended, summed (for tests and diagnostics).</summary>
    public long FramesCopied => Interlocked.Read(ref _framesCopied);

    /// <summary>Asks for a checkpoint; a request made while one is pending is the same request.</summary>
    public void Request()
    {
        if (Interlocked.Exchange(ref _requested, 1) == 0)
        {
            _requests.Release();
        }
    }

    /// <summary>
    /// Runs the writer's own checkpoint on <paramref name="writer"/> (its connection, with no transaction open), never at the
    /// same time as a background one; when it copied the whole log, background checkpoints wait until the writer's next
    /// commit (<see cref="Committed"/>), because a checkpoint under way when that transaction begins would keep the log from
    /// starting again.
    /// </summary>
    /// <param name="writer">The writer's connection handle.</param>
    /// <returns>Whether the checkpoint ran (it does not when another process's checkpoint holds the log).</returns>
    public bool RunOwn(sqlite3 writer)
    {
        lock (_turn)
        {
            if (raw.sqlite3_wal_checkpoint_v2(writer, null, raw.SQLITE_CHECKPOINT_PASSIVE, out var log, out var copied) != raw.SQLITE_OK)
            {
                return false;
            }

            _restartPending = log == copied;
            return true;
        }
    }

    /// <summary>The writer committed a transaction (the one that started the log again, after its own checkpoint).</summary>
    public void Committed()
    {
        if (Volatile.Read(ref _restartPending))
        {
            bool deferred;
            lock (_turn)
            {
                _restartPending = false;
                deferred = _deferred;
                _deferred = false;
            }

            if (deferred)
            {
                Request();
            }
        }
    }

    private void Run()
    {
        while (true)
        {
            _requests.Wait();
            if (_stopping)
            {
                return;
            }

            Volatile.Write(ref _requested, 0);

            // A checkpoint that finds the log busy (another checkpoint, in this process or another) copies what it can or
            // nothing; the writer's own checkpoint at the limit still bounds the log, so a failure here is only a missed turn.
            lock (_turn)
            {
                if (_restartPending)
                {
                    _deferred = true; // asked again after the writer's next commit
                    continue;
                }

                if (raw.sqlite3_wal_checkpoint_v2(_connection.Handle, null, raw.SQLITE_CHECKPOINT_PASSIVE, out _, out var copied) == raw.SQLITE_OK)
                {
                    Interlocked.Increment(ref _checkpoints);
                    Interlocked.Add(ref _framesCopied, Math.Max(0, copied));
                }
            }
        }
    }

    /// <summary>Stops the thread (after the checkpoint under way, if any) and closes the connection.</summary>
    public void Dispose()
    {
        if (_stopping)
        {
            return;
        }

        _stopping = true;
        _requests.Release();
        _thread.Join();
        _connection.Dispose();
        _requests.Dispose();
    }
}
