using Engagement.Sdk.OutboxWorkerHost;
using Engagement.Sdk.SharedTests;
using Microsoft.Extensions.DependencyInjection;
using Xunit.Abstractions;

namespace Engagement.Sdk.Sqlite.Tests;

/// <summary>The kill -9 test runs alone: its worker processes need the machine's cores.</summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class WorkerProcessCollection
{
    /// <summary>The collection's name.</summary>
    public const string Name = "Worker processes";
}

/// <summary>The outbox under kill -9 on SQLite: worker processes on one file, killed and replaced while they deliver 1,000 messages.</summary>
/// <param name="output">The test's output.</param>
[Collection(WorkerProcessCollection.Name)]
public sealed class SqliteOutboxKillTests(ITestOutputHelper output) : OutboxKillTests(output), IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("engagement-kill-").FullName;

    protected override int Messages => 1_000;

    protected override string StoreName => "SQLite";

    private string DatabasePath => Path.Combine(_directory, "outbox.db");

    public void Dispose()
    {
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        Directory.Delete(_directory, recursive: true);
    }

    protected override void UseStore(EngagementBuilder builder)
        => builder.UseSqlite(o => (o.ConnectionString, o.BusyTimeout) = ($"Data Source={DatabasePath}", TimeSpan.FromSeconds(30)));

    protected override WorkerArguments WorkerOn(Uri endpoint, string workerId) => new(endpoint, workerId, DatabasePath, null, null);
}
