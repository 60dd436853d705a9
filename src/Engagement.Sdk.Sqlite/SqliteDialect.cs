using Engagement.Sdk.Storage.Relational;

namespace Engagement.Sdk.Sqlite;

/// <summary>SQLite's names for the relational stores' tables and types.</summary>
internal sealed class SqliteDialect : SqlDialect
{
    private SqliteDialect()
    {
    }

    /// <summary>The instance (SQLite tables are not qualified: one file is one store).</summary>
    public static SqliteDialect Instance { get; } = new();

    /// <inheritdoc />
    public override string Name => "SQLite";

    /// <inheritdoc />
    public override string ForUpdateSkipLocked => string.Empty;

    /// <inheritdoc />
    public override string Table(string name) => name;

    /// <inheritdoc />
    public override string JsonTextArray(string parameter) => "json_each(" + parameter + ")";

    /// <inheritdoc />
    public override string TypeName(SqlType type) => type switch
    {
        SqlType.Key or SqlType.Text => "TEXT",
        SqlType.Int64 or SqlType.Int32 => "INTEGER",
        SqlType.Double => "REAL",
        SqlType.Bytes => "BLOB",
        _ => throw new ArgumentOutOfRangeException(nameof(type), type, "not a column type"),
    };
}
