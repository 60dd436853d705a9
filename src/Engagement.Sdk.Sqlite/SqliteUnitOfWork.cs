using Engagement.Sdk.Storage;
using Engagement.Sdk.Storage.Relational;

namespace Engagement.Sdk.Sqlite;

/// <summary>
/// A unit of work on a <see cref="SqliteDatabase"/>: the outermost unit holds the database's write lock and one transaction;
/// nested units are savepoints inside it, except in an optimistic unit (<see cref="IOptimisticTransactions"/>), whose nested
/// units write straight into its transaction.
/// </summary>
internal sealed class SqliteUnitOfWork : IOptimisticUnitOfWork
{
    private readonly SqliteDatabase _database;
    private bool _closed;

    internal SqliteUnitOfWork(SqliteDatabase database, SqliteUnitOfWork? parent, int depth, bool optimistic = false)
    {
        _database = database;
        Parent = parent;
        Root = parent?.Root ?? this;
        _run = parent is null && optimistic ? new OptimisticRun() : null;
        (Savepoint, _begin, _release, _rollback) = depth < Usual.Length ? Usual[depth] : Statements(depth);
    }

    // The outermost unit's, when it runs optimistically (see Root).
    private readonly OptimisticRun? _run;

    /// <summary>The outermost unit this one is nested in (itself, when outermost).</summary>
    internal SqliteUnitOfWork Root { get; }

    /// <summary>Whether this unit's nested units run without savepoints (see <see cref="IOptimisticTransactions"/>).</summary>
    internal bool IsOptimistic => Root._run is not null;

    /// <inheritdoc />
    public bool MustRollBack => Root._run?.MustRollBack ?? false;

    // The statements of the usual nesting depths, made once (a batch nests one unit per event).
    private static readonly (string Name, string Begin, string Release, string Rollback)[] Usual = [.. Enumerable.Range(0, 8).Select(Statements)];

    private static (string Name, string Begin, string Release, string Rollback) Statements(int depth)
    {
        var name = "unit_" + depth.ToString(System.Globalization.CultureInfo.InvariantCulture);
        return (name, "SAVEPOINT " + name, "RELEASE " + name, "ROLLBACK TO " + name);
    }

    private readonly string _begin;
    private readonly string _release;
    private readonly string _rollback;

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
            if (!IsOptimistic)
            {
                _database.Execute(_begin);
                _database.SavepointsBegun++;
            }
        }

        IsStarted = true;
    }

    // The outermost unit holds the database's write lock, which already excludes every other unit.
    public ValueTask LockAsync(string key, CancellationToken cancellationToken = default) => StartAsync(cancellationToken);

    // As LockAsync, without building a key that would not be used.
    public ValueTask LockCustomerAsync(CustomerId customerId, CancellationToken cancellationToken = default) => StartAsync(cancellationToken);

    public ValueTask CompleteAsync(CancellationToken cancellationToken = default)
    {
        ObjectDisposedException.ThrowIf(_closed, this);
        _run?.ThrowIfMustRollBack();
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
        else if (Root._run is { } run)
        {
            // No savepoint to release or return to: a nested unit that did not complete leaves its writes in the transaction,
            // which can now only be rolled back as a whole.
            run.NestedEnded(commit);
        }
        else if (commit)
        {
            _database.Execute(_release);
        }
        else
        {
            _database.RollbackTo(_rollback);
            _database.Execute(_release);
        }
    }
}
