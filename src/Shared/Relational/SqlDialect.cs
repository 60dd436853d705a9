using System.Collections.Concurrent;
using System.Text;

namespace Engagement.Sdk.Storage.Relational;

/// <summary>The column types a store written once for every relational database declares; each dialect names them.</summary>
internal enum SqlType
{
    /// <summary>An identifier compared and sorted by code point (PostgreSQL: <c>text COLLATE "C"</c>).</summary>
    Key,

    /// <summary>Free text.</summary>
    Text,

    /// <summary>A 64-bit integer (UTC ticks, counters).</summary>
    Int64,

    /// <summary>A 32-bit integer.</summary>
    Int32,

    /// <summary>A double-precision number.</summary>
    Double,

    /// <summary>Raw bytes.</summary>
    Bytes,
}

/// <summary>
/// What differs between the relational databases the stores run on: table names (PostgreSQL qualifies them with the
/// store's schema), column type names, and row-claiming clauses. A store is written once, with SQL templates whose
/// <c>{tokens}</c> a dialect renders: <c>{t:name}</c> a table, <c>{key}</c>, <c>{text}</c>, <c>{int64}</c>, <c>{int32}</c>,
/// <c>{double}</c>, <c>{bytes}</c> the column types, <c>{for_update_skip_locked}</c> the clause that ends a <c>SELECT</c> that
/// claims rows (PostgreSQL locks them and passes over rows another transaction holds), <c>{each:name}</c> the rows of a JSON
/// array of strings bound to <c>@name</c> (see <see cref="JsonTextArray"/>); <c>{{</c> and <c>}}</c> stand for a literal brace. Everything else (<c>INSERT … ON CONFLICT …
/// DO UPDATE SET … = excluded.…</c>, <c>@name</c> parameters, <c>LIMIT</c>) is written the same on both.
/// </summary>
internal abstract class SqlDialect
{
    private readonly ConcurrentDictionary<string, string> _rendered = new(StringComparer.Ordinal);

    /// <summary>The dialect's name (for messages).</summary>
    public abstract string Name { get; }

    /// <summary>The name of the table <paramref name="name"/> as statements refer to it.</summary>
    /// <param name="name">The table's unqualified name (one of the store's own, never user input).</param>
    /// <returns>The name to use in SQL.</returns>
    public abstract string Table(string name);

    /// <summary>The dialect's name for a column type.</summary>
    /// <param name="type">The type.</param>
    /// <returns>The type's name in DDL.</returns>
    public abstract string TypeName(SqlType type);

    /// <summary>
    /// What a <c>SELECT</c> that claims rows for this transaction ends with: PostgreSQL locks the rows and passes over those
    /// another transaction holds (<c>FOR UPDATE SKIP LOCKED</c>); SQLite, whose writer holds the whole database, needs nothing.
    /// </summary>
    public abstract string ForUpdateSkipLocked { get; }

    /// <summary>
    /// A table expression with one text column, <c>value</c>: the strings of the JSON array bound to <paramref name="parameter"/>
    /// (SQLite's <c>json_each</c>, PostgreSQL's <c>jsonb_array_elements_text</c>). Templates write it <c>{each:name}</c>, for the
    /// parameter <c>@name</c>: a statement over a whole list with one parameter and one prepared text, whatever its length.
    /// </summary>
    /// <param name="parameter">The parameter, with its <c>@</c>.</param>
    /// <returns>The expression, to follow <c>FROM</c>.</returns>
    public abstract string JsonTextArray(string parameter);

    /// <summary>Renders a statement template (cached: templates are constants of the stores).</summary>
    /// <param name="template">The template.</param>
    /// <returns>The statement in this dialect.</returns>
    /// <exception cref="InvalidOperationException">The template names an unknown token or has an unmatched brace.</exception>
    public string Render(string template) => _rendered.GetOrAdd(template, static (t, dialect) => dialect.RenderCore(t), this);

    private string RenderCore(string template)
    {
        var sql = new StringBuilder(template.Length + 64);
        for (var i = 0; i < template.Length; i++)
        {
            var c = template[i];
            if (c == '}' && i + 1 < template.Length && template[i + 1] == '}')
            {
                sql.Append('}');
                i++;
                continue;
            }

            if (c == '}')
            {
                throw new InvalidOperationException($"An unmatched '}}' at position {i} of the statement template: {template}");
            }

            if (c != '{')
            {
                sql.Append(c);
                continue;
            }

            if (i + 1 < template.Length && template[i + 1] == '{')
            {
                sql.Append('{');
                i++;
                continue;
            }

            var end = template.IndexOf('}', i + 1);
            if (end < 0)
            {
                throw new InvalidOperationException($"An unmatched '{{' at position {i} of the statement template: {template}");
            }

            var token = template.AsSpan(i + 1, end - i - 1);
            sql.Append(Token(token, template));
            i = end;
        }

        return sql.ToString();
    }

    private string Token(ReadOnlySpan<char> token, string template) => token switch
    {
        "key" => TypeName(SqlType.Key),
        "text" => TypeName(SqlType.Text),
        "int64" => TypeName(SqlType.Int64),
        "int32" => TypeName(SqlType.Int32),
        "double" => TypeName(SqlType.Double),
        "bytes" => TypeName(SqlType.Bytes),
        "for_update_skip_locked" => ForUpdateSkipLocked,
        _ when token.StartsWith("t:") && token.Length > 2 && IsPlainName(token[2..]) => Table(token[2..].ToString()),
        _ when token.StartsWith("each:") && token.Length > 5 && IsPlainName(token[5..]) => JsonTextArray("@" + token[5..].ToString()),
        _ => throw new InvalidOperationException($"The statement template names an unknown token {{{token}}}: {template}"),
    };

    private static bool IsPlainName(ReadOnlySpan<char> name)
    {
        if (char.IsAsciiDigit(name[0]))
        {
            return false;
        }

        foreach (var c in name)
        {
            if (!char.IsAsciiLetterLower(c) && !char.IsAsciiDigit(c) && c != '_')
            {
                return false;
            }
        }

        return true;
    }
}
