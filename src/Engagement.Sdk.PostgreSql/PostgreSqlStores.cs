using System.Buffers;
using System.Runtime.CompilerServices;
using System.Text;
using System.Text.Json;
using Engagement.Sdk.Channels;
using Engagement.Sdk.Consent;
using Engagement.Sdk.Events;
using Engagement.Sdk.Profiles;
using Engagement.Sdk.Serialization;
using Engagement.Sdk.Storage;
using Npgsql;

namespace Engagement.Sdk.PostgreSql;

/// <summary>
/// An <see cref="IProfileStore"/> on PostgreSQL: profiles as JSON documents, an identifier index, and a compare-and-set on the
/// version (<c>INSERT … ON CONFLICT DO NOTHING</c> for a new profile, <c>UPDATE … WHERE version = expected</c> otherwise), so
/// that of several processes saving from one version exactly one wins.
/// </summary>
/// <param name="database">The database.</param>
public sealed class PostgreSqlProfileStore(PostgreSqlDatabase database) : IProfileStore, ISubjectErasure
{
    private const int PageSize = 500;
    private readonly string _s = database.QuotedSchema;

    /// <inheritdoc />
    public ValueTask<CustomerProfile?> GetAsync(CustomerId customerId, CancellationToken cancellationToken = default)
        => database.RunAsync(
            async (connection, ct) =>
            {
                await using var command = new NpgsqlCommand($"SELECT document FROM {_s}.profiles WHERE customer_id = @id", connection);
                command.Parameters.AddWithValue("id", customerId.Value);
                return await command.ExecuteScalarAsync(ct).ConfigureAwait(false) is string json ? Deserialize(json) : null;
            },
            cancellationToken);

    /// <inheritdoc />
    public ValueTask<CustomerProfile?> FindByIdentifierAsync(Identifier identifier, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(identifier);
        return database.RunAsync(
            async (connection, ct) =>
            {
                await using var command = new NpgsqlCommand(
                    $"SELECT p.document FROM {_s}.identifiers i JOIN {_s}.profiles p ON p.customer_id = i.customer_id WHERE i.kind = @kind AND i.value = @value",
                    connection);
                command.Parameters.AddWithValue("kind", identifier.Kind.Name);
                command.Parameters.AddWithValue("value", identifier.Key);
                return await command.ExecuteScalarAsync(ct).ConfigureAwait(false) is string json ? Deserialize(json) : null;
            },
            cancellationToken);
    }

    /// <inheritdoc />
    public ValueTask<CustomerProfile> SaveAsync(CustomerProfile profile, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(profile);
        var saved = profile with { Version = profile.Version + 1 };
        var json = JsonSerializer.Serialize(saved, EngagementJsonContext.Default.CustomerProfile);

        // Identifiers are inserted in one fixed order, so that two transactions claiming overlapping identifiers cannot deadlock.
        var identifiers = saved.Identifiers
            .Select(i => (Kind: i.Kind.Name, Value: i.Key))
            .Distinct()
            .OrderBy(i => i.Kind, StringComparer.Ordinal)
            .ThenBy(i => i.Value, StringComparer.Ordinal)
            .ToArray();
        return database.RunInTransactionAsync(
            async (connection, ct) =>
            {
                NpgsqlCommand write;
                if (profile.Version == 0)
                {
                    write = new NpgsqlCommand($"INSERT INTO {_s}.profiles (customer_id, version, document) VALUES (@id, 1, @doc) ON CONFLICT (customer_id) DO NOTHING", connection);
                }
                else
                {
                    write = new NpgsqlCommand($"UPDATE {_s}.profiles SET version = @next, document = @doc WHERE customer_id = @id AND version = @expected", connection);
                    write.Parameters.AddWithValue("next", saved.Version);
                    write.Parameters.AddWithValue("expected", profile.Version);
                }

                int changed;
                await using (write.ConfigureAwait(false))
                {
                    write.Parameters.AddWithValue("id", profile.Id.Value);
                    write.Parameters.AddWithValue("doc", json);
                    changed = await write.ExecuteNonQueryAsync(ct).ConfigureAwait(false);
                }

                if (changed == 0)
                {
                    await using var current = new NpgsqlCommand($"SELECT version FROM {_s}.profiles WHERE customer_id = @id", connection);
                    current.Parameters.AddWithValue("id", profile.Id.Value);
                    var actual = await current.ExecuteScalarAsync(ct).ConfigureAwait(false) is long v ? v : 0;
                    throw new ConcurrencyConflictException(profile.Id, profile.Version, actual);
                }

                if (profile.Version > 0)
                {
                    // Identifiers the profile no longer holds (after a merge or an unmerge) are released to their next holder.
                    await using var release = new NpgsqlCommand(
                        $"DELETE FROM {_s}.identifiers WHERE customer_id = @id AND (kind, value) NOT IN (SELECT k, v FROM unnest(@kinds, @values) AS t(k, v))",
                        connection);
                    release.Parameters.AddWithValue("id", saved.Id.Value);
                    release.Parameters.AddWithValue("kinds", identifiers.Select(i => i.Kind).ToArray());
                    release.Parameters.AddWithValue("values", identifiers.Select(i => i.Value).ToArray());
                    await release.ExecuteNonQueryAsync(ct).ConfigureAwait(false);
                }

                if (identifiers.Length > 0)
                {
                    await using var index = new NpgsqlCommand(
                        $"INSERT INTO {_s}.identifiers (kind, value, customer_id) SELECT k, v, @id FROM unnest(@kinds, @values) WITH ORDINALITY AS t(k, v, n) ORDER BY n ON CONFLICT (kind, value) DO NOTHING",
                        connection);
                    index.Parameters.AddWithValue("id", saved.Id.Value);
                    index.Parameters.AddWithValue("kinds", identifiers.Select(i => i.Kind).ToArray());
                    index.Parameters.AddWithValue("values", identifiers.Select(i => i.Value).ToArray());
                    await index.ExecuteNonQueryAsync(ct).ConfigureAwait(false);
                }

                return saved;
            },
            cancellationToken);
    }

    /// <inheritdoc />
    public async IAsyncEnumerable<CustomerProfile> ListAsync([EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        var after = string.Empty;
        while (true)
        {
            var page = await database.RunAsync(
                async (connection, ct) =>
                {
                    await using var command = new NpgsqlCommand($"SELECT customer_id, document FROM {_s}.profiles WHERE customer_id > @after ORDER BY customer_id LIMIT @page", connection);
                    command.Parameters.AddWithValue("after", after);
                    command.Parameters.AddWithValue("page", PageSize);
                    var list = new List<(string Id, CustomerProfile Profile)>(PageSize);
                    await using var reader = await command.ExecuteReaderAsync(ct).ConfigureAwait(false);
                    while (await reader.ReadAsync(ct).ConfigureAwait(false))
                    {
                        list.Add((reader.GetString(0), Deserialize(reader.GetString(1))));
                    }

                    return list;
                },
                cancellationToken).ConfigureAwait(false);

            foreach (var item in page)
            {
                yield return item.Profile;
            }

            if (page.Count < PageSize)
            {
                yield break;
            }

            after = page[^1].Id;
        }
    }

    /// <inheritdoc />
    public ValueTask<int> EraseSubjectAsync(CustomerId customerId, CancellationToken cancellationToken = default)
        => database.RunInTransactionAsync(
            async (connection, ct) =>
            {
                await using (var identifiers = new NpgsqlCommand($"DELETE FROM {_s}.identifiers WHERE customer_id = @id", connection))
                {
                    identifiers.Parameters.AddWithValue("id", customerId.Value);
                    await identifiers.ExecuteNonQueryAsync(ct).ConfigureAwait(false);
                }

                await using var profile = new NpgsqlCommand($"DELETE FROM {_s}.profiles WHERE customer_id = @id", connection);
                profile.Parameters.AddWithValue("id", customerId.Value);
                return await profile.ExecuteNonQueryAsync(ct).ConfigureAwait(false);
            },
            cancellationToken);

    private static CustomerProfile Deserialize(string json) => JsonSerializer.Deserialize(json, EngagementJsonContext.Default.CustomerProfile)!;
}

/// <summary>An <see cref="IEventStore"/> on PostgreSQL: events as JSON documents, idempotent by id (<c>INSERT … ON CONFLICT DO NOTHING</c>).</summary>
/// <param name="database">The database.</param>
public sealed class PostgreSqlEventStore(PostgreSqlDatabase database) : IEventStore, ISubjectErasure, IEventRetention
{
    private const int PageSize = 1000;
    private readonly string _s = database.QuotedSchema;

    // The buffer and writer of the thread's last event document (see Document), reused by its next.
    [ThreadStatic]
    private static ArrayBufferWriter<byte>? t_document;

    [ThreadStatic]
    private static Utf8JsonWriter? t_documentWriter;

    /// <summary>
    /// The document of <paramref name="engagementEvent"/>, written by <see cref="EventDocumentJson"/>: the text the serializer
    /// writes, without its polymorphic path, in a buffer and writer the thread reuses.
    /// </summary>
    /// <param name="engagementEvent">The event.</param>
    /// <returns>The document.</returns>
    internal static string Document(EngagementEvent engagementEvent)
    {
        var buffer = t_document ??= new ArrayBufferWriter<byte>(1024);
        buffer.ResetWrittenCount();
        // The context's options write with the default encoder, unindented: the writer's defaults.
        var writer = t_documentWriter ??= new Utf8JsonWriter(buffer, new JsonWriterOptions { SkipValidation = true });
        writer.Reset(buffer);
        EventDocumentJson.Write(writer, engagementEvent);
        writer.Flush();
        return Encoding.UTF8.GetString(buffer.WrittenSpan);
    }

    /// <inheritdoc />
    public ValueTask<int> PurgeBeforeAsync(DateTimeOffset cutoff, CancellationToken cancellationToken = default)
        => database.RunAsync(
            async (connection, ct) =>
            {
                await using var delete = new NpgsqlCommand($"DELETE FROM {_s}.events WHERE ts < @cutoff", connection);
                delete.Parameters.AddWithValue("cutoff", cutoff.UtcTicks);
                return await delete.ExecuteNonQueryAsync(ct).ConfigureAwait(false);
            },
            cancellationToken);

    /// <inheritdoc />
    public ValueTask<AppendOutcome> AppendAsync(EngagementEvent engagementEvent, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(engagementEvent);
        var json = Document(engagementEvent);
        return database.RunAsync(
            async (connection, ct) =>
            {
                await using (var insert = new NpgsqlCommand($"INSERT INTO {_s}.events (event_id, customer_id, ts, document) VALUES (@id, @customer, @ts, @doc) ON CONFLICT (event_id) DO NOTHING", connection))
                {
                    insert.Parameters.AddWithValue("id", engagementEvent.EventId);
                    insert.Parameters.AddWithValue("customer", engagementEvent.CustomerId.Value);
                    insert.Parameters.AddWithValue("ts", engagementEvent.Timestamp.UtcTicks);
                    insert.Parameters.AddWithValue("doc", json);
                    if (await insert.ExecuteNonQueryAsync(ct).ConfigureAwait(false) == 1)
                    {
                        return AppendOutcome.Appended;
                    }
                }

                await using var stored = new NpgsqlCommand($"SELECT document FROM {_s}.events WHERE event_id = @id", connection);
                stored.Parameters.AddWithValue("id", engagementEvent.EventId);
                return string.Equals(await stored.ExecuteScalarAsync(ct).ConfigureAwait(false) as string, json, StringComparison.Ordinal)
                    ? AppendOutcome.Duplicate
                    : throw new EventConflictException(engagementEvent.EventId);
            },
            cancellationToken);
    }

    /// <inheritdoc />
    public IAsyncEnumerable<EngagementEvent> ReadAsync(CustomerId customerId, DateTimeOffset? from = null, DateTimeOffset? to = null, CancellationToken cancellationToken = default)
        => Page(
            $"SELECT ts, event_id, document FROM {_s}.events WHERE customer_id = @customer AND ts >= @from AND ts < @to AND (ts, event_id) > (@afterTs, @afterId) ORDER BY ts, event_id LIMIT {PageSize}",
            customerId.Value,
            from?.UtcTicks ?? long.MinValue,
            to?.UtcTicks ?? long.MaxValue,
            cancellationToken);

    /// <inheritdoc />
    public IAsyncEnumerable<EngagementEvent> ReadRangeAsync(DateTimeOffset from, DateTimeOffset to, CancellationToken cancellationToken = default)
        => Page(
            $"SELECT ts, event_id, document FROM {_s}.events WHERE ts >= @from AND ts < @to AND (ts, event_id) > (@afterTs, @afterId) ORDER BY ts, event_id LIMIT {PageSize}",
            null,
            from.UtcTicks,
            to.UtcTicks,
            cancellationToken);

    /// <inheritdoc />
    public ValueTask<int> EraseSubjectAsync(CustomerId customerId, CancellationToken cancellationToken = default)
        => database.DeleteByCustomerAsync("events", customerId, cancellationToken);

    private async IAsyncEnumerable<EngagementEvent> Page(string sql, string? customerId, long from, long to, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var afterTs = long.MinValue;
        var afterId = string.Empty;
        while (true)
        {
            var page = await database.RunAsync(
                async (connection, ct) =>
                {
                    await using var command = new NpgsqlCommand(sql, connection);
                    if (customerId is not null)
                    {
                        command.Parameters.AddWithValue("customer", customerId);
                    }

                    command.Parameters.AddWithValue("from", from);
                    command.Parameters.AddWithValue("to", to);
                    command.Parameters.AddWithValue("afterTs", afterTs);
                    command.Parameters.AddWithValue("afterId", afterId);
                    var list = new List<(long Ts, string Id, EngagementEvent Event)>(PageSize);
                    await using var reader = await command.ExecuteReaderAsync(ct).ConfigureAwait(false);
                    while (await reader.ReadAsync(ct).ConfigureAwait(false))
                    {
                        list.Add((reader.GetInt64(0), reader.GetString(1), JsonSerializer.Deserialize(reader.GetString(2), EngagementJsonContext.Default.EngagementEvent)!));
                    }

                    return list;
                },
                cancellationToken).ConfigureAwait(false);

            foreach (var item in page)
            {
                yield return item.Event;
            }

            if (page.Count < PageSize)
            {
                yield break;
            }

            (afterTs, afterId) = (page[^1].Ts, page[^1].Id);
        }
    }
}

/// <summary>
/// An <see cref="IConsentStore"/> on PostgreSQL: append-only (a trigger refuses every update, and every delete that is not
/// part of a subject erasure), idempotent by record id.
/// </summary>
/// <param name="database">The database.</param>
public sealed class PostgreSqlConsentStore(PostgreSqlDatabase database) : IConsentStore, ISubjectErasure
{
    private readonly string _s = database.QuotedSchema;

    /// <inheritdoc />
    public ValueTask<AppendOutcome> AppendAsync(ConsentRecord record, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(record);
        var json = JsonSerializer.Serialize(record, EngagementJsonContext.Default.ConsentRecord);
        return database.RunAsync(
            async (connection, ct) =>
            {
                await using (var insert = new NpgsqlCommand($"INSERT INTO {_s}.consent_records (record_id, customer_id, document) VALUES (@id, @customer, @doc) ON CONFLICT (record_id) DO NOTHING", connection))
                {
                    insert.Parameters.AddWithValue("id", record.RecordId);
                    insert.Parameters.AddWithValue("customer", record.CustomerId.Value);
                    insert.Parameters.AddWithValue("doc", json);
                    if (await insert.ExecuteNonQueryAsync(ct).ConfigureAwait(false) == 1)
                    {
                        return AppendOutcome.Appended;
                    }
                }

                await using var stored = new NpgsqlCommand($"SELECT document FROM {_s}.consent_records WHERE record_id = @id", connection);
                stored.Parameters.AddWithValue("id", record.RecordId);
                return await stored.ExecuteScalarAsync(ct).ConfigureAwait(false) is string existing
                    && JsonSerializer.Deserialize(existing, EngagementJsonContext.Default.ConsentRecord)!.HasSameContent(record)
                    ? AppendOutcome.Duplicate
                    : throw new ConsentConflictException(record.RecordId);
            },
            cancellationToken);
    }

    /// <inheritdoc />
    public ValueTask<IReadOnlyList<ConsentRecord>> ReadAsync(CustomerId customerId, CancellationToken cancellationToken = default)
        => database.RunAsync<IReadOnlyList<ConsentRecord>>(
            async (connection, ct) =>
            {
                await using var command = new NpgsqlCommand($"SELECT document FROM {_s}.consent_records WHERE customer_id = @customer ORDER BY seq", connection);
                command.Parameters.AddWithValue("customer", customerId.Value);
                var list = new List<ConsentRecord>();
                await using var reader = await command.ExecuteReaderAsync(ct).ConfigureAwait(false);
                while (await reader.ReadAsync(ct).ConfigureAwait(false))
                {
                    list.Add(JsonSerializer.Deserialize(reader.GetString(0), EngagementJsonContext.Default.ConsentRecord)!);
                }

                return list;
            },
            cancellationToken);

    /// <inheritdoc />
    public ValueTask<int> EraseSubjectAsync(CustomerId customerId, CancellationToken cancellationToken = default)
        => database.DeleteByCustomerAsync("consent_records", customerId, cancellationToken);
}

/// <summary>
/// An <see cref="IDispatchStore"/> on PostgreSQL: a dispatch id is begun at most once; claims lock the rows they take with
/// <c>FOR UPDATE SKIP LOCKED</c>, so workers in several processes claim disjoint dispatches without waiting on each other.
/// </summary>
/// <param name="database">The database.</param>
public sealed class PostgreSqlDispatchStore(PostgreSqlDatabase database) : IDispatchStore, IDispatchCapLog, ISubjectErasure
{
    private readonly string _s = database.QuotedSchema;

    /// <inheritdoc />
    public ValueTask<bool> TryBeginAsync(DispatchRecord record, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(record);
        var begun = DispatchRecords.AsBegun(record);
        return database.RunAsync(
            async (connection, ct) =>
            {
                await using var insert = new NpgsqlCommand($"INSERT INTO {_s}.dispatches (dispatch_id, customer_id, created, status, due, lease_owner, channel, purpose, document) VALUES (@id, @customer, @created, @status, @due, @owner, @channel, @purpose, @doc) ON CONFLICT (dispatch_id) DO NOTHING", connection);
                BindRow(insert, begun);
                insert.Parameters.AddWithValue("channel", begun.Channel.Name);
                insert.Parameters.AddWithValue("purpose", begun.Purpose.Name);
                return await insert.ExecuteNonQueryAsync(ct).ConfigureAwait(false) == 1;
            },
            cancellationToken);
    }

    /// <inheritdoc />
    public ValueTask<bool> TryUpdateAsync(DispatchRecord record, DispatchStatus expected, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(record);
        return database.RunAsync(
            async (connection, ct) =>
            {
                // One statement: the row lock and the re-checked status make it a compare-and-set across processes.
                await using var update = new NpgsqlCommand($"UPDATE {_s}.dispatches SET created = @created, status = @status, due = @due, lease_owner = @owner, document = @doc WHERE dispatch_id = @id AND customer_id = @customer AND status = @expected", connection);
                BindRow(update, record);
                update.Parameters.AddWithValue("expected", expected.ToString());
                return await update.ExecuteNonQueryAsync(ct).ConfigureAwait(false) == 1;
            },
            cancellationToken);
    }

    /// <inheritdoc />
    public ValueTask<IReadOnlyList<DispatchRecord>> ClaimAsync(DateTimeOffset now, string owner, DateTimeOffset leaseUntil, int max, CancellationToken cancellationToken = default)
    {
        DispatchRecords.RequireClaim(owner, max);
        return database.RunInTransactionAsync<IReadOnlyList<DispatchRecord>>(
            async (connection, ct) =>
            {
                List<DispatchRecord> due;
                await using (var select = new NpgsqlCommand($"SELECT document FROM {_s}.dispatches WHERE due <= @now ORDER BY due, dispatch_id LIMIT @max FOR UPDATE SKIP LOCKED", connection))
                {
                    select.Parameters.AddWithValue("now", now.UtcTicks);
                    select.Parameters.AddWithValue("max", max);
                    due = await ReadAllAsync(select, ct).ConfigureAwait(false);
                }

                var claimed = new List<DispatchRecord>(due.Count);
                foreach (var current in due)
                {
                    if (!DispatchRecords.IsClaimable(current, now))
                    {
                        continue;
                    }

                    var leased = current with { Status = DispatchStatus.Sending, LeaseOwner = owner, LeaseUntil = leaseUntil };
                    await using var update = new NpgsqlCommand($"UPDATE {_s}.dispatches SET status = @status, due = @due, lease_owner = @owner, document = @doc WHERE dispatch_id = @id", connection);
                    BindRow(update, leased);
                    await update.ExecuteNonQueryAsync(ct).ConfigureAwait(false);
                    claimed.Add(current);
                }

                return claimed;
            },
            cancellationToken);
    }

    /// <inheritdoc />
    public ValueTask<bool> TrySettleAsync(DispatchRecord record, string owner, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(record);
        return database.RunAsync(
            async (connection, ct) =>
            {
                await using var update = new NpgsqlCommand($"UPDATE {_s}.dispatches SET created = @created, status = @status, due = @due, lease_owner = @owner, document = @doc WHERE dispatch_id = @id AND customer_id = @customer AND status = 'Sending' AND lease_owner = @holder", connection);
                BindRow(update, record);
                update.Parameters.AddWithValue("holder", owner);
                return await update.ExecuteNonQueryAsync(ct).ConfigureAwait(false) == 1;
            },
            cancellationToken);
    }

    /// <inheritdoc />
    public ValueTask<DispatchRecord?> GetAsync(string dispatchId, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(dispatchId);
        return database.RunAsync(
            async (connection, ct) =>
            {
                await using var read = new NpgsqlCommand($"SELECT document FROM {_s}.dispatches WHERE dispatch_id = @id", connection);
                read.Parameters.AddWithValue("id", dispatchId);
                return await read.ExecuteScalarAsync(ct).ConfigureAwait(false) is string json ? JsonSerializer.Deserialize(json, EngagementJsonContext.Default.DispatchRecord) : null;
            },
            cancellationToken);
    }

    /// <inheritdoc />
    public ValueTask<IReadOnlyList<DispatchRecord>> ListAsync(CustomerId customerId, DateTimeOffset since, CancellationToken cancellationToken = default)
        => database.RunAsync<IReadOnlyList<DispatchRecord>>(
            async (connection, ct) =>
            {
                await using var command = new NpgsqlCommand($"SELECT document FROM {_s}.dispatches WHERE customer_id = @customer AND created >= @since ORDER BY created, dispatch_id", connection);
                command.Parameters.AddWithValue("customer", customerId.Value);
                command.Parameters.AddWithValue("since", since.UtcTicks);
                return await ReadAllAsync(command, ct).ConfigureAwait(false);
            },
            cancellationToken);

    /// <inheritdoc />
    public async IAsyncEnumerable<DispatchRecord> ListByStatusAsync(DispatchStatus status, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        var records = await database.RunAsync(
            async (connection, ct) =>
            {
                // The claimable ones are found through the index on `due`; held messages and dead letters have partial indexes.
                var claimable = status is DispatchStatus.Queued or DispatchStatus.Sending or DispatchStatus.Unknown ? "due IS NOT NULL AND " : string.Empty;
                await using var command = new NpgsqlCommand($"SELECT document FROM {_s}.dispatches WHERE {claimable}status = @status ORDER BY created, dispatch_id", connection);
                command.Parameters.AddWithValue("status", status.ToString());
                return await ReadAllAsync(command, ct).ConfigureAwait(false);
            },
            cancellationToken).ConfigureAwait(false);
        foreach (var record in records)
        {
            yield return record;
        }
    }

    /// <inheritdoc />
    public ValueTask<IReadOnlyList<CappedDispatch>> ListCountedAsync(CustomerId customerId, DateTimeOffset since, CancellationToken cancellationToken = default)
        => database.RunAsync<IReadOnlyList<CappedDispatch>>(
            async (connection, ct) =>
            {
                await using var command = new NpgsqlCommand($"SELECT dispatch_id, created, channel, purpose FROM {_s}.dispatches WHERE customer_id = @customer AND created >= @since AND status IN ('Queued', 'Sending', 'Unknown', 'Sent')", connection);
                command.Parameters.AddWithValue("customer", customerId.Value);
                command.Parameters.AddWithValue("since", since.UtcTicks);
                var counted = new List<CappedDispatch>();
                await using var reader = await command.ExecuteReaderAsync(ct).ConfigureAwait(false);
                while (await reader.ReadAsync(ct).ConfigureAwait(false))
                {
                    counted.Add(new CappedDispatch(reader.GetString(0), new DateTimeOffset(reader.GetInt64(1), TimeSpan.Zero), new Channel(reader.GetString(2)), new Purpose(reader.GetString(3))));
                }

                return counted;
            },
            cancellationToken);

    /// <inheritdoc />
    public ValueTask<int> EraseSubjectAsync(CustomerId customerId, CancellationToken cancellationToken = default)
        => database.DeleteByCustomerAsync("dispatches", customerId, cancellationToken);

    // The row's columns from the record: a claimable record carries the instant it falls due.
    private static void BindRow(NpgsqlCommand command, DispatchRecord record)
    {
        command.Parameters.AddWithValue("id", record.DispatchId);
        command.Parameters.AddWithValue("customer", record.CustomerId.Value);
        command.Parameters.AddWithValue("created", record.CreatedAt.UtcTicks);
        command.Parameters.AddWithValue("status", record.Status.ToString());
        command.Parameters.AddWithValue("due", record.Status is DispatchStatus.Queued or DispatchStatus.Unknown or DispatchStatus.Sending ? DispatchRecords.DueOf(record).UtcTicks : DBNull.Value);
        command.Parameters.AddWithValue("owner", record.Status == DispatchStatus.Sending && record.LeaseOwner is { } owner ? owner : DBNull.Value);
        command.Parameters.AddWithValue("doc", JsonSerializer.Serialize(record, EngagementJsonContext.Default.DispatchRecord));
    }

    private static async Task<List<DispatchRecord>> ReadAllAsync(NpgsqlCommand command, CancellationToken cancellationToken)
    {
        var list = new List<DispatchRecord>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            list.Add(JsonSerializer.Deserialize(reader.GetString(0), EngagementJsonContext.Default.DispatchRecord)!);
        }

        return list;
    }
}

/// <summary>An <see cref="ISuppressionStore"/> on PostgreSQL: append-only, the same suppression again is a no-op.</summary>
/// <param name="database">The database.</param>
public sealed class PostgreSqlSuppressionStore(PostgreSqlDatabase database) : ISuppressionStore
{
    private readonly string _s = database.QuotedSchema;

    /// <inheritdoc />
    public async ValueTask AddAsync(Suppression suppression, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(suppression);
        await database.RunAsync(
            async (connection, ct) =>
            {
                await using var insert = new NpgsqlCommand($"INSERT INTO {_s}.suppressions (identifier_hash, reason, at, at_offset, source) VALUES (@hash, @reason, @at, @offset, @source) ON CONFLICT DO NOTHING", connection);
                insert.Parameters.AddWithValue("hash", suppression.IdentifierHash);
                insert.Parameters.AddWithValue("reason", suppression.Reason.ToString());
                insert.Parameters.AddWithValue("at", suppression.At.UtcTicks);
                insert.Parameters.AddWithValue("offset", (int)suppression.At.Offset.TotalMinutes);
                insert.Parameters.AddWithValue("source", suppression.Source);
                return await insert.ExecuteNonQueryAsync(ct).ConfigureAwait(false);
            },
            cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc />
    public ValueTask<IReadOnlyList<Suppression>> FindAsync(string identifierHash, CancellationToken cancellationToken = default)
        => database.RunAsync<IReadOnlyList<Suppression>>(
            async (connection, ct) =>
            {
                await using var command = new NpgsqlCommand($"SELECT reason, at, at_offset, source FROM {_s}.suppressions WHERE identifier_hash = @hash ORDER BY at", connection);
                command.Parameters.AddWithValue("hash", identifierHash);
                var list = new List<Suppression>();
                await using var reader = await command.ExecuteReaderAsync(ct).ConfigureAwait(false);
                while (await reader.ReadAsync(ct).ConfigureAwait(false))
                {
                    var offset = TimeSpan.FromMinutes(reader.GetInt32(2));
                    var at = new DateTimeOffset(reader.GetInt64(1), TimeSpan.Zero).ToOffset(offset);
                    list.Add(new Suppression(identifierHash, Enum.Parse<SuppressionReason>(reader.GetString(0)), at, reader.GetString(3)));
                }

                return list;
            },
            cancellationToken);
}
