using System.Globalization;

namespace Engagement.Sdk.Storage.Relational;

/// <summary>
/// The shape that the relational stores of per-customer state with a timer share (journeys, segments): one row per customer
/// with its version, due time and the record as a JSON document, a partial index of due times so a sweep reads only due
/// customers, and an append-only history keyed by customer and position. Holds the statements on those tables; each store
/// keeps its own document format and its other tables.
/// </summary>
internal sealed class RelationalDueRecords
{
    private readonly string _get;
    private readonly string _insert;
    private readonly string _update;
    private readonly string _version;
    private readonly string _delete;
    private readonly string _due;
    private readonly string _lastPosition;

    /// <summary>Names the tables.</summary>
    /// <param name="records">The records' table, for example <c>journey_records</c>.</param>
    /// <param name="history">The history's table, keyed by <c>(customer_id, position)</c>.</param>
    public RelationalDueRecords(string records, string history)
    {
        var table = "{t:" + records + "}";
        CreateRecords = "CREATE TABLE IF NOT EXISTS " + table + " (\n    customer_id {key} NOT NULL PRIMARY KEY,\n    version {int64} NOT NULL,\n    due {int64},\n    document {bytes} NOT NULL);\n"
            + "CREATE INDEX IF NOT EXISTS " + records + "_due ON " + table + " (due, customer_id) WHERE due IS NOT NULL;\n";
        _get = "SELECT version, due, document FROM " + table + " WHERE customer_id = @customer";
        _insert = "INSERT INTO " + table + " (customer_id, version, due, document) VALUES (@customer, 1, @due, @document) ON CONFLICT (customer_id) DO NOTHING";
        _update = "UPDATE " + table + " SET version = @next, due = @due, document = @document WHERE customer_id = @customer AND version = @expected";
        _version = "SELECT version FROM " + table + " WHERE customer_id = @customer";
        _delete = "DELETE FROM " + table + " WHERE customer_id = @customer";
        _due = "SELECT customer_id FROM " + table + " WHERE due IS NOT NULL AND due <= @now ORDER BY due, customer_id LIMIT @max";
        _lastPosition = "SELECT MAX(position) FROM {t:" + history + "} WHERE customer_id = @customer";
    }

    /// <summary>The records' table and its due index, for the store's schema module (the first statements of its first version).</summary>
    public string CreateRecords { get; }

    /// <summary>Reads a customer's record.</summary>
    /// <typeparam name="T">The record.</typeparam>
    /// <param name="database">The database.</param>
    /// <param name="customerId">The customer.</param>
    /// <param name="read">Makes the record of its stored version, due time and document.</param>
    /// <param name="cancellationToken">Cancels the read.</param>
    /// <returns>The record, or <see langword="null"/> when the customer has none.</returns>
    public ValueTask<T?> GetAsync<T>(IRelationalDatabase database, CustomerId customerId, Func<CustomerId, long, DateTimeOffset?, byte[], T> read, CancellationToken cancellationToken)
        where T : class
        => database.ReadAsync((Id: customerId, Read: read, Statement: _get), static async (session, state, ct) =>
        {
            using var command = session.Command(state.Statement).Bind("@customer", state.Id.Value);
            await using var reader = await command.ReaderAsync(ct).ConfigureAwait(false);
            if (!await reader.ReadAsync(ct).ConfigureAwait(false))
            {
                return null;
            }

            DateTimeOffset? due = await reader.IsDBNullAsync(1, ct).ConfigureAwait(false) ? null : new DateTimeOffset(reader.GetInt64(1), TimeSpan.Zero);
            return state.Read(state.Id, reader.GetInt64(0), due, reader.GetFieldValue<byte[]>(2));
        }, cancellationToken);

    /// <summary>
    /// Writes a customer's record in the session: inserted when <paramref name="version"/> is 0, else updated if the stored one
    /// still has that version (then the stored version is <paramref name="version"/> + 1).
    /// </summary>
    /// <param name="session">The session (the caller's write).</param>
    /// <param name="customerId">The customer.</param>
    /// <param name="version">The version the record was read at (0: new).</param>
    /// <param name="due">When the record's timer falls due, if it has one.</param>
    /// <param name="document">The record.</param>
    /// <param name="cancellationToken">Cancels the write.</param>
    /// <returns>A task.</returns>
    /// <exception cref="ConcurrencyConflictException">The stored record has another version.</exception>
    public async ValueTask SaveAsync(RelationalSession session, CustomerId customerId, long version, DateTimeOffset? due, byte[] document, CancellationToken cancellationToken)
    {
        object? dueTicks = due is { } at ? at.UtcTicks : null;
        int changed;
        if (version == 0)
        {
            using var insert = session.Command(_insert).Bind("@customer", customerId.Value).Bind("@due", dueTicks).Bind("@document", document);
            changed = await insert.ExecuteAsync(cancellationToken).ConfigureAwait(false);
        }
        else
        {
            using var update = session.Command(_update).Bind("@next", version + 1).Bind("@due", dueTicks).Bind("@document", document)
                .Bind("@customer", customerId.Value).Bind("@expected", version);
            changed = await update.ExecuteAsync(cancellationToken).ConfigureAwait(false);
        }

        if (changed == 0)
        {
            using var current = session.Command(_version).Bind("@customer", customerId.Value);
            var stored = await current.ScalarAsync(cancellationToken).ConfigureAwait(false);
            throw new ConcurrencyConflictException(customerId, version, stored is null ? 0 : Convert.ToInt64(stored, CultureInfo.InvariantCulture));
        }
    }

    /// <summary>Deletes a customer's record in the session.</summary>
    /// <param name="session">The session.</param>
    /// <param name="customerId">The customer.</param>
    /// <param name="cancellationToken">Cancels the write.</param>
    /// <returns>How many rows were deleted (0 or 1).</returns>
    public async ValueTask<int> DeleteAsync(RelationalSession session, CustomerId customerId, CancellationToken cancellationToken)
    {
        using var delete = session.Command(_delete).Bind("@customer", customerId.Value);
        return await delete.ExecuteAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Lists up to <paramref name="max"/> customers due at <paramref name="now"/>, earliest due first.</summary>
    /// <param name="database">The database.</param>
    /// <param name="now">The instant.</param>
    /// <param name="max">The most to list.</param>
    /// <param name="cancellationToken">Cancels the read.</param>
    /// <returns>The customers.</returns>
    public ValueTask<IReadOnlyList<CustomerId>> ListDueAsync(IRelationalDatabase database, DateTimeOffset now, int max, CancellationToken cancellationToken)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(max);
        return database.ReadAsync((Now: now.UtcTicks, Max: max, Statement: _due), static async (session, state, ct) =>
        {
            using var command = session.Command(state.Statement).Bind("@now", state.Now).Bind("@max", state.Max);
            await using var reader = await command.ReaderAsync(ct).ConfigureAwait(false);
            var due = new List<CustomerId>();
            while (await reader.ReadAsync(ct).ConfigureAwait(false))
            {
                due.Add(new CustomerId(reader.GetString(0)));
            }

            return (IReadOnlyList<CustomerId>)due;
        }, cancellationToken);
    }

    /// <summary>The position of a customer's last history entry in the session (0 when they have none); the next goes after it.</summary>
    /// <param name="session">The session.</param>
    /// <param name="customerId">The customer.</param>
    /// <param name="cancellationToken">Cancels the read.</param>
    /// <returns>The position.</returns>
    public async ValueTask<long> LastPositionAsync(RelationalSession session, CustomerId customerId, CancellationToken cancellationToken)
    {
        using var last = session.Command(_lastPosition).Bind("@customer", customerId.Value);
        var stored = await last.ScalarAsync(cancellationToken).ConfigureAwait(false);
        return stored is null ? 0 : Convert.ToInt64(stored, CultureInfo.InvariantCulture);
    }
}
