using System.Collections.Concurrent;
using System.Globalization;
using System.Text.Json;
using Engagement.Sdk.Households;
using Engagement.Sdk.Profiles;
using Engagement.Sdk.Serialization;

namespace Engagement.Sdk.Storage.Relational;

/// <summary>
/// <see cref="IHouseholdStore"/> on SQLite and PostgreSQL, written once: each household a JSON document with its version, and
/// two index tables whose primary keys hold a customer to one household and an identifier (by its key) to one household,
/// so that even two processes racing cannot break either rule.
/// </summary>
internal sealed class RelationalHouseholdStore(IRelationalDatabase database) : IHouseholdStore
{
    private const int CacheLimit = 100_000;

    // What FindByMemberAsync found for each customer (null: no household), when the database can tell whether it is still
    // current (SQLite's one connection): kept only for reads made inside a unit of work, with the database's epoch then, and
    // used only inside one while that epoch holds; every write of a household empties it. The permission gate looks up the
    // customer's household at every decision and at every hand-off.
    private readonly ConcurrentDictionary<CustomerId, (Household? Found, int Epoch)>? _byMember = database.CacheEpoch is null ? null : new();
    private int _byMemberAdded;

    /// <summary>The store's tables.</summary>
    public static SchemaModule Module { get; } = new("households",
    [
        """
        CREATE TABLE IF NOT EXISTS {t:households} (household_id {key} NOT NULL PRIMARY KEY, version {int64} NOT NULL, document {text} NOT NULL);
        CREATE TABLE IF NOT EXISTS {t:household_members} (customer_id {key} NOT NULL PRIMARY KEY, household_id {key} NOT NULL);
        CREATE INDEX IF NOT EXISTS household_members_by_household ON {t:household_members} (household_id);
        CREATE TABLE IF NOT EXISTS {t:household_identifiers} (kind {key} NOT NULL, value {key} NOT NULL, household_id {key} NOT NULL, PRIMARY KEY (kind, value));
        CREATE INDEX IF NOT EXISTS household_identifiers_by_household ON {t:household_identifiers} (household_id)
        """,
    ]);

    /// <inheritdoc />
    public ValueTask<Household?> GetAsync(string householdId, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(householdId);
        return database.ReadAsync(householdId, static (session, id, ct) => ReadOneAsync(session, "SELECT document FROM {t:households} WHERE household_id = @id", c => c.Bind("@id", id), ct), cancellationToken);
    }

    /// <inheritdoc />
    public ValueTask<Household?> FindByMemberAsync(CustomerId customerId, CancellationToken cancellationToken = default)
    {
        if (_byMember is null)
        {
            return ReadByMemberAsync(customerId, cancellationToken);
        }

        if (_byMember.TryGetValue(customerId, out var cached) && database.IsCurrent(cached.Epoch))
        {
            return new ValueTask<Household?>(cached.Found);
        }

        return ReadAndRememberAsync(customerId, cancellationToken);
    }

    // The epoch is taken before the read, and the entry kept only when the read ran inside a unit of work whose epoch has not
    // moved since: that unit holds the database, so no write of anyone else came between.
    private async ValueTask<Household?> ReadAndRememberAsync(CustomerId customerId, CancellationToken cancellationToken)
    {
        var epoch = database.CacheEpoch;
        var found = await ReadByMemberAsync(customerId, cancellationToken).ConfigureAwait(false);
        if (epoch is { } at && database.IsCurrent(at))
        {
            if (!_byMember!.ContainsKey(customerId) && Interlocked.Increment(ref _byMemberAdded) > CacheLimit)
            {
                _byMember.Clear();
                Volatile.Write(ref _byMemberAdded, 1);
            }

            _byMember[customerId] = (found, at);
        }

        return found;
    }

    // A household written (or deleted) changes what its members and former members find.
    private void ForgetMembers()
    {
        if (_byMember is not null)
        {
            _byMember.Clear();
            Volatile.Write(ref _byMemberAdded, 0);
        }
    }

    private ValueTask<Household?> ReadByMemberAsync(CustomerId customerId, CancellationToken cancellationToken)
        => database.ReadAsync(
            customerId,
            static (session, customer, ct) => ReadOneAsync(
                session,
                "SELECT h.document FROM {t:household_members} m JOIN {t:households} h ON h.household_id = m.household_id WHERE m.customer_id = @customer",
                c => c.Bind("@customer", customer.Value),
                ct),
            cancellationToken);

    /// <inheritdoc />
    public ValueTask<Household?> FindByIdentifierAsync(Identifier identifier, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(identifier);
        return database.ReadAsync(
            identifier,
            static (session, identifier, ct) => ReadOneAsync(
                session,
                "SELECT h.document FROM {t:household_identifiers} i JOIN {t:households} h ON h.household_id = i.household_id WHERE i.kind = @kind AND i.value = @value",
                c => c.Bind("@kind", identifier.Kind.Name).Bind("@value", identifier.Key),
                ct),
            cancellationToken);
    }

    /// <inheritdoc />
    public ValueTask<Household> SaveAsync(Household household, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(household);
        return database.WriteAsync(
            (Store: this, Household: household),
            static (session, a, ct) =>
            {
                a.Store.ForgetMembers();
                return SaveAsync(session, a.Household, ct);
            },
            cancellationToken);
    }

    /// <inheritdoc />
    public ValueTask DeleteAsync(string householdId, long version, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(householdId);
        return new ValueTask(database.WriteAsync(
            (Id: householdId, Version: version, Store: this),
            static async (session, a, ct) =>
            {
                a.Store.ForgetMembers();
                using (var delete = session.Command("DELETE FROM {t:households} WHERE household_id = @id AND version = @version"))
                {
                    if (await delete.Bind("@id", a.Id).Bind("@version", a.Version).ExecuteAsync(ct).ConfigureAwait(false) == 0)
                    {
                        throw new HouseholdConflictException(a.Id, a.Version, await StoredVersionAsync(session, a.Id, ct).ConfigureAwait(false));
                    }
                }

                await ClearIndexAsync(session, a.Id, ct).ConfigureAwait(false);
                return 0;
            },
            cancellationToken).AsTask());
    }

    private static async ValueTask<Household> SaveAsync(RelationalSession session, Household household, CancellationToken cancellationToken)
    {
        var saved = household with { Version = household.Version + 1 };
        var document = JsonSerializer.Serialize(saved, EngagementJsonContext.Default.Household);
        using (var write = session.Command(household.Version == 0
            ? "INSERT INTO {t:households} (household_id, version, document) VALUES (@id, @next, @document) ON CONFLICT (household_id) DO NOTHING"
            : "UPDATE {t:households} SET version = @next, document = @document WHERE household_id = @id AND version = @expected"))
        {
            write.Bind("@id", household.Id).Bind("@next", saved.Version).Bind("@document", document);
            if (household.Version != 0)
            {
                write.Bind("@expected", household.Version);
            }

            if (await write.ExecuteAsync(cancellationToken).ConfigureAwait(false) == 0)
            {
                throw new HouseholdConflictException(household.Id, household.Version, await StoredVersionAsync(session, household.Id, cancellationToken).ConfigureAwait(false));
            }
        }

        // The index is written again whole; a key another household holds refuses the save (the transaction is rolled back).
        await ClearIndexAsync(session, household.Id, cancellationToken).ConfigureAwait(false);
        foreach (var member in saved.Members)
        {
            using var insert = session.Command("INSERT INTO {t:household_members} (customer_id, household_id) VALUES (@customer, @id) ON CONFLICT (customer_id) DO NOTHING");
            if (await insert.Bind("@customer", member.Value).Bind("@id", household.Id).ExecuteAsync(cancellationToken).ConfigureAwait(false) == 0)
            {
                var other = await ScalarTextAsync(session, "SELECT household_id FROM {t:household_members} WHERE customer_id = @key", member.Value, cancellationToken).ConfigureAwait(false);
                throw new EngagementValidationException("members", member.Value, $"the customer already belongs to household '{other}'; a customer belongs to one household");
            }
        }

        foreach (var identifier in saved.SharedIdentifiers)
        {
            using var insert = session.Command("INSERT INTO {t:household_identifiers} (kind, value, household_id) VALUES (@kind, @value, @id) ON CONFLICT (kind, value) DO NOTHING");
            if (await insert.Bind("@kind", identifier.Kind.Name).Bind("@value", identifier.Key).Bind("@id", household.Id).ExecuteAsync(cancellationToken).ConfigureAwait(false) == 0)
            {
                throw new EngagementValidationException("sharedIdentifiers", identifier.Kind.Name, "the identifier is already shared by another household; an identifier is shared by one household");
            }
        }

        return saved;
    }

    private static async ValueTask ClearIndexAsync(RelationalSession session, string householdId, CancellationToken cancellationToken)
    {
        using (var members = session.Command("DELETE FROM {t:household_members} WHERE household_id = @id"))
        {
            await members.Bind("@id", householdId).ExecuteAsync(cancellationToken).ConfigureAwait(false);
        }

        using var identifiers = session.Command("DELETE FROM {t:household_identifiers} WHERE household_id = @id");
        await identifiers.Bind("@id", householdId).ExecuteAsync(cancellationToken).ConfigureAwait(false);
    }

    private static async ValueTask<long> StoredVersionAsync(RelationalSession session, string householdId, CancellationToken cancellationToken)
    {
        using var read = session.Command("SELECT version FROM {t:households} WHERE household_id = @id");
        return await read.Bind("@id", householdId).ScalarAsync(cancellationToken).ConfigureAwait(false) is { } v ? Convert.ToInt64(v, CultureInfo.InvariantCulture) : 0;
    }

    private static async ValueTask<string?> ScalarTextAsync(RelationalSession session, string sql, string key, CancellationToken cancellationToken)
    {
        using var read = session.Command(sql);
        return await read.Bind("@key", key).ScalarAsync(cancellationToken).ConfigureAwait(false) as string;
    }

    private static async ValueTask<Household?> ReadOneAsync(RelationalSession session, string sql, Action<RelationalCommand> bind, CancellationToken cancellationToken)
    {
        using var read = session.Command(sql);
        bind(read);
        return await read.ScalarAsync(cancellationToken).ConfigureAwait(false) is string document
            ? JsonSerializer.Deserialize(document, EngagementJsonContext.Default.Household)
            : null;
    }
}
