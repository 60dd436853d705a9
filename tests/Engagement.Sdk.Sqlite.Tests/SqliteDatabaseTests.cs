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
    public async Task BackgroundCheckpoints_CopyTheLogOnTheirOwnThread_AndTheWriterOnlyFinishesTheJob()
    {
        var path = _databases.NewPath();
        using var database = new SqliteDatabase(Options.Create(new SqliteStoreOptions { ConnectionString = $"Data Source={path}", WalAutoCheckpointPages = 64 }));
        var store = new SqliteProfileStore(database);
        var padding = new string('x', 1_000);
        for (var i = 0; i < 600; i++)
        {
            await store.SaveAsync(CustomerProfile.New(new CustomerId("c" + i)).WithTrait("note", TraitValue.Of(padding)));
        }

        var checkpointer = database.Checkpointer;
        checkpointer.Should().NotBeNull("a file in WAL mode gets a background checkpointer by default");
        // The thread may not have had a turn yet on a busy machine: the writer carries on (each commit may ask again) meanwhile.
        var waited = System.Diagnostics.Stopwatch.StartNew();
        for (var i = 600; checkpointer!.Checkpoints == 0 && waited.Elapsed < TimeSpan.FromSeconds(30); i++)
        {
            await store.SaveAsync(CustomerProfile.New(new CustomerId("c" + i)).WithTrait("note", TraitValue.Of(padding)));
            await Task.Delay(20);
        }

        checkpointer.Checkpoints.Should().BeGreaterThan(0, "600 commits of a kilobyte or more asked for a checkpoint every 16 pages");
        checkpointer.FramesCopied.Should().BeGreaterThan(0);
        database.OwnCheckpoints.Should().BeGreaterThan(0, "the writer checkpoints itself at the limit, which lets the log start again");
        new FileInfo(path).Length.Should().BeGreaterThan(300 * 1_000, "the checkpoints copied the profiles into the database file");
    }

    [Fact]
    public async Task BackgroundCheckpoints_KeepTheLogWithinAboutItsLimit_UnderBackToBackTransactions()
    {
        const int limit = 64;
        var path = _databases.NewPath();
        using var database = new SqliteDatabase(Options.Create(new SqliteStoreOptions { ConnectionString = $"Data Source={path}", WalAutoCheckpointPages = limit }));
        var store = new SqliteProfileStore(database);
        var padding = new string('x', 1_000);
        long largest = 0;

        // 1,500 commits of a page or two each, one right after the other: without the writer's own checkpoint at the limit the
        // log would never start again from its beginning and would grow to several megabytes.
        for (var i = 0; i < 1_500; i++)
        {
            var id = new CustomerId("c" + (i % 200));
            var current = await store.GetAsync(id) ?? CustomerProfile.New(id);
            await store.SaveAsync(current.WithTrait("note", TraitValue.Of(padding + i)));
            largest = Math.Max(largest, new FileInfo(path + "-wal").Length);
        }

        // Each frame is a page (4,096 bytes) and its 24-byte header; the bound allows the limit twice over, for a checkpoint of
        // the writer's that found the background one holding the log and was tried again after the next commit.
        largest.Should().BeLessThan((2 * limit + 16) * 4_120L + 32);
        (await store.GetAsync(new CustomerId("c7")))!.Traits["note"].AsString().Should().Be(padding + 1_407);
    }

    [Fact]
    public async Task BackgroundCheckpoints_Off_SqliteCheckpointsInTheCommit_AndNoThreadIsStarted()
    {
        var path = _databases.NewPath();
        using var database = new SqliteDatabase(Options.Create(new SqliteStoreOptions { ConnectionString = $"Data Source={path}", WalAutoCheckpointPages = 1, BackgroundCheckpoints = false }));
        var store = new SqliteProfileStore(database);
        for (var i = 0; i < 300; i++)
        {
            await store.SaveAsync(CustomerProfile.New(new CustomerId("c" + i)).WithTrait("note", TraitValue.Of(new string('x', 1_000))));
        }

        database.Checkpointer.Should().BeNull();
        database.OwnCheckpoints.Should().Be(0);
        new FileInfo(path).Length.Should().BeGreaterThan(300 * 1_000, "SQLite's automatic checkpoint with a one-page threshold copies every commit");
    }

    [Fact]
    public async Task BackgroundCheckpoints_OnDispose_TheThreadStopsAndTheLastCloseRemovesTheLog()
    {
        var path = _databases.NewPath();
        var database = new SqliteDatabase(Options.Create(new SqliteStoreOptions { ConnectionString = $"Data Source={path}", WalAutoCheckpointPages = 16 }));
        var store = new SqliteProfileStore(database);
        for (var i = 0; i < 200; i++)
        {
            await store.SaveAsync(CustomerProfile.New(new CustomerId("c" + i)).WithTrait("note", TraitValue.Of(new string('x', 1_000))));
        }

        database.Checkpointer.Should().NotBeNull();
        database.Dispose();

        File.Exists(path + "-wal").Should().BeFalse("the writer's connection closes last, and SQLite's checkpoint on close removes the log");
        using var reopened = new SqliteDatabase(Options.Create(new SqliteStoreOptions { ConnectionString = $"Data Source={path}" }));
        (await new SqliteProfileStore(reopened).GetAsync(new CustomerId("c199"))).Should().NotBeNull();
    }

    [Fact]
    public async Task BackgroundCheckpoints_InMemoryDatabase_HasNoLogAndNoCheckpointer()
    {
        using var database = new SqliteDatabase(Options.Create(new SqliteStoreOptions { ConnectionString = "Data Source=:memory:" }));
        var store = new SqliteProfileStore(database);
        await store.SaveAsync(CustomerProfile.New(new CustomerId("c1")));

        database.Checkpointer.Should().BeNull();
        (await store.GetAsync(new CustomerId("c1"))).Should().NotBeNull();
    }

    [Fact]
    public void WalAutoCheckpointPages_Negative_IsRejectedWithTheFieldAndRule()
    {
        var act = () => new SqliteDatabase(Options.Create(new SqliteStoreOptions { ConnectionString = "Data Source=unused.db", WalAutoCheckpointPages = -1 }));

        act.Should().Throw<EngagementValidationException>().Which.Field.Should().Be("SqliteStoreOptions.WalAutoCheckpointPages");
    }

    [Theory]
    [InlineData(null, 65_536L)]
    [InlineData(4_096, 4_096L)]
    public async Task CacheSizeKibibytes_SetsTheConnectionsPageCache(int? kibibytes, long expected)
    {
        var options = new SqliteStoreOptions { ConnectionString = $"Data Source={_databases.NewPath()}" };
        if (kibibytes is { } size)
        {
            options.CacheSizeKibibytes = size;
        }

        using var database = new SqliteDatabase(Options.Create(options));
        var cacheSize = await database.RunAsync(static db => (long)db.Command("PRAGMA cache_size").ExecuteScalar()!, CancellationToken.None);

        cacheSize.Should().Be(-expected, "a negative cache_size is the cache's size in KiB");
    }

    [Fact]
    public async Task Connection_KeepsTheSavepointJournalInMemory()
    {
        using var database = new SqliteDatabase(Options.Create(new SqliteStoreOptions { ConnectionString = $"Data Source={_databases.NewPath()}" }));

        var tempStore = await database.RunAsync(static db => (long)db.Command("PRAGMA temp_store").ExecuteScalar()!, CancellationToken.None);

        tempStore.Should().Be(2, "2 is MEMORY: a batch's savepoints must not spill their journal into files in the temporary directory");
    }

    [Fact]
    public async Task NestedUnit_RolledBackAfterChangingMorePagesThanTheJournalKeepsInMemoryByDefault_UndoesOnlyItsOwnWrites()
    {
        var path = _databases.NewPath();
        var database = _databases.Open(path);
        var store = new SqliteProfileStore(database);
        var padding = new string('x', 1_000);
        var before = new List<CustomerProfile>();
        for (var i = 0; i < 100; i++)
        {
            before.Add(await store.SaveAsync(CustomerProfile.New(new CustomerId("c" + i)).WithTrait("note", TraitValue.Of("kept"))));
        }

        var batch = database.Begin();
        await using (batch)
        {
            await batch.StartAsync();
            var first = database.Begin();
            await using (first)
            {
                await store.SaveAsync(before[0].WithTrait("note", TraitValue.Of("first")));
                await first.CompleteAsync();
            }

            var failed = database.Begin();
            await using (failed)
            {
                // Far more than 64 KiB of changed pages, existing ones among them: SQLite's default would move this
                // savepoint's journal to a file.
                for (var i = 1; i < before.Count; i++)
                {
                    await store.SaveAsync(before[i].WithTrait("note", TraitValue.Of(padding)));
                }

                for (var i = 0; i < 200; i++)
                {
                    await store.SaveAsync(CustomerProfile.New(new CustomerId("new" + i)).WithTrait("note", TraitValue.Of(padding)));
                }
            }

            var last = database.Begin();
            await using (last)
            {
                await store.SaveAsync(CustomerProfile.New(new CustomerId("last")));
                await last.CompleteAsync();
            }

            await batch.CompleteAsync();
        }

        var reader = new SqliteProfileStore(_databases.Open(path));
        (await reader.GetAsync(new CustomerId("c0")))!.Traits["note"].AsString().Should().Be("first");
        for (var i = 1; i < before.Count; i++)
        {
            var stored = await reader.GetAsync(before[i].Id);
            stored!.Version.Should().Be(1);
            stored.Traits["note"].AsString().Should().Be("kept", "the rolled-back unit's update of {0} is undone", before[i].Id);
        }

        (await reader.GetAsync(new CustomerId("new0"))).Should().BeNull();
        (await reader.GetAsync(new CustomerId("new199"))).Should().BeNull();
        (await reader.GetAsync(new CustomerId("last"))).Should().NotBeNull();
    }

    [Theory]
    [InlineData(0)]
    [InlineData(1_023)]
    [InlineData(16_777_217)]
    public void CacheSizeKibibytes_OutOfRange_IsRejectedWithTheFieldAndRule(int kibibytes)
    {
        var options = new SqliteStoreOptions { ConnectionString = "Data Source=unused.db", CacheSizeKibibytes = kibibytes };
        var act = () => new SqliteDatabase(Options.Create(options));

        act.Should().Throw<EngagementValidationException>().Which.Field.Should().Be("SqliteStoreOptions.CacheSizeKibibytes");
        new SqliteStoreOptionsValidator().Validate(null, options).FailureMessage.Should().Contain("CacheSizeKibibytes").And.Contain(kibibytes.ToString(System.Globalization.CultureInfo.InvariantCulture));
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
        result.Transitions.Should().Contain(t => t.JourneyId == "lifecycle" && t.ToStageId == "conversion");
        (await provider.GetRequiredService<Engagement.Sdk.Journeys.IJourneyStore>().GetAsync(new CustomerId("c1"))).Should().NotBeNull("the journey state is stored in the SQLite file");
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

/// <summary>A file written by schema version 1 (before the outbox) is migrated when it is opened.</summary>
public sealed class SqliteSchemaMigrationTests : IDisposable
{
    private readonly TemporaryDatabases _databases = new();

    public void Dispose() => _databases.Dispose();

    [Fact]
    public async Task Open_Version1File_PendingBecomesUnknownFailedBecomesDeadLetteredAndTheOutboxWorks()
    {
        var path = _databases.NewPath();
        using (var connection = new SqliteConnection($"Data Source={path};Pooling=False"))
        {
            connection.Open();
            using var command = connection.CreateCommand();
            command.CommandText = """
                CREATE TABLE schema_version (version INTEGER NOT NULL);
                INSERT INTO schema_version (version) VALUES (1);
                CREATE TABLE dispatches (dispatch_id TEXT NOT NULL PRIMARY KEY, customer_id TEXT NOT NULL, created INTEGER NOT NULL, status TEXT NOT NULL, document TEXT NOT NULL);
                CREATE INDEX dispatches_by_customer ON dispatches (customer_id, created);
                CREATE INDEX dispatches_by_status ON dispatches (status, created, dispatch_id);
                """;
            command.ExecuteNonQuery();
            foreach (var (id, status) in new[] { ("p1", "Pending"), ("f1", "Failed"), ("s1", "Sent") })
            {
                command.CommandText = "INSERT INTO dispatches VALUES ($id, 'ann', $created, $status, $doc)";
                command.Parameters.Clear();
                command.Parameters.AddWithValue("$id", id);
                command.Parameters.AddWithValue("$created", new DateTimeOffset(2026, 3, 1, 12, 0, 0, TimeSpan.Zero).UtcTicks);
                command.Parameters.AddWithValue("$status", status);
                command.Parameters.AddWithValue("$doc", $$"""{"dispatchId":"{{id}}","customerId":"ann","channel":"email","purpose":"marketing","actionId":"offer","createdAt":"2026-03-01T12:00:00.0000000+00:00","status":"{{status}}","attempts":{{(status == "Pending" ? 0 : 4)}},"priority":0}""");
                command.ExecuteNonQuery();
            }
        }

        var store = new SqliteDispatchStore(_databases.Open(path));

        var pending = await store.GetAsync("p1");
        pending.Should().Match<DispatchRecord>(d => d.Status == DispatchStatus.Unknown && d.DueAt == new DateTimeOffset(2026, 3, 1, 12, 0, 0, TimeSpan.Zero) && d.Reason == DispatchReasons.OutcomeUnknown,
            "a dispatch pending when an older version stopped may have been sent");
        (await store.GetAsync("f1")).Should().Match<DispatchRecord>(d => d.Status == DispatchStatus.DeadLettered && d.Attempts == 4);
        (await store.GetAsync("s1"))!.Status.Should().Be(DispatchStatus.Sent);
        var claimed = await store.ClaimAsync(new DateTimeOffset(2026, 3, 1, 13, 0, 0, TimeSpan.Zero), "w1", new DateTimeOffset(2026, 3, 1, 13, 5, 0, TimeSpan.Zero), 10);
        claimed.Should().ContainSingle().Which.DispatchId.Should().Be("p1", "only the unknown one is for a worker, to reconcile");
        using var check = new SqliteConnection($"Data Source={path};Pooling=False");
        check.Open();
        using var version = check.CreateCommand();
        version.CommandText = "SELECT version FROM schema_version";
        Convert.ToInt32(version.ExecuteScalar(), System.Globalization.CultureInfo.InvariantCulture).Should().Be(SqliteDatabase.SchemaVersion);
    }
}

/// <summary>The relational layer on SQLite.</summary>
public sealed class SqliteRelationalLayerTests : Engagement.Sdk.SharedTests.RelationalLayerTests, IDisposable
{
    private readonly TemporaryDatabases _databases = new();

    public void Dispose() => _databases.Dispose();

    internal override Engagement.Sdk.Storage.Relational.IRelationalDatabase Open() => _databases.Open();
}

/// <summary>A file written by schema version 2 (identifiers indexed as spelled) is migrated to compare e-mail addresses without regard to case.</summary>
public sealed class SqliteIdentifierKeyMigrationTests : IDisposable
{
    private static readonly DateTimeOffset At = new(2026, 3, 1, 12, 0, 0, TimeSpan.Zero);
    private readonly TemporaryDatabases _databases = new();

    public void Dispose() => _databases.Dispose();

    [Fact]
    public async Task Open_Version2File_IndexesEmailsByKeyAndFilesTheirSuppressionsUnderItsHash()
    {
        var path = _databases.NewPath();
        var ann = Identifier.Email("Ann.Smith@example.com");
        var bob = Identifier.Email("BOB@example.com");
        using (var database = _databases.Open(path))
        {
            var profiles = new SqliteProfileStore(database);
            await profiles.SaveAsync(CustomerProfile.New(new CustomerId("ann")).WithIdentifier(ann));
            await profiles.SaveAsync(CustomerProfile.New(new CustomerId("ann-2")).WithIdentifier(Identifier.Email("ann.smith@example.com")));
            await profiles.SaveAsync(CustomerProfile.New(new CustomerId("bob")).WithIdentifier(bob).WithIdentifier(Identifier.Device("Tablet-1")));
        }

        // What version 2 wrote: the index by spelling (the second Ann holding hers in lower case), suppressions under the spelling's hash.
        using (var connection = new SqliteConnection($"Data Source={path};Pooling=False"))
        {
            connection.Open();
            using var command = connection.CreateCommand();
            command.CommandText = $"""
                DELETE FROM identifiers WHERE kind = 'email';
                INSERT INTO identifiers (kind, value, customer_id) VALUES ('email', 'Ann.Smith@example.com', 'ann'), ('email', 'ann.smith@example.com', 'ann-2'), ('email', 'BOB@example.com', 'bob');
                INSERT INTO suppressions (identifier_hash, reason, at, at_offset, source) VALUES ('{IdentifierHashing.SpellingHash(bob)}', 'HardBounce', {At.UtcTicks}, 0, 'esp');
                UPDATE schema_version SET version = 2;
                """;
            command.ExecuteNonQuery();
        }

        using var migrated = _databases.Open(path);
        var store = new SqliteProfileStore(migrated);
        var suppressions = new SqliteSuppressionStore(migrated);

        (await store.FindByIdentifierAsync(Identifier.Email("bob@EXAMPLE.com")))!.Id.Should().Be(new CustomerId("bob"));
        (await store.FindByIdentifierAsync(Identifier.Email("ANN.SMITH@example.com")))!.Id.Should().Be(new CustomerId("ann-2"), "the profile that held the address in its key's spelling keeps the index entry");
        (await store.FindByIdentifierAsync(Identifier.Device("Tablet-1")))!.Id.Should().Be(new CustomerId("bob"), "other kinds are left as they are");
        (await store.GetAsync(new CustomerId("ann")))!.Identifiers.Should().ContainSingle().Which.Value.Should().Be("Ann.Smith@example.com");
        (await suppressions.FindAsync(Identifier.Email("bob@example.com")))
            .Should().ContainSingle("the bounce recorded as BOB@example.com applies to bob@example.com").Which.Reason.Should().Be(SuppressionReason.HardBounce);
        using var check = new SqliteConnection($"Data Source={path};Pooling=False");
        check.Open();
        using var version = check.CreateCommand();
        version.CommandText = "SELECT version FROM schema_version";
        Convert.ToInt32(version.ExecuteScalar(), System.Globalization.CultureInfo.InvariantCulture).Should().Be(SqliteDatabase.SchemaVersion);
        version.CommandText = "SELECT count(*) FROM identifiers WHERE kind = 'email'";
        Convert.ToInt32(version.ExecuteScalar(), System.Globalization.CultureInfo.InvariantCulture).Should().Be(2);
    }
}
