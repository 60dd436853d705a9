using System.Globalization;
using Engagement.Sdk.Storage;
using Engagement.Sdk.Storage.Relational;
using Microsoft.Extensions.Options;
using Npgsql;

namespace Engagement.Sdk.PostgreSql;

/// <summary>
/// One PostgreSQL database shared by the PostgreSQL stores: a pooled <see cref="NpgsqlDataSource"/> and the schema that holds
/// the store's tables. Creates the schema on first use, in one transaction, serialised across processes by an advisory lock.
/// Safe to share between threads; many processes may use the same schema at once.
/// </summary>
public sealed class PostgreSqlDatabase : IStoreTransactions, IOptimisticTransactions, IRelationalDatabase, IAsyncDisposable, IDisposable
{
    /// <summary>The schema version this package writes.</summary>
    public const int SchemaVersion = 3;

    /// <summary>The session setting that a subject-erasure transaction sets so that the consent ledger's trigger lets its deletes through.</summary>
    internal const string ErasureSetting = "engagement.subject_erasure";

    private const int MaxIdentifierLength = 63;

    // The first key of the advisory lock that serialises schema creation; the second is a hash of the schema name.
    private const int SchemaLockClass = 0x456E6761;

    private readonly NpgsqlDataSource _dataSource;
    private readonly SemaphoreSlim _gate = new(1, 1);
    private readonly AsyncLocal<PostgreSqlUnitOfWork?> _current = new();
    private volatile bool _initialised;
    private readonly PostgreSqlDialect _dialect;

    /// <summary>Creates the database handle (no connection is opened until first use).</summary>
    /// <param name="options">The options.</param>
    /// <exception cref="EngagementValidationException">The connection string is empty or unreadable, the schema name is not a plain identifier, or the command timeout is not positive.</exception>
    public PostgreSqlDatabase(IOptions<PostgreSqlStoreOptions> options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var o = options.Value;
        if (string.IsNullOrWhiteSpace(o.ConnectionString))
        {
            throw new EngagementValidationException("PostgreSqlStoreOptions.ConnectionString", o.ConnectionString, "a connection string such as 'Host=127.0.0.1;Database=shop;Username=shop' is required");
        }

        if (SchemaNameProblem(o.Schema) is { } schemaProblem)
        {
            throw new EngagementValidationException("PostgreSqlStoreOptions.Schema", o.Schema, schemaProblem);
        }

        if (CommandTimeoutProblem(o.CommandTimeout) is { } timeoutProblem)
        {
            throw new EngagementValidationException("PostgreSqlStoreOptions.CommandTimeout", o.CommandTimeout, timeoutProblem);
        }

        NpgsqlConnectionStringBuilder builder;
        try
        {
            builder = new NpgsqlConnectionStringBuilder(o.ConnectionString);
        }
        catch (ArgumentException e)
        {
            throw new EngagementValidationException("PostgreSqlStoreOptions.ConnectionString", "(not shown)", $"the connection string cannot be read ({e.Message})");
        }

        builder.CommandTimeout = (int)Math.Ceiling(o.CommandTimeout.TotalSeconds);
        Schema = o.Schema;
        QuotedSchema = "\"" + o.Schema + "\"";
        _dialect = new PostgreSqlDialect(QuotedSchema);
        _dataSource = NpgsqlDataSource.Create(builder);
    }

    /// <summary>The schema that holds the store's tables.</summary>
    public string Schema { get; }

    /// <summary>The schema name quoted for SQL (it is validated as a plain identifier, so quoting is all it needs).</summary>
    internal string QuotedSchema { get; }

    /// <summary>
    /// Creates the schema, its tables, indexes and the consent ledger's append-only trigger if they do not exist yet, and checks
    /// the stored schema version. The stores call it on first use; call it at start-up to fail early.
    /// </summary>
    /// <param name="cancellationToken">Cancels the work.</param>
    /// <returns>A task.</returns>
    /// <exception cref="InvalidOperationException">The schema was written by a newer version of this package.</exception>
    public async ValueTask EnsureSchemaAsync(CancellationToken cancellationToken = default)
    {
        if (_initialised)
        {
            return;
        }

        await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (_initialised)
            {
                return;
            }

            var connection = await _dataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
            await using (connection.ConfigureAwait(false))
            {
                var transaction = await connection.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
                await using (transaction.ConfigureAwait(false))
                {
                    await using (var command = new NpgsqlCommand("SELECT pg_advisory_xact_lock(@class, hashtext(@schema))", connection))
                    {
                        command.Parameters.AddWithValue("class", SchemaLockClass);
                        command.Parameters.AddWithValue("schema", Schema);
                        await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
                    }

                    object? stored;
                    await using (var command = new NpgsqlCommand("SELECT to_regclass(@table) IS NOT NULL", connection))
                    {
                        command.Parameters.AddWithValue("table", QuotedSchema + ".schema_version");
                        stored = await command.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false) is true
                            ? await ScalarAsync(connection, $"SELECT max(version) FROM {QuotedSchema}.schema_version", cancellationToken).ConfigureAwait(false)
                            : null;
                    }

                    int current;
                    if (stored is null or DBNull)
                    {
                        // A new schema: version 1's tables, which the migrations bring up to date.
                        await using (var ddl = new NpgsqlCommand(SchemaDdl(QuotedSchema), connection))
                        {
                            await ddl.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
                        }

                        await using (var version = new NpgsqlCommand($"INSERT INTO {QuotedSchema}.schema_version (version) VALUES (1)", connection))
                        {
                            await version.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
                        }

                        current = 1;
                    }
                    else
                    {
                        current = Convert.ToInt32(stored, CultureInfo.InvariantCulture);
                        if (current > SchemaVersion)
                        {
                            throw new InvalidOperationException($"The schema {Schema} was written by a newer version of this package (schema version {stored}); this package understands version {SchemaVersion}.");
                        }
                    }

                    for (; current < SchemaVersion; current++)
                    {
                        await using var migration = new NpgsqlCommand(Migration(QuotedSchema, current + 1) + $"; UPDATE {QuotedSchema}.schema_version SET version = {current + 1};", connection);
                        await migration.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
                        if (current + 1 == 3)
                        {
                            await IdentifierKeyMigration.ApplyAsync(_dialect, connection, transaction, cancellationToken).ConfigureAwait(false);
                        }
                    }

                    // The tables of the stores written once for every relational database, each module at its own version.
                    await SchemaModules.ApplyAsync(_dialect, connection, transaction, SchemaModules.All, cancellationToken).ConfigureAwait(false);

                    await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
                }
            }

            _initialised = true;
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <summary>Runs <paramref name="work"/> on a pooled connection, after making sure the schema exists.</summary>
    /// <typeparam name="T">The result type.</typeparam>
    /// <param name="work">The work.</param>
    /// <param name="cancellationToken">Cancels the work.</param>
    /// <returns>The work's result.</returns>
    internal async ValueTask<T> RunAsync<T>(Func<NpgsqlConnection, CancellationToken, Task<T>> work, CancellationToken cancellationToken)
    {
        if (Current is { } unit)
        {
            // Inside a unit of work: its outermost unit's connection and transaction.
            await unit.StartAsync(cancellationToken).ConfigureAwait(false);
            return await work(unit.Root.Connection!, cancellationToken).ConfigureAwait(false);
        }

        await EnsureSchemaAsync(cancellationToken).ConfigureAwait(false);
        var connection = await _dataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using (connection.ConfigureAwait(false))
        {
            return await work(connection, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>Runs <paramref name="work"/> inside one read-committed transaction: all of it is written, or none.</summary>
    /// <typeparam name="T">The result type.</typeparam>
    /// <param name="work">The work; commands created on the connection take part in the transaction.</param>
    /// <param name="cancellationToken">Cancels the work.</param>
    /// <returns>The work's result.</returns>
    internal ValueTask<T> RunInTransactionAsync<T>(Func<NpgsqlConnection, CancellationToken, Task<T>> work, CancellationToken cancellationToken)
        => Current is not null
            ? RunAsync(work, cancellationToken) // the unit's transaction holds it
            : RunAsync(
            async (connection, ct) =>
            {
                var transaction = await connection.BeginTransactionAsync(ct).ConfigureAwait(false);
                await using (transaction.ConfigureAwait(false))
                {
                    var result = await work(connection, ct).ConfigureAwait(false);
                    await transaction.CommitAsync(ct).ConfigureAwait(false);
                    return result;
                }
            },
            cancellationToken);

    /// <inheritdoc />
    SqlDialect IRelationalDatabase.Dialect => _dialect;

    /// <inheritdoc />
    async ValueTask<T> IRelationalDatabase.ReadAsync<TState, T>(TState state, Func<RelationalSession, TState, CancellationToken, ValueTask<T>> work, CancellationToken cancellationToken)
    {
        if (Current is { } unit)
        {
            await unit.StartAsync(cancellationToken).ConfigureAwait(false);
            var root = unit.Root;
            return await work(new RelationalSession(_dialect, root.Connection!, root.Transaction, prepared: null), state, cancellationToken).ConfigureAwait(false);
        }

        await EnsureSchemaAsync(cancellationToken).ConfigureAwait(false);
        var connection = await _dataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using (connection.ConfigureAwait(false))
        {
            return await work(new RelationalSession(_dialect, connection, null, prepared: null), state, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <inheritdoc />
    async ValueTask<T> IRelationalDatabase.WriteAsync<TState, T>(TState state, Func<RelationalSession, TState, CancellationToken, ValueTask<T>> work, CancellationToken cancellationToken)
    {
        if (Current is not null)
        {
            // The unit's transaction holds the work: a failure fails the unit, which is then rolled back.
            return await ((IRelationalDatabase)this).ReadAsync(state, work, cancellationToken).ConfigureAwait(false);
        }

        await EnsureSchemaAsync(cancellationToken).ConfigureAwait(false);
        var connection = await _dataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using (connection.ConfigureAwait(false))
        {
            var transaction = await connection.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
            await using (transaction.ConfigureAwait(false))
            {
                var result = await work(new RelationalSession(_dialect, connection, transaction, prepared: null), state, cancellationToken).ConfigureAwait(false);
                await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
                return result;
            }
        }
    }

    /// <inheritdoc />
    public IUnitOfWork Begin()
    {
        var parent = Current;
        var depth = 0;
        for (var p = parent; p is not null; p = p.Parent)
        {
            depth++;
        }

        var unit = new PostgreSqlUnitOfWork(this, parent, depth);
        _current.Value = unit;
        return unit;
    }

    private long _savepointsBegun;

    /// <summary>How many savepoints nested units of work began (for tests and diagnostics).</summary>
    internal long SavepointsBegun => Interlocked.Read(ref _savepointsBegun);

    /// <summary>Counts a savepoint a nested unit began.</summary>
    internal void CountSavepoint() => Interlocked.Increment(ref _savepointsBegun);

    /// <inheritdoc />
    public IOptimisticUnitOfWork? TryBeginOptimistic()
    {
        if (Current is not null)
        {
            return null;
        }

        var unit = new PostgreSqlUnitOfWork(this, null, 0, optimistic: true);
        _current.Value = unit;
        return unit;
    }

    /// <inheritdoc />
    public ValueTask FlushAsync(CancellationToken cancellationToken = default)
        => Current is { } unit && unit.Root is { IsStarted: true, Transaction: not null } root
            ? root.FlushAsync(unit, cancellationToken)
            : ValueTask.CompletedTask;

    private PostgreSqlUnitOfWork? Current
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

    internal void Leave(PostgreSqlUnitOfWork unit)
    {
        if (_current.Value == unit)
        {
            _current.Value = unit.Parent;
        }
    }

    internal async ValueTask<(NpgsqlConnection Connection, NpgsqlTransaction Transaction)> BeginUnitAsync(CancellationToken cancellationToken)
    {
        await EnsureSchemaAsync(cancellationToken).ConfigureAwait(false);
        var connection = await _dataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            return (connection, await connection.BeginTransactionAsync(cancellationToken).ConfigureAwait(false));
        }
        catch
        {
            await connection.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    // Session-level, so that a flush (a commit in the middle of a unit) keeps the lock; the unit releases it when it ends,
    // and a connection returned to the pool is reset (DISCARD ALL), which releases any lock left behind.
    internal static async ValueTask AdvisoryLockAsync(NpgsqlConnection connection, string key, CancellationToken cancellationToken)
    {
        await using var command = new NpgsqlCommand("SELECT pg_advisory_lock(hashtextextended(@key, 0))", connection);
        command.Parameters.AddWithValue("key", key);
        await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Deletes one customer's rows from a table (erasure), in a transaction marked as a subject erasure.</summary>
    /// <param name="table">The table (one of this package's own, never user input).</param>
    /// <param name="customerId">The customer.</param>
    /// <param name="cancellationToken">Cancels the work.</param>
    /// <returns>How many rows were deleted.</returns>
    internal ValueTask<int> DeleteByCustomerAsync(string table, CustomerId customerId, CancellationToken cancellationToken)
        => RunInTransactionAsync(
            async (connection, ct) =>
            {
                await using (var mark = new NpgsqlCommand("SELECT set_config(@setting, 'on', true)", connection))
                {
                    mark.Parameters.AddWithValue("setting", ErasureSetting);
                    await mark.ExecuteNonQueryAsync(ct).ConfigureAwait(false);
                }

                int deleted;
                await using (var delete = new NpgsqlCommand($"DELETE FROM {QuotedSchema}.{table} WHERE customer_id = @customer", connection))
                {
                    delete.Parameters.AddWithValue("customer", customerId.Value);
                    deleted = await delete.ExecuteNonQueryAsync(ct).ConfigureAwait(false);
                }

                // Inside a longer unit of work the mark must not outlive the erasure.
                await using (var unmark = new NpgsqlCommand("SELECT set_config(@setting, 'off', true)", connection))
                {
                    unmark.Parameters.AddWithValue("setting", ErasureSetting);
                    await unmark.ExecuteNonQueryAsync(ct).ConfigureAwait(false);
                }

                return deleted;
            },
            cancellationToken);

    /// <summary>Why <paramref name="schema"/> is not a usable schema name, or <see langword="null"/> when it is.</summary>
    /// <param name="schema">The name.</param>
    /// <returns>The broken rule, or <see langword="null"/>.</returns>
    internal static string? SchemaNameProblem(string? schema)
    {
        const string Rule = "a schema name is 1 to 63 ASCII letters, digits and underscores, starting with a letter or underscore";
        if (string.IsNullOrEmpty(schema) || schema.Length > MaxIdentifierLength || char.IsAsciiDigit(schema[0]))
        {
            return Rule;
        }

        foreach (var c in schema)
        {
            if (!char.IsAsciiLetterOrDigit(c) && c != '_')
            {
                return Rule;
            }
        }

        return schema.StartsWith("pg_", StringComparison.OrdinalIgnoreCase) ? "names starting with pg_ are reserved for PostgreSQL's own schemas" : null;
    }

    /// <summary>Why <paramref name="timeout"/> is not a usable command timeout, or <see langword="null"/> when it is.</summary>
    /// <param name="timeout">The timeout.</param>
    /// <returns>The broken rule, or <see langword="null"/>.</returns>
    internal static string? CommandTimeoutProblem(TimeSpan timeout)
        => timeout < TimeSpan.FromSeconds(1) || timeout > TimeSpan.FromHours(1)
            ? "the command timeout must be from 1 second to 1 hour (00:00:01 to 01:00:00; it is rounded up to whole seconds)"
            : null;

    /// <inheritdoc />
    public void Dispose()
    {
        _dataSource.Dispose();
        _gate.Dispose();
    }

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        await _dataSource.DisposeAsync().ConfigureAwait(false);
        _gate.Dispose();
    }

    private static async Task<object?> ScalarAsync(NpgsqlConnection connection, string sql, CancellationToken cancellationToken)
    {
        await using var command = new NpgsqlCommand(sql, connection);
        return await command.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false);
    }

    // The step that brings the schema to version `to`, run in the schema lock's transaction.
    private static string Migration(string s, int to) => to switch
    {
        // 2: the transactional outbox. Channel and purpose are columns, so frequency caps are counted without reading documents.
        // The index by status goes (every claim and settlement would move its entry): held messages and dead letters have
        // partial indexes. A claimable dispatch (queued, unknown, or sending under a lease) carries the instant it
        // falls due (its lease's end, for a sending one); a dispatch that was pending when an older version stopped may have
        // been sent (unknown, to reconcile), and a failed one is a dead letter.
        2 => $"""
            ALTER TABLE {s}.dispatches ADD COLUMN IF NOT EXISTS due bigint;
            ALTER TABLE {s}.dispatches ADD COLUMN IF NOT EXISTS lease_owner text;
            ALTER TABLE {s}.dispatches ADD COLUMN IF NOT EXISTS channel text;
            ALTER TABLE {s}.dispatches ADD COLUMN IF NOT EXISTS purpose text;
            UPDATE {s}.dispatches SET channel = document::jsonb ->> 'channel', purpose = document::jsonb ->> 'purpose';
            UPDATE {s}.dispatches SET status = 'Unknown', due = created,
                document = (document::jsonb || jsonb_build_object('status', 'Unknown', 'dueAt', document::jsonb -> 'createdAt', 'reason', 'outcome_unknown'))::text
                WHERE status = 'Pending';
            UPDATE {s}.dispatches SET status = 'DeadLettered',
                document = (document::jsonb || jsonb_build_object('status', 'DeadLettered', 'reason', 'retries_exhausted'))::text
                WHERE status = 'Failed';
            CREATE INDEX IF NOT EXISTS dispatches_due ON {s}.dispatches (due, dispatch_id) WHERE due IS NOT NULL;
            DROP INDEX IF EXISTS {s}.dispatches_by_status;
            CREATE INDEX IF NOT EXISTS dispatches_held ON {s}.dispatches (created, dispatch_id) WHERE status = 'Held';
            CREATE INDEX IF NOT EXISTS dispatches_dead ON {s}.dispatches (created, dispatch_id) WHERE status = 'DeadLettered';
            """,
        // 3: identifiers are indexed by their key (an e-mail address lower-cased), and suppressions filed under its hash too:
        // IdentifierKeyMigration, run in .NET after this step (on the two tables as version 1 made them).
        3 => $"""
            CREATE TABLE IF NOT EXISTS {s}.identifiers (
                kind text COLLATE "C" NOT NULL,
                value text COLLATE "C" NOT NULL,
                customer_id text COLLATE "C" NOT NULL,
                PRIMARY KEY (kind, value));
            CREATE TABLE IF NOT EXISTS {s}.suppressions (
                identifier_hash text COLLATE "C" NOT NULL,
                reason text NOT NULL,
                at bigint NOT NULL,
                at_offset integer NOT NULL,
                source text NOT NULL,
                PRIMARY KEY (identifier_hash, reason, at, source));
            """,
        _ => throw new InvalidOperationException($"No migration to schema version {to}."),
    };

    // Text documents (not jsonb) so that a document reads back byte for byte as it was written, as in the SQLite store;
    // times are UTC ticks (bigint) so that no precision is lost; keys use the "C" collation so that they sort by code point.
    private static string SchemaDdl(string s) => $"""
        CREATE SCHEMA IF NOT EXISTS {s};
        CREATE TABLE IF NOT EXISTS {s}.schema_version (version integer NOT NULL);
        CREATE TABLE IF NOT EXISTS {s}.profiles (
            customer_id text COLLATE "C" NOT NULL PRIMARY KEY,
            version bigint NOT NULL,
            document text NOT NULL);
        CREATE TABLE IF NOT EXISTS {s}.identifiers (
            kind text COLLATE "C" NOT NULL,
            value text COLLATE "C" NOT NULL,
            customer_id text COLLATE "C" NOT NULL,
            PRIMARY KEY (kind, value));
        CREATE INDEX IF NOT EXISTS identifiers_by_customer ON {s}.identifiers (customer_id);
        CREATE TABLE IF NOT EXISTS {s}.events (
            event_id text COLLATE "C" NOT NULL PRIMARY KEY,
            customer_id text COLLATE "C" NOT NULL,
            ts bigint NOT NULL,
            document text NOT NULL);
        CREATE INDEX IF NOT EXISTS events_by_customer ON {s}.events (customer_id, ts, event_id);
        CREATE INDEX IF NOT EXISTS events_by_time ON {s}.events (ts, event_id);
        CREATE TABLE IF NOT EXISTS {s}.consent_records (
            seq bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
            record_id text COLLATE "C" NOT NULL UNIQUE,
            customer_id text COLLATE "C" NOT NULL,
            document text NOT NULL);
        CREATE INDEX IF NOT EXISTS consent_by_customer ON {s}.consent_records (customer_id, seq);
        CREATE OR REPLACE FUNCTION {s}.consent_records_append_only() RETURNS trigger LANGUAGE plpgsql AS $fn$
        BEGIN
            IF TG_OP = 'DELETE' AND current_setting('{ErasureSetting}', true) = 'on' THEN
                RETURN OLD;
            END IF;
            RAISE EXCEPTION 'the consent ledger is append-only: % on %.% is refused', TG_OP, TG_TABLE_SCHEMA, TG_TABLE_NAME
                USING ERRCODE = 'restrict_violation', HINT = 'Only a subject erasure may delete consent records.';
        END
        $fn$;
        DROP TRIGGER IF EXISTS consent_records_append_only ON {s}.consent_records;
        CREATE TRIGGER consent_records_append_only BEFORE UPDATE OR DELETE ON {s}.consent_records
            FOR EACH ROW EXECUTE FUNCTION {s}.consent_records_append_only();
        DROP TRIGGER IF EXISTS consent_records_no_truncate ON {s}.consent_records;
        CREATE TRIGGER consent_records_no_truncate BEFORE TRUNCATE ON {s}.consent_records
            FOR EACH STATEMENT EXECUTE FUNCTION {s}.consent_records_append_only();
        CREATE TABLE IF NOT EXISTS {s}.dispatches (
            dispatch_id text COLLATE "C" NOT NULL PRIMARY KEY,
            customer_id text COLLATE "C" NOT NULL,
            created bigint NOT NULL,
            status text NOT NULL,
            document text NOT NULL);
        CREATE INDEX IF NOT EXISTS dispatches_by_customer ON {s}.dispatches (customer_id, created);
        CREATE INDEX IF NOT EXISTS dispatches_by_status ON {s}.dispatches (status, created, dispatch_id);
        CREATE TABLE IF NOT EXISTS {s}.suppressions (
            identifier_hash text COLLATE "C" NOT NULL,
            reason text NOT NULL,
            at bigint NOT NULL,
            at_offset integer NOT NULL,
            source text NOT NULL,
            PRIMARY KEY (identifier_hash, reason, at, source));
        """;
}
