using Engagement.Sdk.Events;
using Engagement.Sdk.Storage;

namespace Engagement.Sdk.Sqlite.Tests;

/// <summary>
/// Appends inside units of work, where the SQLite stores answer from what the connection read or wrote before: a stored id
/// is never taken for a new one — not one another connection stored, not one stored earlier on this connection, and an id
/// whose first append was rolled back is stored once.
/// </summary>
public sealed class SqliteEventAppendTests : IDisposable
{
    private static readonly DateTimeOffset At = new(2026, 3, 1, 12, 0, 0, TimeSpan.Zero);
    private readonly TemporaryDatabases _databases = new();

    public void Dispose() => _databases.Dispose();

    [Fact]
    public async Task Append_IdStoredByAnotherConnection_IsADuplicateNotASecondRow()
    {
        var path = _databases.NewPath();
        var (firstDb, secondDb) = (_databases.Open(path), _databases.Open(path));
        var (first, second) = (new SqliteEventStore(firstDb), new SqliteEventStore(secondDb));
        await AppendInUnitsAsync(firstDb, first, Enumerable.Range(0, 1_100).Select(i => View("e" + i)));

        await second.AppendAsync(View("shared"));
        await using (var unit = firstDb.Begin())
        {
            (await first.AppendAsync(View("shared"))).Should().Be(AppendOutcome.Duplicate);
            await first.Invoking(s => s.AppendAsync(View("shared", "other-product")).AsTask()).Should().ThrowAsync<EventConflictException>();
            await unit.CompleteAsync();
        }

        (await first.ReadAsync(new CustomerId("ann")).CountAsync()).Should().Be(1_101);
    }

    [Fact]
    public async Task Append_SameIdInLaterUnitsOfOneConnection_IsADuplicate()
    {
        var db = _databases.Open();
        var store = new SqliteEventStore(db);
        await AppendInUnitsAsync(db, store, Enumerable.Range(0, 1_100).Select(i => View("e" + i)));

        await using (var unit = db.Begin())
        {
            (await store.AppendAsync(View("e5"))).Should().Be(AppendOutcome.Duplicate, "stored in an earlier unit");
            (await store.AppendAsync(View("e1099"))).Should().Be(AppendOutcome.Duplicate, "stored in the last earlier unit");
            (await store.AppendAsync(View("new"))).Should().Be(AppendOutcome.Appended);
            (await store.AppendAsync(View("new"))).Should().Be(AppendOutcome.Duplicate, "stored in this unit");
            await unit.CompleteAsync();
        }

        (await store.ReadAsync(new CustomerId("ann")).CountAsync()).Should().Be(1_101);
    }

    [Fact]
    public async Task Append_AfterTheFirstWasRolledBack_IsStoredOnce()
    {
        var db = _databases.Open();
        var store = new SqliteEventStore(db);
        await AppendInUnitsAsync(db, store, Enumerable.Range(0, 1_100).Select(i => View("e" + i)));

        await using (var unit = db.Begin())
        {
            (await store.AppendAsync(View("late"))).Should().Be(AppendOutcome.Appended);
        } // not completed: rolled back

        await using (var unit = db.Begin())
        {
            (await store.AppendAsync(View("late"))).Should().Be(AppendOutcome.Appended, "the rolled-back row is gone");
            (await store.AppendAsync(View("late"))).Should().Be(AppendOutcome.Duplicate);
            await unit.CompleteAsync();
        }

        (await store.ReadAsync(new CustomerId("ann")).Where(e => e.EventId == "late").CountAsync()).Should().Be(1);
    }

    private static async Task AppendInUnitsAsync(SqliteDatabase db, SqliteEventStore store, IEnumerable<EngagementEvent> events)
    {
        foreach (var chunk in events.Chunk(100))
        {
            await using var unit = db.Begin();
            foreach (var e in chunk)
            {
                (await store.AppendAsync(e)).Should().Be(AppendOutcome.Appended);
            }

            await unit.CompleteAsync();
        }
    }

    private static ProductViewed View(string id, string product = "p1")
        => new() { EventId = id, CustomerId = new CustomerId("ann"), Timestamp = At, ProductId = product };
}
