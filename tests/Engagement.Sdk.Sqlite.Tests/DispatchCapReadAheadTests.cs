using Engagement.Sdk.Channels;
using Engagement.Sdk.Consent;
using Engagement.Sdk.Storage;

namespace Engagement.Sdk.Sqlite.Tests;

/// <summary>
/// The SQLite cap log answers lists from what it read (ahead or before) only inside a unit of work and only while it is what
/// the table holds: the writes of the stores on the database are applied to it, and a rollback or another connection's
/// commit sends the lists back to the table.
/// </summary>
public sealed class DispatchCapReadAheadTests : IDisposable
{
    private static readonly DateTimeOffset T0 = new(2026, 3, 1, 12, 0, 0, TimeSpan.Zero);
    private static readonly CustomerId Ann = new("ann");
    private static readonly DispatchStatus[] Settled = [DispatchStatus.Sent, DispatchStatus.Cancelled, DispatchStatus.Queued, DispatchStatus.DeadLettered];
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
    public async Task AListHandedOut_StaysAsItWas_WhileLaterWritesChangeTheNextOne()
    {
        var database = _databases.Open();
        var store = new SqliteDispatchStore(database);
        await store.TryBeginAsync(Dispatch("a", T0));
        await store.TryBeginAsync(Dispatch("b", T0.AddMinutes(1)));
        await using var unit = database.Begin();
        await unit.StartAsync();

        var first = await store.ListCountedAsync(Ann, T0);
        first.Select(d => d.DispatchId).Should().BeEquivalentTo(["a", "b"]);

        // Claimed and sent: still counted as it was.
        var claimed = await store.ClaimAsync(T0.AddMinutes(2), "w", T0.AddMinutes(7), 1);
        claimed.Select(d => d.DispatchId).Should().Equal("a");
        (await store.TrySettleAsync(claimed[0] with { Status = DispatchStatus.Sent, LeaseOwner = null, LeaseUntil = null, CompletedAt = T0.AddMinutes(2) }, "w")).Should().BeTrue();
        (await store.ListCountedAsync(Ann, T0)).Select(d => d.DispatchId).Should().BeEquivalentTo(["a", "b"]);

        // Cancelled: no longer counted, in the lists handed out from now on only.
        var next = await store.ClaimAsync(T0.AddMinutes(2), "w", T0.AddMinutes(7), 1);
        (await store.TrySettleAsync(next[0] with { Status = DispatchStatus.Cancelled, LeaseOwner = null, LeaseUntil = null, CompletedAt = T0.AddMinutes(2) }, "w")).Should().BeTrue();
        (await store.ListCountedAsync(Ann, T0)).Select(d => d.DispatchId).Should().Equal("a");
        first.Select(d => d.DispatchId).Should().BeEquivalentTo(["a", "b"], "a list already handed out is not changed under its reader");

        // A later start drops what fell out of the window from later lists only.
        var before = await store.ListCountedAsync(Ann, T0);
        (await store.ListCountedAsync(Ann, T0.AddSeconds(1))).Should().BeEmpty();
        before.Select(d => d.DispatchId).Should().Equal("a");
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

    [Fact]
    public async Task WhatLaterUnitsList_FollowsThisStoresWrites_AndForgetsWhatWasRolledBack()
    {
        var path = _databases.NewPath();
        var database = _databases.Open(path);
        var store = new SqliteDispatchStore(database);
        var truth = new SqliteDispatchStore(_databases.Open(path));
        await store.TryBeginAsync(Dispatch("a", T0));
        await store.TryBeginAsync(Dispatch("b", T0.AddMinutes(1)));
        await InUnitAsync(async () => (await store.ListCountedAsync(Ann, T0)).Should().HaveCount(2));

        // Claimed and settled in other units: the cancelled one no longer counts, the sent one does.
        var claimed = await store.ClaimAsync(T0.AddMinutes(2), "w1", T0.AddMinutes(7), 10);
        claimed.Should().HaveCount(2);
        await InUnitAsync(async () =>
        {
            (await store.TrySettleAsync(claimed[0] with { Status = DispatchStatus.Cancelled, DueAt = null, LeaseOwner = null, LeaseUntil = null }, "w1")).Should().BeTrue();
            (await store.TrySettleAsync(claimed[1] with { Status = DispatchStatus.Sent, DueAt = null, LeaseOwner = null, LeaseUntil = null }, "w1")).Should().BeTrue();
        });
        await InUnitAsync(async () => (await store.ListCountedAsync(Ann, T0)).Select(d => d.DispatchId).Should().Equal("b"));

        // A write in a unit that is rolled back is forgotten.
        await using (var unit = database.Begin())
        {
            await unit.StartAsync();
            (await store.TryBeginAsync(Dispatch("c", T0.AddMinutes(3)))).Should().BeTrue();
            (await store.ListCountedAsync(Ann, T0)).Select(d => d.DispatchId).Should().BeEquivalentTo(["b", "c"]);
        }

        await InUnitAsync(async () => (await store.ListCountedAsync(Ann, T0)).Select(d => d.DispatchId).Should().Equal("b"));
        (await truth.ListCountedAsync(Ann, T0)).Select(d => d.DispatchId).Should().Equal("b");

        // Erasure empties it.
        await InUnitAsync(async () => await store.EraseSubjectAsync(Ann));
        await InUnitAsync(async () => (await store.ListCountedAsync(Ann, T0)).Should().BeEmpty());

        async Task InUnitAsync(Func<Task> work)
        {
            await using var unit = database.Begin();
            await unit.StartAsync();
            await work();
            await unit.CompleteAsync();
        }
    }

    [Fact]
    public async Task AnyMixOfWritesUnitsAndConnections_ListsWhatTheTableHolds()
    {
        var path = _databases.NewPath();
        var database = _databases.Open(path);
        var store = new SqliteDispatchStore(database);
        var otherDatabase = _databases.Open(path);
        var other = new SqliteDispatchStore(otherDatabase);
        var customers = new[] { new CustomerId("ann"), new CustomerId("bob"), new CustomerId("cy") };
        var random = new Random(20);
        var next = 0;
        for (var step = 0; step < 300; step++)
        {
            var now = T0.AddMinutes(step);
            var writer = random.Next(5) == 0 ? other : store;
            var customer = customers[random.Next(customers.Length)];
            var inUnit = random.Next(2) == 0;
            var commit = random.Next(4) != 0;
            IUnitOfWork? unit = inUnit ? (writer == store ? database : otherDatabase).Begin() : null;
            try
            {
                if (unit is not null)
                {
                    await unit.StartAsync();
                }

                switch (random.Next(4))
                {
                    case 0:
                        await writer.TryBeginAsync(Dispatch("d" + next++, now) with { CustomerId = customer, Status = random.Next(3) == 0 ? DispatchStatus.Held : DispatchStatus.Queued });
                        break;
                    case 1:
                        foreach (var claimed in await writer.ClaimAsync(now, "w", now.AddMinutes(5), 3))
                        {
                            var status = Settled[random.Next(Settled.Length)];
                            var settled = claimed with { Status = status, DueAt = status == DispatchStatus.Queued ? now.AddMinutes(1) : null, LeaseOwner = null, LeaseUntil = null };
                            await writer.TrySettleAsync(settled, "w");
                        }

                        break;
                    case 2:
                        await foreach (var held in writer.ListByStatusAsync(DispatchStatus.Held))
                        {
                            await writer.TryUpdateAsync(held with { Status = DispatchStatus.Queued, DueAt = now }, DispatchStatus.Held);
                            break;
                        }

                        break;
                    default:
                        if (random.Next(10) == 0)
                        {
                            await writer.EraseSubjectAsync(customer);
                        }

                        break;
                }

                // What this store lists inside a unit (from its cache where it holds) is what the table holds.
                if (unit is not null && writer == store)
                {
                    var since = now.AddMinutes(-random.Next(0, 200));
                    var listed = await store.ListCountedAsync(customer, since);
                    if (random.Next(2) == 0)
                    {
                        await store.ReadAheadCountedAsync(customers, since);
                    }

                    listed.Select(d => d.DispatchId).Should().BeEquivalentTo((await store.ListCountedAsync(customer, since)).Select(d => d.DispatchId));
                }

                if (unit is not null && commit)
                {
                    await unit.CompleteAsync();
                }
            }
            finally
            {
                if (unit is not null)
                {
                    await unit.DisposeAsync();
                }
            }

            foreach (var c in customers)
            {
                var since = now.AddMinutes(-random.Next(0, 400));
                var expected = (await other.ListCountedAsync(c, since)).Select(d => d.DispatchId).ToList();
                await using var check = database.Begin();
                await check.StartAsync();
                (await store.ListCountedAsync(c, since)).Select(d => d.DispatchId).Should().BeEquivalentTo(expected, $"step {step}, customer {c.Value}");
                await check.CompleteAsync();
            }
        }
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
