using Engagement.Sdk.Sqlite;
using Engagement.Sdk.Storage;
using Engagement.Sdk.Testing.Conformance;
using Microsoft.Extensions.Options;

namespace Engagement.Sdk.Sqlite.Tests;

/// <summary>Fresh database files for one test class instance, deleted afterwards.</summary>
public sealed class TemporaryDatabases : IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("engagement-sqlite-").FullName;
    private readonly List<SqliteDatabase> _open = [];

    public string NewPath() => Path.Combine(_directory, Guid.NewGuid().ToString("N") + ".db");

    public SqliteDatabase Open(string? path = null)
    {
        var database = new SqliteDatabase(Options.Create(new SqliteStoreOptions { ConnectionString = $"Data Source={path ?? NewPath()}" }));
        _open.Add(database);
        return database;
    }

    public void Dispose()
    {
        foreach (var database in _open)
        {
            database.Dispose();
        }

        Directory.Delete(_directory, recursive: true);
    }
}

public sealed class SqliteProfileStoreTests : ProfileStoreConformanceTests, IDisposable
{
    private readonly TemporaryDatabases _databases = new();

    public void Dispose() => _databases.Dispose();

    protected override IProfileStore CreateStore() => new SqliteProfileStore(_databases.Open());
}

public sealed class SqliteEventStoreTests : EventStoreConformanceTests, IDisposable
{
    private readonly TemporaryDatabases _databases = new();

    public void Dispose() => _databases.Dispose();

    protected override IEventStore CreateStore() => new SqliteEventStore(_databases.Open());
}

public sealed class SqliteConsentStoreTests : ConsentStoreConformanceTests, IDisposable
{
    private readonly TemporaryDatabases _databases = new();

    public void Dispose() => _databases.Dispose();

    protected override IConsentStore CreateStore() => new SqliteConsentStore(_databases.Open());
}

public sealed class SqliteDispatchStoreTests : DispatchStoreConformanceTests, IDisposable
{
    private readonly TemporaryDatabases _databases = new();

    public void Dispose() => _databases.Dispose();

    protected override IDispatchStore CreateStore() => new SqliteDispatchStore(_databases.Open());
}

public sealed class SqliteSuppressionStoreTests : SuppressionStoreConformanceTests, IDisposable
{
    private readonly TemporaryDatabases _databases = new();

    public void Dispose() => _databases.Dispose();

    protected override ISuppressionStore CreateStore() => new SqliteSuppressionStore(_databases.Open());
}

public sealed class SqliteEventRetentionTests : EventRetentionConformanceTests, IDisposable
{
    private readonly TemporaryDatabases _databases = new();

    public void Dispose() => _databases.Dispose();

    protected override IEventRetention CreateStore() => new SqliteEventStore(_databases.Open());
}

public sealed class SqliteHouseholdStoreTests : HouseholdStoreConformanceTests, IDisposable
{
    private readonly TemporaryDatabases _databases = new();

    public void Dispose() => _databases.Dispose();

    protected override Engagement.Sdk.Households.IHouseholdStore CreateStore() => new Engagement.Sdk.Storage.Relational.RelationalHouseholdStore(_databases.Open());
}

public sealed class SqliteJourneyStoreTests : JourneyStoreConformanceTests, IDisposable
{
    private readonly TemporaryDatabases _databases = new();
    private readonly Dictionary<Engagement.Sdk.Journeys.IJourneyStore, (string Path, SqliteDatabase Database)> _paths = [];

    public void Dispose() => _databases.Dispose();

    protected override Engagement.Sdk.Journeys.IJourneyStore CreateStore()
    {
        var path = _databases.NewPath();
        var database = _databases.Open(path);
        var store = new Engagement.Sdk.Storage.Relational.RelationalJourneyStore(database);
        _paths[store] = (path, database);
        return store;
    }

    protected override Engagement.Sdk.Journeys.IJourneyStore Reopen(Engagement.Sdk.Journeys.IJourneyStore store)
        => new Engagement.Sdk.Storage.Relational.RelationalJourneyStore(_databases.Open(_paths[store].Path));

    protected override IStoreTransactions? TransactionsOf(Engagement.Sdk.Journeys.IJourneyStore store) => _paths[store].Database;
}
