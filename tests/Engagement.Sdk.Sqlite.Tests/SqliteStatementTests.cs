using System.Text.Json;
using Engagement.Sdk.Events;
using Engagement.Sdk.Profiles;
using Engagement.Sdk.Serialization;
using Engagement.Sdk.Storage;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Options;

namespace Engagement.Sdk.Sqlite.Tests;

/// <summary>
/// The statements every tracked event runs go straight through SQLite's C interface with documents written as UTF-8: what
/// they store must be exactly what serializing to a string stored, and a statement must refuse to run on stale values.
/// </summary>
public sealed class SqliteStatementTests : IDisposable
{
    private static readonly DateTimeOffset At = new(2026, 6, 1, 12, 0, 0, TimeSpan.FromHours(2));
    private readonly string _directory = Directory.CreateTempSubdirectory("engagement-statement-").FullName;

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    public static TheoryData<string> Texts => new()
    {
        "plain",
        "emoji 🧑‍🤝‍🧑 and 👍🏽",
        "combining e\u0301 and a\u030A",
        "right to left: שלום, مرحبا",
        "quotes \" and backslash \\ and <html> & 'apostrophes'",
        "control \u0001 and tab \t",
    };

    [Theory]
    [MemberData(nameof(Texts))]
    public async Task EventAndProfile_StoredDocuments_AreTheBytesOfTheStringSerialization(string text)
    {
        var path = Path.Combine(_directory, "shop.db");
        var database = Database(path);
        await using (database)
        {
            var view = new ProductViewed { EventId = "e-" + text, CustomerId = new CustomerId("ann"), Timestamp = At, ProductId = text, Category = text };
            (await new SqliteEventStore(database).AppendAsync(view)).Should().Be(AppendOutcome.Appended);
            var profile = ProfileUpdater.Apply(CustomerProfile.New(new CustomerId("ann")), view);
            var saved = await new SqliteProfileStore(database).SaveAsync(profile);

            // Read back through a separate connection, as text, exactly as stored.
            await using var reader = new SqliteConnection($"Data Source={path}");
            reader.Open();
            Stored(reader, "SELECT document FROM events").Should().Be(JsonSerializer.Serialize<EngagementEvent>(view, EngagementJsonContext.Default.EngagementEvent));
            Stored(reader, "SELECT document FROM profiles").Should().Be(JsonSerializer.Serialize(saved, EngagementJsonContext.Default.CustomerProfile));
            Stored(reader, "SELECT typeof(document) FROM events").Should().Be("text", "documents are stored as text, as before");

            // The same event again is a duplicate (its stored text compared with the new one), a changed payload a conflict.
            (await new SqliteEventStore(database).AppendAsync(view)).Should().Be(AppendOutcome.Duplicate);
            var changed = () => new SqliteEventStore(database).AppendAsync(view with { ProductId = text + "!" }).AsTask();
            await changed.Should().ThrowAsync<EventConflictException>();
        }
    }

    [Fact]
    public async Task Execute_AParameterNotBoundSinceTheLastRun_IsRefusedAndWritesNothing()
    {
        var path = Path.Combine(_directory, "shop.db");
        var database = Database(path);
        await using (database)
        {
            await database.RunAsync(
                static db =>
                {
                    db.Execute("CREATE TABLE t (a TEXT NOT NULL, b INTEGER NOT NULL)");
                    var insert = db.Statement("INSERT INTO t (a, b) VALUES (?1, ?2)");
                    insert.Text(1, "first").Integer(2, 1).Execute().Should().Be(1);

                    // The second run binds only ?1: ?2 must not silently keep the first run's value.
                    var stale = () => insert.Text(1, "second").Execute();
                    stale.Should().Throw<InvalidOperationException>().WithMessage("*INSERT INTO t*");
                    insert.Text(1, "third").Integer(2, 3).Execute().Should().Be(1, "the statement is usable again once all values are bound");
                    return 0;
                },
                CancellationToken.None);

            await using var reader = new SqliteConnection($"Data Source={path}");
            reader.Open();
            Stored(reader, "SELECT group_concat(a || ':' || b, ',') FROM t").Should().Be("first:1,third:3");
        }
    }

    [Fact]
    public async Task Command_AParameterNotBoundSinceTheLastUse_FailsAndWritesNothing()
    {
        var path = Path.Combine(_directory, "shop.db");
        var database = Database(path);
        await using (database)
        {
            await database.RunAsync(
                static db =>
                {
                    db.Execute("CREATE TABLE t (a TEXT NOT NULL, b INTEGER NOT NULL)");
                    const string Sql = "INSERT INTO t (a, b) VALUES ($a, $b)";
                    var first = db.Command(Sql);
                    first.Bind("$a", "first");
                    first.Bind("$b", 1);
                    first.ExecuteNonQuery().Should().Be(1);

                    // The reused command binds only $a: $b must not silently keep the first use's value.
                    var stale = db.Command(Sql);
                    stale.Should().BeSameAs(first, "the command is reused");
                    stale.Bind("$a", "second");
                    var act = () => stale.ExecuteNonQuery();
                    act.Should().Throw<InvalidOperationException>();

                    var third = db.Command(Sql);
                    third.Bind("$a", "third");
                    third.Bind("$b", 3);
                    third.ExecuteNonQuery().Should().Be(1, "the command is usable again once all values are bound");
                    return 0;
                },
                CancellationToken.None);

            await using var reader = new SqliteConnection($"Data Source={path}");
            reader.Open();
            Stored(reader, "SELECT group_concat(a || ':' || b, ',') FROM t").Should().Be("first:1,third:3");
        }
    }

    [Fact]
    public async Task Execute_AConstraintFails_ThrowsTheSqliteErrorAndTheStatementRunsAgain()
    {
        var database = Database(Path.Combine(_directory, "shop.db"));
        await using (database)
        {
            await database.RunAsync(
                static db =>
                {
                    db.Execute("CREATE TABLE t (a TEXT NOT NULL PRIMARY KEY)");
                    var insert = db.Statement("INSERT INTO t (a) VALUES (?1)");
                    insert.Text(1, "x").Execute();
                    var again = () => insert.Text(1, "x").Execute();
                    again.Should().Throw<SqliteException>().Which.SqliteErrorCode.Should().Be(19, "SQLITE_CONSTRAINT");
                    insert.Text(1, string.Empty).Execute().Should().Be(1, "an empty string is text, not NULL");
                    return 0;
                },
                CancellationToken.None);
        }
    }

    private static SqliteDatabase Database(string path) => new(Options.Create(new SqliteStoreOptions { ConnectionString = $"Data Source={path}" }));

    private static string? Stored(SqliteConnection connection, string sql)
    {
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        return command.ExecuteScalar() as string;
    }
}
