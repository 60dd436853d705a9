using System.Text;
using Microsoft.Data.Sqlite;
using SQLitePCL;

namespace Engagement.Sdk.Sqlite;

/// <summary>
/// A statement prepared once on the connection's own handle and run straight through SQLite's C interface, for the
/// statements every tracked event or delivered dispatch runs (savepoints, the event insert, the profile write, the outbox's
/// claim and settlement). Next to a reused
/// <see cref="SqliteCommand"/> it makes no data reader, no parameter objects and no UTF-8 copy of each string: identifiers
/// are bound as UTF-16 and documents as the UTF-8 the JSON writer produced, and a query's text is read as the UTF-8 the
/// database holds. Values are bound by position (<c>?1</c>, <c>?2</c>
/// in the SQL), every one before each run. Errors surface as the same <see cref="SqliteException"/> a command would throw.
/// </summary>
internal sealed class SqliteStatement : IDisposable
{
    private readonly sqlite3 _connection;
    private readonly sqlite3_stmt _statement;
    private readonly int _parameters;
    private int _bound;

    /// <summary>Prepares <paramref name="sql"/> on <paramref name="connection"/>.</summary>
    /// <param name="connection">The open connection's handle.</param>
    /// <param name="sql">One statement, with positional parameters.</param>
    public SqliteStatement(sqlite3 connection, string sql)
    {
        _connection = connection;
        var rc = raw.sqlite3_prepare_v3(connection, sql, raw.SQLITE_PREPARE_PERSISTENT, out _statement);
        if (rc != raw.SQLITE_OK)
        {
            throw Error(rc);
        }

        _parameters = raw.sqlite3_bind_parameter_count(_statement);
        if (_parameters > 30)
        {
            // Which values were bound is kept in the bits of one int.
            _statement.Dispose();
            throw new ArgumentException($"A prepared statement takes at most 30 parameters; '{sql}' has {_parameters}.", nameof(sql));
        }
    }

    /// <summary>Binds text to the parameter at <paramref name="index"/> (from 1).</summary>
    /// <param name="index">The parameter's position.</param>
    /// <param name="value">The text.</param>
    /// <returns>This statement.</returns>
    public SqliteStatement Text(int index, string value)
    {
        // An empty span would bind NULL: the empty string goes through the copying overload.
        Check(value.Length == 0 ? raw.sqlite3_bind_text(_statement, index, string.Empty) : raw.sqlite3_bind_text16(_statement, index, value.AsSpan()));
        return Bound(index);
    }

    /// <summary>Binds UTF-8 text (a JSON document as written) to the parameter at <paramref name="index"/> (from 1).</summary>
    /// <param name="index">The parameter's position.</param>
    /// <param name="utf8">The text, UTF-8 encoded; at least one byte.</param>
    /// <returns>This statement.</returns>
    public SqliteStatement Utf8(int index, ReadOnlySpan<byte> utf8)
    {
        if (utf8.IsEmpty)
        {
            throw new ArgumentException("A document is at least one byte long.", nameof(utf8));
        }

        Check(raw.sqlite3_bind_text(_statement, index, utf8));
        return Bound(index);
    }

    /// <summary>Binds an integer to the parameter at <paramref name="index"/> (from 1).</summary>
    /// <param name="index">The parameter's position.</param>
    /// <param name="value">The integer.</param>
    /// <returns>This statement.</returns>
    public SqliteStatement Integer(int index, long value)
    {
        Check(raw.sqlite3_bind_int64(_statement, index, value));
        return Bound(index);
    }

    /// <summary>Binds NULL to the parameter at <paramref name="index"/> (from 1).</summary>
    /// <param name="index">The parameter's position.</param>
    /// <returns>This statement.</returns>
    public SqliteStatement Null(int index)
    {
        Check(raw.sqlite3_bind_null(_statement, index));
        return Bound(index);
    }

    /// <summary>Binds text, or NULL when <paramref name="value"/> is <see langword="null"/>, to the parameter at <paramref name="index"/> (from 1).</summary>
    /// <param name="index">The parameter's position.</param>
    /// <param name="value">The text, if any.</param>
    /// <returns>This statement.</returns>
    public SqliteStatement TextOrNull(int index, string? value) => value is null ? Null(index) : Text(index, value);

    /// <summary>Binds an integer, or NULL when <paramref name="value"/> is <see langword="null"/>, to the parameter at <paramref name="index"/> (from 1).</summary>
    /// <param name="index">The parameter's position.</param>
    /// <param name="value">The integer, if any.</param>
    /// <returns>This statement.</returns>
    public SqliteStatement IntegerOrNull(int index, long? value) => value is { } v ? Integer(index, v) : Null(index);

    /// <summary>Runs a statement that returns no rows, then makes it ready for the next run.</summary>
    /// <returns>How many rows it inserted, updated or deleted.</returns>
    /// <exception cref="InvalidOperationException">Not every parameter was bound since the last run.</exception>
    /// <exception cref="SqliteException">SQLite refused the statement (a constraint, a busy database, a full disk).</exception>
    public int Execute()
    {
        RequireBound();
        var rc = raw.sqlite3_step(_statement);
        try
        {
            if (rc != raw.SQLITE_DONE)
            {
                throw Error(rc);
            }

            return raw.sqlite3_changes(_connection);
        }
        finally
        {
            raw.sqlite3_reset(_statement);
        }
    }

    /// <summary>Runs a query, then makes it ready for the next run.</summary>
    /// <returns>Whether it returned at least one row.</returns>
    /// <exception cref="InvalidOperationException">Not every parameter was bound since the last run.</exception>
    /// <exception cref="SqliteException">SQLite refused the statement.</exception>
    public bool Exists()
    {
        try
        {
            return Query();
        }
        finally
        {
            Reset();
        }
    }

    /// <summary>
    /// Runs a query and steps to its first row. The row's columns are read with <see cref="Int64"/>, <see cref="IsNull"/>,
    /// <see cref="Utf8Column"/> and <see cref="String"/>; <see cref="Next"/> steps to the next row. The caller calls
    /// <see cref="Reset"/> when it is done with the rows, in a <see langword="finally"/> block (also when it stops early).
    /// </summary>
    /// <returns>Whether there is a row.</returns>
    /// <exception cref="InvalidOperationException">Not every parameter was bound since the last run.</exception>
    /// <exception cref="SqliteException">SQLite refused the statement.</exception>
    public bool Query()
    {
        RequireBound();
        return Next();
    }

    /// <summary>Steps to the next row of the query <see cref="Query"/> started.</summary>
    /// <returns>Whether there is a row.</returns>
    /// <exception cref="SqliteException">SQLite refused the statement.</exception>
    public bool Next()
    {
        var rc = raw.sqlite3_step(_statement);
        return rc switch
        {
            raw.SQLITE_ROW => true,
            raw.SQLITE_DONE => false,
            _ => throw Error(rc),
        };
    }

    /// <summary>Ends a query (whatever rows it had left) and makes the statement ready for the next run.</summary>
    public void Reset() => raw.sqlite3_reset(_statement);

    /// <summary>The integer in column <paramref name="column"/> (from 0) of the current row.</summary>
    /// <param name="column">The column's position.</param>
    /// <returns>The integer (0 for NULL).</returns>
    public long Int64(int column) => raw.sqlite3_column_int64(_statement, column);

    /// <summary>Whether column <paramref name="column"/> (from 0) of the current row is NULL.</summary>
    /// <param name="column">The column's position.</param>
    /// <returns><see langword="true"/> for NULL.</returns>
    public bool IsNull(int column) => raw.sqlite3_column_type(_statement, column) == raw.SQLITE_NULL;

    /// <summary>
    /// The text in column <paramref name="column"/> (from 0) of the current row, as the UTF-8 the database holds (no string is
    /// made): valid until the statement steps or is reset.
    /// </summary>
    /// <param name="column">The column's position.</param>
    /// <returns>The text's UTF-8 bytes (empty for NULL).</returns>
    public ReadOnlySpan<byte> Utf8Column(int column) => raw.sqlite3_column_blob(_statement, column);

    /// <summary>The text in column <paramref name="column"/> (from 0) of the current row, as a string.</summary>
    /// <param name="column">The column's position.</param>
    /// <returns>The text (empty for NULL).</returns>
    public string String(int column) => Encoding.UTF8.GetString(raw.sqlite3_column_blob(_statement, column));

    /// <inheritdoc />
    public void Dispose() => _statement.Dispose();

    // Each run binds all of its values: a value left over from an earlier run is never used by mistake.
    private void RequireBound()
    {
        var complete = _bound == (1 << _parameters) - 1;
        _bound = 0;
        if (!complete)
        {
            raw.sqlite3_clear_bindings(_statement);
            throw new InvalidOperationException($"Every parameter of '{raw.sqlite3_sql(_statement).utf8_to_string()}' must be bound before it runs.");
        }
    }

    private SqliteStatement Bound(int index)
    {
        _bound |= 1 << (index - 1);
        return this;
    }

    private void Check(int rc)
    {
        if (rc != raw.SQLITE_OK)
        {
            throw Error(rc);
        }
    }

    private SqliteException Error(int rc)
        => new(raw.sqlite3_errmsg(_connection).utf8_to_string() ?? $"SQLite error {rc}", rc, raw.sqlite3_extended_errcode(_connection));
}
