using Engagement.Sdk.Storage;
using Engagement.Sdk.Testing.Conformance;

namespace Engagement.Sdk.PostgreSql.Tests;

/// <summary>Databases handles opened by one test, each on a fresh schema of the tests' database, disposed afterwards.</summary>
/// <param name="server">The server.</param>
public sealed class TemporarySchemas(PostgreSqlServerFixture server) : IDisposable
{
    private readonly List<PostgreSqlDatabase> _open = [];

    public PostgreSqlDatabase Open() => Track(new PostgreSqlDatabase(server.FreshSchema()));

    public PostgreSqlDatabase Open(string schema)
        => Track(new PostgreSqlDatabase(Microsoft.Extensions.Options.Options.Create(new PostgreSqlStoreOptions { ConnectionString = server.ConnectionString, Schema = schema })));

    public void Dispose()
    {
        foreach (var database in _open)
        {
            database.Dispose();
        }
    }

    private PostgreSqlDatabase Track(PostgreSqlDatabase database)
    {
        _open.Add(database);
        return database;
    }
}

[Collection(PostgreSqlCollection.Name)]
public sealed class PostgreSqlProfileStoreTests(PostgreSqlServerFixture server) : ProfileStoreConformanceTests, IDisposable
{
    [Theory]
    [MemberData(nameof(Checks))]
    public Task Conforms(string check) => RunAsync(check);

    private readonly TemporarySchemas _schemas = new(server);

    public void Dispose() => _schemas.Dispose();

    protected override IProfileStore CreateStore() => new PostgreSqlProfileStore(_schemas.Open());
}

[Collection(PostgreSqlCollection.Name)]
public sealed class PostgreSqlEventStoreTests(PostgreSqlServerFixture server) : EventStoreConformanceTests, IDisposable
{
    [Theory]
    [MemberData(nameof(Checks))]
    public Task Conforms(string check) => RunAsync(check);

    private readonly TemporarySchemas _schemas = new(server);

    public void Dispose() => _schemas.Dispose();

    protected override IEventStore CreateStore() => new PostgreSqlEventStore(_schemas.Open());
}

[Collection(PostgreSqlCollection.Name)]
public sealed class PostgreSqlConsentStoreTests(PostgreSqlServerFixture server) : ConsentStoreConformanceTests, IDisposable
{
    [Theory]
    [MemberData(nameof(Checks))]
    public Task Conforms(string check) => RunAsync(check);

    private readonly TemporarySchemas _schemas = new(server);

    public void Dispose() => _schemas.Dispose();

    protected override IConsentStore CreateStore() => new PostgreSqlConsentStore(_schemas.Open());
}

[Collection(PostgreSqlCollection.Name)]
public sealed class PostgreSqlDispatchStoreTests(PostgreSqlServerFixture server) : DispatchStoreConformanceTests, IDisposable
{
    [Theory]
    [MemberData(nameof(Checks))]
    public Task Conforms(string check) => RunAsync(check);

    private readonly TemporarySchemas _schemas = new(server);

    public void Dispose() => _schemas.Dispose();

    protected override IDispatchStore CreateStore() => new PostgreSqlDispatchStore(_schemas.Open());
}

[Collection(PostgreSqlCollection.Name)]
public sealed class PostgreSqlSuppressionStoreTests(PostgreSqlServerFixture server) : SuppressionStoreConformanceTests, IDisposable
{
    [Theory]
    [MemberData(nameof(Checks))]
    public Task Conforms(string check) => RunAsync(check);

    private readonly TemporarySchemas _schemas = new(server);

    public void Dispose() => _schemas.Dispose();

    protected override ISuppressionStore CreateStore() => new PostgreSqlSuppressionStore(_schemas.Open());
}

[Collection(PostgreSqlCollection.Name)]
public sealed class PostgreSqlEventRetentionTests(PostgreSqlServerFixture server) : EventRetentionConformanceTests, IDisposable
{
    [Theory]
    [MemberData(nameof(Checks))]
    public Task Conforms(string check) => RunAsync(check);

    private readonly TemporarySchemas _schemas = new(server);

    public void Dispose() => _schemas.Dispose();

    protected override IEventRetention CreateStore() => new PostgreSqlEventStore(_schemas.Open());
}

/// <summary>The decisioning stores written once on the relational layer, on PostgreSQL: a second handle is a second connection pool on the same schema.</summary>
[Collection(PostgreSqlCollection.Name)]
public sealed class PostgreSqlPropensityStoreTests(PostgreSqlServerFixture server) : PropensityStoreConformanceTests, IDisposable
{
    [Theory]
    [MemberData(nameof(Checks))]
    public Task Conforms(string check) => RunAsync(check);

    private readonly TemporarySchemas _schemas = new(server);
    private PostgreSqlDatabase? _database;

    public void Dispose() => _schemas.Dispose();

    protected override IStoreTransactions Transactions => _database!;

    protected override Engagement.Sdk.Decisioning.IPropensityStore CreateStore() => new Engagement.Sdk.Storage.Relational.RelationalPropensityStore(_database = _schemas.Open());

    protected override Engagement.Sdk.Decisioning.IPropensityStore OpenAgain() => new Engagement.Sdk.Storage.Relational.RelationalPropensityStore(_schemas.Open(_database!.Schema));
}

[Collection(PostgreSqlCollection.Name)]
public sealed class PostgreSqlActionBudgetStoreTests(PostgreSqlServerFixture server) : ActionBudgetStoreConformanceTests, IDisposable
{
    [Theory]
    [MemberData(nameof(Checks))]
    public Task Conforms(string check) => RunAsync(check);

    private readonly TemporarySchemas _schemas = new(server);
    private PostgreSqlDatabase? _database;

    public void Dispose() => _schemas.Dispose();

    protected override IStoreTransactions Transactions => _database!;

    protected override Engagement.Sdk.Decisioning.IActionBudgetStore CreateStore() => new Engagement.Sdk.Storage.Relational.RelationalActionBudgetStore(_database = _schemas.Open());

    protected override Engagement.Sdk.Decisioning.IActionBudgetStore OpenAgain() => new Engagement.Sdk.Storage.Relational.RelationalActionBudgetStore(_schemas.Open(_database!.Schema));
}

[Collection(PostgreSqlCollection.Name)]
public sealed class PostgreSqlActionContactLogTests(PostgreSqlServerFixture server) : ActionContactLogConformanceTests, IDisposable
{
    [Theory]
    [MemberData(nameof(Checks))]
    public Task Conforms(string check) => RunAsync(check);

    private readonly TemporarySchemas _schemas = new(server);
    private PostgreSqlDatabase? _database;

    public void Dispose() => _schemas.Dispose();

    protected override IStoreTransactions Transactions => _database!;

    protected override Engagement.Sdk.Decisioning.IActionContactLog CreateStore() => new Engagement.Sdk.Storage.Relational.RelationalActionContactLog(_database = _schemas.Open());

    protected override Engagement.Sdk.Decisioning.IActionContactLog OpenAgain() => new Engagement.Sdk.Storage.Relational.RelationalActionContactLog(_schemas.Open(_database!.Schema));
}

[Collection(PostgreSqlCollection.Name)]
public sealed class PostgreSqlHouseholdStoreTests(PostgreSqlServerFixture server) : HouseholdStoreConformanceTests, IDisposable
{
    [Theory]
    [MemberData(nameof(Checks))]
    public Task Conforms(string check) => RunAsync(check);

    private readonly TemporarySchemas _schemas = new(server);

    public void Dispose() => _schemas.Dispose();

    protected override Engagement.Sdk.Households.IHouseholdStore CreateStore() => new Engagement.Sdk.Storage.Relational.RelationalHouseholdStore(_schemas.Open());
}

[Collection(PostgreSqlCollection.Name)]
public sealed class PostgreSqlJourneyStoreTests(PostgreSqlServerFixture server) : JourneyStoreConformanceTests, IDisposable
{
    [Theory]
    [MemberData(nameof(Checks))]
    public Task Conforms(string check) => RunAsync(check);

    private readonly List<PostgreSqlDatabase> _open = [];
    private readonly Dictionary<Engagement.Sdk.Journeys.IJourneyStore, (Microsoft.Extensions.Options.IOptions<PostgreSqlStoreOptions> Options, PostgreSqlDatabase Database)> _schemas = [];

    public void Dispose()
    {
        foreach (var database in _open)
        {
            database.Dispose();
        }
    }

    protected override Engagement.Sdk.Journeys.IJourneyStore CreateStore()
    {
        var options = server.FreshSchema();
        var database = Open(options);
        var store = new Engagement.Sdk.Storage.Relational.RelationalJourneyStore(database);
        _schemas[store] = (options, database);
        return store;
    }

    protected override Engagement.Sdk.Journeys.IJourneyStore Reopen(Engagement.Sdk.Journeys.IJourneyStore store)
        => new Engagement.Sdk.Storage.Relational.RelationalJourneyStore(Open(_schemas[store].Options));

    protected override IStoreTransactions? TransactionsOf(Engagement.Sdk.Journeys.IJourneyStore store) => _schemas[store].Database;

    private PostgreSqlDatabase Open(Microsoft.Extensions.Options.IOptions<PostgreSqlStoreOptions> options)
    {
        var database = new PostgreSqlDatabase(options);
        _open.Add(database);
        return database;
    }
}

[Collection(PostgreSqlCollection.Name)]
public sealed class PostgreSqlJourneyRestartTests(PostgreSqlServerFixture server) : Engagement.Sdk.SharedTests.JourneyRestartTests
{
    private readonly PostgreSqlStoreOptions _options = server.FreshSchema().Value;

    protected override void UseStorage(Microsoft.Extensions.DependencyInjection.EngagementBuilder builder)
        => Microsoft.Extensions.DependencyInjection.PostgreSqlEngagementBuilderExtensions.UsePostgreSql(builder, o =>
        {
            o.ConnectionString = _options.ConnectionString;
            o.Schema = _options.Schema;
        });
}

[Collection(PostgreSqlCollection.Name)]
public sealed class PostgreSqlSegmentStoreTests(PostgreSqlServerFixture server) : SegmentStoreConformanceTests, IDisposable
{
    [Theory]
    [MemberData(nameof(Checks))]
    public Task Conforms(string check) => RunAsync(check);

    private readonly TemporarySchemas _schemas = new(server);

    public void Dispose() => _schemas.Dispose();

    protected override Engagement.Sdk.Segments.ISegmentStore CreateStore() => new Engagement.Sdk.Storage.Relational.RelationalSegmentStore(_schemas.Open());
}

[Collection(PostgreSqlCollection.Name)]
public sealed class PostgreSqlSegmentEngineTests(PostgreSqlServerFixture server) : Engagement.Sdk.SharedTests.SegmentEngineStoreTests
{
    private readonly PostgreSqlStoreOptions _options = server.FreshSchema().Value;

    protected override void UseStorage(Microsoft.Extensions.DependencyInjection.EngagementBuilder builder)
        => Microsoft.Extensions.DependencyInjection.PostgreSqlEngagementBuilderExtensions.UsePostgreSql(builder, o =>
        {
            o.ConnectionString = _options.ConnectionString;
            o.Schema = _options.Schema;
        });
}

[Collection(PostgreSqlCollection.Name)]
public sealed class PostgreSqlDecisioningStoreTests(PostgreSqlServerFixture server) : Engagement.Sdk.SharedTests.DecisioningStoreTests
{
    protected override string NewDatabase() => "t_" + Guid.NewGuid().ToString("N");

    protected override void UseStorage(Microsoft.Extensions.DependencyInjection.EngagementBuilder builder, string database)
        => Microsoft.Extensions.DependencyInjection.PostgreSqlEngagementBuilderExtensions.UsePostgreSql(builder, o => (o.ConnectionString, o.Schema) = (server.ConnectionString, database));
}
