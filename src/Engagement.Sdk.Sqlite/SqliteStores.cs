using System.Runtime.CompilerServices;
using System.Text;
using System.Text.Json;
using Engagement.Sdk.Channels;
using Engagement.Sdk.Consent;
using Engagement.Sdk.Events;
using Engagement.Sdk.Profiles;
using Engagement.Sdk.Serialization;
using Engagement.Sdk.Storage;
using Microsoft.Data.Sqlite;

namespace Engagement.Sdk.Sqlite;

/// <summary>An <see cref="IProfileStore"/> on SQLite: profiles as JSON documents, an identifier index, compare-and-set on the version.</summary>
/// <param name="database">The database.</param>
public sealed class SqliteProfileStore(SqliteDatabase database) : IProfileStore, ISubjectErasure, IErasureCompaction
{
    private const int CacheLimit = 100_000;

    // Profiles this store read or wrote, with the database's rollback count and epoch at the time. Inside a unit of work, an
    // entry of the current epoch is the stored profile (nothing rolled back, no other connection committed since), used as
    // it is. Otherwise reading a profile's version is still far cheaper than parsing its document, so an entry is used when
    // the stored version matches and nothing was rolled back since (a rolled-back write could have left an entry whose
    // version another process then wrote differently). Indexed: this store saw every identifier of that version owned by
    // the profile in the identifier index.
    private readonly BoundedCache<CustomerId, (CustomerProfile Profile, int Rollbacks, int Epoch, bool Indexed)> _cache = new(CacheLimit);

    /// <inheritdoc />
    public ValueTask<CustomerProfile?> GetAsync(CustomerId customerId, CancellationToken cancellationToken = default)
        => database.RunAsync((Store: this, customerId), static (db, a) => a.Store.Read(db, a.customerId), cancellationToken);

    private void Remember(SqliteDatabase db, CustomerProfile profile, bool indexed = false)
    {
        _cache.Set(profile.Id, (profile, db.Rollbacks, db.Epoch, indexed));
    }

    /// <inheritdoc />
    public ValueTask<CustomerProfile?> FindByIdentifierAsync(Identifier identifier, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(identifier);
        return database.RunAsync(
            db =>
            {
                var command = db.Command("SELECT customer_id FROM identifiers WHERE kind = $kind AND value = $value");
                command.Bind("$kind", identifier.Kind.Name);
                command.Bind("$value", identifier.Key);
                return command.ExecuteScalar() is string id ? Read(db, new CustomerId(id)) : null;
            },
            cancellationToken);
    }

    /// <inheritdoc />
    public ValueTask<CustomerProfile> SaveAsync(CustomerProfile profile, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(profile);
        var saved = profile with { Version = profile.Version + 1 };
        return database.RunInTransactionAsync(
            (Store: this, Profile: profile, Saved: saved),
            static (db, a) =>
            {
                var (store, profile, saved) = a;
                var json = db.Utf8Profile(saved);
                var changed = profile.Version == 0
                    ? db.Statement("INSERT INTO profiles (customer_id, version, document) VALUES (?1, 1, ?2) ON CONFLICT (customer_id) DO NOTHING")
                        .Text(1, profile.Id.Value).Utf8(2, json).Execute()
                    : db.Statement("UPDATE profiles SET version = ?2, document = ?3 WHERE customer_id = ?1 AND version = ?4")
                        .Text(1, profile.Id.Value).Integer(2, saved.Version).Utf8(3, json).Integer(4, profile.Version).Execute();
                if (changed == 0)
                {
                    var current = db.Command("SELECT version FROM profiles WHERE customer_id = $id");
                    current.Bind("$id", profile.Id.Value);
                    throw new ConcurrencyConflictException(profile.Id, profile.Version, current.ExecuteScalar() is long v ? v : 0);
                }

                // When this store wrote the stored version itself (its cache entry is that state, nothing rolled back since), saw
                // the profile own every one of its identifiers in the index, and the identifiers did not change, the index is
                // already right: an owned identifier is only released by its owner.
                if (profile.Version > 0 && store._cache.TryGetValue(profile.Id, out var previous) && previous.Indexed && previous.Rollbacks == db.Rollbacks
                    && previous.Profile.Version == profile.Version && SameIdentifiers(previous.Profile, saved))
                {
                    store.Remember(db, saved, indexed: true);
                    return saved;
                }

                if (profile.Version > 0)
                {
                    ReleaseDroppedIdentifiers(db, saved);
                }

                foreach (var identifier in saved.Identifiers)
                {
                    var index = db.Command("INSERT INTO identifiers (kind, value, customer_id) VALUES ($kind, $value, $id) ON CONFLICT (kind, value) DO NOTHING");
                    index.Bind("$kind", identifier.Kind.Name);
                    index.Bind("$value", identifier.Key);
                    index.Bind("$id", saved.Id.Value);
                    index.ExecuteNonQuery();
                }

                var owned = db.Command("SELECT COUNT(*) FROM identifiers WHERE customer_id = $id");
                owned.Bind("$id", saved.Id.Value);
                store.Remember(db, saved, indexed: owned.ExecuteScalar() is long count && count == saved.Identifiers.Length);
                return saved;
            },
            cancellationToken);
    }

    /// <inheritdoc />
    public async IAsyncEnumerable<CustomerProfile> ListAsync([EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        const int Page = 500;
        var after = string.Empty;
        while (true)
        {
            var page = await database.RunAsync(
                db =>
                {
                    var command = db.Command("SELECT customer_id, document FROM profiles WHERE customer_id > $after ORDER BY customer_id LIMIT $page");
                    command.Bind("$after", after);
                    command.Bind("$page", Page);
                    var list = new List<(string Id, CustomerProfile Profile)>(Page);
                    using var reader = command.ExecuteReader();
                    while (reader.Read())
                    {
                        list.Add((reader.GetString(0), Deserialize(reader.GetString(1))));
                    }

                    return list;
                },
                cancellationToken).ConfigureAwait(false);

            foreach (var item in page)
            {
                yield return item.Profile;
            }

            if (page.Count < Page)
            {
                yield break;
            }

            after = page[^1].Id;
        }
    }

    // Identifiers the profile no longer holds (after a merge or an unmerge) are released, so that their new holder owns them.
    private static bool SameIdentifiers(CustomerProfile before, CustomerProfile after)
    {
        var (was, now) = (before.Identifiers, after.Identifiers);
        if (was.Length != now.Length)
        {
            return false;
        }

        foreach (var identifier in now)
        {
            if (!was.Contains(identifier))
            {
                return false;
            }
        }

        return true;
    }

    private static void ReleaseDroppedIdentifiers(SqliteDatabase db, CustomerProfile saved)
    {
        var held = db.Command("SELECT kind, value FROM identifiers WHERE customer_id = $id");
        held.Bind("$id", saved.Id.Value);
        List<(string Kind, string Value)>? dropped = null;
        using (var reader = held.ExecuteReader())
        {
            while (reader.Read())
            {
                var (kind, value) = (reader.GetString(0), reader.GetString(1));
                if (!saved.Identifiers.Any(i => i.Kind.Name == kind && i.Key == value))
                {
                    (dropped ??= []).Add((kind, value));
                }
            }
        }

        foreach (var (kind, value) in dropped ?? [])
        {
            var delete = db.Command("DELETE FROM identifiers WHERE kind = $kind AND value = $value AND customer_id = $id");
            delete.Bind("$kind", kind);
            delete.Bind("$value", value);
            delete.Bind("$id", saved.Id.Value);
            delete.ExecuteNonQuery();
        }
    }

    /// <inheritdoc />
    public ValueTask CompactAfterErasureAsync(CancellationToken cancellationToken = default) => database.CheckpointAsync(cancellationToken);

    /// <inheritdoc />
    public ValueTask<int> EraseSubjectAsync(CustomerId customerId, CancellationToken cancellationToken = default)
        => database.RunInTransactionAsync(
            db =>
            {
                _cache.Remove(customerId);
                var identifiers = db.Command("DELETE FROM identifiers WHERE customer_id = $id");
                identifiers.Bind("$id", customerId.Value);
                identifiers.ExecuteNonQuery();
                var profile = db.Command("DELETE FROM profiles WHERE customer_id = $id");
                profile.Bind("$id", customerId.Value);
                return profile.ExecuteNonQuery();
            },
            cancellationToken);

    private CustomerProfile? Read(SqliteDatabase db, CustomerId customerId)
    {
        if (_cache.TryGetValue(customerId, out var cached) && cached.Rollbacks == db.Rollbacks)
        {
            if (db.IsCurrent(cached.Epoch))
            {
                return cached.Profile;
            }

            var version = db.Command("SELECT version FROM profiles WHERE customer_id = $id");
            version.Bind("$id", customerId.Value);
            if (version.ExecuteScalar() is long stored && stored == cached.Profile.Version)
            {
                _cache.Set(customerId, cached with { Epoch = db.Epoch });
                return cached.Profile;
            }
        }

        var command = db.Command("SELECT document FROM profiles WHERE customer_id = $id");
        command.Bind("$id", customerId.Value);
        if (command.ExecuteScalar() is not string json)
        {
            _cache.Remove(customerId);
            return null;
        }

        var profile = Deserialize(json);
        Remember(db, profile);
        return profile;
    }

    private static CustomerProfile Deserialize(string json) => JsonSerializer.Deserialize(json, EngagementJsonContext.Default.CustomerProfile)!;
}

/// <summary>An <see cref="IEventStore"/> on SQLite: events as JSON documents, idempotent by id.</summary>
/// <remarks>
/// Events are found by a 64-bit key of their id (<see cref="EventKey"/>) in a unique index. Two ids may share a key: the
/// first stored holds it, and the others are stored without one and found by their id in an index of such rows. So that an
/// append, which takes a free key as proof that its id is new, is never wrong, a row stored without its key takes the key as
/// soon as a delete frees it, in the delete's transaction.
/// </remarks>
/// <param name="database">The database.</param>
public sealed class SqliteEventStore(SqliteDatabase database) : IEventStore, ISubjectErasure, IEventRetention, IErasureCompaction
{
    /// <inheritdoc />
    public ValueTask<int> PurgeBeforeAsync(DateTimeOffset cutoff, CancellationToken cancellationToken = default)
        => database.RunInTransactionAsync(
            db =>
            {
                var delete = db.Command("DELETE FROM events WHERE ts < $cutoff");
                delete.Bind("$cutoff", cutoff.UtcTicks);
                return KeyRowsFreedBy(db, delete.ExecuteNonQuery());
            },
            cancellationToken);

    /// <inheritdoc />
    public ValueTask<AppendOutcome> AppendAsync(EngagementEvent engagementEvent, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(engagementEvent);
        // One statement inserts the event unless its key is held; the look-up that follows when it is, and the insert without
        // a key, run in the same transaction (the caller's unit of work, or one of its own), so nothing slips between.
        return database.RunInTransactionAsync(
            engagementEvent,
            static (db, engagementEvent) =>
            {
                var key = EventKey.Of(engagementEvent.EventId);
                var json = db.Utf8Event(engagementEvent);
                if (db.Statement("INSERT INTO events (id_key, event_id, customer_id, ts, document) VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT (id_key) DO NOTHING")
                        .Integer(1, key).Text(2, engagementEvent.EventId).Text(3, engagementEvent.CustomerId.Value).Integer(4, engagementEvent.Timestamp.UtcTicks).Utf8(5, json)
                        .Execute() == 1)
                {
                    return AppendOutcome.Appended;
                }

                // The key is held: by this id (a duplicate or a conflict), or by another id that shares it.
                var stored = db.Command("SELECT document FROM events WHERE id_key = $key AND event_id = $id UNION ALL SELECT document FROM events INDEXED BY events_by_id_unkeyed WHERE id_key IS NULL AND event_id = $id");
                stored.Bind("$key", key);
                stored.Bind("$id", engagementEvent.EventId);
                if (stored.ExecuteScalar() is string existing)
                {
                    return string.Equals(existing, Encoding.UTF8.GetString(json), StringComparison.Ordinal)
                        ? AppendOutcome.Duplicate
                        : throw new EventConflictException(engagementEvent.EventId);
                }

                // A new id whose key another id holds: stored without a key.
                db.Statement("INSERT INTO events (id_key, event_id, customer_id, ts, document) VALUES (NULL, ?1, ?2, ?3, ?4)")
                    .Text(1, engagementEvent.EventId).Text(2, engagementEvent.CustomerId.Value).Integer(3, engagementEvent.Timestamp.UtcTicks).Utf8(4, json)
                    .Execute();
                return AppendOutcome.Appended;
            },
            cancellationToken);
    }

    /// <inheritdoc />
    public IAsyncEnumerable<EngagementEvent> ReadAsync(CustomerId customerId, DateTimeOffset? from = null, DateTimeOffset? to = null, CancellationToken cancellationToken = default)
        => Page(
            "SELECT ts, event_id, document FROM events WHERE customer_id = $customer AND ts >= $from AND ts < $to AND (ts > $afterTs OR (ts = $afterTs AND event_id > $afterId)) ORDER BY ts, event_id LIMIT 1000",
            command => command.Bind("$customer", customerId.Value),
            from?.UtcTicks ?? long.MinValue,
            to?.UtcTicks ?? long.MaxValue,
            cancellationToken);

    /// <inheritdoc />
    public IAsyncEnumerable<EngagementEvent> ReadRangeAsync(DateTimeOffset from, DateTimeOffset to, CancellationToken cancellationToken = default)
        => Page(
            "SELECT ts, event_id, document FROM events WHERE ts >= $from AND ts < $to AND (ts > $afterTs OR (ts = $afterTs AND event_id > $afterId)) ORDER BY ts, event_id LIMIT 1000",
            static _ => { },
            from.UtcTicks,
            to.UtcTicks,
            cancellationToken);

    /// <inheritdoc />
    public ValueTask CompactAfterErasureAsync(CancellationToken cancellationToken = default) => database.CheckpointAsync(cancellationToken);

    /// <inheritdoc />
    public ValueTask<int> EraseSubjectAsync(CustomerId customerId, CancellationToken cancellationToken = default)
        => database.RunInTransactionAsync(
            customerId,
            static (db, customerId) =>
            {
                var delete = db.Command("DELETE FROM events WHERE customer_id = $customer");
                delete.Bind("$customer", customerId.Value);
                return KeyRowsFreedBy(db, delete.ExecuteNonQuery());
            },
            cancellationToken);

    // After a delete, in its transaction: each row stored without its key takes the key if no row holds it any more (of
    // several rows under one freed key, one takes it). Reads only the index of such rows, empty but for rare ids.
    private static int KeyRowsFreedBy(SqliteDatabase db, int deleted)
    {
        if (deleted > 0)
        {
            db.Command("UPDATE OR IGNORE events SET id_key = engagement_event_key(event_id) WHERE id_key IS NULL").ExecuteNonQuery();
        }

        return deleted;
    }

    private async IAsyncEnumerable<EngagementEvent> Page(string sql, Action<SqliteCommand> bind, long from, long to, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var afterTs = long.MinValue;
        var afterId = string.Empty;
        while (true)
        {
            var page = await database.RunAsync(
                db =>
                {
                    var command = db.Command(sql);
                    bind(command);
                    command.Bind("$from", from);
                    command.Bind("$to", to);
                    command.Bind("$afterTs", afterTs);
                    command.Bind("$afterId", afterId);
                    var list = new List<(long Ts, string Id, EngagementEvent Event)>(1000);
                    using var reader = command.ExecuteReader();
                    while (reader.Read())
                    {
                        list.Add((reader.GetInt64(0), reader.GetString(1), JsonSerializer.Deserialize(reader.GetString(2), EngagementJsonContext.Default.EngagementEvent)!));
                    }

                    return list;
                },
                cancellationToken).ConfigureAwait(false);

            foreach (var item in page)
            {
                yield return item.Event;
            }

            if (page.Count < 1000)
            {
                yield break;
            }

            (afterTs, afterId) = (page[^1].Ts, page[^1].Id);
        }
    }
}

/// <summary>
/// An <see cref="IConsentStore"/> on SQLite: append-only (a trigger refuses updates), idempotent by record id. Each customer's
/// folded state is kept with the records it was folded from (<see cref="IConsentStateSource"/>).
/// </summary>
/// <param name="database">The database.</param>
public sealed class SqliteConsentStore(SqliteDatabase database) : IConsentStore, IConsentStateSource, ISubjectErasure, IErasureCompaction
{
    private const int CacheLimit = 65_536;

    // The ledgers this store read, with the highest sequence number they held and the database's rollback count and epoch at
    // the time: every decision and every hand-off reads its customer's ledger. Inside a unit of work an entry of the current
    // epoch is what the table holds (see SqliteDatabase.IsCurrent). Otherwise the ledger is append-only, so an entry whose
    // highest sequence number is still the customer's highest is current — unless something was rolled back since (a rolled-back
    // append gives its sequence number back, and another process could then append a different record under it).
    private readonly BoundedCache<CustomerId, (IReadOnlyList<ConsentRecord> Records, long MaxSeq, int Rollbacks, int Epoch)> _cache = new(CacheLimit);

    // Each customer's folded state, with the list of records it was folded from: the state of a read that returns that very
    // list (the list kept above, while it is current) is the state kept; a read of the table makes a new list, folded again.
    private readonly BoundedCache<CustomerId, (IReadOnlyList<ConsentRecord> Records, ConsentState State)> _states = new(CacheLimit);

    /// <inheritdoc />
    public ValueTask<AppendOutcome> AppendAsync(ConsentRecord record, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(record);
        var json = JsonSerializer.Serialize(record, EngagementJsonContext.Default.ConsentRecord);
        return database.RunAsync(
            db =>
            {
                var insert = db.Command("INSERT INTO consent_records (record_id, customer_id, document) VALUES ($id, $customer, $doc) ON CONFLICT (record_id) DO NOTHING");
                insert.Bind("$id", record.RecordId);
                insert.Bind("$customer", record.CustomerId.Value);
                insert.Bind("$doc", json);
                if (insert.ExecuteNonQuery() == 1)
                {
                    // A cached ledger that is what the table holds in this unit of work (see Read) now ends with the new
                    // record, under its sequence number; the entry keeps its rollback count and epoch, so that a rollback
                    // or another connection's commit still has the ledger read again. Any other entry is dropped.
                    if (_cache.TryGetValue(record.CustomerId, out var cached) && cached.Rollbacks == db.Rollbacks && db.IsCurrent(cached.Epoch))
                    {
                        _cache.Set(record.CustomerId, ([.. cached.Records, record], db.LastInsertRowId, cached.Rollbacks, cached.Epoch));
                    }
                    else
                    {
                        _cache.Remove(record.CustomerId);
                    }

                    return AppendOutcome.Appended;
                }

                var stored = db.Command("SELECT document FROM consent_records WHERE record_id = $id");
                stored.Bind("$id", record.RecordId);
                return stored.ExecuteScalar() is string existing
                    && JsonSerializer.Deserialize(existing, EngagementJsonContext.Default.ConsentRecord)!.HasSameContent(record)
                    ? AppendOutcome.Duplicate
                    : throw new ConsentConflictException(record.RecordId);
            },
            cancellationToken);
    }

    /// <inheritdoc />
    public ValueTask<IReadOnlyList<ConsentRecord>> ReadAsync(CustomerId customerId, CancellationToken cancellationToken = default)
        => database.RunAsync<(SqliteConsentStore Store, CustomerId Customer), IReadOnlyList<ConsentRecord>>(
            (this, customerId),
            static (db, a) => a.Store.Read(db, a.Customer),
            cancellationToken);

    /// <inheritdoc />
    public ValueTask<ConsentState> GetStateAsync(CustomerId customerId, CancellationToken cancellationToken = default)
        => database.RunAsync<(SqliteConsentStore Store, CustomerId Customer), ConsentState>(
            (this, customerId),
            static (db, a) => a.Store.State(db, a.Customer),
            cancellationToken);

    private ConsentState State(SqliteDatabase db, CustomerId customerId)
    {
        var records = Read(db, customerId);
        if (_states.TryGetValue(customerId, out var kept) && ReferenceEquals(kept.Records, records))
        {
            return kept.State;
        }

        var state = ConsentState.Fold(customerId, records);
        _states.Set(customerId, (records, state));
        return state;
    }

    private IReadOnlyList<ConsentRecord> Read(SqliteDatabase db, CustomerId customerId)
    {
        if (_cache.TryGetValue(customerId, out var cached) && cached.Rollbacks == db.Rollbacks)
        {
            if (db.IsCurrent(cached.Epoch))
            {
                return cached.Records;
            }

            var highest = db.Command("SELECT max(seq) FROM consent_records WHERE customer_id = $customer");
            highest.Bind("$customer", customerId.Value);
            if ((highest.ExecuteScalar() is long seq ? seq : 0) == cached.MaxSeq)
            {
                _cache.Set(customerId, cached with { Epoch = db.Epoch });
                return cached.Records;
            }
        }

        var command = db.Command("SELECT seq, document FROM consent_records WHERE customer_id = $customer ORDER BY seq");
        command.Bind("$customer", customerId.Value);
        var list = new List<ConsentRecord>();
        var maxSeq = 0L;
        using (var reader = command.ExecuteReader())
        {
            while (reader.Read())
            {
                maxSeq = reader.GetInt64(0);
                list.Add(JsonSerializer.Deserialize(reader.GetString(1), EngagementJsonContext.Default.ConsentRecord)!);
            }
        }

        IReadOnlyList<ConsentRecord> records = list.Count == 0 ? [] : list.AsReadOnly();
        _cache.Set(customerId, (records, maxSeq, db.Rollbacks, db.Epoch));
        return records;
    }

    /// <inheritdoc />
    public ValueTask CompactAfterErasureAsync(CancellationToken cancellationToken = default) => database.CheckpointAsync(cancellationToken);

    /// <inheritdoc />
    public ValueTask<int> EraseSubjectAsync(CustomerId customerId, CancellationToken cancellationToken = default)
        => database.RunAsync(
            db =>
            {
                // Neither the records nor the state folded from them stay in memory after an erasure.
                _cache.Remove(customerId);
                _states.Remove(customerId);
                var delete = db.Command("DELETE FROM consent_records WHERE customer_id = $customer");
                delete.Bind("$customer", customerId.Value);
                return delete.ExecuteNonQuery();
            },
            cancellationToken);
}

/// <summary>
/// An <see cref="IDispatchStore"/> on SQLite: a dispatch id is begun at most once; claims are made in one write transaction,
/// which SQLite serialises across processes, so two workers never hold one lease.
/// </summary>
/// <param name="database">The database.</param>
public sealed class SqliteDispatchStore(SqliteDatabase database) : IDispatchStore, IDispatchCapLog, ISubjectErasure
{
    private const string Columns = "dispatch_id, customer_id, created, status, due, lease_owner, channel, purpose, document";

    // What a read takes: the document, and the columns a claim writes without it (see ReadAll).
    private const string Stored = "document, status, due, lease_owner, dispatch_id";

    private const int CacheLimit = 16_384;

    // Documents this store wrote or read (the stamp of their UTF-8, as the table holds them), with the record each is the
    // serialisation of: a read whose document has the same stamp takes the record instead of parsing the document again (the
    // worker's claim reads every dispatch it queued). Keyed by dispatch id; an entry whose stamp differs from the row's is
    // simply not used, so rollbacks and other writers need no care. A stamp instead of the text: a queued dispatch's document
    // (about a kilobyte) kept until its claim lived through the collector's generations.
    private readonly BoundedCache<string, (DocumentStamp Stamp, DispatchRecord Record)> _records = new(CacheLimit, StringComparer.Ordinal);

    /// <inheritdoc />
    public ValueTask<bool> TryBeginAsync(DispatchRecord record, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(record);
        var begun = DispatchRecords.AsBegun(record);
        return database.RunAsync(
            (Store: this, Record: begun),
            static (db, a) =>
            {
                var r = a.Record;
                var utf8 = db.Utf8Dispatch(r);
                // A statement prepared once on the connection: every queued decision runs it.
                var inserted = db.Statement($"INSERT INTO dispatches ({Columns}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9) ON CONFLICT (dispatch_id) DO NOTHING")
                    .Text(1, r.DispatchId)
                    .Text(2, r.CustomerId.Value)
                    .Integer(3, r.CreatedAt.UtcTicks)
                    .Text(4, r.Status.ToString())
                    .IntegerOrNull(5, DueColumn(r))
                    .TextOrNull(6, OwnerColumn(r))
                    .Text(7, r.Channel.Name)
                    .Text(8, r.Purpose.Name)
                    .Utf8(9, utf8)
                    .Execute();
                if (inserted != 1)
                {
                    return false;
                }

                // The claim will read it: the document's stamp is kept with the record, so that it is not parsed again.
                a.Store._records.Set(r.DispatchId, (DocumentStamp.Of(utf8), r));
                db.CapCache.Written(db, r);
                return true;
            },
            cancellationToken);
    }

    /// <inheritdoc />
    public ValueTask<bool> TryUpdateAsync(DispatchRecord record, DispatchStatus expected, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(record);
        return database.RunAsync(
            (Store: this, Record: record, Expected: expected.ToString()),
            static (db, a) =>
            {
                var document = JsonSerializer.Serialize(a.Record, EngagementJsonContext.Default.DispatchRecord);
                var update = db.Command("UPDATE dispatches SET created = $created, status = $status, due = $due, lease_owner = $owner, document = $doc WHERE dispatch_id = $id AND customer_id = $customer AND status = $expected");
                BindRow(update, a.Record, document);
                update.Bind("$expected", a.Expected);
                if (update.ExecuteNonQuery() != 1)
                {
                    return false;
                }

                a.Store._records.Set(a.Record.DispatchId, (DocumentStamp.Of(Encoding.UTF8.GetBytes(document)), a.Record));
                db.CapCache.Written(db, a.Record);
                return true;
            },
            cancellationToken);
    }

    /// <inheritdoc />
    public ValueTask<IReadOnlyList<DispatchRecord>> ClaimAsync(DateTimeOffset now, string owner, DateTimeOffset leaseUntil, int max, CancellationToken cancellationToken = default)
    {
        DispatchRecords.RequireClaim(owner, max);
        return database.RunInTransactionAsync<(DateTimeOffset Now, string Owner, DateTimeOffset LeaseUntil, int Max, SqliteDispatchStore Store), IReadOnlyList<DispatchRecord>>(
            (now, owner, leaseUntil, max, this),
            static (db, a) =>
            {
                // Statements prepared once on the connection: every pass of the delivery worker runs them.
                var select = db.Statement($"SELECT {Stored} FROM dispatches WHERE due <= ?1 ORDER BY due, dispatch_id LIMIT ?2")
                    .Integer(1, a.Now.UtcTicks)
                    .Integer(2, a.Max);
                var claimed = new List<DispatchRecord>();
                foreach (var current in ReadAll(select, a.Store._records))
                {
                    if (DispatchRecords.IsClaimable(current, a.Now))
                    {
                        claimed.Add(current);
                    }
                }

                if (claimed.Count > 0)
                {
                    // One statement leases the whole batch, in the columns alone: the document is not parsed and written again
                    // (its status and lease are read from the columns, which override it; the settlement rewrites it).
                    db.Statement("UPDATE dispatches SET status = 'Sending', due = ?1, lease_owner = ?2 WHERE dispatch_id IN (SELECT value FROM json_each(?3))")
                        .Integer(1, a.LeaseUntil.UtcTicks)
                        .Text(2, a.Owner)
                        .Utf8(3, db.Utf8Strings(claimed, static d => d.DispatchId))
                        .Execute();
                }

                return claimed;
            },
            cancellationToken);
    }

    /// <inheritdoc />
    public ValueTask<bool> TrySettleAsync(DispatchRecord record, string owner, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(record);
        return database.RunAsync(
            (Record: record, Owner: owner, Store: this),
            static (db, a) =>
            {
                // A settlement keeps the dispatch's creation instant: then `created` is left out of the SET, so that SQLite does not
                // delete and insert the dispatch's entry in the index by customer (a page written at every settlement). A record
                // whose creation instant changed is written by the full statement.
                // A statement prepared once on the connection: every delivered dispatch runs it.
                var r = a.Record;
                var utf8 = db.Utf8Dispatch(r);
                string? document = null;
                var settled = db.Statement("UPDATE dispatches SET status = ?1, due = ?2, lease_owner = ?3, document = ?4 WHERE dispatch_id = ?5 AND customer_id = ?6 AND created = ?7 AND status = 'Sending' AND lease_owner = ?8")
                    .Text(1, StatusName(r.Status))
                    .IntegerOrNull(2, DueColumn(r))
                    .TextOrNull(3, OwnerColumn(r))
                    .Utf8(4, utf8)
                    .Text(5, r.DispatchId)
                    .Text(6, r.CustomerId.Value)
                    .Integer(7, r.CreatedAt.UtcTicks)
                    .Text(8, a.Owner)
                    .Execute() == 1;
                if (!settled)
                {
                    document = Encoding.UTF8.GetString(utf8);
                    var full = db.Command("UPDATE dispatches SET created = $created, status = $status, due = $due, lease_owner = $owner, document = $doc WHERE dispatch_id = $id AND customer_id = $customer AND status = 'Sending' AND lease_owner = $holder");
                    BindRow(full, a.Record, document);
                    full.Bind("$holder", a.Owner);
                    settled = full.ExecuteNonQuery() == 1;
                }

                if (settled)
                {
                    // Kept for the claim that will read it again (queued again, or unknown); a dispatch that ended is not
                    // claimed again, and keeping its document would only keep it alive through the collector's generations.
                    if (a.Record.Status is DispatchStatus.Queued or DispatchStatus.Unknown)
                    {
                        a.Store._records.Set(a.Record.DispatchId, (DocumentStamp.Of(document is null ? utf8 : Encoding.UTF8.GetBytes(document)), a.Record));
                    }
                    else
                    {
                        a.Store._records.Remove(a.Record.DispatchId);
                    }

                    db.CapCache.Written(db, a.Record);
                }

                return settled;
            },
            cancellationToken);
    }

    /// <inheritdoc />
    public ValueTask<DispatchRecord?> GetAsync(string dispatchId, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(dispatchId);
        return database.RunAsync(
            (Store: this, Id: dispatchId),
            static (db, a) =>
            {
                var found = ReadAll(db.Statement($"SELECT {Stored} FROM dispatches WHERE dispatch_id = ?1").Text(1, a.Id), a.Store._records);
                return found.Count == 0 ? null : found[0];
            },
            cancellationToken);
    }

    /// <inheritdoc />
    public ValueTask<IReadOnlyList<DispatchRecord>> ListAsync(CustomerId customerId, DateTimeOffset since, CancellationToken cancellationToken = default)
        => database.RunAsync<IReadOnlyList<DispatchRecord>>(
            db =>
            {
                var query = db.Statement($"SELECT {Stored} FROM dispatches WHERE customer_id = ?1 AND created >= ?2 ORDER BY created, dispatch_id")
                    .Text(1, customerId.Value)
                    .Integer(2, since.UtcTicks);
                return ReadAll(query, _records);
            },
            cancellationToken);

    /// <inheritdoc />
    public async IAsyncEnumerable<DispatchRecord> ListByStatusAsync(DispatchStatus status, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        var records = await database.RunAsync(
            db =>
            {
                // Literal statuses, so that SQLite uses the partial index of each; the claimable ones are found through `due`.
                var query = status switch
                {
                    DispatchStatus.Held => db.Statement($"SELECT {Stored} FROM dispatches WHERE status = 'Held' ORDER BY created, dispatch_id"),
                    DispatchStatus.DeadLettered => db.Statement($"SELECT {Stored} FROM dispatches WHERE status = 'DeadLettered' ORDER BY created, dispatch_id"),
                    DispatchStatus.Queued or DispatchStatus.Sending or DispatchStatus.Unknown => db.Statement($"SELECT {Stored} FROM dispatches WHERE due IS NOT NULL AND status = ?1 ORDER BY created, dispatch_id"),
                    _ => db.Statement($"SELECT {Stored} FROM dispatches WHERE status = ?1 ORDER BY created, dispatch_id"),
                };
                if (status is not (DispatchStatus.Held or DispatchStatus.DeadLettered))
                {
                    query.Text(1, status.ToString());
                }

                return ReadAll(query, _records);
            },
            cancellationToken).ConfigureAwait(false);
        foreach (var record in records)
        {
            yield return record;
        }
    }

    /// <inheritdoc />
    /// <remarks>
    /// Inside a unit of work the answer may come from the database's cap cache (see <see cref="DispatchCapCache"/>): what the
    /// table held for the customer, read in this or an earlier unit while no other connection was seen to commit and nothing
    /// was rolled back, with every write to the dispatches since applied to it. Otherwise the table is read.
    /// </remarks>
    public ValueTask<IReadOnlyList<CappedDispatch>> ListCountedAsync(CustomerId customerId, DateTimeOffset since, CancellationToken cancellationToken = default)
        => database.RunAsync<(CustomerId Customer, DateTimeOffset Since), IReadOnlyList<CappedDispatch>>(
            (customerId, since),
            static (db, a) =>
            {
                var cache = db.CapCache;
                lock (cache)
                {
                    if (cache.TryList(db, a.Customer.Value, a.Since.UtcTicks) is { } cached)
                    {
                        return cached;
                    }

                    var command = db.Command("SELECT dispatch_id, created, channel, purpose FROM dispatches WHERE customer_id = $customer AND created >= $since AND status IN ('Queued', 'Sending', 'Unknown', 'Sent')");
                    command.Bind("$customer", a.Customer.Value);
                    command.Bind("$since", a.Since.UtcTicks);
                    var counted = new List<CappedDispatch>();
                    using (var reader = command.ExecuteReader())
                    {
                        while (reader.Read())
                        {
                            counted.Add(new CappedDispatch(reader.GetString(0), new DateTimeOffset(reader.GetInt64(1), TimeSpan.Zero), ChannelNamed(reader.GetString(2)), PurposeNamed(reader.GetString(3))));
                        }
                    }

                    cache.Fill(db, a.Customer.Value, a.Since.UtcTicks, counted);
                    return counted.ToArray();
                }
            },
            cancellationToken);

    /// <inheritdoc />
    /// <remarks>
    /// One query for the customers the database's cap cache does not hold yet (see <see cref="ListCountedAsync"/>); it fills
    /// the cache only inside a unit of work, where the calls that follow can use it.
    /// </remarks>
    public ValueTask ReadAheadCountedAsync(IReadOnlyCollection<CustomerId> customerIds, DateTimeOffset since, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(customerIds);
        if (customerIds.Count == 0 || database.CurrentUnit is not { IsStarted: true })
        {
            return ValueTask.CompletedTask;
        }

        var done = database.RunAsync(
            (Customers: customerIds, Since: since.UtcTicks),
            static (db, a) =>
            {
                var cache = db.CapCache;
                lock (cache)
                {
                    if (!db.IsCurrent(db.Epoch))
                    {
                        return 0;
                    }

                    var found = new Dictionary<string, List<CappedDispatch>>(a.Customers.Count, StringComparer.Ordinal);
                    var ids = new List<string>(a.Customers.Count);
                    foreach (var customer in a.Customers)
                    {
                        if (!cache.Holds(db, customer.Value, a.Since) && found.TryAdd(customer.Value, []))
                        {
                            ids.Add(customer.Value);
                        }
                    }

                    if (ids.Count == 0)
                    {
                        return 0;
                    }

                    var command = db.Command("SELECT customer_id, dispatch_id, created, channel, purpose FROM dispatches WHERE customer_id IN (SELECT value FROM json_each($customers)) AND created >= $since AND status IN ('Queued', 'Sending', 'Unknown', 'Sent')");
                    command.Bind("$customers", JsonArray(ids));
                    command.Bind("$since", a.Since);
                    using (var reader = command.ExecuteReader())
                    {
                        while (reader.Read())
                        {
                            if (found.TryGetValue(reader.GetString(0), out var list))
                            {
                                list.Add(new CappedDispatch(reader.GetString(1), new DateTimeOffset(reader.GetInt64(2), TimeSpan.Zero), ChannelNamed(reader.GetString(3)), PurposeNamed(reader.GetString(4))));
                            }
                        }
                    }

                    foreach (var (customer, list) in found)
                    {
                        cache.Fill(db, customer, a.Since, list);
                    }

                    return ids.Count;
                }
            },
            cancellationToken);
        return done.IsCompletedSuccessfully ? ValueTask.CompletedTask : new ValueTask(done.AsTask());
    }

    /// <inheritdoc />
    public ValueTask<int> EraseSubjectAsync(CustomerId customerId, CancellationToken cancellationToken = default)
    {

        // The erased customer's records leave the memory too (the cache is not searched by customer: it starts over).
        _records.Clear();
        return database.DeleteByCustomerAsync("dispatches", customerId, cancellationToken);
    }

    // The status column: the status's name (as Enum.ToString writes it, without boxing the status for it).
    private static string StatusName(DispatchStatus status)
        => (uint)status < (uint)StatusNames.Length ? StatusNames[(int)status] : status.ToString();

    private static readonly string[] StatusNames = Enum.GetValues<DispatchStatus>().Select(static s => s.ToString()).ToArray();

    // The well-known channels and purposes without building (and checking) a new name each time.
    private static Channel ChannelNamed(string name)
    {
        foreach (var channel in Channel.WellKnown)
        {
            if (string.Equals(channel.Name, name, StringComparison.Ordinal))
            {
                return channel;
            }
        }

        return new Channel(name);
    }

    private static Purpose PurposeNamed(string name)
        => name switch
        {
            "marketing" => Purpose.Marketing,
            "transactional" => Purpose.Transactional,
            _ => new Purpose(name),
        };

    private static string JsonArray(List<string> values)
    {
        var buffer = new System.Buffers.ArrayBufferWriter<byte>();
        using (var writer = new Utf8JsonWriter(buffer))
        {
            writer.WriteStartArray();
            foreach (var value in values)
            {
                writer.WriteStringValue(value);
            }

            writer.WriteEndArray();
        }

        return System.Text.Encoding.UTF8.GetString(buffer.WrittenSpan);
    }

    // The row's columns from the record: a claimable record carries the instant it falls due.
    private static void BindRow(SqliteCommand command, DispatchRecord record, string document)
    {
        command.Bind("$id", record.DispatchId);
        command.Bind("$customer", record.CustomerId.Value);
        command.Bind("$created", record.CreatedAt.UtcTicks);
        command.Bind("$status", record.Status.ToString());
        command.Bind("$due", DueColumn(record) is { } due ? due : DBNull.Value);
        command.Bind("$owner", OwnerColumn(record) is { } owner ? owner : DBNull.Value);
        command.Bind("$doc", document);
    }

    // The `due` column: the instant a claimable record falls due (its lease end while sending), else none.
    private static long? DueColumn(DispatchRecord record)
        => record.Status is DispatchStatus.Queued or DispatchStatus.Unknown or DispatchStatus.Sending ? DispatchRecords.DueOf(record).UtcTicks : null;

    // The `lease_owner` column: the lease holder of a sending record, else none.
    private static string? OwnerColumn(DispatchRecord record)
        => record.Status == DispatchStatus.Sending ? record.LeaseOwner : null;

    // The records a query selected (Stored's columns), read as the UTF-8 the table holds: a document this store knows is compared
    // byte for byte, and no string is made of it. A claim leases in the columns alone, so a leased dispatch's document still
    // holds the status and lease it had before: the status, lease owner and lease end (the `due` of a sending one) are read
    // from the columns, which every write keeps current.
    private static List<DispatchRecord> ReadAll(SqliteStatement query, BoundedCache<string, (DocumentStamp Stamp, DispatchRecord Record)> records)
    {
        var list = new List<DispatchRecord>();
        try
        {
            for (var row = query.Query(); row; row = query.Next())
            {
                var document = query.Utf8Column(0);
                DispatchRecord record;
                if (Known(records, query.Utf8Column(4), out var known) && known.Stamp == DocumentStamp.Of(document))
                {
                    record = known.Record;
                }
                else
                {
                    record = JsonSerializer.Deserialize(document, EngagementJsonContext.Default.DispatchRecord)!;
                    records.Set(record.DispatchId, (DocumentStamp.Of(document), record));
                }

                if (query.Utf8Column(1).SequenceEqual("Sending"u8) && !query.IsNull(2))
                {
                    var noOwner = query.IsNull(3);
                    var leaseUntil = new DateTimeOffset(query.Int64(2), TimeSpan.Zero);
                    if (record.Status != DispatchStatus.Sending || record.LeaseUntil != leaseUntil
                        || (record.LeaseOwner is { } held ? noOwner || !SameText(held, query.Utf8Column(3)) : !noOwner))
                    {
                        record = record with { Status = DispatchStatus.Sending, LeaseOwner = noOwner ? null : query.String(3), LeaseUntil = leaseUntil };
                    }
                }

                list.Add(record);
            }
        }
        finally
        {
            query.Reset();
        }

        return list;
    }

    // The entry of a dispatch id given as UTF-8, found without making a string of the id (ids are short).
    private static bool Known(BoundedCache<string, (DocumentStamp Stamp, DispatchRecord Record)> records, ReadOnlySpan<byte> id, out (DocumentStamp Stamp, DispatchRecord Record) known)
    {
        if (id.Length > 256)
        {
            return records.TryGetValue(Encoding.UTF8.GetString(id), out known);
        }

        Span<char> chars = stackalloc char[id.Length];
        var length = Encoding.UTF8.GetChars(id, chars);
        return records.TryGetValue<ReadOnlySpan<char>>(chars[..length], out known);
    }

    // Whether a string is the UTF-8 text.
    private static bool SameText(string text, ReadOnlySpan<byte> utf8)
    {
        Span<byte> buffer = stackalloc byte[256];
        return Encoding.UTF8.GetMaxByteCount(text.Length) <= buffer.Length
            ? utf8.SequenceEqual(buffer[..Encoding.UTF8.GetBytes(text, buffer)])
            : utf8.SequenceEqual(Encoding.UTF8.GetBytes(text));
    }
}

/// <summary>An <see cref="ISuppressionStore"/> on SQLite.</summary>
/// <param name="database">The database.</param>
public sealed class SqliteSuppressionStore(SqliteDatabase database) : ISuppressionStore
{
    private const int CacheLimit = 65_536;

    // What each looked-up hash had, with the database's epoch at the time: every tracked event looks up its customer's
    // tombstone, and inside a unit of work an entry of the current epoch is what the table holds (see SqliteDatabase.IsCurrent).
    private readonly BoundedCache<string, (IReadOnlyList<Suppression> Found, int Epoch)> _cache = new(CacheLimit, StringComparer.Ordinal);

    /// <inheritdoc />
    public ValueTask AddAsync(Suppression suppression, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(suppression);
        var done = database.RunAsync(
            db =>
            {
                _cache.Remove(suppression.IdentifierHash);
                var insert = db.Command("INSERT INTO suppressions (identifier_hash, reason, at, at_offset, source) VALUES ($hash, $reason, $at, $offset, $source) ON CONFLICT DO NOTHING");
                insert.Bind("$hash", suppression.IdentifierHash);
                insert.Bind("$reason", suppression.Reason.ToString());
                insert.Bind("$at", suppression.At.UtcTicks);
                insert.Bind("$offset", (int)suppression.At.Offset.TotalMinutes);
                insert.Bind("$source", suppression.Source);
                return insert.ExecuteNonQuery();
            },
            cancellationToken);
        return done.IsCompletedSuccessfully ? ValueTask.CompletedTask : new ValueTask(done.AsTask());
    }

    /// <inheritdoc />
    public ValueTask<IReadOnlyList<Suppression>> FindAsync(string identifierHash, CancellationToken cancellationToken = default)
        => database.RunAsync<(SqliteSuppressionStore Store, string Hash), IReadOnlyList<Suppression>>(
            (this, identifierHash),
            static (db, a) =>
            {
                var (store, identifierHash) = a;
                var cache = store._cache;
                if (cache.TryGetValue(identifierHash, out var cached) && db.IsCurrent(cached.Epoch))
                {
                    return cached.Found;
                }

                var command = db.Command("SELECT reason, at, at_offset, source FROM suppressions WHERE identifier_hash = $hash ORDER BY at");
                command.Bind("$hash", identifierHash);
                var list = new List<Suppression>();
                using var reader = command.ExecuteReader();
                while (reader.Read())
                {
                    var offset = TimeSpan.FromMinutes(reader.GetInt32(2));
                    var at = new DateTimeOffset(reader.GetInt64(1), TimeSpan.Zero).ToOffset(offset);
                    list.Add(new Suppression(identifierHash, Enum.Parse<SuppressionReason>(reader.GetString(0)), at, reader.GetString(3)));
                }

                IReadOnlyList<Suppression> found = list.Count == 0 ? [] : list.AsReadOnly();
                cache.Set(identifierHash, (found, db.Epoch));
                return found;
            },
            cancellationToken);
}
