using Engagement.Sdk.Storage;
using Engagement.Sdk.Storage.Relational;
using Npgsql;

namespace Engagement.Sdk.PostgreSql;

/// <summary>
/// A unit of work on a <see cref="PostgreSqlDatabase"/>: the outermost unit holds one connection and one transaction, and
/// the advisory locks taken by <see cref="LockAsync"/> (held until the outermost unit ends, across flushes); nested units
/// are savepoints.
/// </summary>
internal sealed class PostgreSqlUnitOfWork : IOptimisticUnitOfWork
{
    private readonly PostgreSqlDatabase _database;
    private readonly List<string> _locks = [];
    private bool _closed;

    internal PostgreSqlUnitOfWork(PostgreSqlDatabase database, PostgreSqlUnitOfWork? parent, int depth, bool optimistic = false)
    {
        _database = database;
        Parent = parent;
        Savepoint = "unit_" + depth.ToString(System.Globalization.CultureInfo.InvariantCulture);
        _run = parent is null && optimistic ? new OptimisticRun() : null;
    }

    // The outermost unit's, when it runs optimistically (see Root).
    private readonly OptimisticRun? _run;

    /// <summary>Whether this unit's nested units run without savepoints (see <see cref="IOptimisticTransactions"/>).</summary>
    internal bool IsOptimistic => Root._run is not null;

    /// <inheritdoc />
    public bool MustRollBack => Root._run?.MustRollBack ?? false;

    internal PostgreSqlUnitOfWork? Parent { get; }

    internal string Savepoint { get; }

    internal bool IsStarted { get; private set; }

    internal bool IsOpen => !_closed;

    internal NpgsqlConnection? Connection { get; private set; }

    internal NpgsqlTransaction? Transaction { get; private set; }

    internal PostgreSqlUnitOfWork Root => Parent?.Root ?? this;

    public async ValueTask StartAsync(CancellationToken cancellationToken = default)
    {
        ObjectDisposedException.ThrowIf(_closed, this);
        if (IsStarted)
        {
            return;
        }

        if (Parent is null)
        {
            (Connection, Transaction) = await _database.BeginUnitAsync(cancellationToken).ConfigureAwait(false);
        }
        else
        {
            await Parent.StartAsync(cancellationToken).ConfigureAwait(false);
            if (!IsOptimistic)
            {
                await Root.Transaction!.SaveAsync(Savepoint, cancellationToken).ConfigureAwait(false);
                _database.CountSavepoint();
            }
        }

        IsStarted = true;
    }

    public async ValueTask LockAsync(string key, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(key);
        await StartAsync(cancellationToken).ConfigureAwait(false);
        var root = Root;
        var scoped = _database.Schema + ":" + key; // tenants in other schemas of the same database do not contend
        if (root._locks.Contains(scoped))
        {
            return;
        }

        await PostgreSqlDatabase.AdvisoryLockAsync(root.Connection!, scoped, cancellationToken).ConfigureAwait(false);
        root._locks.Add(scoped);
    }

    public ValueTask CompleteAsync(CancellationToken cancellationToken = default)
    {
        ObjectDisposedException.ThrowIf(_closed, this);
        _run?.ThrowIfMustRollBack();
        _closed = true;
        _database.Leave(this); // synchronously, so that the caller's flow leaves the unit
        return IsStarted ? EndAsync(commit: true, cancellationToken) : ValueTask.CompletedTask;
    }

    public ValueTask DisposeAsync()
    {
        if (_closed)
        {
            return ValueTask.CompletedTask;
        }

        _closed = true;
        _database.Leave(this);
        return IsStarted ? EndAsync(commit: false, CancellationToken.None) : ValueTask.CompletedTask;
    }

    /// <summary>Commits what the root's transaction holds and carries on in a new one, with locks and open savepoints restored.</summary>
    internal async ValueTask FlushAsync(PostgreSqlUnitOfWork current, CancellationToken cancellationToken)
    {
        await Transaction!.CommitAsync(cancellationToken).ConfigureAwait(false);
        await Transaction.DisposeAsync().ConfigureAwait(false);
        Transaction = await Connection!.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);

        var chain = new Stack<PostgreSqlUnitOfWork>();
        for (var unit = current; unit is not null && unit != this; unit = unit.Parent)
        {
            if (unit.IsStarted && unit.IsOpen)
            {
                chain.Push(unit);
            }
        }

        foreach (var unit in chain)
        {
            if (!unit.IsOptimistic)
            {
                await Transaction.SaveAsync(unit.Savepoint, cancellationToken).ConfigureAwait(false);
            }
        }
    }

    private async ValueTask EndAsync(bool commit, CancellationToken cancellationToken)
    {
        if (Parent is not null && Root._run is { } run)
        {
            // No savepoint to release or return to: a nested unit that did not complete leaves its writes (or, after a failed
            // statement, an aborted transaction) to the outermost unit, which can now only be rolled back as a whole.
            run.NestedEnded(commit);
            return;
        }

        if (Parent is not null)
        {
            var transaction = Root.Transaction!;
            if (commit)
            {
                await transaction.ReleaseAsync(Savepoint, cancellationToken).ConfigureAwait(false);
            }
            else
            {
                await transaction.RollbackAsync(Savepoint, cancellationToken).ConfigureAwait(false);
                await transaction.ReleaseAsync(Savepoint, cancellationToken).ConfigureAwait(false);
            }

            return;
        }

        try
        {
            if (commit)
            {
                await Transaction!.CommitAsync(cancellationToken).ConfigureAwait(false);
            }
            else
            {
                await Transaction!.RollbackAsync(cancellationToken).ConfigureAwait(false);
            }
        }
        finally
        {
            await Transaction!.DisposeAsync().ConfigureAwait(false);
            if (_locks.Count > 0)
            {
                try
                {
                    await using var unlock = new NpgsqlCommand("SELECT pg_advisory_unlock_all()", Connection);
                    await unlock.ExecuteNonQueryAsync(CancellationToken.None).ConfigureAwait(false);
                }
                catch (NpgsqlException)
                {
                    // A broken connection holds no locks: the server released them when it went.
                }

                _locks.Clear();
            }

            await Connection!.DisposeAsync().ConfigureAwait(false);
            Transaction = null;
            Connection = null;
        }
    }
}
