using System.Globalization;
using System.Runtime.CompilerServices;
using Engagement.Sdk.Segments;

namespace Engagement.Sdk.Storage.Relational;

/// <summary>
/// The <see cref="ISegmentStore"/> of SQLite and PostgreSQL, written once on the relational layer: one row per customer
/// (version, due time, the record as a JSON document) with a partial index of due times for the sweep; one row per member of
/// each segment (its primary key is the segment then the customer, so a count and a page of members read one range); and an
/// append-only history keyed by customer and position. Every statement is here.
/// </summary>
/// <param name="database">The database.</param>
internal sealed class RelationalSegmentStore(IRelationalDatabase database) : ISegmentStore, ISubjectErasure
{
    private const int Page = 1000;
    private static readonly RelationalDueRecords Records = new("segment_records", "segment_history");

    /// <summary>The segments' tables.</summary>
    public static SchemaModule Module { get; } = new(
        "segments",
        [
            Records.CreateRecords + """
            CREATE TABLE IF NOT EXISTS {t:segment_members} (
                segment {key} NOT NULL,
                customer_id {key} NOT NULL,
                entered {int64} NOT NULL,
                PRIMARY KEY (segment, customer_id));
            CREATE INDEX IF NOT EXISTS segment_members_by_customer ON {t:segment_members} (customer_id);
            CREATE TABLE IF NOT EXISTS {t:segment_history} (
                customer_id {key} NOT NULL,
                position {int64} NOT NULL,
                segment {key} NOT NULL,
                kind {int32} NOT NULL,
                at {int64} NOT NULL,
                reason {text},
                PRIMARY KEY (customer_id, position))
            """,
        ]);

    private const string Enter = "INSERT INTO {t:segment_members} (segment, customer_id, entered) VALUES (@segment, @customer, @at) ON CONFLICT (segment, customer_id) DO UPDATE SET entered = excluded.entered";
    private const string Exit = "DELETE FROM {t:segment_members} WHERE segment = @segment AND customer_id = @customer";
    private const string Append = "INSERT INTO {t:segment_history} (customer_id, position, segment, kind, at, reason) VALUES (@customer, @position, @segment, @kind, @at, @reason)";
    private const string Count = "SELECT COUNT(*) FROM {t:segment_members} WHERE segment = @segment";
    private const string Members = "SELECT customer_id FROM {t:segment_members} WHERE segment = @segment AND customer_id > @after ORDER BY customer_id LIMIT @page";
    private const string History = "SELECT segment, kind, at, reason FROM {t:segment_history} WHERE customer_id = @customer ORDER BY position";
    private const string EraseMembers = "DELETE FROM {t:segment_members} WHERE customer_id = @customer";
    private const string EraseHistory = "DELETE FROM {t:segment_history} WHERE customer_id = @customer";

    /// <inheritdoc />
    public ValueTask<SegmentRecord?> GetAsync(CustomerId customerId, CancellationToken cancellationToken = default)
        => Records.GetAsync(database, customerId, static (id, version, due, document) => SegmentRecordJson.ReadRecord(id, version, due, document), cancellationToken);

    /// <inheritdoc />
    public ValueTask<SegmentRecord> SaveAsync(SegmentRecord record, IReadOnlyList<SegmentChange> changes, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(record);
        ArgumentNullException.ThrowIfNull(changes);
        return database.WriteAsync((record, changes), static async (session, state, ct) =>
        {
            var (record, changes) = state;
            await Records.SaveAsync(session, record.CustomerId, record.Version, record.DueAt, SegmentRecordJson.WriteRecord(record), ct).ConfigureAwait(false);
            long? position = null;
            CustomerId? positionOf = null;
            foreach (var change in changes)
            {
                ArgumentNullException.ThrowIfNull(change);
                using (var member = session.Command(change.Kind == SegmentChangeKind.Entered ? Enter : Exit).Bind("@segment", change.Segment).Bind("@customer", change.CustomerId.Value))
                {
                    if (change.Kind == SegmentChangeKind.Entered)
                    {
                        member.Bind("@at", change.At.UtcTicks);
                    }

                    await member.ExecuteAsync(ct).ConfigureAwait(false);
                }

                if (positionOf != change.CustomerId)
                {
                    position = await Records.LastPositionAsync(session, change.CustomerId, ct).ConfigureAwait(false);
                    positionOf = change.CustomerId;
                }

                position++;
                using var append = session.Command(Append).Bind("@customer", change.CustomerId.Value).Bind("@position", position!.Value).Bind("@segment", change.Segment)
                    .Bind("@kind", (int)change.Kind).Bind("@at", change.At.UtcTicks).Bind("@reason", change.Reason);
                await append.ExecuteAsync(ct).ConfigureAwait(false);
            }

            return record with { Version = record.Version + 1 };
        }, cancellationToken);
    }

    /// <inheritdoc />
    public ValueTask<long> CountAsync(string segment, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(segment);
        return database.ReadAsync(segment, static async (session, segment, ct) =>
        {
            using var command = session.Command(Count).Bind("@segment", segment);
            return Convert.ToInt64(await command.ScalarAsync(ct).ConfigureAwait(false), CultureInfo.InvariantCulture);
        }, cancellationToken);
    }

    /// <inheritdoc />
    public async IAsyncEnumerable<CustomerId> ListMembersAsync(string segment, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(segment);
        var after = string.Empty;
        while (true)
        {
            var page = await database.ReadAsync((segment, after), static async (session, state, ct) =>
            {
                using var command = session.Command(Members).Bind("@segment", state.segment).Bind("@after", state.after).Bind("@page", Page);
                await using var reader = await command.ReaderAsync(ct).ConfigureAwait(false);
                var list = new List<string>(Page);
                while (await reader.ReadAsync(ct).ConfigureAwait(false))
                {
                    list.Add(reader.GetString(0));
                }

                return list;
            }, cancellationToken).ConfigureAwait(false);

            foreach (var id in page)
            {
                yield return new CustomerId(id);
            }

            if (page.Count < Page)
            {
                yield break;
            }

            after = page[^1];
        }
    }

    /// <inheritdoc />
    public async IAsyncEnumerable<SegmentChange> ReadHistoryAsync(CustomerId customerId, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        var changes = await database.ReadAsync(customerId, static async (session, id, ct) =>
        {
            using var command = session.Command(History).Bind("@customer", id.Value);
            await using var reader = await command.ReaderAsync(ct).ConfigureAwait(false);
            var list = new List<SegmentChange>();
            while (await reader.ReadAsync(ct).ConfigureAwait(false))
            {
                list.Add(new SegmentChange
                {
                    CustomerId = id,
                    Segment = reader.GetString(0),
                    Kind = (SegmentChangeKind)reader.GetInt32(1),
                    At = new DateTimeOffset(reader.GetInt64(2), TimeSpan.Zero),
                    Reason = await reader.IsDBNullAsync(3, ct).ConfigureAwait(false) ? null : reader.GetString(3),
                });
            }

            return list;
        }, cancellationToken).ConfigureAwait(false);

        foreach (var change in changes)
        {
            yield return change;
        }
    }

    /// <inheritdoc />
    public ValueTask<IReadOnlyList<CustomerId>> ListDueAsync(DateTimeOffset now, int max, CancellationToken cancellationToken = default)
        => Records.ListDueAsync(database, now, max, cancellationToken);

    /// <inheritdoc />
    public ValueTask<int> EraseSubjectAsync(CustomerId customerId, CancellationToken cancellationToken = default)
        => database.WriteAsync(customerId, static async (session, id, ct) =>
        {
            using var members = session.Command(EraseMembers).Bind("@customer", id.Value);
            using var history = session.Command(EraseHistory).Bind("@customer", id.Value);
            return await Records.DeleteAsync(session, id, ct).ConfigureAwait(false) + await members.ExecuteAsync(ct).ConfigureAwait(false) + await history.ExecuteAsync(ct).ConfigureAwait(false);
        }, cancellationToken);
}
