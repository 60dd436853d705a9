using Microsoft.Extensions.Options;
using Npgsql;

namespace Engagement.Sdk.PostgreSql.Tests;

/// <summary>The tests that need a PostgreSQL server share one, through this collection.</summary>
[CollectionDefinition(Name)]
public sealed class PostgreSqlCollection : ICollectionFixture<PostgreSqlServerFixture>
{
    /// <summary>The collection's name.</summary>
    public const string Name = "PostgreSQL server";
}

/// <summary>
/// Provides a PostgreSQL server to the tests: the one that <c>ENGAGEMENT_SDK_POSTGRES</c> names (a connection string), else a
/// throw-away local server (see <see cref="LocalPostgreSqlServer"/>). The tests get a database of their own, created with a random
/// name and dropped at the end, and each test a fresh schema in it. When no server can be provided the tests are skipped with
/// the reason, unless <c>ENGAGEMENT_SDK_REQUIRE_POSTGRES=1</c>, which makes them fail instead.
/// </summary>
public sealed class PostgreSqlServerFixture : IAsyncLifetime
{
    /// <summary>The environment variable that names an existing server.</summary>
    public const string ServerVariable = "ENGAGEMENT_SDK_POSTGRES";

    /// <summary>The environment variable that, set to 1, turns a missing server into a failure.</summary>
    public const string RequireVariable = "ENGAGEMENT_SDK_REQUIRE_POSTGRES";

    private readonly List<string> _databases = [];
    private LocalPostgreSqlServer? _local;
    private string? _adminConnectionString;
    private string? _testConnectionString;
    private Exception? _failure;

    /// <summary>
    /// Why the tests that need a server are skipped, or <see langword="null"/> when a server can be provided (or is required).
    /// Decided without starting anything, so that it can be asked while the tests are discovered.
    /// </summary>
    public static string? SkipReason
    {
        get
        {
            if (Environment.GetEnvironmentVariable(RequireVariable) == "1"
                || !string.IsNullOrWhiteSpace(Environment.GetEnvironmentVariable(ServerVariable))
                || LocalPostgreSqlServer.FindBinDirectory() is not null
                || LocalPostgreSqlServer.CanInstall)
            {
                return null;
            }

            return $"No PostgreSQL server is available: set {ServerVariable} to a connection string, or install the PostgreSQL server binaries (initdb and pg_ctl); set {RequireVariable}=1 to fail instead of skipping.";
        }
    }

    /// <summary>A connection string for the tests' own database.</summary>
    public string ConnectionString => _testConnectionString ?? throw Unavailable();

    /// <inheritdoc />
    public async Task InitializeAsync()
    {
        if (SkipReason is not null)
        {
            return;
        }

        try
        {
            var external = Environment.GetEnvironmentVariable(ServerVariable);
            if (string.IsNullOrWhiteSpace(external))
            {
                _local = await LocalPostgreSqlServer.StartAsync();
                _adminConnectionString = _local.ConnectionString;
            }
            else
            {
                _adminConnectionString = external;
            }

            _testConnectionString = await CreateDatabaseAsync();
        }
        catch (Exception e) when (e is InvalidOperationException or TimeoutException or NpgsqlException or IOException)
        {
            _failure = e;
        }
    }

    /// <summary>Creates an empty database with a random name (dropped when the tests end).</summary>
    /// <returns>A connection string for it.</returns>
    public async Task<string> CreateDatabaseAsync()
    {
        var admin = _adminConnectionString ?? throw Unavailable();
        var name = "engagement_sdk_test_" + Guid.NewGuid().ToString("N");
        await using (var connection = new NpgsqlConnection(admin))
        {
            await connection.OpenAsync();
            await using var create = new NpgsqlCommand($"CREATE DATABASE \"{name}\" ENCODING 'UTF8' TEMPLATE template0", connection);
            await create.ExecuteNonQueryAsync();
        }

        _databases.Add(name);
        return new NpgsqlConnectionStringBuilder(admin) { Database = name, MaxPoolSize = 40, Pooling = true }.ToString();
    }

    /// <summary>Options for a fresh, not yet created schema in the tests' database.</summary>
    /// <returns>The options.</returns>
    public IOptions<PostgreSqlStoreOptions> FreshSchema()
        => Options.Create(new PostgreSqlStoreOptions { ConnectionString = ConnectionString, Schema = "t_" + Guid.NewGuid().ToString("N") });

    /// <inheritdoc />
    public async Task DisposeAsync()
    {
        NpgsqlConnection.ClearAllPools();
        if (_local is not null)
        {
            // The whole server and its data directory go.
            await _local.DisposeAsync();
            return;
        }

        if (_adminConnectionString is null)
        {
            return;
        }

        await using var connection = new NpgsqlConnection(_adminConnectionString);
        await connection.OpenAsync();
        foreach (var name in _databases)
        {
            await using var drop = new NpgsqlCommand($"DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)", connection);
            await drop.ExecuteNonQueryAsync();
        }
    }

    private InvalidOperationException Unavailable()
        => _failure is not null
            ? new InvalidOperationException($"No PostgreSQL server could be provided for the tests{Required}: {_failure.Message}", _failure)
            : new InvalidOperationException($"No PostgreSQL server could be provided for the tests{Required}. {SkipReason}");

    private static string Required
        => Environment.GetEnvironmentVariable(RequireVariable) == "1" ? $" ({RequireVariable}=1: they must run, not be skipped)" : string.Empty;
}
