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
    [Theory]
    [MemberData(nameof(Checks))]
    public Task Conforms(string check) => RunAsync(check);

    private readonly TemporaryDatabases _databases = new();

    public void Dispose() => _databases.Dispose();

    protected override IProfileStore CreateStore() => new SqliteProfileStore(_databases.Open());
}

public sealed class SqliteEventStoreTests : EventStoreConformanceTests, IDisposable
{
    [Theory]
    [MemberData(nameof(Checks))]
    public Task Conforms(string check) => RunAsync(check);

    private readonly TemporaryDatabases _databases = new();

    public void Dispose() => _databases.Dispose();

    protected override IEventStore CreateStore() => new SqliteEventStore(_databases.Open());
}

public sealed class SqliteConsentStoreTests : ConsentStoreConformanceTests, IDisposable
{
    [Theory]
    [MemberData(nameof(Checks))]
    public Task Conforms(string check) => RunAsync(check);

    private readonly TemporaryDatabases _databases = new();

    public void Dispose() => _databases.Dispose();

    protected override IConsentStore CreateStore() => new SqliteConsentStore(_databases.Open());
}

public sealed class SqliteDispatchStoreTests : DispatchStoreConformanceTests, IDisposable
{
    [Theory]
    [MemberData(nameof(Checks))]
    public Task Conforms(string check) => RunAsync(check);

    private readonly TemporaryDatabases _databases = new();

    public void Dispose() => _databases.Dispose();

    protected override IDispatchStore CreateStore() => new SqliteDispatchStore(_databases.Open());
}

public sealed class SqliteSuppressionStoreTests : SuppressionStoreConformanceTests, IDisposable
{
    [Theory]
    [MemberData(nameof(Checks))]
    public Task Conforms(string check) => RunAsync(check);

    private readonly TemporaryDatabases _databases = new();

    public void Dispose() => _databases.Dispose();

    protected override ISuppressionStore CreateStore() => new SqliteSuppressionStore(_databases.Open());
}

public sealed class SqliteEventRetentionTests : EventRetentionConformanceTests, IDisposable
{
    [Theory]
    [MemberData(nameof(Checks))]
    public Task Conforms(string check) => RunAsync(check);

    private readonly TemporaryDatabases _databases = new();

    public void Dispose() => _databases.Dispose();

    protected override IEventRetention CreateStore() => new SqliteEventStore(_databases.Open());
}

/// <summary>The decisioning stores written once on the relational layer, on SQLite: a second handle is a second connection to the same file.</summary>
public sealed class SqlitePropensityStoreTests : PropensityStoreConformanceTests, IDisposable
{
    [Theory]
    [MemberData(nameof(Checks))]
    public Task Conforms(string check) => RunAsync(check);

    private readonly TemporaryDatabases _databases = new();
    private string? _path;
    private SqliteDatabase? _database;

    public void Dispose() => _databases.Dispose();

    protected override IStoreTransactions Transactions => _database!;

    protected override Engagement.Sdk.Decisioning.IPropensityStore CreateStore() => new Engagement.Sdk.Storage.Relational.RelationalPropensityStore(_database = _databases.Open(_path = _databases.NewPath()));

    protected override Engagement.Sdk.Decisioning.IPropensityStore OpenAgain() => new Engagement.Sdk.Storage.Relational.RelationalPropensityStore(_databases.Open(_path));
}

public sealed class SqliteActionBudgetStoreTests : ActionBudgetStoreConformanceTests, IDisposable
{
    [Theory]
    [MemberData(nameof(Checks))]
    public Task Conforms(string check) => RunAsync(check);

    private readonly TemporaryDatabases _databases = new();
    private string? _path;
    private SqliteDatabase? _database;

    public void Dispose() => _databases.Dispose();

    protected override IStoreTransactions Transactions => _database!;

    protected override Engagement.Sdk.Decisioning.IActionBudgetStore CreateStore() => new Engagement.Sdk.Storage.Relational.RelationalActionBudgetStore(_database = _databases.Open(_path = _databases.NewPath()));

    protected override Engagement.Sdk.Decisioning.IActionBudgetStore OpenAgain() => new Engagement.Sdk.Storage.Relational.RelationalActionBudgetStore(_databases.Open(_path));
}

public sealed class SqliteActionContactLogTests : ActionContactLogConformanceTests, IDisposable
{
    [Theory]
    [MemberData(nameof(Checks))]
    public Task Conforms(string check) => RunAsync(check);

    private readonly TemporaryDatabases _databases = new();
    private string? _path;
    private SqliteDatabase? _database;

    public void Dispose() => _databases.Dispose();

    protected override IStoreTransactions Transactions => _database!;

    protected override Engagement.Sdk.Decisioning.IActionContactLog CreateStore() => new Engagement.Sdk.Storage.Relational.RelationalActionContactLog(_database = _databases.Open(_path = _databases.NewPath()));

    protected override Engagement.Sdk.Decisioning.IActionContactLog OpenAgain() => new Engagement.Sdk.Storage.Relational.RelationalActionContactLog(_databases.Open(_path));
}

public sealed class SqliteHouseholdStoreTests : HouseholdStoreConformanceTests, IDisposable
{
    [Theory]
    [MemberData(nameof(Checks))]
    public Task Conforms(string check) => RunAsync(check);

    private readonly TemporaryDatabases _databases = new();

    public void Dispose() => _databases.Dispose();

    protected override Engagement.Sdk.Households.IHouseholdStore CreateStore() => new Engagement.Sdk.Storage.Relational.RelationalHouseholdStore(_databases.Open());
}

public sealed class SqliteJourneyStoreTests : JourneyStoreConformanceTests, IDisposable
{
    [Theory]
    [MemberData(nameof(Checks))]
    public Task Conforms(string check) => RunAsync(check);

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

public sealed class SqliteJourneyRestartTests : Engagement.Sdk.SharedTests.JourneyRestartTests, IDisposable
{
    private readonly TemporaryDatabases _databases = new();
    private readonly string _path;

    public SqliteJourneyRestartTests() => _path = _databases.NewPath();

    public void Dispose() => _databases.Dispose();

    protected override void UseStorage(Microsoft.Extensions.DependencyInjection.EngagementBuilder builder)
        => Microsoft.Extensions.DependencyInjection.SqliteEngagementBuilderExtensions.UseSqlite(builder, "Data Source=" + _path);
}

public sealed class SqliteSegmentStoreTests : SegmentStoreConformanceTests, IDisposable
{
    [Theory]
    [MemberData(nameof(Checks))]
    public Task Conforms(string check) => RunAsync(check);

    private readonly TemporaryDatabases _databases = new();

    public void Dispose() => _databases.Dispose();

    protected override Engagement.Sdk.Segments.ISegmentStore CreateStore() => new Engagement.Sdk.Storage.Relational.RelationalSegmentStore(_databases.Open());
}

public sealed class SqliteSegmentEngineTests : Engagement.Sdk.SharedTests.SegmentEngineStoreTests, IDisposable
{
    private readonly TemporaryDatabases _databases = new();
    private readonly string _path;

    public SqliteSegmentEngineTests() => _path = _databases.NewPath();

    public void Dispose() => _databases.Dispose();

    protected override void UseStorage(Microsoft.Extensions.DependencyInjection.EngagementBuilder builder)
        => Microsoft.Extensions.DependencyInjection.SqliteEngagementBuilderExtensions.UseSqlite(builder, "Data Source=" + _path);
}

public sealed class SqliteDecisioningStoreTests : Engagement.Sdk.SharedTests.DecisioningStoreTests, IDisposable
{
    private readonly TemporaryDatabases _databases = new();

    public void Dispose() => _databases.Dispose();

    protected override string NewDatabase() => _databases.NewPath();

    protected override void UseStorage(Microsoft.Extensions.DependencyInjection.EngagementBuilder builder, string database)
        => Microsoft.Extensions.DependencyInjection.SqliteEngagementBuilderExtensions.UseSqlite(builder, o => (o.ConnectionString, o.BusyTimeout) = ($"Data Source={database}", TimeSpan.FromSeconds(30)));
}
