using System.Collections.Concurrent;
using System.Runtime.CompilerServices;
using Engagement.Sdk.Journeys;

namespace Engagement.Sdk.Storage.Relational;

/// <summary>
/// The <see cref="IJourneyStore"/> of SQLite and PostgreSQL, written once on the relational layer: one row per customer
/// (version, due time, the record as a JSON document), a partial index of due times so the sweep reads only due customers,
/// and an append-only history keyed by customer and position. Every statement is here.
/// </summary>
/// <param name="database">The database.</param>
internal sealed class RelationalJourneyStore(IRelationalDatabase database) : IJourneyStore, ISubjectErasure
{
    private const int Page = 1000;
    private static readonly RelationalDueRecords Records = new("journey_records", "journey_history");

    private const int CacheLimit = 100_000;

    // Records this store read or wrote (null: none stored), with the database's epoch then, when the database can tell
    // whether they are still current (SQLite's one connection): inside a unit of work an entry of the current epoch is used
    // without a read, so that an event that moves no stage costs no read and no parse of its customer's record.
    private readonly ConcurrentDictionary<CustomerId, (JourneyRecord? Record, int Epoch)>? _cache = database.CacheEpoch is null ? null : new();
    private int _cacheAdded;

    /// <summary>The journeys' tables.</summary>
    public static SchemaModule Schema { get; } = new(
        "journeys",
        [
            Records.CreateRecords + """
            CREATE TABLE IF NOT EXISTS {t:journey_history} (
                customer_id {key} NOT NULL,
                position {int64} NOT NULL,
                journey_id {key} NOT NULL,
                document {bytes} NOT NULL,
                PRIMARY KEY (customer_id, position));
            CREATE INDEX IF NOT EXISTS journey_history_by_journey ON {t:journey_history} (journey_id, customer_id, position)
            """,
        ]);

    private const int RowsPerInsert = 8;
    private static readonly string[] Appends = [.. Enumerable.Range(1, RowsPerInsert).Select(rows =>
        "INSERT INTO {t:journey_history} (customer_id, position, journey_id, document) VALUES "
        + string.Join(", ", Enumerable.Range(0, rows).Select(r => $"(@customer, @position{r}, @journey{r}, @document{r})")))];
    private const string CustomerHistory = "SELECT document FROM {t:journey_history} WHERE customer_id = @customer ORDER BY position";
    private const string JourneyHistory = "SELECT customer_id, position, document FROM {t:journey_history} WHERE journey_id = @journey AND (customer_id > @after OR (customer_id = @after AND position > @position)) ORDER BY customer_id, position LIMIT @page";
    private const string List = "SELECT customer_id, version, document FROM {t:journey_records} WHERE customer_id > @after ORDER BY customer_id LIMIT @page";
    private const string EraseHistory = "DELETE FROM {t:journey_history} WHERE customer_id = @customer";

    /// <inheritdoc />
    public ValueTask<JourneyRecord?> GetAsync(CustomerId customerId, CancellationToken cancellationToken = default)
    {
        if (_cache is null)
        {
            return Records.GetAsync(database, customerId, static (id, version, _, document) => JourneyRecordJson.ReadRecord(id, version, document), cancellationToken);
        }

        if (_cache.TryGetValue(customerId, out var cached) && database.IsCurrent(cached.Epoch))
        {
            return new ValueTask<JourneyRecord?>(cached.Record);
        }

        return ReadAndRememberAsync(customerId, cancellationToken);
    }

    // The epoch is taken before the read: a commit by another connection in between makes the entry stale, never wrong.
    private async ValueTask<JourneyRecord?> ReadAndRememberAsync(CustomerId customerId, CancellationToken cancellationToken)
    {
        var epoch = Epoch;
        var record = await Records.GetAsync(database, customerId, static (id, version, _, document) => JourneyRecordJson.ReadRecord(id, version, document), cancellationToken).ConfigureAwait(false);
        Remember(customerId, record, epoch);
        return record;
    }

    private void Remember(CustomerId customerId, JourneyRecord? record, int? epoch)
    {
        if (_cache is null || epoch is not { } at)
        {
            return;
        }

        if (!_cache.ContainsKey(customerId) && Interlocked.Increment(ref _cacheAdded) > CacheLimit)
        {
            // Bounded by starting over (every entry can be read again); counted, since the dictionary's count takes every lock.
            _cache.Clear();
            Volatile.Write(ref _cacheAdded, 1);
        }

        _cache[customerId] = (record, at);
    }

    private int? Epoch => database.CacheEpoch;

    private void Forget(CustomerId customerId) => _cache?.TryRemove(customerId, out _);

    /// <inheritdoc />
    public ValueTask<JourneyRecord> SaveAsync(JourneyRecord record, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(record);
        return database.WriteAsync((Store: this, Record: record), static async (session, a, ct) =>
        {
            var (store, record) = a;
            store.Forget(record.CustomerId);
            await Records.SaveAsync(session, record.CustomerId, record.Version, record.DueAt, JourneyRecordJson.WriteRecord(record), ct).ConfigureAwait(false);
            var saved = record with { Version = record.Version + 1 };
            store.Remember(record.CustomerId, saved, store.Epoch);
            return saved;
        }, cancellationToken);
    }

    /// <inheritdoc />
    public ValueTask<bool> DeleteAsync(CustomerId customerId, CancellationToken cancellationToken = default)
        => database.WriteAsync((Store: this, Id: customerId), static async (session, a, ct) =>
        {
            a.Store.Forget(a.Id);
            return await Records.DeleteAsync(session, a.Id, ct).ConfigureAwait(false) > 0;
        }, cancellationToken);

    /// <inheritdoc />
    public async ValueTask AppendHistoryAsync(IReadOnlyList<JourneyHistoryEntry> entries, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(entries);
        if (entries.Count == 0)
        {
            return;
        }

        await database.WriteAsync(entries, static async (session, entries, ct) =>
        {
            // Each customer's entries go in order after their last one, several rows a statement.
            var start = 0;
            while (start < entries.Count)
            {
                var customer = entries[start]?.CustomerId ?? throw new ArgumentException("An entry is null.", nameof(entries));
                var end = start;
                while (end < entries.Count && end - start < RowsPerInsert && entries[end]?.CustomerId == customer)
                {
                    end++;
                }

                var position = await Records.LastPositionAsync(session, customer, ct).ConfigureAwait(false);
                using var append = session.Command(Appends[end - start - 1]).Bind("@customer", customer.Value);
                for (var r = 0; r < end - start; r++)
                {
                    var entry = entries[start + r];
                    append.Bind(Parameter("@position", r), position + r + 1).Bind(Parameter("@journey", r), entry.JourneyId).Bind(Parameter("@document", r), JourneyRecordJson.WriteEntry(entry));
                }

                await append.ExecuteAsync(ct).ConfigureAwait(false);
                start = end;
            }

            return 0;
        }, cancellationToken).ConfigureAwait(false);
    }

    private static readonly string[][] ParameterNames = [.. new[] { "@position", "@journey", "@document" }.Select(p => Enumerable.Range(0, RowsPerInsert).Select(r => p + r.ToString(System.Globalization.CultureInfo.InvariantCulture)).ToArray())];

    private static string Parameter(string name, int row) => ParameterNames[name switch { "@position" => 0, "@journey" => 1, _ => 2 }][row];

    /// <inheritdoc />
    public async IAsyncEnumerable<JourneyHistoryEntry> ReadHistoryAsync(CustomerId customerId, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        var entries = await database.ReadAsync(customerId, static async (session, id, ct) =>
        {
            using var command = session.Command(CustomerHistory).Bind("@customer", id.Value);
            await using var reader = await command.ReaderAsync(ct).ConfigureAwait(false);
            var list = new List<JourneyHistoryEntry>();
            while (await reader.ReadAsync(ct).ConfigureAwait(false))
            {
                list.Add(JourneyRecordJson.ReadEntry(reader.GetFieldValue<byte[]>(0)));
            }

            return list;
        }, cancellationToken).ConfigureAwait(false);

        foreach (var entry in entries)
        {
            yield return entry;
        }
    }

    /// <inheritdoc />
    public async IAsyncEnumerable<JourneyHistoryEntry> ReadJourneyHistoryAsync(string journeyId, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(journeyId);
        var after = (Customer: string.Empty, Position: 0L);
        while (true)
        {
            var page = await database.ReadAsync((journeyId, after), static async (session, state, ct) =>
            {
                using var command = session.Command(JourneyHistory).Bind("@journey", state.journeyId).Bind("@after", state.after.Customer)
                    .Bind("@position", state.after.Position).Bind("@page", Page);
                await using var reader = await command.ReaderAsync(ct).ConfigureAwait(false);
                var list = new List<(string Customer, long Position, JourneyHistoryEntry Entry)>(Page);
                while (await reader.ReadAsync(ct).ConfigureAwait(false))
                {
                    list.Add((reader.GetString(0), reader.GetInt64(1), JourneyRecordJson.ReadEntry(reader.GetFieldValue<byte[]>(2))));
                }

                return list;
            }, cancellationToken).ConfigureAwait(false);

            foreach (var (_, _, entry) in page)
            {
                yield return entry;
            }

            if (page.Count < Page)
            {
                yield break;
            }

            after = (page[^1].Customer, page[^1].Position);
        }
    }

    /// <inheritdoc />
    public ValueTask<IReadOnlyList<CustomerId>> ListDueAsync(DateTimeOffset now, int max, CancellationToken cancellationToken = default)
        => Records.ListDueAsync(database, now, max, cancellationToken);

    /// <inheritdoc />
    public async IAsyncEnumerable<JourneyRecord> ListAsync([EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        var after = string.Empty;
        while (true)
        {
            var page = await database.ReadAsync(after, static async (session, after, ct) =>
            {
                using var command = session.Command(List).Bind("@after", after).Bind("@page", Page);
                await using var reader = await command.ReaderAsync(ct).ConfigureAwait(false);
                var list = new List<JourneyRecord>(Page);
                while (await reader.ReadAsync(ct).ConfigureAwait(false))
                {
                    list.Add(JourneyRecordJson.ReadRecord(new CustomerId(reader.GetString(0)), reader.GetInt64(1), reader.GetFieldValue<byte[]>(2)));
                }

                return list;
            }, cancellationToken).ConfigureAwait(false);

            foreach (var record in page)
            {
                yield return record;
            }

            if (page.Count < Page)
            {
                yield break;
            }

            after = page[^1].CustomerId.Value;
        }
    }

    /// <inheritdoc />
    public ValueTask<int> EraseSubjectAsync(CustomerId customerId, CancellationToken cancellationToken = default)
        => database.WriteAsync((Store: this, Id: customerId), static async (session, a, ct) =>
        {
            a.Store.Forget(a.Id);
            using var history = session.Command(EraseHistory).Bind("@customer", a.Id.Value);
            return await Records.DeleteAsync(session, a.Id, ct).ConfigureAwait(false) + await history.ExecuteAsync(ct).ConfigureAwait(false);
        }, cancellationToken);
}
