using Engagement.Sdk.Events;
using Engagement.Sdk.Storage;

namespace Engagement.Sdk.Sqlite.Tests;

/// <summary>
/// Inside a unit of work an append skips the look-up by id when the connection's filter of event keys proves the id new
/// (<see cref="EventKeyFilter"/>): it must never call a stored id new — not one another connection stored, not one this
/// connection stored in work that was rolled back and then stored again.
/// </summary>
public sealed class EventKeyFilterTests : IDisposable
{
    private static readonly DateTimeOffset At = new(2026, 3, 1, 12, 0, 0, TimeSpan.Zero);
    private readonly TemporaryDatabases _databases = new();

    public void Dispose() => _databases.Dispose();

    [Fact]
    public void SurelyAbsent_AddedKeys_NeverAndMostOthersAre()
    {
        var filter = new EventKeyFilter();
        filter.Build([], 0, othersEpoch: 0);
        var random = new Random(7);
        var added = Enumerable.Range(0, 60_000).Select(_ => random.NextInt64(long.MinValue, long.MaxValue)).ToList();
        foreach (var key in added)
        {
            filter.Add(key);
        }

        added.Should().OnlyContain(key => !filter.SurelyAbsent(key), "a key that is in the table must always be looked up");
        var others = Enumerable.Range(0, 60_000).Select(i => EventKey.Of("other-" + i)).ToList();
        others.Count(filter.SurelyAbsent).Should().BeGreaterThan(58_800, "at 16 bits a key, about one new key in 200 needs the look-up");
    }

    [Fact]
    public void IsValid_AfterAnotherConnectionCommitted_False()
    {
        var filter = new EventKeyFilter();
        filter.IsValid(0).Should().BeFalse("not built yet");
        filter.Build([1, 2, 3], 3, othersEpoch: 4);

        filter.IsValid(4).Should().BeTrue();
        filter.IsValid(5).Should().BeFalse("keys another connection inserted are not in it");
    }

    [Fact]
    public void ShouldBuild_FilledUp_GrowsWhileBelowTheLimit()
    {
        var filter = new EventKeyFilter();
        filter.Build([], 0, othersEpoch: 0);
        for (var i = 0; i < 65_536; i++)
        {
            filter.Add(i);
        }

        filter.ShouldBuild(0, () => 65_536).Should().BeFalse("65,536 keys fill the smallest filter exactly");
        filter.Add(-1);
        filter.ShouldBuild(0, () => 65_537).Should().BeTrue();
    }

    [Fact]
    public async Task Append_IdStoredByAnotherConnection_IsADuplicateNotASecondRow()
    {
        var path = _databases.NewPath();
        var (firstDb, secondDb) = (_databases.Open(path), _databases.Open(path));
        var (first, second) = (new SqliteEventStore(firstDb), new SqliteEventStore(secondDb));
        await AppendInUnitsAsync(firstDb, first, Enumerable.Range(0, 1_100).Select(i => View("e" + i))); // enough look-ups to build the filter

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
            (await store.AppendAsync(View("e5"))).Should().Be(AppendOutcome.Duplicate, "stored before the filter was built");
            (await store.AppendAsync(View("e1099"))).Should().Be(AppendOutcome.Duplicate, "stored after it was built");
            (await store.AppendAsync(View("new"))).Should().Be(AppendOutcome.Appended);
            (await store.AppendAsync(View("new"))).Should().Be(AppendOutcome.Duplicate, "stored in this unit");
            await unit.CompleteAsync();
        }

        (await store.ReadAsync(new CustomerId("ann")).CountAsync()).Should().Be(1_101);
        db.EventLookUpsSkipped.Should().BeGreaterThan(90, "the last hundred or so new ids were proven new by the filter");
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
