using Engagement.Sdk.Storage;

namespace Engagement.Sdk.Sqlite;

/// <summary>
/// A unit of work on a <see cref="SqliteDatabase"/>: the outermost unit holds the database's write lock and one transaction;
/// nested units are savepoints inside it.
/// </summary>
internal sealed class SqliteUnitOfWork : IUnitOfWork
{
    private readonly SqliteDatabase _database;
    private bool _closed;

    internal SqliteUnitOfWork(SqliteDatabase database, SqliteUnitOfWork? parent, int depth)
    {
        _database = database;
        Parent = parent;
        Savepoint = "unit_" + depth.ToString(System.Globalization.CultureInfo.InvariantCulture);
    }

    internal SqliteUnitOfWork? Parent { get; }

    internal string Savepoint { get; }

    internal bool IsStarted { get; set; }

    internal bool IsOpen => !_closed;

    public async ValueTask StartAsync(CancellationToken cancellationToken = default)
    {
        ObjectDisposedException.ThrowIf(_closed, this);
        if (IsStarted)
        {
            return;
        }

        if (Parent is null)
        {
            await _database.AcquireForUnitAsync(cancellationToken).ConfigureAwait(false);
        }
        else
        {
            await Parent.StartAsync(cancellationToken).ConfigureAwait(false);
            _database.Execute("SAVEPOINT " + Savepoint);
        }

        IsStarted = true;
    }

    // The outermost unit holds the database's write lock, which already excludes every other unit.
    public ValueTask LockAsync(string key, CancellationToken cancellationToken = default) => StartAsync(cancellationToken);

    public ValueTask CompleteAsync(CancellationToken cancellationToken = default)
    {
        ObjectDisposedException.ThrowIf(_closed, this);
        Close(commit: true);
        return ValueTask.CompletedTask;
    }

    public ValueTask DisposeAsync()
    {
        if (!_closed)
        {
            Close(commit: false);
        }

        return ValueTask.CompletedTask;
    }

    private void Close(bool commit)
    {
        _closed = true;
        _database.Leave(this);
        if (!IsStarted)
        {
            return;
        }

        if (Parent is null)
        {
            _database.EndUnit(commit);
        }
        else if (commit)
        {
            _database.Execute("RELEASE " + Savepoint);
        }
        else
        {
            _database.RollbackTo(Savepoint);
            _database.Execute("RELEASE " + Savepoint);
        }
    }
}
