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

    [Fact]
    public async Task Query_ReadsEveryRowAsStored_AndRunsAgainAfterAnEarlyStop()
    {
        var database = Database(Path.Combine(_directory, "shop.db"));
        await using (database)
        {
            await database.RunAsync(
                static db =>
                {
                    db.Execute("CREATE TABLE t (k INTEGER NOT NULL, a TEXT, b INTEGER)");
                    var insert = db.Statement("INSERT INTO t (k, a, b) VALUES (?1, ?2, ?3)");
                    insert.Integer(1, 1).Text(2, "plain").Integer(3, long.MaxValue).Execute();
                    insert.Integer(1, 2).Text(2, "emoji 🧑‍🤝‍🧑 and e\u0301").Null(3).Execute();
                    insert.Integer(1, 3).Null(2).Integer(3, -1).Execute();
                    insert.Integer(1, 4).Text(2, string.Empty).Integer(3, 0).Execute();

                    var query = db.Statement("SELECT a, b FROM t WHERE k >= ?1 ORDER BY k");
                    var rows = new List<string>();
                    try
                    {
                        for (var row = query.Integer(1, 1).Query(); row; row = query.Next())
                        {
                            var a = query.IsNull(0) ? "NULL" : query.String(0);
                            a.Should().Be(query.IsNull(0) ? "NULL" : System.Text.Encoding.UTF8.GetString(query.Utf8Column(0)), "the span is the text's UTF-8");
                            rows.Add(a + ":" + (query.IsNull(1) ? "NULL" : query.Int64(1).ToString(System.Globalization.CultureInfo.InvariantCulture)));
                        }
                    }
                    finally
                    {
                        query.Reset();
                    }

                    rows.Should().Equal($"plain:{long.MaxValue}", "emoji 🧑‍🤝‍🧑 and e\u0301:NULL", "NULL:-1", ":0");

                    // Stopped after the first row and reset: the next run starts from the first row again, with its own values.
                    query.Integer(1, 2).Query().Should().BeTrue();
                    query.Reset();
                    query.Integer(1, 3).Query().Should().BeTrue();
                    query.IsNull(0).Should().BeTrue();
                    query.Int64(1).Should().Be(-1);
                    query.Reset();

                    var unbound = () => query.Query();
                    unbound.Should().Throw<InvalidOperationException>("a query also runs only on values bound for it");
                    return 0;
                },
                CancellationToken.None);
        }
    }

    [Theory]
    [MemberData(nameof(Texts))]
    public async Task Dispatches_ReadThroughStatements_AreTheRecordsAsStored_FromTheCacheOrParsed(string text)
    {
        var database = Database(Path.Combine(_directory, "shop.db"));
        await using (database)
        {
            var store = new SqliteDispatchStore(database);
            var queued = new DispatchRecord
            {
                DispatchId = "d-" + text + "-1", CustomerId = new CustomerId("ann"), Channel = Channels.Channel.Email, Purpose = Consent.Purpose.Marketing,
                ActionId = "offer", CreatedAt = At, Error = text,
            };
            (await store.TryBeginAsync(queued)).Should().BeTrue();
            var leaseUntil = At.AddMinutes(5);
            var claimed = (await store.ClaimAsync(At.AddMinutes(1), "w-" + text + "-1", leaseUntil, 10)).Should().ContainSingle().Subject;
            claimed.DispatchId.Should().Be(queued.DispatchId);

            // The lease is in the columns: the same store (which knows the document) and a new one (which parses it) read it alike.
            var known = await store.GetAsync(queued.DispatchId);
            var parsed = await new SqliteDispatchStore(database).GetAsync(queued.DispatchId);
            foreach (var read in new[] { known, parsed })
            {
                read.Should().NotBeNull();
                read!.Status.Should().Be(DispatchStatus.Sending);
                read.LeaseOwner.Should().Be("w-" + text + "-1");
                read.LeaseUntil.Should().Be(leaseUntil);
                read.Error.Should().Be(text);
                read.CustomerId.Should().Be(queued.CustomerId);
            }

            parsed.Should().BeEquivalentTo(known);
            (await store.ListByStatusAsync(DispatchStatus.Sending).ToListAsync()).Select(d => d.DispatchId).Should().Equal(queued.DispatchId);
            (await store.ListAsync(queued.CustomerId, At)).Select(d => d.LeaseOwner).Should().Equal("w-" + text + "-1");
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
