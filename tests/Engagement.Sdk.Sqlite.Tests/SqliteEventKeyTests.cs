using Engagement.Sdk.Events;
using Engagement.Sdk.Profiles;
using Engagement.Sdk.Serialization;
using Engagement.Sdk.Storage;
using Microsoft.Data.Sqlite;

namespace Engagement.Sdk.Sqlite.Tests;

/// <summary>
/// Schema versions 4 and 5: events are found by a 64-bit key of their id (<see cref="EventKey"/>) in a unique index; files of
/// versions 3 and 4 are migrated when they are opened, and two ids under one key stay two events, each stored once — also
/// after a rollback, a purge or an erasure of the one that held the key.
/// </summary>
public sealed class SqliteEventKeyTests : IDisposable
{
    private static readonly DateTimeOffset At = new(2026, 3, 1, 12, 0, 0, TimeSpan.Zero);
    private static readonly CustomerId Ann = new("ann");
    private static readonly CustomerId Bob = new("bob");

    // Two ids under one key (see Of_TwoIdsFromACounter_CanShareAKey).
    private const string First = "order-001343";
    private const string Second = "order-001387";

    private readonly TemporaryDatabases _databases = new();

    public void Dispose() => _databases.Dispose();

    private static ProductViewed View(string id, string product = "p1", DateTimeOffset? at = null)
        => new() { EventId = id, CustomerId = Ann, Timestamp = at ?? At, ProductId = product };

    // Each stored event's id and key, in the order of arrival, read on the database's own connection.
    private static List<(string Id, long? Key)> Keys(SqliteDatabase db)
        => db.RunAsync(
            static d =>
            {
                var rows = new List<(string, long?)>();
                using var reader = d.Command("SELECT event_id, id_key FROM events ORDER BY seq").ExecuteReader();
                while (reader.Read())
                {
                    rows.Add((reader.GetString(0), reader.IsDBNull(1) ? null : reader.GetInt64(1)));
                }

                return rows;
            },
            CancellationToken.None).AsTask().GetAwaiter().GetResult();

    [Fact]
    public void Of_KnownIds_KeepTheKeysStoredByEarlierVersions()
    {
        // The key is stored: a change of the function would make every stored event unfindable by its id.
        EventKey.Of("e12345").Should().Be(-923085135001482600);
        EventKey.Of("ab").Should().Be(-1166397803176804892);
        EventKey.Of("order-2026-0001").Should().Be(-2089190363080829173);
    }

    [Fact]
    public void Of_IdsFromACounter_ShareTheKeysHighBitsAndDifferInTheLow()
    {
        var keys = Enumerable.Range(12_000, 1_000).Select(i => EventKey.Of("e" + i)).ToList();
        keys.Select(k => k >> 24).Distinct().Should().ContainSingle("ids that differ in their last three characters share the high 40 bits");
        keys.Distinct().Should().HaveCount(1_000);
    }

    [Fact]
    public async Task Open_Version3File_EventsAreKeptFoundByIdAndStillExactlyOnce()
    {
        var events = Enumerable.Range(0, 5)
            .Select(i => (EngagementEvent)new ProductViewed { EventId = "old-" + i, CustomerId = new CustomerId(i % 2 == 0 ? "ann" : "bob"), Timestamp = At.AddMinutes(i), ProductId = "p" + i })
            .ToList();

        // What version 3 wrote: the events keyed by their id's text, with its indexes.
        var path = await OlderFileAsync(
            """
            DROP TABLE events;
            CREATE TABLE events (event_id TEXT NOT NULL PRIMARY KEY, customer_id TEXT NOT NULL, ts INTEGER NOT NULL, document TEXT NOT NULL);
            CREATE INDEX events_by_customer ON events (customer_id, ts, event_id);
            CREATE INDEX events_by_time ON events (ts, event_id);
            UPDATE schema_version SET version = 3;
            """,
            events,
            keyed: false);

        var store = new SqliteEventStore(_databases.Open(path));
        (await store.ReadAsync(new CustomerId("ann")).Select(e => e.EventId).ToListAsync()).Should().Equal("old-0", "old-2", "old-4");
        (await store.ReadRangeAsync(At, At.AddHours(1)).Select(e => e.EventId).ToListAsync()).Should().Equal(events.Select(e => e.EventId));
        (await store.AppendAsync(events[3])).Should().Be(AppendOutcome.Duplicate, "an event stored before the migration is still found by its id");
        var changed = (ProductViewed)events[3] with { ProductId = "other" };
        await FluentActions.Awaiting(() => store.AppendAsync(changed).AsTask()).Should().ThrowAsync<EventConflictException>();
        (await store.AppendAsync(events[3] with { EventId = "new-1" })).Should().Be(AppendOutcome.Appended);

        using var check = new SqliteConnection($"Data Source={path};Pooling=False");
        check.Open();
        using var query = check.CreateCommand();
        query.CommandText = "SELECT version FROM schema_version";
        Convert.ToInt32(query.ExecuteScalar(), System.Globalization.CultureInfo.InvariantCulture).Should().Be(SqliteDatabase.SchemaVersion);
        query.CommandText = "SELECT \"unique\" FROM pragma_index_list('events') WHERE name = 'events_by_id'";
        query.ExecuteScalar().Should().Be(1L);
        query.CommandText = "SELECT group_concat(name, ',') FROM (SELECT name FROM pragma_index_info('events_by_customer') ORDER BY seqno)";
        query.ExecuteScalar().Should().Be("customer_id,ts");
        query.CommandText = "SELECT group_concat(name, ',') FROM (SELECT name FROM pragma_index_info('events_by_id') ORDER BY seqno)";
        query.ExecuteScalar().Should().Be("id_key");
        query.CommandText = "SELECT count(*) FROM events WHERE event_id = 'old-1' AND id_key = $key";
        query.Parameters.AddWithValue("$key", EventKey.Of("old-1"));
        Convert.ToInt32(query.ExecuteScalar(), System.Globalization.CultureInfo.InvariantCulture).Should().Be(1, "the migration computes each stored id's key");
    }

    [Fact]
    public void Of_TwoIdsFromACounter_CanShareAKey()
    {
        // The pair the tests below store: ids that differ in their last three characters share the high 40 bits of their
        // keys, so two in a few thousand share a key.
        EventKey.Of(First).Should().Be(EventKey.Of(Second));
        var keys = Enumerable.Range(0, 100_000).Select(i => EventKey.Of("order-" + i.ToString("D6", System.Globalization.CultureInfo.InvariantCulture))).ToList();
        keys.Distinct().Count().Should().BeLessThan(keys.Count);
    }

    [Fact]
    public async Task Append_TwoIdsSharingAKey_AreTwoEventsEachStoredOnce()
    {
        var db = _databases.Open();
        var store = new SqliteEventStore(db);
        (await store.AppendAsync(View(First))).Should().Be(AppendOutcome.Appended);
        (await store.AppendAsync(View(Second))).Should().Be(AppendOutcome.Appended, "the key is held by another id");
        (await store.AppendAsync(View(First))).Should().Be(AppendOutcome.Duplicate);
        (await store.AppendAsync(View(Second))).Should().Be(AppendOutcome.Duplicate);
        await FluentActions.Awaiting(() => store.AppendAsync(View(First, "other")).AsTask()).Should().ThrowAsync<EventConflictException>();
        await FluentActions.Awaiting(() => store.AppendAsync(View(Second, "other")).AsTask()).Should().ThrowAsync<EventConflictException>();
        await using (var unit = db.Begin())
        {
            (await store.AppendAsync(View(First))).Should().Be(AppendOutcome.Duplicate);
            (await store.AppendAsync(View(Second))).Should().Be(AppendOutcome.Duplicate);
            await FluentActions.Awaiting(() => store.AppendAsync(View(Second, "other")).AsTask()).Should().ThrowAsync<EventConflictException>();
            await unit.CompleteAsync();
        }

        (await store.ReadAsync(Ann).Select(e => e.EventId).ToListAsync()).Should().BeEquivalentTo([First, Second]);
        Keys(db).Should().Equal((First, EventKey.Of(First)), (Second, null));
    }

    [Fact]
    public async Task Append_InAUnitAfterASavepointWithTheSecondIdWasRolledBack_StoresItOnce()
    {
        var db = _databases.Open();
        var store = new SqliteEventStore(db);
        await using (var unit = db.Begin())
        {
            (await store.AppendAsync(View(First))).Should().Be(AppendOutcome.Appended);
            await using (var nested = db.Begin())
            {
                (await store.AppendAsync(View(Second))).Should().Be(AppendOutcome.Appended);
                (await store.AppendAsync(View(Second))).Should().Be(AppendOutcome.Duplicate);
            } // not completed: rolled back to its savepoint

            (await store.AppendAsync(View(Second, "p2"))).Should().Be(AppendOutcome.Appended, "the rolled-back row is gone");
            (await store.AppendAsync(View(Second, "p2"))).Should().Be(AppendOutcome.Duplicate);
            (await store.AppendAsync(View(First))).Should().Be(AppendOutcome.Duplicate);
            await unit.CompleteAsync();
        }

        (await store.ReadAsync(Ann).Select(e => (e.EventId, ((ProductViewed)e).ProductId)).ToListAsync()).Should().BeEquivalentTo([(First, "p1"), (Second, "p2")]);
    }

    [Fact]
    public async Task Append_AfterThePurgeOfTheIdThatHeldTheKey_FindsTheOtherIdStillStored()
    {
        var db = _databases.Open();
        var store = new SqliteEventStore(db);
        (await store.AppendAsync(View(First))).Should().Be(AppendOutcome.Appended);
        (await store.AppendAsync(View(Second, at: At.AddDays(1)))).Should().Be(AppendOutcome.Appended);

        (await store.PurgeBeforeAsync(At.AddHours(1))).Should().Be(1);

        Keys(db).Should().Equal([(Second, EventKey.Of(Second))], "the row stored without its key takes the key the purge freed");
        (await store.AppendAsync(View(Second, at: At.AddDays(1)))).Should().Be(AppendOutcome.Duplicate);
        await FluentActions.Awaiting(() => store.AppendAsync(View(Second, "other", At.AddDays(1))).AsTask()).Should().ThrowAsync<EventConflictException>();
        (await store.AppendAsync(View(First))).Should().Be(AppendOutcome.Appended, "the purged event is gone");
        (await store.ReadAsync(Ann).Select(e => e.EventId).ToListAsync()).Should().Equal(First, Second);
    }

    [Fact]
    public async Task Append_AfterTheErasureOfTheCustomerWhoseIdHeldTheKey_FindsTheOtherIdStillStored()
    {
        var db = _databases.Open();
        var store = new SqliteEventStore(db);
        (await store.AppendAsync(View(First))).Should().Be(AppendOutcome.Appended);
        (await store.AppendAsync(View(Second) with { CustomerId = Bob })).Should().Be(AppendOutcome.Appended);

        await using (var unit = db.Begin())
        {
            (await store.EraseSubjectAsync(Ann)).Should().Be(1);
            (await store.AppendAsync(View(Second) with { CustomerId = Bob })).Should().Be(AppendOutcome.Duplicate, "inside the erasure's unit too");
            await unit.CompleteAsync();
        }

        (await store.AppendAsync(View(Second) with { CustomerId = Bob })).Should().Be(AppendOutcome.Duplicate);
        (await store.ReadAsync(Bob).CountAsync()).Should().Be(1);
        Keys(db).Should().Equal([(Second, EventKey.Of(Second))]);
    }

    [Fact]
    public async Task Open_Version4FileWithTwoIdsUnderOneKey_TheFirstKeepsTheKeyAndEachIsFoundOnce()
    {
        // What version 4 wrote: the key in a non-unique index, the two ids that share it in two rows under it.
        var path = await OlderFileAsync(
            """
            DROP TABLE events;
            CREATE TABLE events (seq INTEGER PRIMARY KEY, id_key INTEGER NOT NULL, event_id TEXT NOT NULL, customer_id TEXT NOT NULL, ts INTEGER NOT NULL, document TEXT NOT NULL);
            CREATE INDEX events_by_id ON events (id_key);
            CREATE INDEX events_by_customer ON events (customer_id, ts);
            CREATE INDEX events_by_time ON events (ts);
            UPDATE schema_version SET version = 4;
            """,
            [View(First), View(Second), View("order-000001")],
            keyed: true);

        var db = _databases.Open(path);
        var store = new SqliteEventStore(db);
        foreach (var id in new[] { First, Second, "order-000001" })
        {
            (await store.AppendAsync(View(id))).Should().Be(AppendOutcome.Duplicate, $"{id} was stored before the migration");
        }

        await FluentActions.Awaiting(() => store.AppendAsync(View(Second, "other")).AsTask()).Should().ThrowAsync<EventConflictException>();
        (await store.ReadAsync(Ann).Select(e => e.EventId).ToListAsync()).Should().BeEquivalentTo([First, Second, "order-000001"]);
        Keys(db).Should().Equal((First, EventKey.Of(First)), (Second, null), ("order-000001", EventKey.Of("order-000001")));
    }

    [Fact]
    public async Task Append_AnotherIdStoredUnderTheSameKey_IsNotMistakenForIt()
    {
        var path = _databases.NewPath();
        var store = new SqliteEventStore(_databases.Open(path));
        var first = new ProductViewed { EventId = "first", CustomerId = new CustomerId("ann"), Timestamp = At, ProductId = "p1" };
        (await store.AppendAsync(first)).Should().Be(AppendOutcome.Appended);

        // Two ids under one key are rare (64 bits); forge one by giving the stored event the key of the next id.
        using (var connection = new SqliteConnection($"Data Source={path};Pooling=False"))
        {
            connection.Open();
            using var command = connection.CreateCommand();
            command.CommandText = "UPDATE events SET id_key = $key WHERE event_id = 'first'";
            command.Parameters.AddWithValue("$key", EventKey.Of("second"));
            command.ExecuteNonQuery().Should().Be(1);
        }

        var reopened = new SqliteEventStore(_databases.Open(path));
        var second = first with { EventId = "second", ProductId = "p2" };
        (await reopened.AppendAsync(second)).Should().Be(AppendOutcome.Appended, "an event of another id under the same key is not this one");
        (await reopened.AppendAsync(second)).Should().Be(AppendOutcome.Duplicate);
        await FluentActions.Awaiting(() => reopened.AppendAsync(second with { ProductId = "p3" }).AsTask()).Should().ThrowAsync<EventConflictException>();
        (await reopened.ReadAsync(new CustomerId("ann")).Select(e => e.EventId).ToListAsync()).Should().BeEquivalentTo(["first", "second"]);
    }

    // A file as an older schema version left it: made by this version, then its events table replaced by the older one's
    // (schema, which also sets the version), holding the events (with their key column where the older table had one).
    private async Task<string> OlderFileAsync(string schema, IEnumerable<EngagementEvent> events, bool keyed)
    {
        var path = _databases.NewPath();
        using (var created = _databases.Open(path))
        {
            (await new SqliteEventStore(created).ReadRangeAsync(At, At.AddHours(1)).ToListAsync()).Should().BeEmpty(); // creates the file
        }

        using var connection = new SqliteConnection($"Data Source={path};Pooling=False");
        connection.Open();
        using var command = connection.CreateCommand();
        command.CommandText = schema;
        command.ExecuteNonQuery();
        foreach (var e in events)
        {
            command.CommandText = keyed
                ? "INSERT INTO events (id_key, event_id, customer_id, ts, document) VALUES ($key, $id, $customer, $ts, $doc)"
                : "INSERT INTO events (event_id, customer_id, ts, document) VALUES ($id, $customer, $ts, $doc)";
            command.Parameters.Clear();
            if (keyed)
            {
                command.Parameters.AddWithValue("$key", EventKey.Of(e.EventId));
            }

            command.Parameters.AddWithValue("$id", e.EventId);
            command.Parameters.AddWithValue("$customer", e.CustomerId.Value);
            command.Parameters.AddWithValue("$ts", e.Timestamp.UtcTicks);
            command.Parameters.AddWithValue("$doc", System.Text.Json.JsonSerializer.Serialize(e, EngagementJsonContext.Default.EngagementEvent));
            command.ExecuteNonQuery();
        }

        return path;
    }
}
