using Engagement.Sdk.Channels;
using Engagement.Sdk.Consent;
using Engagement.Sdk.Decisioning;
using Engagement.Sdk.Events;
using Engagement.Sdk.Profiles;
using Engagement.Sdk.Storage;
using Engagement.Sdk.Testing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Npgsql;

namespace Engagement.Sdk.PostgreSql.Tests;

[Collection(PostgreSqlCollection.Name)]
public sealed class PostgreSqlDatabaseTests(PostgreSqlServerFixture server) : IDisposable
{
    private static readonly DateTimeOffset T0 = new(2026, 3, 1, 12, 0, 0, TimeSpan.Zero);
    private readonly TemporarySchemas _schemas = new(server);

    public void Dispose() => _schemas.Dispose();

    [Theory]
    [InlineData("UPDATE {0}.consent_records SET document = '{{}}' WHERE record_id = 'r1'")]
    [InlineData("DELETE FROM {0}.consent_records WHERE record_id = 'r1'")]
    [InlineData("TRUNCATE {0}.consent_records")]
    public async Task ConsentLedger_ChangeThroughSql_IsRefusedByTheDatabase(string sql)
    {
        var database = _schemas.Open();
        await new PostgreSqlConsentStore(database).AppendAsync(Grant("r1", T0));
        await using var connection = new NpgsqlConnection(server.ConnectionString);
        await connection.OpenAsync();
        await using var change = new NpgsqlCommand(string.Format(System.Globalization.CultureInfo.InvariantCulture, sql, Quote(database.Schema)), connection);

        var act = () => change.ExecuteNonQueryAsync();

        (await act.Should().ThrowAsync<PostgresException>().WithMessage("*append-only*")).Which.SqlState.Should().Be(PostgresErrorCodes.RestrictViolation);
        (await new PostgreSqlConsentStore(database).ReadAsync(new CustomerId("c1"))).Should().ContainSingle().Which.Should().Be(Grant("r1", T0));
    }

    [Fact]
    public async Task ConsentLedger_Erasure_DeletesThroughTheTriggerButLeavesItArmed()
    {
        var database = _schemas.Open();
        var store = new PostgreSqlConsentStore(database);
        await store.AppendAsync(Grant("r1", T0));
        await store.AppendAsync(Grant("r2", T0) with { CustomerId = new CustomerId("c2") });

        (await store.EraseSubjectAsync(new CustomerId("c1"))).Should().Be(1);

        await using var connection = new NpgsqlConnection(server.ConnectionString);
        await connection.OpenAsync();
        await using var delete = new NpgsqlCommand($"DELETE FROM {Quote(database.Schema)}.consent_records", connection);
        await FluentActions.Awaiting(() => delete.ExecuteNonQueryAsync()).Should().ThrowAsync<PostgresException>().WithMessage("*append-only*");
        (await store.ReadAsync(new CustomerId("c2"))).Should().ContainSingle();
    }

    [Fact]
    public async Task SaveAsync_TwoProcessesFromOneVersion_ExactlyOneWinsEachRound()
    {
        // Two databases handles are two connection pools on one schema: as two processes would be.
        var schema = "t_" + Guid.NewGuid().ToString("N");
        var first = new PostgreSqlProfileStore(_schemas.Open(schema));
        var second = new PostgreSqlProfileStore(_schemas.Open(schema));
        var current = await first.SaveAsync(CustomerProfile.New(new CustomerId("c1")));
        const int Rounds = 25;

        for (var round = 0; round < Rounds; round++)
        {
            var from = current;
            var attempts = await Task.WhenAll(
                Task.Run(() => TrySave(first, from.WithTrait("writer", TraitValue.Of("first")))),
                Task.Run(() => TrySave(second, from.WithTrait("writer", TraitValue.Of("second")))));

            attempts.Count(a => a.Saved is not null).Should().Be(1, "round {0}", round);
            var loser = attempts.Single(a => a.Saved is null).Conflict!;
            loser.ExpectedVersion.Should().Be(from.Version);
            loser.ActualVersion.Should().Be(from.Version + 1);
            current = attempts.Single(a => a.Saved is not null).Saved!;
        }

        (await second.GetAsync(new CustomerId("c1")))!.Version.Should().Be(Rounds + 1);
    }

    [Fact]
    public async Task SaveAsync_TwoProcessesCreatingOneCustomer_ExactlyOneWins()
    {
        var schema = "t_" + Guid.NewGuid().ToString("N");
        var stores = new[] { new PostgreSqlProfileStore(_schemas.Open(schema)), new PostgreSqlProfileStore(_schemas.Open(schema)) };

        var attempts = await Task.WhenAll(Enumerable.Range(0, 10).Select(i => Task.Run(() =>
            TrySave(stores[i % 2], CustomerProfile.New(new CustomerId("c1")).WithIdentifier(Identifier.Email($"writer{i}@example.com"))))));

        attempts.Count(a => a.Saved is not null).Should().Be(1);
        attempts.Where(a => a.Conflict is not null).Should().HaveCount(9).And.OnlyContain(a => a.Conflict!.ActualVersion == 1);
    }

    [Fact]
    public async Task TryBeginAsync_TwoProcessesWithOneDispatchId_ExactlyOneSucceeds()
    {
        var schema = "t_" + Guid.NewGuid().ToString("N");
        var stores = new[] { new PostgreSqlDispatchStore(_schemas.Open(schema)), new PostgreSqlDispatchStore(_schemas.Open(schema)) };
        var dispatch = new DispatchRecord { DispatchId = "d1", CustomerId = new CustomerId("c1"), Channel = Channel.Email, Purpose = Purpose.Marketing, ActionId = "offer", CreatedAt = T0 };

        var results = await Task.WhenAll(Enumerable.Range(0, 40).Select(i => Task.Run(async () => await stores[i % 2].TryBeginAsync(dispatch))));

        results.Count(r => r).Should().Be(1);
    }

    [Fact]
    public async Task EnsureSchemaAsync_ManyProcessesOnAFreshSchema_CreateItOnce()
    {
        var schema = "t_" + Guid.NewGuid().ToString("N");
        var databases = Enumerable.Range(0, 6).Select(_ => _schemas.Open(schema)).ToList();

        await Task.WhenAll(databases.Select(d => Task.Run(async () => await d.EnsureSchemaAsync())));

        await using var connection = new NpgsqlConnection(server.ConnectionString);
        await connection.OpenAsync();
        await using var versions = new NpgsqlCommand($"SELECT count(*) FROM {Quote(schema)}.schema_version", connection);
        (await versions.ExecuteScalarAsync()).Should().Be(1L);
    }

    [Fact]
    public async Task EnsureSchemaAsync_SchemaFromANewerVersion_IsRefused()
    {
        var schema = "t_" + Guid.NewGuid().ToString("N");
        await _schemas.Open(schema).EnsureSchemaAsync();
        await using (var connection = new NpgsqlConnection(server.ConnectionString))
        {
            await connection.OpenAsync();
            await using var bump = new NpgsqlCommand($"UPDATE {Quote(schema)}.schema_version SET version = {PostgreSqlDatabase.SchemaVersion + 1}", connection);
            await bump.ExecuteNonQueryAsync();
        }

        var act = async () => await new PostgreSqlEventStore(_schemas.Open(schema)).AppendAsync(new ProductViewed { EventId = "e1", CustomerId = new CustomerId("c1"), Timestamp = T0, ProductId = "p" });

        await act.Should().ThrowAsync<InvalidOperationException>().WithMessage("*newer*");
    }

    [Fact]
    public async Task Stores_ReopenedSchema_StillHoldTheData()
    {
        var schema = "t_" + Guid.NewGuid().ToString("N");
        var view = new ProductViewed { EventId = "e1", CustomerId = new CustomerId("c1"), Timestamp = T0, ProductId = "p" };
        await using (var first = new PostgreSqlDatabase(Options.Create(new PostgreSqlStoreOptions { ConnectionString = server.ConnectionString, Schema = schema })))
        {
            await new PostgreSqlProfileStore(first).SaveAsync(CustomerProfile.New(new CustomerId("c1")).WithIdentifier(Identifier.Email("ann@example.com")));
            await new PostgreSqlEventStore(first).AppendAsync(view);
        }

        var second = _schemas.Open(schema);
        (await new PostgreSqlProfileStore(second).FindByIdentifierAsync(Identifier.Email("ann@example.com")))!.Version.Should().Be(1);
        (await new PostgreSqlEventStore(second).AppendAsync(view with { })).Should().Be(AppendOutcome.Duplicate);
    }

    [Fact]
    public async Task UsePostgreSql_Wiring_ResolvesPostgreSqlStoresAndRunsTrackConsentAndDecide()
    {
        var connectionString = await server.CreateDatabaseAsync();
        var ann = new CustomerId("ann");
        var email = Identifier.Email("ann@example.com");
        var sender = new InMemoryChannelSender(Channel.Email);
        var services = new ServiceCollection();
        services.AddEngagement().AddChannel(sender).UseActions(ActionCatalog.Create([
            new ActionDefinition { Id = "spring-sale", Name = "Spring sale", Channels = [Channel.Email], Value = 10m, BasePropensity = 0.1 },
        ])).UsePostgreSql(connectionString);
        await using (var provider = services.BuildServiceProvider())
        {
            provider.GetRequiredService<IStartupValidator>().Validate();
            provider.GetRequiredService<IProfileStore>().Should().BeOfType<PostgreSqlProfileStore>();
            provider.GetRequiredService<IEventStore>().Should().BeOfType<PostgreSqlEventStore>();
            provider.GetRequiredService<IConsentStore>().Should().BeOfType<PostgreSqlConsentStore>();
            provider.GetRequiredService<IDispatchStore>().Should().BeOfType<PostgreSqlDispatchStore>();
            provider.GetRequiredService<ISuppressionStore>().Should().BeOfType<PostgreSqlSuppressionStore>();
            provider.GetRequiredService<PostgreSqlDatabase>().Schema.Should().Be("engagement");
            var engine = DeliveringEngine.From(provider);
            var now = DateTimeOffset.UtcNow;

            (await engine.RecordConsentAsync(new ConsentRecord
            {
                RecordId = "g-email", CustomerId = ann, Channel = Channel.Email, Purpose = Purpose.Marketing, Identifier = email,
                Status = ConsentStatus.Granted, Source = "form", Evidence = new ConsentEvidence("v1", "form"), EffectiveAt = now.AddDays(-1),
            })).Should().Be(AppendOutcome.Appended);
            var tracked = await engine.TrackAsync(new Purchased
            {
                EventId = "order-1", CustomerId = ann, Timestamp = now.AddMinutes(-1), Identifiers = [email], OrderId = "1",
                Lines = [new OrderLine("sku-1", 2, Money.Of(10m, "EUR"))],
            });

            // The purchase decided on the offer and sent it (recorded in the dispatch log); deciding again finds the email
            // channel capped, which the engine can only know from the dispatch log in the database.
            tracked.Profile!.Behaviour.Orders.Should().Be(1);
            tracked.Decision!.Action.Id.Should().Be("spring-sale");
            sender.Messages.Should().ContainSingle().Which.Address.Should().Be(email);
            var decision = await engine.DecideAsync(ann);
            decision.IsNoAction.Should().BeTrue();
            decision.Candidates.Should().Contain(c => c.ActionId == "spring-sale" && c.Reason == DecisionReasons.NotPermitted);
            (await provider.GetRequiredService<IDispatchStore>().ListAsync(ann, now.AddDays(-1))).Should().ContainSingle()
                .Which.Status.Should().Be(DispatchStatus.Sent);
        }

        // A second process on the same database sees what the first wrote.
        await using var again = new PostgreSqlDatabase(Options.Create(new PostgreSqlStoreOptions { ConnectionString = connectionString }));
        (await new PostgreSqlProfileStore(again).FindByIdentifierAsync(email))!.Behaviour.Revenue.Should().Be(Money.Of(20m, "EUR"));
        (await new PostgreSqlConsentStore(again).ReadAsync(ann)).Should().ContainSingle().Which.RecordId.Should().Be("g-email");
    }

    private static async Task<(CustomerProfile? Saved, ConcurrencyConflictException? Conflict)> TrySave(IProfileStore store, CustomerProfile profile)
    {
        try
        {
            return (await store.SaveAsync(profile), null);
        }
        catch (ConcurrencyConflictException e)
        {
            return (null, e);
        }
    }

    private static string Quote(string identifier) => "\"" + identifier + "\"";

    private static ConsentRecord Grant(string id, DateTimeOffset at) => new()
    {
        RecordId = id,
        CustomerId = new CustomerId("c1"),
        Channel = Channel.Email,
        Purpose = Purpose.Marketing,
        Identifier = Identifier.Email("ann@example.com"),
        Status = ConsentStatus.Granted,
        Source = "form",
        Evidence = new ConsentEvidence("v1", "form"),
        EffectiveAt = at,
    };
}

/// <summary>A schema written by version 1 (before the outbox) is migrated when it is opened.</summary>
[Collection(PostgreSqlCollection.Name)]
public sealed class PostgreSqlSchemaMigrationTests(PostgreSqlServerFixture server)
{
    [Fact]
    public async Task Open_Version1Schema_PendingBecomesUnknownFailedBecomesDeadLetteredAndTheOutboxWorks()
    {
        var schema = "t_" + Guid.NewGuid().ToString("N");
        var created = new DateTimeOffset(2026, 3, 1, 12, 0, 0, TimeSpan.Zero);
        await using (var connection = new NpgsqlConnection(server.ConnectionString))
        {
            await connection.OpenAsync();
            await using var command = new NpgsqlCommand($"""
                CREATE SCHEMA {schema};
                CREATE TABLE {schema}.schema_version (version integer NOT NULL);
                INSERT INTO {schema}.schema_version (version) VALUES (1);
                CREATE TABLE {schema}.dispatches (dispatch_id text COLLATE "C" NOT NULL PRIMARY KEY, customer_id text COLLATE "C" NOT NULL, created bigint NOT NULL, status text NOT NULL, document text NOT NULL);
                """, connection);
            await command.ExecuteNonQueryAsync();
            foreach (var (id, status) in new[] { ("p1", "Pending"), ("f1", "Failed"), ("s1", "Sent") })
            {
                await using var insert = new NpgsqlCommand($"INSERT INTO {schema}.dispatches VALUES (@id, 'ann', @created, @status, @doc)", connection);
                insert.Parameters.AddWithValue("id", id);
                insert.Parameters.AddWithValue("created", created.UtcTicks);
                insert.Parameters.AddWithValue("status", status);
                insert.Parameters.AddWithValue("doc", $$"""{"dispatchId":"{{id}}","customerId":"ann","channel":"email","purpose":"marketing","actionId":"offer","createdAt":"2026-03-01T12:00:00.0000000+00:00","status":"{{status}}","attempts":{{(status == "Pending" ? 0 : 4)}},"priority":0}""");
                await insert.ExecuteNonQueryAsync();
            }
        }

        using var database = new PostgreSqlDatabase(Options.Create(new PostgreSqlStoreOptions { ConnectionString = server.ConnectionString, Schema = schema }));
        var store = new PostgreSqlDispatchStore(database);

        (await store.GetAsync("p1")).Should().Match<DispatchRecord>(d => d.Status == DispatchStatus.Unknown && d.DueAt == created && d.Reason == DispatchReasons.OutcomeUnknown);
        (await store.GetAsync("f1")).Should().Match<DispatchRecord>(d => d.Status == DispatchStatus.DeadLettered && d.Attempts == 4);
        (await store.GetAsync("s1"))!.Status.Should().Be(DispatchStatus.Sent);
        (await store.ClaimAsync(created.AddHours(1), "w1", created.AddHours(2), 10)).Should().ContainSingle().Which.DispatchId.Should().Be("p1");
    }
}

/// <summary>The relational layer on PostgreSQL.</summary>
[Collection(PostgreSqlCollection.Name)]
public sealed class PostgreSqlRelationalLayerTests(PostgreSqlServerFixture server) : Engagement.Sdk.SharedTests.RelationalLayerTests, IDisposable
{
    private readonly TemporarySchemas _schemas = new(server);

    public void Dispose() => _schemas.Dispose();

    internal override Engagement.Sdk.Storage.Relational.IRelationalDatabase Open() => _schemas.Open();
}

/// <summary>A schema written by version 2 (identifiers indexed as spelled) is migrated to compare e-mail addresses without regard to case.</summary>
[Collection(PostgreSqlCollection.Name)]
public sealed class PostgreSqlIdentifierKeyMigrationTests(PostgreSqlServerFixture server)
{
    private static readonly DateTimeOffset At = new(2026, 3, 1, 12, 0, 0, TimeSpan.Zero);

    [Fact]
    public async Task Open_Version2Schema_IndexesEmailsByKeyAndFilesTheirSuppressionsUnderItsHash()
    {
        var schema = "t_" + Guid.NewGuid().ToString("N");
        var options = Options.Create(new PostgreSqlStoreOptions { ConnectionString = server.ConnectionString, Schema = schema });
        var bob = Identifier.Email("BOB@example.com");
        using (var database = new PostgreSqlDatabase(options))
        {
            var profiles = new PostgreSqlProfileStore(database);
            await profiles.SaveAsync(CustomerProfile.New(new CustomerId("ann")).WithIdentifier(Identifier.Email("Ann.Smith@example.com")));
            await profiles.SaveAsync(CustomerProfile.New(new CustomerId("ann-2")).WithIdentifier(Identifier.Email("ann.smith@example.com")));
            await profiles.SaveAsync(CustomerProfile.New(new CustomerId("bob")).WithIdentifier(bob).WithIdentifier(Identifier.Device("Tablet-1")));
        }

        // What version 2 wrote: the index by spelling (the second Ann holding hers in lower case), suppressions under the spelling's hash.
        await using (var connection = new NpgsqlConnection(server.ConnectionString))
        {
            await connection.OpenAsync();
            await using var command = new NpgsqlCommand($"""
                DELETE FROM {schema}.identifiers WHERE kind = 'email';
                INSERT INTO {schema}.identifiers (kind, value, customer_id) VALUES ('email', 'Ann.Smith@example.com', 'ann'), ('email', 'ann.smith@example.com', 'ann-2'), ('email', 'BOB@example.com', 'bob');
                INSERT INTO {schema}.suppressions (identifier_hash, reason, at, at_offset, source) VALUES ('{IdentifierHashing.SpellingHash(bob)}', 'HardBounce', {At.UtcTicks}, 0, 'esp');
                UPDATE {schema}.schema_version SET version = 2;
                """, connection);
            await command.ExecuteNonQueryAsync();
        }

        using var migrated = new PostgreSqlDatabase(options);
        var store = new PostgreSqlProfileStore(migrated);

        (await store.FindByIdentifierAsync(Identifier.Email("bob@EXAMPLE.com")))!.Id.Should().Be(new CustomerId("bob"));
        (await store.FindByIdentifierAsync(Identifier.Email("ANN.SMITH@example.com")))!.Id.Should().Be(new CustomerId("ann-2"), "the profile that held the address in its key's spelling keeps the index entry");
        (await store.FindByIdentifierAsync(Identifier.Device("Tablet-1")))!.Id.Should().Be(new CustomerId("bob"), "other kinds are left as they are");
        (await store.GetAsync(new CustomerId("ann")))!.Identifiers.Should().ContainSingle().Which.Value.Should().Be("Ann.Smith@example.com");
        (await new PostgreSqlSuppressionStore(migrated).FindAsync(Identifier.Email("bob@example.com")))
            .Should().ContainSingle("the bounce recorded as BOB@example.com applies to bob@example.com").Which.Reason.Should().Be(SuppressionReason.HardBounce);
        await using var check = new NpgsqlConnection(server.ConnectionString);
        await check.OpenAsync();
        await using var version = new NpgsqlCommand($"SELECT max(version) FROM {schema}.schema_version", check);
        Convert.ToInt32(await version.ExecuteScalarAsync(), System.Globalization.CultureInfo.InvariantCulture).Should().Be(3);
        await using var count = new NpgsqlCommand($"SELECT count(*) FROM {schema}.identifiers WHERE kind = 'email'", check);
        Convert.ToInt32(await count.ExecuteScalarAsync(), System.Globalization.CultureInfo.InvariantCulture).Should().Be(2);
    }
}
