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
    private readonly TemporarySchemas _schemas = new(server);

    public void Dispose() => _schemas.Dispose();

    protected override IProfileStore CreateStore() => new PostgreSqlProfileStore(_schemas.Open());
}

[Collection(PostgreSqlCollection.Name)]
public sealed class PostgreSqlEventStoreTests(PostgreSqlServerFixture server) : EventStoreConformanceTests, IDisposable
{
    private readonly TemporarySchemas _schemas = new(server);

    public void Dispose() => _schemas.Dispose();

    protected override IEventStore CreateStore() => new PostgreSqlEventStore(_schemas.Open());
}

[Collection(PostgreSqlCollection.Name)]
public sealed class PostgreSqlConsentStoreTests(PostgreSqlServerFixture server) : ConsentStoreConformanceTests, IDisposable
{
    private readonly TemporarySchemas _schemas = new(server);

    public void Dispose() => _schemas.Dispose();

    protected override IConsentStore CreateStore() => new PostgreSqlConsentStore(_schemas.Open());
}

[Collection(PostgreSqlCollection.Name)]
public sealed class PostgreSqlDispatchStoreTests(PostgreSqlServerFixture server) : DispatchStoreConformanceTests, IDisposable
{
    private readonly TemporarySchemas _schemas = new(server);

    public void Dispose() => _schemas.Dispose();

    protected override IDispatchStore CreateStore() => new PostgreSqlDispatchStore(_schemas.Open());
}

[Collection(PostgreSqlCollection.Name)]
public sealed class PostgreSqlSuppressionStoreTests(PostgreSqlServerFixture server) : SuppressionStoreConformanceTests, IDisposable
{
    private readonly TemporarySchemas _schemas = new(server);

    public void Dispose() => _schemas.Dispose();

    protected override ISuppressionStore CreateStore() => new PostgreSqlSuppressionStore(_schemas.Open());
}

[Collection(PostgreSqlCollection.Name)]
public sealed class PostgreSqlEventRetentionTests(PostgreSqlServerFixture server) : EventRetentionConformanceTests, IDisposable
{
    private readonly TemporarySchemas _schemas = new(server);

    public void Dispose() => _schemas.Dispose();

    protected override IEventRetention CreateStore() => new PostgreSqlEventStore(_schemas.Open());
}

[Collection(PostgreSqlCollection.Name)]
public sealed class PostgreSqlHouseholdStoreTests(PostgreSqlServerFixture server) : HouseholdStoreConformanceTests, IDisposable
{
    private readonly TemporarySchemas _schemas = new(server);

    public void Dispose() => _schemas.Dispose();

    protected override Engagement.Sdk.Households.IHouseholdStore CreateStore() => new Engagement.Sdk.Storage.Relational.RelationalHouseholdStore(_schemas.Open());
}
