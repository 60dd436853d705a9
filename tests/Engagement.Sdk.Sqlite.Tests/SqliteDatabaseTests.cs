using Engagement.Sdk.Channels;
using Engagement.Sdk.Consent;
using Engagement.Sdk.Events;
using Engagement.Sdk.Profiles;
using Engagement.Sdk.Storage;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace Engagement.Sdk.Sqlite.Tests;

public sealed class SqliteDatabaseTests : IDisposable
{
    private readonly TemporaryDatabases _databases = new();

    public void Dispose() => _databases.Dispose();

    [Fact]
    public async Task ProfileCache_AnotherProcessWrites_TheNewVersionIsRead()
    {
        var path = _databases.NewPath();
        var mine = new SqliteProfileStore(_databases.Open(path));
        var theirs = new SqliteProfileStore(_databases.Open(path));
        var saved = await mine.SaveAsync(CustomerProfile.New(new CustomerId("c1")).WithTrait("plan", TraitValue.Of("gold")));
        (await mine.GetAsync(saved.Id))!.Traits["plan"].AsString().Should().Be("gold");

        await theirs.SaveAsync((await theirs.GetAsync(saved.Id))!.WithTrait("plan", TraitValue.Of("silver")));

        (await mine.GetAsync(saved.Id))!.Traits["plan"].AsString().Should().Be("silver");
    }

    [Fact]
    public async Task ProfileCache_WriteRolledBackThenTheSameVersionWrittenElsewhere_TheStoredOneIsRead()
    {
        var path = _databases.NewPath();
        var database = _databases.Open(path);
        var mine = new SqliteProfileStore(database);
        var theirs = new SqliteProfileStore(_databases.Open(path));
        var v1 = await mine.SaveAsync(CustomerProfile.New(new CustomerId("c1")));

        var unit = database.Begin();
        await using (unit)
        {
            await mine.SaveAsync(v1.WithTrait("plan", TraitValue.Of("rolled-back")));
        }

        await theirs.SaveAsync(v1.WithTrait("plan", TraitValue.Of("theirs")));

        var read = await mine.GetAsync(v1.Id);
        read!.Version.Should().Be(2);
        read.Traits["plan"].AsString().Should().Be("theirs", "a rolled-back write must not be served from the cache under the version another writer took");
    }

    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    public async Task WalAutoCheckpointPages_DecidesWhenCommitsReachTheDatabaseFile(int pages)
    {
        var path = _databases.NewPath();
        using (var database = new SqliteDatabase(Options.Create(new SqliteStoreOptions { ConnectionString = $"Data Source={path}", WalAutoCheckpointPages = pages })))
        {
            var store = new SqliteProfileStore(database);
            var padding = new string('x', 1_000);
            for (var i = 0; i < 300; i++)
            {
                await store.SaveAsync(CustomerProfile.New(new CustomerId("c" + i)).WithTrait("note", TraitValue.Of(padding)));
            }

            var (file, log) = (new FileInfo(path).Length, new FileInfo(path + "-wal").Length);
            if (pages == 0)
            {
                file.Should().BeLessThan(64 * 1024, "with automatic checkpoints off, commits stay in the write-ahead log");
                log.Should().BeGreaterThan(300 * 1_000);
            }
            else
            {
                file.Should().BeGreaterThan(300 * 1_000, "a one-page threshold copies every commit into the database file");
            }
        }
    }

    [Fact]
    public void WalAutoCheckpointPages_Negative_IsRejectedWithTheFieldAndRule()
    {
        var act = () => new SqliteDatabase(Options.Create(new SqliteStoreOptions { ConnectionString = "Data Source=unused.db", WalAutoCheckpointPages = -1 }));

        act.Should().Throw<EngagementValidationException>().Which.Field.Should().Be("SqliteStoreOptions.WalAutoCheckpointPages");
    }

    [Fact]
    public async Task Stores_ReopenedFile_StillHoldTheData()
    {
        var path = _databases.NewPath();
        using (var first = _databases.Open(path))
        {
            await new SqliteProfileStore(first).SaveAsync(CustomerProfile.New(new CustomerId("c1")).WithIdentifier(Identifier.Email("ann@example.com")));
            await new SqliteEventStore(first).AppendAsync(new ProductViewed { EventId = "e1", CustomerId = new CustomerId("c1"), Timestamp = DateTimeOffset.UnixEpoch.AddYears(56), ProductId = "p" });
        }

        var second = _databases.Open(path);
        (await new SqliteProfileStore(second).FindByIdentifierAsync(Identifier.Email("ann@example.com")))!.Version.Should().Be(1);
        (await new SqliteEventStore(second).AppendAsync(new ProductViewed { EventId = "e1", CustomerId = new CustomerId("c1"), Timestamp = DateTimeOffset.UnixEpoch.AddYears(56), ProductId = "p" }))
            .Should().Be(AppendOutcome.Duplicate);
    }

    [Fact]
    public async Task ConsentLedger_UpdateThroughSql_IsRefusedByTheDatabase()
    {
        var path = _databases.NewPath();
        var database = _databases.Open(path);
        await new SqliteConsentStore(database).AppendAsync(new ConsentRecord
        {
            RecordId = "r1", CustomerId = new CustomerId("c1"), Channel = Channel.Email, Purpose = Purpose.Marketing, Identifier = Identifier.Email("a@example.com"),
            Status = ConsentStatus.Granted, Source = "form", Evidence = new ConsentEvidence("v1", "form"), EffectiveAt = DateTimeOffset.UnixEpoch,
        });

        using var connection = new SqliteConnection($"Data Source={path};Pooling=False");
        connection.Open();
        using var update = connection.CreateCommand();
        update.CommandText = "UPDATE consent_records SET document = '{}' WHERE record_id = 'r1'";

        var act = () => update.ExecuteNonQuery();

        act.Should().Throw<SqliteException>().WithMessage("*append-only*");
    }

    [Fact]
    public async Task UseSqlite_Wiring_ResolvesSqliteStoresAndRunsTheLoop()
    {
        var services = new ServiceCollection();
        services.AddEngagement().UseSqlite($"Data Source={_databases.NewPath()}");
        await using var provider = services.BuildServiceProvider();

        provider.GetRequiredService<IProfileStore>().Should().BeOfType<SqliteProfileStore>();
        provider.GetRequiredService<IEventStore>().Should().BeOfType<SqliteEventStore>();
        provider.GetRequiredService<IConsentStore>().Should().BeOfType<SqliteConsentStore>();
        provider.GetRequiredService<IDispatchStore>().Should().BeOfType<SqliteDispatchStore>();
        provider.GetRequiredService<ISuppressionStore>().Should().BeOfType<SqliteSuppressionStore>();

        var engine = provider.GetRequiredService<IEngagementEngine>();
        var result = await engine.TrackAsync(new Purchased
        {
            EventId = "order-1",
            CustomerId = new CustomerId("c1"),
            Timestamp = DateTimeOffset.UtcNow.AddMinutes(-1),
            OrderId = "1",
            Lines = [new OrderLine("sku-1", 2, Money.Of(10m, "EUR"))],
        });

        result.Profile!.Behaviour.Orders.Should().Be(1);
        result.Profile.Journeys["lifecycle"].StageId.Should().Be("conversion");
        (await provider.GetRequiredService<IProfileStore>().GetAsync(new CustomerId("c1")))!.Behaviour.Revenue.Should().Be(Money.Of(20m, "EUR"));
    }

    [Fact]
    public async Task UseSqlite_EmptyConnectionString_FailsAtStartUpValidation()
    {
        var services = new ServiceCollection();
        services.AddEngagement().UseSqlite(" ");
        await using var provider = services.BuildServiceProvider();

        var act = () => provider.GetRequiredService<IStartupValidator>().Validate();

        act.Should().Throw<OptionsValidationException>().WithMessage("*ConnectionString*");
    }
}
