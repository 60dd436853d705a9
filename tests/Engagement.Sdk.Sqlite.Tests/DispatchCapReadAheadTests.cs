using Engagement.Sdk.Channels;
using Engagement.Sdk.Consent;
using Engagement.Sdk.Storage;

namespace Engagement.Sdk.Sqlite.Tests;

/// <summary>
/// The SQLite cap log's read-ahead answers later lists only inside the unit of work it was read in and only while nothing was
/// written: a write by this store, another unit, or another connection's commit sends the lists back to the database.
/// </summary>
public sealed class DispatchCapReadAheadTests : IDisposable
{
    private static readonly DateTimeOffset T0 = new(2026, 3, 1, 12, 0, 0, TimeSpan.Zero);
    private static readonly CustomerId Ann = new("ann");
    private readonly TemporaryDatabases _databases = new();

    public void Dispose() => _databases.Dispose();

    [Fact]
    public async Task InTheUnit_ListsMatchTheDatabase_AndAWriteIsSeen()
    {
        var database = _databases.Open();
        var store = new SqliteDispatchStore(database);
        await store.TryBeginAsync(Dispatch("a", T0));
        await using var unit = database.Begin();
        await unit.StartAsync();

        await store.ReadAheadCountedAsync([Ann], T0);
        (await store.ListCountedAsync(Ann, T0)).Select(d => d.DispatchId).Should().Equal("a");

        (await store.TryBeginAsync(Dispatch("b", T0.AddMinutes(1)))).Should().BeTrue();
        (await store.ListCountedAsync(Ann, T0)).Select(d => d.DispatchId).Should().BeEquivalentTo(["a", "b"], "the store wrote since the read-ahead");
        await unit.CompleteAsync();
    }

    [Fact]
    public async Task AnotherConnectionsCommit_IsSeenInTheNextUnit()
    {
        var path = _databases.NewPath();
        var database = _databases.Open(path);
        var other = new SqliteDispatchStore(_databases.Open(path));
        var store = new SqliteDispatchStore(database);
        await store.TryBeginAsync(Dispatch("a", T0));
        await using (var unit = database.Begin())
        {
            await unit.StartAsync();
            await store.ReadAheadCountedAsync([Ann], T0);
            (await store.ListCountedAsync(Ann, T0)).Should().ContainSingle();
            await unit.CompleteAsync();
        }

        (await other.TryBeginAsync(Dispatch("b", T0.AddMinutes(1)))).Should().BeTrue();
        await using (var unit = database.Begin())
        {
            await unit.StartAsync();
            (await store.ListCountedAsync(Ann, T0)).Select(d => d.DispatchId).Should().BeEquivalentTo(["a", "b"], "the read-ahead belonged to the unit that ended");
            await unit.CompleteAsync();
        }
    }

    [Fact]
    public async Task ARecordChangedByAnotherConnection_IsReadAsStored_NotAsThisStoreLastWroteIt()
    {
        var path = _databases.NewPath();
        var store = new SqliteDispatchStore(_databases.Open(path));
        var other = new SqliteDispatchStore(_databases.Open(path));
        var queued = Dispatch("a", T0);
        (await store.TryBeginAsync(queued)).Should().BeTrue();
        var begun = await store.GetAsync("a");
        begun!.Attempts.Should().Be(0);

        (await other.TryUpdateAsync(begun with { Attempts = 3, Reason = "transient" }, DispatchStatus.Queued)).Should().BeTrue();

        var read = await store.GetAsync("a");
        read!.Attempts.Should().Be(3, "the row's document changed: the record this store wrote is not used");
        read.Reason.Should().Be("transient");
        (await store.ClaimAsync(T0, "w1", T0.AddMinutes(5), 10)).Should().ContainSingle().Which.Attempts.Should().Be(3);
    }

    private static DispatchRecord Dispatch(string id, DateTimeOffset at) => new()
    {
        DispatchId = id,
        CustomerId = Ann,
        Channel = Channel.Email,
        Purpose = Purpose.Marketing,
        ActionId = "offer",
        CreatedAt = at,
    };
}
