using Engagement.Sdk.Events;
using Engagement.Sdk.Profiles;
using Engagement.Sdk.Storage;
using Engagement.Sdk.Testing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;

namespace Engagement.Sdk.Sqlite.Tests;

/// <summary>
/// Inside a unit of work the SQLite stores answer repeated reads (a profile, a customer's tombstone) from what they read or
/// wrote before, as long as no other connection committed since: two engines on one file, as two processes would be, must
/// each see what the other wrote.
/// </summary>
public sealed class CrossConnectionCacheTests : IDisposable
{
    private static readonly DateTimeOffset Now = new(2026, 6, 1, 12, 0, 0, TimeSpan.Zero);
    private readonly string _directory = Directory.CreateTempSubdirectory("engagement-cache-").FullName;

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    [Fact]
    public async Task TrackBatch_CustomerErasedByAnotherProcess_LaterEventsAreIgnored()
    {
        var path = Path.Combine(_directory, "shop.db");
        await using var first = Provider(path);
        await using var second = Provider(path);
        var engine = first.GetRequiredService<IEngagementEngine>();

        (await engine.TrackBatchAsync([View("e1", "ann")])).Single().Result!.IsErasedSubject.Should().BeFalse();
        await second.GetRequiredService<CustomerErasure>().EraseAsync(new CustomerId("ann"));
        var after = (await engine.TrackBatchAsync([View("e2", "ann")])).Single();

        after.Result!.IsErasedSubject.Should().BeTrue("the tombstone written by the other process must be seen");
        (await second.GetRequiredService<IProfileStore>().GetAsync(new CustomerId("ann"))).Should().BeNull("a late event must not recreate an erased customer");
        (await second.GetRequiredService<IEventStore>().ReadAsync(new CustomerId("ann")).ToListAsync()).Should().BeEmpty();
    }

    [Fact]
    public async Task TrackBatch_ProfileUpdatedByAnotherProcess_BuildsOnTheStoredVersion()
    {
        var path = Path.Combine(_directory, "shop.db");
        await using var first = Provider(path);
        await using var second = Provider(path);

        await first.GetRequiredService<IEngagementEngine>().TrackBatchAsync([View("e1", "ann"), View("e2", "ann")]);
        await second.GetRequiredService<IEngagementEngine>().TrackBatchAsync([View("e3", "ann")]);
        var results = await first.GetRequiredService<IEngagementEngine>().TrackBatchAsync([View("e4", "ann")]);

        results.Single().IsSuccess.Should().BeTrue();
        results.Single().Result!.Profile!.Behaviour.ProductViews.Should().Be(4, "the other process's view is counted, not overwritten");
        var stored = await second.GetRequiredService<IProfileStore>().GetAsync(new CustomerId("ann"));
        stored!.Behaviour.ProductViews.Should().Be(4);
        stored.Version.Should().Be(4);
    }

    [Fact]
    public async Task ConsentRead_LedgerChangedByAnotherProcess_SeesEveryRecord()
    {
        var path = Path.Combine(_directory, "shop.db");
        using var firstDb = new SqliteDatabase(Microsoft.Extensions.Options.Options.Create(new SqliteStoreOptions { ConnectionString = $"Data Source={path}" }));
        using var secondDb = new SqliteDatabase(Microsoft.Extensions.Options.Options.Create(new SqliteStoreOptions { ConnectionString = $"Data Source={path}" }));
        var (first, second) = (new SqliteConsentStore(firstDb), new SqliteConsentStore(secondDb));
        var ann = new CustomerId("ann");

        await first.AppendAsync(Grant("g1", ann));
        (await first.ReadAsync(ann)).Should().ContainSingle();
        await using (var unit = firstDb.Begin())
        {
            (await first.ReadAsync(ann)).Should().ContainSingle("read in a unit: now the cached ledger");
            await unit.CompleteAsync();
        }

        await second.AppendAsync(Grant("w1", ann, Engagement.Sdk.Consent.ConsentStatus.Withdrawn));

        (await first.ReadAsync(ann)).Select(r => r.RecordId).Should().Equal(["g1", "w1"], "outside a unit the other process's append is seen");
        await using (var unit = firstDb.Begin())
        {
            await second.AppendAsync(Grant("g2", ann)); // committed before this unit takes the lock
            (await first.ReadAsync(ann)).Select(r => r.RecordId).Should().Equal(["g1", "w1", "g2"], "a unit sees what was committed before it began");
            await unit.CompleteAsync();
        }

        await using (var unit = firstDb.Begin())
        {
            await first.AppendAsync(Grant("rolled-back", ann));
            (await first.ReadAsync(ann)).Should().HaveCount(4);
        }

        await second.AppendAsync(Grant("g3", ann)); // may take the sequence number the rolled-back record had
        (await first.ReadAsync(ann)).Select(r => r.RecordId).Should().Equal(["g1", "w1", "g2", "g3"]);
        await using (var unit = firstDb.Begin())
        {
            (await first.ReadAsync(ann)).Select(r => r.RecordId).Should().Equal(["g1", "w1", "g2", "g3"]);
            await unit.CompleteAsync();
        }

        await new SqliteConsentStore(secondDb).EraseSubjectAsync(ann);
        (await first.ReadAsync(ann)).Should().BeEmpty("an erasure by the other process is seen");
    }

    [Fact]
    public async Task JourneyRecordRead_WrittenByAnotherProcessOrRolledBack_TheStoredRecordIsRead()
    {
        var path = Path.Combine(_directory, "shop.db");
        using var firstDb = new SqliteDatabase(Microsoft.Extensions.Options.Options.Create(new SqliteStoreOptions { ConnectionString = $"Data Source={path}" }));
        using var secondDb = new SqliteDatabase(Microsoft.Extensions.Options.Options.Create(new SqliteStoreOptions { ConnectionString = $"Data Source={path}" }));
        var first = new Engagement.Sdk.Storage.Relational.RelationalJourneyStore(firstDb);
        var second = new Engagement.Sdk.Storage.Relational.RelationalJourneyStore(secondDb);
        var ann = new CustomerId("ann");

        var saved = await first.SaveAsync(new Engagement.Sdk.Journeys.JourneyRecord { CustomerId = ann });
        await using (var unit = firstDb.Begin())
        {
            (await first.GetAsync(ann))!.Version.Should().Be(1);
            (await first.GetAsync(ann)).Should().BeSameAs(await first.GetAsync(ann), "inside a unit the record is read once");
            await unit.CompleteAsync();
        }

        await second.SaveAsync(saved); // version 2, committed before the next unit takes the lock
        await using (var unit = firstDb.Begin())
        {
            (await first.GetAsync(ann))!.Version.Should().Be(2, "the other process's save is seen");
            (await first.SaveAsync((await first.GetAsync(ann))!)).Version.Should().Be(3);
            (await first.GetAsync(ann))!.Version.Should().Be(3, "the unit reads its own write");
        }

        await using (var unit = firstDb.Begin())
        {
            (await first.GetAsync(ann))!.Version.Should().Be(2, "the save of a unit rolled back is not served");
            await unit.CompleteAsync();
        }

        await second.EraseSubjectAsync(ann);
        await using (var unit = firstDb.Begin())
        {
            (await first.GetAsync(ann)).Should().BeNull("an erasure by the other process is seen");
            await unit.CompleteAsync();
        }
    }

    [Fact]
    public async Task ConsentAppend_AfterAReadInTheUnit_LaterReadsReturnWhatTheTableHolds()
    {
        var path = Path.Combine(_directory, "shop.db");
        using var firstDb = new SqliteDatabase(Microsoft.Extensions.Options.Options.Create(new SqliteStoreOptions { ConnectionString = $"Data Source={path}" }));
        using var secondDb = new SqliteDatabase(Microsoft.Extensions.Options.Options.Create(new SqliteStoreOptions { ConnectionString = $"Data Source={path}" }));
        var (first, second) = (new SqliteConsentStore(firstDb), new SqliteConsentStore(secondDb));
        var ann = new CustomerId("ann");
        await first.AppendAsync(Grant("g1", ann));

        await using (var unit = firstDb.Begin())
        {
            (await first.ReadAsync(ann)).Should().ContainSingle();
            await first.AppendAsync(Grant("g2", ann) with { RecordedAt = Now.AddSeconds(1) });
            await first.AppendAsync(Grant("w1", ann, Engagement.Sdk.Consent.ConsentStatus.Withdrawn) with { RecordedAt = Now.AddSeconds(2) });
            (await first.ReadAsync(ann)).Select(r => r.RecordId).Should().Equal(["g1", "g2", "w1"], "the unit's appends follow what it read, in order");
            await unit.CompleteAsync();
        }

        var stored = await second.ReadAsync(ann);
        await using (var unit = firstDb.Begin())
        {
            (await first.ReadAsync(ann)).Should().Equal(stored, "the ledger kept through the appends is the stored one, record for record");
            await unit.CompleteAsync();
        }

        await second.AppendAsync(Grant("g3", ann));
        await using (var unit = firstDb.Begin())
        {
            (await first.ReadAsync(ann)).Select(r => r.RecordId).Should().Equal(["g1", "g2", "w1", "g3"], "another process's append after the unit is seen");
            await unit.CompleteAsync();
        }

        await using (var unit = firstDb.Begin())
        {
            (await first.ReadAsync(ann)).Should().HaveCount(4);
            var nested = firstDb.Begin();
            await using (nested)
            {
                await first.AppendAsync(Grant("rolled-back", ann));
            }

            (await first.ReadAsync(ann)).Select(r => r.RecordId).Should().Equal(["g1", "g2", "w1", "g3"], "an append rolled back with its savepoint is not kept");
            await unit.CompleteAsync();
        }
    }

    private static Engagement.Sdk.Consent.ConsentRecord Grant(string id, CustomerId customer, Engagement.Sdk.Consent.ConsentStatus status = Engagement.Sdk.Consent.ConsentStatus.Granted) => new()
    {
        RecordId = id, CustomerId = customer, Channel = Engagement.Sdk.Channels.Channel.Email, Purpose = Engagement.Sdk.Consent.Purpose.Marketing,
        Identifier = Identifier.Email("ann@example.com"), Status = status, Source = "signup",
        Evidence = new Engagement.Sdk.Consent.ConsentEvidence("v1", "form"), EffectiveAt = Now,
    };

    [Fact]
    public async Task TrackBatch_RepeatedCustomerInOneBatch_EachEventBuildsOnTheLast()
    {
        await using var provider = Provider(Path.Combine(_directory, "shop.db"));
        var engine = provider.GetRequiredService<IEngagementEngine>();

        var results = await engine.TrackBatchAsync(Enumerable.Range(0, 5).Select(i => View("e" + i, i % 2 == 0 ? "ann" : "bob")));

        results.Select(r => r.Result!.Profile!.Behaviour.ProductViews).Should().Equal(1, 1, 2, 2, 3);
        var fresh = new SqliteProfileStore(new SqliteDatabase(Microsoft.Extensions.Options.Options.Create(new SqliteStoreOptions { ConnectionString = $"Data Source={Path.Combine(_directory, "shop.db")}" })));
        (await fresh.GetAsync(new CustomerId("ann")))!.Behaviour.ProductViews.Should().Be(3);
        (await fresh.GetAsync(new CustomerId("bob")))!.Behaviour.ProductViews.Should().Be(2);
    }

    private static ServiceProvider Provider(string path)
    {
        var services = new ServiceCollection();
        services.AddSingleton<TimeProvider>(new FakeTimeProvider(Now));
        services.AddEngagement(o => o.DecisionTriggers.Clear()).UseSqlite(o => (o.ConnectionString, o.BusyTimeout) = ($"Data Source={path}", TimeSpan.FromSeconds(30)));
        return services.BuildServiceProvider();
    }

    private static ProductViewed View(string id, string customer)
        => new() { EventId = id, CustomerId = new CustomerId(customer), Timestamp = Now.AddMinutes(-1), ProductId = "boots" };
}
