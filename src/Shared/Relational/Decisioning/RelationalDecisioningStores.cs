using Engagement.Sdk.Channels;
using Engagement.Sdk.Decisioning;

namespace Engagement.Sdk.Storage.Relational;

/// <summary>
/// Learned propensities in a relational database: one row per arm and time bucket with its sends and responses, and one row
/// per counted outcome of a dispatch. Counting inserts the outcome's row (<c>ON CONFLICT DO NOTHING</c>) and, if it was new,
/// increments the bucket's row with an upsert, in one transaction: an outcome is counted once, and two processes counting at
/// once lose nothing (the upsert's row lock serialises them).
/// </summary>
internal sealed class RelationalPropensityStore(IRelationalDatabase database) : IPropensityStore
{
    /// <summary>The tables.</summary>
    public static SchemaModule Module { get; } = new("propensities",
    [
        """
        CREATE TABLE IF NOT EXISTS {t:propensity_counts} (
            action_id {key} NOT NULL, channel {key} NOT NULL, treatment {key} NOT NULL, segment {key} NOT NULL, bucket {int64} NOT NULL,
            sends {int64} NOT NULL, responses {int64} NOT NULL,
            PRIMARY KEY (action_id, channel, treatment, segment, bucket));
        CREATE TABLE IF NOT EXISTS {t:propensity_outcomes} (
            dispatch_id {key} NOT NULL, outcome {int32} NOT NULL,
            PRIMARY KEY (dispatch_id, outcome))
        """,
    ]);

    private const string InsertOutcome = "INSERT INTO {t:propensity_outcomes} (dispatch_id, outcome) VALUES (@dispatch, @outcome) ON CONFLICT (dispatch_id, outcome) DO NOTHING";

    private const string Increment = """
        INSERT INTO {t:propensity_counts} AS c (action_id, channel, treatment, segment, bucket, sends, responses)
        VALUES (@action, @channel, @treatment, @segment, @bucket, @sends, @responses)
        ON CONFLICT (action_id, channel, treatment, segment, bucket) DO UPDATE SET sends = c.sends + excluded.sends, responses = c.responses + excluded.responses
        """;

    private const string Select = "SELECT action_id, channel, treatment, segment, bucket, sends, responses FROM {t:propensity_counts} WHERE bucket >= @since";

    private static readonly PropensityOutcome[] Outcomes = [PropensityOutcome.Send, PropensityOutcome.Response];

    // The outcomes of many dispatches in one statement: the rows it inserted are the ones counted now.
    private const string InsertOutcomes = "INSERT INTO {t:propensity_outcomes} (dispatch_id, outcome) SELECT value, @outcome FROM {each:dispatches} WHERE true ON CONFLICT (dispatch_id, outcome) DO NOTHING RETURNING dispatch_id";

    /// <inheritdoc />
    public ValueTask<bool> CountAsync(PropensityArm arm, string dispatchId, PropensityOutcome outcome, DateTimeOffset bucket, CancellationToken cancellationToken = default)
    {
        PropensityStoreChecks.Require(arm, dispatchId, outcome);
        return database.WriteAsync((arm, dispatchId, outcome, bucket.UtcTicks), static async (session, s, ct) =>
        {
            using (var insert = session.Command(InsertOutcome))
            {
                if (await insert.Bind("@dispatch", s.dispatchId).Bind("@outcome", (int)s.outcome).ExecuteAsync(ct).ConfigureAwait(false) == 0)
                {
                    return false;
                }
            }

            using var increment = session.Command(Increment);
            await increment
                .Bind("@action", s.arm.ActionId).Bind("@channel", s.arm.Channel.Name).Bind("@treatment", s.arm.Treatment).Bind("@segment", s.arm.Segment)
                .Bind("@bucket", s.Item4).Bind("@sends", s.outcome == PropensityOutcome.Send ? 1L : 0L).Bind("@responses", s.outcome == PropensityOutcome.Response ? 1L : 0L)
                .ExecuteAsync(ct).ConfigureAwait(false);
            return true;
        }, cancellationToken);
    }

    /// <inheritdoc />
    /// <remarks>
    /// One insert of the outcome rows per kind (send, response) for the whole list, then one increment per arm and bucket with
    /// the number of outcomes newly counted there, in one transaction.
    /// </remarks>
    public ValueTask<IReadOnlyList<bool>> CountAllAsync(IReadOnlyList<PropensityTally> tallies, CancellationToken cancellationToken = default)
    {
        PropensityStoreChecks.Require(tallies);
        if (tallies.Count == 0)
        {
            return ValueTask.FromResult<IReadOnlyList<bool>>([]);
        }

        return database.WriteAsync(tallies, static async (session, all, ct) =>
        {
            var counted = new bool[all.Count];
            foreach (var outcome in Outcomes)
            {
                // Each dispatch once: its first mention is the one counted.
                var first = new Dictionary<string, int>(StringComparer.Ordinal);
                for (var i = 0; i < all.Count; i++)
                {
                    if (all[i].Outcome == outcome)
                    {
                        first.TryAdd(all[i].DispatchId, i);
                    }
                }

                if (first.Count == 0)
                {
                    continue;
                }

                using var insert = session.Command(InsertOutcomes);
                insert.Bind("@dispatches", JsonArray(first.Keys)).Bind("@outcome", (int)outcome);
                var reader = await insert.ReaderAsync(ct).ConfigureAwait(false);
                await using (reader.ConfigureAwait(false))
                {
                    while (await reader.ReadAsync(ct).ConfigureAwait(false))
                    {
                        counted[first[reader.GetString(0)]] = true;
                    }
                }
            }

            var increments = new Dictionary<(PropensityArm Arm, long Bucket), (long Sends, long Responses)>();
            for (var i = 0; i < counted.Length; i++)
            {
                if (counted[i])
                {
                    var key = (all[i].Arm, all[i].Bucket.UtcTicks);
                    var (sends, responses) = increments.GetValueOrDefault(key);
                    increments[key] = all[i].Outcome == PropensityOutcome.Send ? (sends + 1, responses) : (sends, responses + 1);
                }
            }

            foreach (var ((arm, bucket), (sends, responses)) in increments)
            {
                using var increment = session.Command(Increment);
                await increment
                    .Bind("@action", arm.ActionId).Bind("@channel", arm.Channel.Name).Bind("@treatment", arm.Treatment).Bind("@segment", arm.Segment)
                    .Bind("@bucket", bucket).Bind("@sends", sends).Bind("@responses", responses)
                    .ExecuteAsync(ct).ConfigureAwait(false);
            }

            return (IReadOnlyList<bool>)counted;
        }, cancellationToken);
    }

    /// <inheritdoc />
    public ValueTask<IReadOnlyList<PropensityCount>> ReadAsync(DateTimeOffset since, CancellationToken cancellationToken = default)
        => database.ReadAsync(since.UtcTicks, static async (session, since, ct) =>
        {
            using var select = session.Command(Select);
            select.Bind("@since", since);
            var rows = new List<PropensityCount>();
            var reader = await select.ReaderAsync(ct).ConfigureAwait(false);
            await using (reader.ConfigureAwait(false))
            {
                while (await reader.ReadAsync(ct).ConfigureAwait(false))
                {
                    var arm = new PropensityArm(reader.GetString(0), new Channel(reader.GetString(1)), reader.GetString(2), reader.GetString(3));
                    rows.Add(new PropensityCount(arm, new DateTimeOffset(reader.GetInt64(4), TimeSpan.Zero), reader.GetInt64(5), reader.GetInt64(6)));
                }
            }

            return (IReadOnlyList<PropensityCount>)rows;
        }, cancellationToken);
    private static string JsonArray(IEnumerable<string> values)
    {
        var buffer = new System.Buffers.ArrayBufferWriter<byte>();
        using (var writer = new System.Text.Json.Utf8JsonWriter(buffer))
        {
            writer.WriteStartArray();
            foreach (var value in values)
            {
                writer.WriteStringValue(value);
            }

            writer.WriteEndArray();
        }

        return System.Text.Encoding.UTF8.GetString(buffer.WrittenSpan);
    }
}

/// <summary>
/// The actions' contact history in a relational database: one row per dispatch and kind (sent, dismissed), indexed by customer
/// and time. Recording is an <c>INSERT … ON CONFLICT DO NOTHING</c>: once per dispatch and kind, whichever process comes first.
/// </summary>
internal sealed class RelationalActionContactLog(IRelationalDatabase database) : IActionContactLog, ISubjectErasure
{
    /// <summary>The tables.</summary>
    public static SchemaModule Module { get; } = new("action_contacts",
    [
        """
        CREATE TABLE IF NOT EXISTS {t:action_contacts} (
            dispatch_id {key} NOT NULL, kind {int32} NOT NULL, customer_id {key} NOT NULL, at {int64} NOT NULL, at_offset {int32} NOT NULL,
            action_id {key} NOT NULL, channel {key} NOT NULL,
            PRIMARY KEY (dispatch_id, kind));
        CREATE INDEX IF NOT EXISTS action_contacts_by_customer ON {t:action_contacts} (customer_id, at)
        """,
    ]);

    private const string Insert = """
        INSERT INTO {t:action_contacts} (dispatch_id, kind, customer_id, at, at_offset, action_id, channel)
        VALUES (@dispatch, @kind, @customer, @at, @offset, @action, @channel) ON CONFLICT (dispatch_id, kind) DO NOTHING
        """;

    private const string Select = """
        SELECT dispatch_id, kind, at, at_offset, action_id, channel FROM {t:action_contacts}
        WHERE customer_id = @customer AND at >= @since ORDER BY at, dispatch_id, kind
        """;

    /// <inheritdoc />
    public ValueTask<bool> RecordAsync(ActionContact contact, CancellationToken cancellationToken = default)
    {
        ActionContactChecks.Require(contact);
        return database.WriteAsync(contact, static async (session, c, ct) =>
        {
            using var insert = session.Command(Insert);
            return await insert
                .Bind("@dispatch", c.DispatchId).Bind("@kind", (int)c.Kind).Bind("@customer", c.CustomerId.Value).Bind("@at", c.At.UtcTicks)
                .Bind("@offset", (int)c.At.Offset.TotalMinutes).Bind("@action", c.ActionId).Bind("@channel", c.Channel.Name)
                .ExecuteAsync(ct).ConfigureAwait(false) == 1;
        }, cancellationToken);
    }

    /// <inheritdoc />
    public ValueTask<ReadOnlyMemory<ActionContact>> ReadAsync(CustomerId customerId, DateTimeOffset since, CancellationToken cancellationToken = default)
        => database.ReadAsync((customerId, since.UtcTicks), static async (session, s, ct) =>
        {
            using var select = session.Command(Select);
            select.Bind("@customer", s.customerId.Value).Bind("@since", s.Item2);
            var rows = new List<ActionContact>();
            var reader = await select.ReaderAsync(ct).ConfigureAwait(false);
            await using (reader.ConfigureAwait(false))
            {
                while (await reader.ReadAsync(ct).ConfigureAwait(false))
                {
                    var offset = TimeSpan.FromMinutes(reader.GetInt32(3));
                    var at = new DateTimeOffset(reader.GetInt64(2) + offset.Ticks, offset);
                    rows.Add(new ActionContact(s.customerId, reader.GetString(4), new Channel(reader.GetString(5)), (ActionContactKind)reader.GetInt32(1), at, reader.GetString(0)));
                }
            }

            return new ReadOnlyMemory<ActionContact>([.. rows]);
        }, cancellationToken);

    /// <inheritdoc />
    public ValueTask<int> EraseSubjectAsync(CustomerId customerId, CancellationToken cancellationToken = default)
        => database.WriteAsync(customerId, static async (session, customer, ct) =>
        {
            using var delete = session.Command("DELETE FROM {t:action_contacts} WHERE customer_id = @customer");
            return await delete.Bind("@customer", customer.Value).ExecuteAsync(ct).ConfigureAwait(false);
        }, cancellationToken);
}

/// <summary>
/// The actions' volume budgets in a relational database: one row per action and period. A reservation is one statement,
/// <c>INSERT … ON CONFLICT DO UPDATE SET used = used + 1 WHERE used &lt; @limit</c>, which changes a row only below the limit:
/// under a race the row lock serialises the reservations and the limit is re-checked on the latest row, so the budget is never
/// exceeded.
/// </summary>
internal sealed class RelationalActionBudgetStore(IRelationalDatabase database) : IActionBudgetStore
{
    /// <summary>The tables.</summary>
    public static SchemaModule Module { get; } = new("action_budgets",
    [
        """
        CREATE TABLE IF NOT EXISTS {t:action_budgets} (
            action_id {key} NOT NULL, period {int64} NOT NULL, used {int64} NOT NULL,
            PRIMARY KEY (action_id, period))
        """,
    ]);

    private const string Reserve = """
        INSERT INTO {t:action_budgets} AS b (action_id, period, used) VALUES (@action, @period, 1)
        ON CONFLICT (action_id, period) DO UPDATE SET used = b.used + 1 WHERE b.used < @limit
        """;

    /// <inheritdoc />
    public ValueTask<long> GetUsedAsync(string actionId, DateTimeOffset periodStart, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(actionId);
        return database.ReadAsync((actionId, periodStart.UtcTicks), static async (session, s, ct) =>
        {
            using var select = session.Command("SELECT used FROM {t:action_budgets} WHERE action_id = @action AND period = @period");
            var used = await select.Bind("@action", s.actionId).Bind("@period", s.Item2).ScalarAsync(ct).ConfigureAwait(false);
            return used is null ? 0L : Convert.ToInt64(used, System.Globalization.CultureInfo.InvariantCulture);
        }, cancellationToken);
    }

    /// <inheritdoc />
    public ValueTask<bool> TryReserveAsync(string actionId, DateTimeOffset periodStart, long limit, CancellationToken cancellationToken = default)
    {
        ActionBudgetChecks.Require(actionId, limit);
        if (limit == 0)
        {
            return ValueTask.FromResult(false);
        }

        return database.WriteAsync((actionId, periodStart.UtcTicks, limit), static async (session, s, ct) =>
        {
            using var reserve = session.Command(Reserve);
            return await reserve.Bind("@action", s.actionId).Bind("@period", s.Item2).Bind("@limit", s.limit).ExecuteAsync(ct).ConfigureAwait(false) == 1;
        }, cancellationToken);
    }

    /// <inheritdoc />
    public ValueTask<bool> ReleaseAsync(string actionId, DateTimeOffset periodStart, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(actionId);
        return database.WriteAsync((actionId, periodStart.UtcTicks), static async (session, s, ct) =>
        {
            using var release = session.Command("UPDATE {t:action_budgets} SET used = used - 1 WHERE action_id = @action AND period = @period AND used > 0");
            return await release.Bind("@action", s.actionId).Bind("@period", s.Item2).ExecuteAsync(ct).ConfigureAwait(false) == 1;
        }, cancellationToken);
    }
}
