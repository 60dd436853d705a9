using Engagement.Sdk.Storage.Relational;

namespace Engagement.Sdk.PostgreSql;

/// <summary>PostgreSQL's names for the relational stores' tables (qualified by the store's schema) and types.</summary>
/// <param name="quotedSchema">The store's schema, quoted.</param>
internal sealed class PostgreSqlDialect(string quotedSchema) : SqlDialect
{
    /// <inheritdoc />
    public override string Name => "PostgreSQL";

    /// <inheritdoc />
    public override string ForUpdateSkipLocked => "FOR UPDATE SKIP LOCKED";

    /// <inheritdoc />
    public override string Table(string name) => quotedSchema + "." + name;

    /// <inheritdoc />
    public override string JsonTextArray(string parameter) => "jsonb_array_elements_text(CAST(" + parameter + " AS jsonb))";

    // Keys use the "C" collation so that they compare and sort by code point, as on SQLite.
    /// <inheritdoc />
    public override string TypeName(SqlType type) => type switch
    {
        SqlType.Key => "text COLLATE \"C\"",
        SqlType.Text => "text",
        SqlType.Int64 => "bigint",
        SqlType.Int32 => "integer",
        SqlType.Double => "double precision",
        SqlType.Bytes => "bytea",
        _ => throw new ArgumentOutOfRangeException(nameof(type), type, "not a column type"),
    };
}
