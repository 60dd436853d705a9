using System.Data.Common;

namespace Engagement.Sdk.Storage.Relational;

/// <summary>
/// A relational database as the stores that are written once for SQLite and PostgreSQL see it: its dialect, and a way to
/// run statements on a connection — the current unit of work's, when the calling flow is inside one (so that the store's
/// writes are part of the event's transaction), else a connection of its own.
/// </summary>
internal interface IRelationalDatabase : IStoreTransactions
{
    /// <summary>The dialect that renders the stores' statement templates.</summary>
    SqlDialect Dialect { get; }

    /// <summary>Runs <paramref name="work"/> on a connection: the current unit of work's, else one of its own without a transaction.</summary>
    /// <typeparam name="TState">The work's arguments (passed as state rather than captured, on hot paths).</typeparam>
    /// <typeparam name="T">The result type.</typeparam>
    /// <param name="state">The arguments.</param>
    /// <param name="work">The work.</param>
    /// <param name="cancellationToken">Cancels the work.</param>
    /// <returns>The work's result.</returns>
    ValueTask<T> ReadAsync<TState, T>(TState state, Func<RelationalSession, TState, CancellationToken, ValueTask<T>> work, CancellationToken cancellationToken);

    /// <summary>
    /// Runs <paramref name="work"/> so that all of its writes happen or none: inside the current unit of work (which a
    /// failure of the work fails), else in a transaction of its own.
    /// </summary>
    /// <typeparam name="TState">The work's arguments.</typeparam>
    /// <typeparam name="T">The result type.</typeparam>
    /// <param name="state">The arguments.</param>
    /// <param name="work">The work.</param>
    /// <param name="cancellationToken">Cancels the work.</param>
    /// <returns>The work's result.</returns>
    ValueTask<T> WriteAsync<TState, T>(TState state, Func<RelationalSession, TState, CancellationToken, ValueTask<T>> work, CancellationToken cancellationToken);

    /// <summary>
    /// A number that changes whenever rows read or written earlier through this database may no longer be what it holds (work
    /// rolled back, another connection seen to have committed), for stores that keep what they read; <see langword="null"/>
    /// when the database cannot tell (pooled connections that other writers share), and then stores keep nothing.
    /// </summary>
    int? CacheEpoch => null;

    /// <summary>
    /// Whether a row a store read or wrote at <paramref name="epoch"/> is certainly what the database holds now, so that it
    /// can be used without reading it again: only inside a unit of work that holds the write lock and only while the epoch has
    /// not moved. Always <see langword="false"/> when <see cref="CacheEpoch"/> is <see langword="null"/>.
    /// </summary>
    /// <param name="epoch">The <see cref="CacheEpoch"/> at which the row was read or written.</param>
    /// <returns>Whether the row is certainly current.</returns>
    bool IsCurrent(int epoch) => false;
}

/// <summary>
/// The connection a store's work runs on, for the duration of one <see cref="IRelationalDatabase.ReadAsync{TState, T}"/> or
/// <see cref="IRelationalDatabase.WriteAsync{TState, T}"/>: it makes commands from statement templates, in the dialect and
/// in the current transaction.
/// </summary>
internal sealed class RelationalSession
{
    private readonly Func<string, DbCommand>? _prepared;

    /// <summary>Creates a session.</summary>
    /// <param name="dialect">The dialect.</param>
    /// <param name="connection">The open connection.</param>
    /// <param name="transaction">The current transaction, if any.</param>
    /// <param name="prepared">
    /// Where the database keeps prepared commands reused across calls (SQLite, whose one connection lives as long as the
    /// database); <see langword="null"/> to make a new command each time (pooled connections).
    /// </param>
    public RelationalSession(SqlDialect dialect, DbConnection connection, DbTransaction? transaction, Func<string, DbCommand>? prepared)
    {
        Dialect = dialect;
        Connection = connection;
        Transaction = transaction;
        _prepared = prepared;
    }

    /// <summary>The dialect.</summary>
    public SqlDialect Dialect { get; }

    /// <summary>The open connection.</summary>
    public DbConnection Connection { get; }

    /// <summary>The current transaction, if any.</summary>
    public DbTransaction? Transaction { get; }

    /// <summary>A command for a statement template, rendered in the dialect, in the current transaction. Dispose it after use.</summary>
    /// <param name="template">The statement template (a constant of the store; see <see cref="SqlDialect"/>).</param>
    /// <returns>The command; bind every parameter with <see cref="RelationalCommand.Bind"/> before executing it.</returns>
    public RelationalCommand Command(string template)
    {
        var sql = Dialect.Render(template);
        if (_prepared is not null)
        {
            return new RelationalCommand(_prepared(sql), owned: false);
        }

        var command = Connection.CreateCommand();
        command.CommandText = sql;
        command.Transaction = Transaction;
        return new RelationalCommand(command, owned: true);
    }
}

/// <summary>A command made by <see cref="RelationalSession.Command"/>: binds parameters by name and runs.</summary>
internal readonly struct RelationalCommand : IDisposable
{
    private readonly bool _owned;

    internal RelationalCommand(DbCommand command, bool owned)
    {
        Inner = command;
        _owned = owned;
    }

    /// <summary>The ADO.NET command.</summary>
    public DbCommand Inner { get; }

    /// <summary>Sets the parameter <paramref name="name"/> (as written in the statement, with its <c>@</c>), adding it on first use.</summary>
    /// <param name="name">The parameter's name, for example <c>@customer</c>.</param>
    /// <param name="value">The value; <see langword="null"/> is SQL NULL.</param>
    /// <returns>This command.</returns>
    public RelationalCommand Bind(string name, object? value)
    {
        var parameters = Inner.Parameters;
        for (var i = 0; i < parameters.Count; i++)
        {
            if (string.Equals(parameters[i].ParameterName, name, StringComparison.Ordinal))
            {
                parameters[i].Value = value ?? DBNull.Value;
                return this;
            }
        }

        var parameter = Inner.CreateParameter();
        parameter.ParameterName = name;
        parameter.Value = value ?? DBNull.Value;
        parameters.Add(parameter);
        return this;
    }

    /// <summary>Runs the command.</summary>
    /// <param name="cancellationToken">Cancels the work.</param>
    /// <returns>How many rows it changed.</returns>
    public Task<int> ExecuteAsync(CancellationToken cancellationToken) => Inner.ExecuteNonQueryAsync(cancellationToken);

    /// <summary>Runs the command and returns the first column of the first row.</summary>
    /// <param name="cancellationToken">Cancels the work.</param>
    /// <returns>The value, or <see langword="null"/> when there is no row or it is NULL.</returns>
    public async Task<object?> ScalarAsync(CancellationToken cancellationToken)
        => await Inner.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false) is { } value and not DBNull ? value : null;

    /// <summary>Runs the command and reads its rows.</summary>
    /// <param name="cancellationToken">Cancels the work.</param>
    /// <returns>The reader; dispose it before the next command.</returns>
    public Task<DbDataReader> ReaderAsync(CancellationToken cancellationToken) => Inner.ExecuteReaderAsync(cancellationToken);

    /// <inheritdoc />
    public void Dispose()
    {
        if (_owned)
        {
            Inner.Dispose();
        }
    }
}
