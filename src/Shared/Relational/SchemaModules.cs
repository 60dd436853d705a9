using System.Data.Common;
using System.Globalization;

namespace Engagement.Sdk.Storage.Relational;

/// <summary>
/// The tables of one capability's store, with the steps that create and then migrate them: step <c>n</c> takes the module
/// from version <c>n</c> to <c>n + 1</c> (version 0 is "absent"), so a new version of a module only appends steps. Each
/// module's version is kept on its own row of <c>schema_modules</c>, so capabilities evolve their tables independently.
/// </summary>
/// <param name="Name">The module's name (lower case, stable: it is the row's key).</param>
/// <param name="Steps">The statement templates of each step, in order (see <see cref="SqlDialect"/> for the tokens).</param>
internal sealed record SchemaModule(string Name, IReadOnlyList<string> Steps)
{
    /// <summary>The version this code writes: the number of steps.</summary>
    public int Version => Steps.Count;
}

/// <summary>Creates and migrates the schema modules of the stores written once for every relational database.</summary>
internal static class SchemaModules
{
    /// <summary>Every module, in the order they are created (a module may refer to the tables of an earlier one).</summary>
    public static IReadOnlyList<SchemaModule> All { get; } =
    [
        RelationalJourneyStore.Schema,
        RelationalPropensityStore.Module,
        RelationalActionContactLog.Module,
        RelationalActionBudgetStore.Module,
        RelationalHouseholdStore.Module,
        RelationalSegmentStore.Module,
    ];

    private const string CreateTable = "CREATE TABLE IF NOT EXISTS {t:schema_modules} (module {key} NOT NULL PRIMARY KEY, version {int32} NOT NULL)";

    /// <summary>
    /// Brings every module in <paramref name="modules"/> to its version, inside the caller's transaction, which must hold the
    /// database's schema lock (SQLite: <c>BEGIN IMMEDIATE</c>; PostgreSQL: the schema's advisory lock), so that two processes
    /// opening an older database migrate it once.
    /// </summary>
    /// <param name="dialect">The dialect.</param>
    /// <param name="connection">The open connection.</param>
    /// <param name="transaction">The transaction holding the schema lock (SQLite's may be a raw <c>BEGIN</c>: <see langword="null"/>).</param>
    /// <param name="modules">The modules.</param>
    /// <param name="cancellationToken">Cancels the work.</param>
    /// <returns>A task.</returns>
    /// <exception cref="InvalidOperationException">A module's stored version is newer than this code's.</exception>
    public static async Task ApplyAsync(SqlDialect dialect, DbConnection connection, DbTransaction? transaction, IReadOnlyList<SchemaModule> modules, CancellationToken cancellationToken)
    {
        var session = new RelationalSession(dialect, connection, transaction, prepared: null);
        using (var create = session.Command(CreateTable))
        {
            await create.ExecuteAsync(cancellationToken).ConfigureAwait(false);
        }

        foreach (var module in modules)
        {
            int stored;
            using (var read = session.Command("SELECT version FROM {t:schema_modules} WHERE module = @module"))
            {
                var value = await read.Bind("@module", module.Name).ScalarAsync(cancellationToken).ConfigureAwait(false);
                stored = value is null ? 0 : Convert.ToInt32(value, CultureInfo.InvariantCulture);
            }

            if (stored > module.Version)
            {
                throw new InvalidOperationException($"The {module.Name} tables were written by a newer version of this package (version {stored}); this package understands version {module.Version}.");
            }

            for (var step = stored; step < module.Version; step++)
            {
                using var migrate = session.Command(module.Steps[step]);
                await migrate.ExecuteAsync(cancellationToken).ConfigureAwait(false);
            }

            if (stored < module.Version)
            {
                using var record = session.Command("INSERT INTO {t:schema_modules} (module, version) VALUES (@module, @version) ON CONFLICT (module) DO UPDATE SET version = excluded.version");
                await record.Bind("@module", module.Name).Bind("@version", module.Version).ExecuteAsync(cancellationToken).ConfigureAwait(false);
            }
        }
    }
}
