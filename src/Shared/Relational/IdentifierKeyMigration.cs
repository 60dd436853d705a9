using System.Data.Common;
using Engagement.Sdk.Consent;
using Engagement.Sdk.Profiles;

namespace Engagement.Sdk.Storage.Relational;

/// <summary>
/// Core schema version 3: the identifier index holds each identifier's key (<see cref="Identifier.Key"/>: an e-mail
/// address lower-cased) instead of its spelling, and the suppressions of an identifier known to the index are also filed
/// under the hash of its key, so that a bounce or opt-out recorded in one spelling applies to every spelling. Computed in
/// .NET (the databases' own <c>lower</c> folds case differently outside ASCII). Where two profiles held one address in two
/// spellings, the one that held it in its key's spelling keeps the index entry, else the smallest customer id; both profiles
/// keep the address, and the next event that presents it finds that holder.
/// </summary>
internal static class IdentifierKeyMigration
{
    /// <summary>Re-keys the identifier index and the suppressions, inside the caller's schema transaction.</summary>
    /// <param name="dialect">The dialect (for the tables' names).</param>
    /// <param name="connection">The open connection.</param>
    /// <param name="transaction">The schema transaction, if the connection has an ADO.NET one.</param>
    /// <param name="cancellationToken">Cancels the work.</param>
    /// <returns>How many index entries changed.</returns>
    public static async Task<int> ApplyAsync(SqlDialect dialect, DbConnection connection, DbTransaction? transaction, CancellationToken cancellationToken)
    {
        var session = new RelationalSession(dialect, connection, transaction, prepared: null);
        var rows = new List<(string Kind, string Value, string Customer)>();
        using (var read = session.Command("SELECT kind, value, customer_id FROM {t:identifiers} WHERE kind = @kind ORDER BY value"))
        {
            read.Bind("@kind", IdentifierKind.Email.Name);
            using var reader = await read.ReaderAsync(cancellationToken).ConfigureAwait(false);
            while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
            {
                rows.Add((reader.GetString(0), reader.GetString(1), reader.GetString(2)));
            }
        }

        var changed = 0;
        foreach (var group in rows.GroupBy(r => KeyOf(r.Kind, r.Value), StringComparer.Ordinal))
        {
            var key = group.Key;
            if (group.All(r => string.Equals(r.Value, key, StringComparison.Ordinal)))
            {
                continue;
            }

            var holder = group.FirstOrDefault(r => string.Equals(r.Value, key, StringComparison.Ordinal));
            if (holder.Customer is null)
            {
                holder = group.MinBy(r => r.Customer, StringComparer.Ordinal);
            }

            foreach (var row in group)
            {
                if (string.Equals(row.Value, key, StringComparison.Ordinal))
                {
                    continue;
                }

                using (var delete = session.Command("DELETE FROM {t:identifiers} WHERE kind = @kind AND value = @value"))
                {
                    await delete.Bind("@kind", row.Kind).Bind("@value", row.Value).ExecuteAsync(cancellationToken).ConfigureAwait(false);
                }

                var identifier = new Identifier(new IdentifierKind(row.Kind), row.Value);
                if (IdentifierHashing.SpellingHash(identifier) is { } spelling)
                {
                    using var copy = session.Command(
                        "INSERT INTO {t:suppressions} (identifier_hash, reason, at, at_offset, source) SELECT @key, reason, at, at_offset, source FROM {t:suppressions} WHERE identifier_hash = @spelling ON CONFLICT DO NOTHING");
                    await copy.Bind("@key", IdentifierHashing.Hash(identifier)).Bind("@spelling", spelling).ExecuteAsync(cancellationToken).ConfigureAwait(false);
                }

                changed++;
            }

            if (!string.Equals(holder.Value, key, StringComparison.Ordinal))
            {
                using var insert = session.Command("INSERT INTO {t:identifiers} (kind, value, customer_id) VALUES (@kind, @value, @customer)");
                await insert.Bind("@kind", holder.Kind).Bind("@value", key).Bind("@customer", holder.Customer).ExecuteAsync(cancellationToken).ConfigureAwait(false);
            }
        }

        return changed;
    }

    private static string KeyOf(string kind, string value)
    {
        try
        {
            return new Identifier(new IdentifierKind(kind), value).Key;
        }
        catch (EngagementValidationException)
        {
            return value.ToLowerInvariant(); // a value stored before today's validation: compared lower-cased all the same
        }
    }
}
