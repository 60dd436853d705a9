using System.Data.Common;
using Engagement.Sdk.Storage.Relational;

namespace Engagement.Sdk.SharedTests;

/// <summary>
/// The layer that the stores written once for SQLite and PostgreSQL stand on: schema modules created and migrated step by
/// step and at most once, statements rendered in the dialect, writes all-or-nothing on their own and part of the current unit
/// of work inside one, types and key order the same on both. This file is shared by the SQLite and PostgreSQL tests.
/// </summary>
public abstract class RelationalLayerTests
{
    private static readonly SchemaModule Version1 = new("layer_test",
    [
        "CREATE TABLE {t:layer_items} (id {key} NOT NULL PRIMARY KEY, label {text} NOT NULL, count {int64} NOT NULL, share {double}, payload {bytes})",
    ]);

    private static readonly SchemaModule Version2 = Version1 with
    {
        Steps = [.. Version1.Steps, "ALTER TABLE {t:layer_items} ADD COLUMN rank {int32}; UPDATE {t:layer_items} SET rank = 7"],
    };

    /// <summary>Opens a fresh, empty database.</summary>
    /// <returns>The database, as the relational stores see it.</returns>
    internal abstract IRelationalDatabase Open();

    [Fact]
    public async Task Open_AnyDatabase_KeepsTheModulesVersionsInATableOfItsOwn()
    {
        var database = Open();

        var modules = await Read(database, "SELECT count(*) FROM {t:schema_modules}", static _ => { });

        Convert.ToInt64(modules, System.Globalization.CultureInfo.InvariantCulture).Should().Be(SchemaModules.All.Count);
    }

    [Fact]
    public async Task ApplyModule_StepByStep_MigratesExistingRowsOnceAndRefusesToGoBack()
    {
        var database = Open();
        await Apply(database, Version1);
        await Write(database, "INSERT INTO {t:layer_items} (id, label, count) VALUES (@id, @label, @count)", c => c.Bind("@id", "a").Bind("@label", "first").Bind("@count", 1L));

        await Apply(database, Version2);
        await Apply(database, Version2); // a second process opening the same database

        var rank = await Read(database, "SELECT rank FROM {t:layer_items} WHERE id = @id", c => c.Bind("@id", "a"));
        Convert.ToInt32(rank, System.Globalization.CultureInfo.InvariantCulture).Should().Be(7);
        var version = await Read(database, "SELECT version FROM {t:schema_modules} WHERE module = @module", c => c.Bind("@module", "layer_test"));
        Convert.ToInt32(version, System.Globalization.CultureInfo.InvariantCulture).Should().Be(2);

        var older = () => Apply(database, Version1);
        (await older.Should().ThrowAsync<InvalidOperationException>()).Which.Message.Should().Contain("layer_test").And.Contain("version 2").And.Contain("version 1");
    }

    [Fact]
    public async Task Write_OnItsOwn_FailingPartWay_WritesNothing()
    {
        var database = Open();
        await Apply(database, Version1);

        var act = () => database.WriteAsync<int, int>(0, static async (session, _, ct) =>
        {
            using (var insert = session.Command("INSERT INTO {t:layer_items} (id, label, count) VALUES ('a', 'x', 1)"))
            {
                await insert.ExecuteAsync(ct);
            }

            throw new IOException("the disk went away");
        }, CancellationToken.None).AsTask();

        await act.Should().ThrowAsync<IOException>();
        (await Count(database)).Should().Be(0);
    }

    [Fact]
    public async Task Write_InsideAUnitOfWork_IsKeptOrUndoneWithTheUnit()
    {
        var database = Open();
        await Apply(database, Version1);

        await using (var unit = database.Begin())
        {
            await Write(database, "INSERT INTO {t:layer_items} (id, label, count) VALUES ('undone', 'x', 1)", static _ => { });
            (await Count(database)).Should().Be(1, "the unit reads its own writes");
        }

        await using (var unit = database.Begin())
        {
            await Write(database, "INSERT INTO {t:layer_items} (id, label, count) VALUES ('kept', 'x', 1)", static _ => { });
            await unit.CompleteAsync();
        }

        var ids = await database.ReadAsync(0, static async (session, _, ct) =>
        {
            using var select = session.Command("SELECT id FROM {t:layer_items}");
            await using var reader = await select.ReaderAsync(ct);
            var found = new List<string>();
            while (await reader.ReadAsync(ct))
            {
                found.Add(reader.GetString(0));
            }

            return found;
        }, CancellationToken.None);
        ids.Should().Equal("kept");
    }

    [Fact]
    public async Task Upsert_ColumnTypes_RoundTripAndKeysSortByCodePoint()
    {
        var database = Open();
        await Apply(database, Version1);
        string[] ids = ["b", "B", "é", "a", "Z", "😀", "ä"];
        foreach (var id in ids)
        {
            await Write(database, "INSERT INTO {t:layer_items} (id, label, count, share, payload) VALUES (@id, @label, @count, @share, @payload) ON CONFLICT (id) DO UPDATE SET count = excluded.count",
                c => c.Bind("@id", id).Bind("@label", "Żółw " + id).Bind("@count", long.MaxValue).Bind("@share", 0.1).Bind("@payload", new byte[] { 0, 255, 7 }));
        }

        await Write(database, "INSERT INTO {t:layer_items} (id, label, count, share, payload) VALUES (@id, 'ignored', @count, NULL, NULL) ON CONFLICT (id) DO UPDATE SET count = excluded.count",
            c => c.Bind("@id", "a").Bind("@count", -5L));

        var rows = await database.ReadAsync(0, static async (session, _, ct) =>
        {
            using var select = session.Command("SELECT id, label, count, share, payload FROM {t:layer_items} ORDER BY id");
            await using var reader = await select.ReaderAsync(ct);
            var found = new List<(string Id, string Label, long Count, double Share, byte[] Payload)>();
            while (await reader.ReadAsync(ct))
            {
                found.Add((reader.GetString(0), reader.GetString(1), reader.GetInt64(2), reader.GetDouble(3), (byte[])reader.GetValue(4)));
            }

            return found;
        }, CancellationToken.None);

        rows.Select(r => r.Id).Should().Equal(ids.Order(StringComparer.Ordinal));
        rows.Should().OnlyContain(r => r.Label == "Żółw " + r.Id && r.Share == 0.1 && r.Payload.SequenceEqual(new byte[] { 0, 255, 7 }));
        rows.Single(r => r.Id == "a").Count.Should().Be(-5);
        rows.Where(r => r.Id != "a").Should().OnlyContain(r => r.Count == long.MaxValue);
    }

    [Theory]
    [InlineData("SELECT {nope} FROM x", "{nope}")]
    [InlineData("SELECT 1 FROM {t:Bad-Name}", "{t:Bad-Name}")]
    [InlineData("SELECT '{' FROM x", "unmatched '{'")]
    [InlineData("SELECT '}' FROM x", "unmatched '}'")]
    public void Render_BadTemplate_NamesTheProblem(string template, string named)
    {
        var dialect = Open().Dialect;

        var act = () => dialect.Render(template);

        act.Should().Throw<InvalidOperationException>().WithMessage($"*{named}*");
    }

    [Fact]
    public void Render_Braces_AreEscapedByDoubling()
        => Open().Dialect.Render("SELECT '{{}}'").Should().Be("SELECT '{}'");

    private static Task Apply(IRelationalDatabase database, SchemaModule module)
        => database.WriteAsync(module, static async (session, m, ct) =>
        {
            await SchemaModules.ApplyAsync(session.Dialect, session.Connection, session.Transaction, [m], ct);
            return 0;
        }, CancellationToken.None).AsTask();

    private static Task Write(IRelationalDatabase database, string template, Action<RelationalCommand> bind)
        => database.WriteAsync((template, bind), static async (session, a, ct) =>
        {
            using var command = session.Command(a.template);
            a.bind(command);
            return await command.ExecuteAsync(ct);
        }, CancellationToken.None).AsTask();

    private static Task<object?> Read(IRelationalDatabase database, string template, Action<RelationalCommand> bind)
        => database.ReadAsync((template, bind), static async (session, a, ct) =>
        {
            using var command = session.Command(a.template);
            a.bind(command);
            return await command.ScalarAsync(ct);
        }, CancellationToken.None).AsTask();

    private static async Task<long> Count(IRelationalDatabase database)
        => Convert.ToInt64(await Read(database, "SELECT count(*) FROM {t:layer_items}", static _ => { }), System.Globalization.CultureInfo.InvariantCulture);
}
