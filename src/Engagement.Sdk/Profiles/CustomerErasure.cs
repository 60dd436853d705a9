using System.Collections.Immutable;
using Engagement.Sdk.Consent;
using Engagement.Sdk.Events;
using Engagement.Sdk.Storage;

namespace Engagement.Sdk.Profiles;

/// <summary>What an erasure removed.</summary>
/// <param name="CustomerId">The subject.</param>
/// <param name="ItemsRemoved">Items removed per store type.</param>
/// <param name="IdentifiersSuppressed">How many identifiers were turned into hashed erasure suppressions.</param>
public sealed record ErasureReport(CustomerId CustomerId, ImmutableDictionary<string, int> ItemsRemoved, int IdentifiersSuppressed);

/// <summary>What an anonymisation removed, and the random key the person's aggregates were kept under.</summary>
/// <param name="CustomerId">The subject.</param>
/// <param name="AnonymousKey">The new, random id of the anonymous profile that keeps the aggregates (not derivable from the subject's ids).</param>
/// <param name="Erasure">What the erasure of the subject removed.</param>
/// <param name="EventsKept">How many events were kept, anonymised, under the key (for the transactional and engagement metrics).</param>
public sealed record AnonymisationReport(CustomerId CustomerId, CustomerId AnonymousKey, ErasureReport Erasure, int EventsKept);

/// <summary>
/// Erases a customer (GDPR Art. 17): every store's data about them is removed; each identifier they had is kept only as a
/// hashed erasure suppression (so it is never contacted again and a replay or re-import cannot give it consent); and a
/// hashed tombstone of the customer id makes the engine ignore late or replayed events instead of recreating the customer.
/// Every store must implement <see cref="ISubjectErasure"/>; if one does not, nothing is erased and the call fails, so
/// erasure can never silently forget a store.
/// </summary>
public sealed class CustomerErasure
{
    /// <summary>The identifier kind of customer tombstones in the suppression list.</summary>
    public static readonly IdentifierKind TombstoneKind = new("customer");

    private readonly IProfileStore _profiles;
    private readonly Households.IHouseholdStore? _households;
    private readonly IEventStore _events;
    private readonly IConsentStore _consents;
    private readonly ISuppressionStore _suppressions;
    private readonly TimeProvider _time;
    private readonly ImmutableArray<object> _stores;
    private readonly IStoreTransactions _transactions;

    /// <summary>Creates the service.</summary>
    /// <param name="profiles">The profile store.</param>
    /// <param name="events">The event store.</param>
    /// <param name="consents">The consent store.</param>
    /// <param name="dispatches">The dispatch log.</param>
    /// <param name="suppressions">The suppression list.</param>
    /// <param name="time">The clock.</param>
    /// <param name="transactions">
    /// The storage's units of work: the erasure runs in one, holding each subject's customer lock, so it never interleaves with
    /// the engine deciding for the customer in another process (none for the in-memory stores).
    /// </param>
    /// <param name="journeys">The journeys' store: the customer's journey state, timers and history are erased too.</param>
    /// <param name="households">
    /// The households: the person leaves theirs, and an identifier it shares with members who remain is not suppressed (it is
    /// theirs too), though the person's opt-outs of it stay, as a suppression of the address for marketing (none when <see langword="null"/>).
    /// </param>
    /// <param name="contacts">The actions' contact history (who was sent or dismissed which action), erased with the rest; none when <see langword="null"/>.</param>
    /// <param name="segments">The segments' store: the customer's memberships, counters and segment history are erased too; none when <see langword="null"/>.</param>
    public CustomerErasure(IProfileStore profiles, IEventStore events, IConsentStore consents, IDispatchStore dispatches, ISuppressionStore suppressions, TimeProvider time, IStoreTransactions? transactions = null, Journeys.IJourneyStore? journeys = null, Households.IHouseholdStore? households = null, Decisioning.IActionContactLog? contacts = null, Segments.ISegmentStore? segments = null)
    {
        _households = households;
        _transactions = transactions ?? NoTransactions.Instance;
        _profiles = profiles ?? throw new ArgumentNullException(nameof(profiles));
        _events = events ?? throw new ArgumentNullException(nameof(events));
        _consents = consents ?? throw new ArgumentNullException(nameof(consents));
        _suppressions = suppressions ?? throw new ArgumentNullException(nameof(suppressions));
        _time = time ?? throw new ArgumentNullException(nameof(time));
        _stores = [profiles, events ?? throw new ArgumentNullException(nameof(events)), consents, dispatches ?? throw new ArgumentNullException(nameof(dispatches))];
        if (journeys is not null)
        {
            _stores = _stores.Add(journeys);
        }

        if (contacts is not null)
        {
            _stores = _stores.Add(contacts);
        }

        if (segments is not null)
        {
            _stores = _stores.Add(segments);
        }
    }

    /// <summary>The tombstone identifier of a customer id.</summary>
    /// <param name="customerId">The customer.</param>
    /// <returns>The identifier whose hash marks the customer as erased.</returns>
    public static Identifier Tombstone(CustomerId customerId) => new(TombstoneKind, customerId.Value);

    /// <summary>Erases the customer.</summary>
    /// <param name="customerId">The subject.</param>
    /// <param name="cancellationToken">Cancels the work (stores already erased stay erased; run it again to finish).</param>
    /// <returns>What was removed.</returns>
    /// <exception cref="InvalidOperationException">A store cannot erase (it does not implement <see cref="ISubjectErasure"/>).</exception>
    public async ValueTask<ErasureReport> EraseAsync(CustomerId customerId, CancellationToken cancellationToken = default)
    {
        var missing = _stores.Where(s => s is not ISubjectErasure).Select(s => s.GetType().Name).ToList();
        if (missing.Count > 0)
        {
            throw new InvalidOperationException($"Cannot erase: {string.Join(", ", missing)} cannot erase a subject (implement ISubjectErasure).");
        }

        // One unit of work for the whole person, under each subject's customer lock: all of it is erased or none, and a tracked
        // event or a decision for the customer (which take the same lock) runs before or after, never in between.
        ErasureReport report;
        var unit = _transactions.Begin();
        await using (unit.ConfigureAwait(false))
        {
            await unit.StartAsync(cancellationToken).ConfigureAwait(false);
            await unit.LockCustomerAsync(customerId, cancellationToken).ConfigureAwait(false);
            report = await EraseLockedAsync(unit, customerId, cancellationToken).ConfigureAwait(false);
            await unit.CompleteAsync(cancellationToken).ConfigureAwait(false);
        }

        // Storage that keeps copies of deleted rows (SQLite's write-ahead log) removes them now, so no file holds the person.
        foreach (var store in _stores.OfType<IErasureCompaction>())
        {
            await store.CompactAfterErasureAsync(cancellationToken).ConfigureAwait(false);
        }

        return report;
    }

    /// <summary>
    /// Anonymises the customer, an alternative to <see cref="EraseAsync"/> when the shop must forget the person but may keep
    /// what they did in aggregate (GDPR Recital 26: anonymous data is not personal data). The person is erased exactly as by
    /// <see cref="EraseAsync"/> (identity, personal data, consent ledger, dispatch log, events; hashed suppressions and
    /// tombstones left so the address is not contacted and a replay does not recreate them), and then a new profile under a
    /// random key keeps only the behavioural aggregates and journey stages, with the events the metrics count (views, carts,
    /// orders, refunds) copied under that key without identifiers, channel addresses or page queries. Nothing links the key
    /// to the person: it is random, and every id and identifier of theirs is gone.
    /// </summary>
    /// <param name="customerId">The subject.</param>
    /// <param name="cancellationToken">Cancels the work.</param>
    /// <returns>The key the aggregates were kept under, and what was removed.</returns>
    /// <exception cref="EngagementValidationException">The customer has no profile.</exception>
    /// <exception cref="InvalidOperationException">A store cannot erase (it does not implement <see cref="ISubjectErasure"/>).</exception>
    public async ValueTask<AnonymisationReport> AnonymiseAsync(CustomerId customerId, CancellationToken cancellationToken = default)
    {
        var missing = _stores.Where(s => s is not ISubjectErasure).Select(s => s.GetType().Name).ToList();
        if (missing.Count > 0)
        {
            throw new InvalidOperationException($"Cannot anonymise: {string.Join(", ", missing)} cannot erase a subject (implement ISubjectErasure).");
        }

        AnonymisationReport report;
        var unit = _transactions.Begin();
        await using (unit.ConfigureAwait(false))
        {
            await unit.StartAsync(cancellationToken).ConfigureAwait(false);
            await unit.LockCustomerAsync(customerId, cancellationToken).ConfigureAwait(false);
            var live = await _profiles.GetAsync(customerId, cancellationToken).ConfigureAwait(false);
            for (var hop = 0; hop < 32 && live?.MergedInto is { } redirect; hop++)
            {
                live = await _profiles.GetAsync(redirect.SurvivorId, cancellationToken).ConfigureAwait(false);
            }

            if (live is null || live.IsMerged)
            {
                throw new EngagementValidationException("customerId", customerId.Value, "must name a customer with a profile");
            }

            var kept = new List<EngagementEvent>();
            foreach (var subject in await CollectSubjectsAsync(_profiles, customerId, cancellationToken).ConfigureAwait(false))
            {
                await foreach (var e in _events.ReadAsync(subject, null, null, cancellationToken).ConfigureAwait(false))
                {
                    kept.Add(e);
                }
            }

            var erasure = await EraseLockedAsync(unit, customerId, cancellationToken).ConfigureAwait(false);
            var key = new CustomerId("anonymous-" + Convert.ToHexStringLower(System.Security.Cryptography.RandomNumberGenerator.GetBytes(16)));
            await unit.LockCustomerAsync(key, cancellationToken).ConfigureAwait(false);
            await _profiles.SaveAsync(new CustomerProfile { Id = key, Behaviour = live.Behaviour, Journeys = live.Journeys }, cancellationToken).ConfigureAwait(false);
            var copied = 0;
            foreach (var e in kept)
            {
                if (Anonymised(e, key) is { } copy)
                {
                    await _events.AppendAsync(copy, cancellationToken).ConfigureAwait(false);
                    copied++;
                }
            }

            report = new AnonymisationReport(customerId, key, erasure, copied);
            await unit.CompleteAsync(cancellationToken).ConfigureAwait(false);
        }

        foreach (var store in _stores.OfType<IErasureCompaction>())
        {
            await store.CompactAfterErasureAsync(cancellationToken).ConfigureAwait(false);
        }

        return report;
    }

    // The events the metrics count, without anything that identifies the person: no identifiers, no channel address, no page
    // query; new ids. Events that carry what the person told us (traits, custom properties, consent, searches) are not kept.
    private static EngagementEvent? Anonymised(EngagementEvent e, CustomerId key)
    {
        var id = "anon-" + Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(key.Value + "\u0001" + e.EventId)).AsSpan(0, 16));
        return e switch
        {
            ProductViewed or AddedToCart or RemovedFromCart or CheckoutStarted or Purchased or Refunded => e with { EventId = id, CustomerId = key, Identifiers = [] },
            PageViewed page => page with { EventId = id, CustomerId = key, Identifiers = [], Url = PathOnly(page.Url) },
            _ => null,
        };
    }

    private static string PathOnly(string url)
    {
        var cut = url.IndexOfAny(['?', '#']);
        var path = cut < 0 ? url : url[..cut];
        return path.Length == 0 ? "/" : path;
    }

    private async ValueTask<ErasureReport> EraseLockedAsync(IUnitOfWork unit, CustomerId customerId, CancellationToken cancellationToken)
    {
        // The person is every id merged into one profile: erase them all, and the state each redirect keeps.
        var subjects = await CollectSubjectsAsync(_profiles, customerId, cancellationToken).ConfigureAwait(false);
        foreach (var subject in subjects)
        {
            if (subject != customerId)
            {
                await unit.LockCustomerAsync(subject, cancellationToken).ConfigureAwait(false);
            }
        }

        var identifiers = new HashSet<Identifier>();
        foreach (var subject in subjects)
        {
            if (await _profiles.GetAsync(subject, cancellationToken).ConfigureAwait(false) is { } profile)
            {
                identifiers.UnionWith(profile.Identifiers);
                if (profile.MergedInto is { } redirect)
                {
                    identifiers.UnionWith(redirect.Before.Identifiers);
                }

                foreach (var merge in profile.Merges)
                {
                    identifiers.UnionWith(merge.SurvivorBefore.Identifiers);
                }
            }

            foreach (var record in await _consents.ReadAsync(subject, cancellationToken).ConfigureAwait(false))
            {
                if (record.Identifier is { } identifier)
                {
                    identifiers.Add(identifier);
                }
            }
        }

        var now = _time.GetUtcNow();
        var keptShared = await LeaveHouseholdsAsync(subjects, now, cancellationToken).ConfigureAwait(false);
        foreach (var identifier in identifiers)
        {
            if (keptShared.Contains(identifier))
            {
                continue; // the other members of the household still hold it
            }

            await _suppressions.AddAsync(new Suppression(IdentifierHashing.Hash(identifier), SuppressionReason.Erasure, now, "erasure"), cancellationToken).ConfigureAwait(false);
        }

        var removed = ImmutableDictionary.CreateBuilder<string, int>(StringComparer.Ordinal);
        foreach (var subject in subjects)
        {
            await _suppressions.AddAsync(new Suppression(IdentifierHashing.Hash(Tombstone(subject)), SuppressionReason.Erasure, now, "erasure"), cancellationToken).ConfigureAwait(false);
            foreach (var store in _stores)
            {
                var name = store.GetType().Name;
                removed[name] = removed.GetValueOrDefault(name) + await ((ISubjectErasure)store).EraseSubjectAsync(subject, cancellationToken).ConfigureAwait(false);
            }
        }

        return new ErasureReport(customerId, removed.ToImmutable(), identifiers.Count);
    }

    // The person leaves their household (deleted when they were its last member). Returns the identifiers the household
    // still shares with others: those are not suppressed, but an opt-out of one by the person stays with the address.
    private async ValueTask<HashSet<Identifier>> LeaveHouseholdsAsync(List<CustomerId> subjects, DateTimeOffset now, CancellationToken cancellationToken)
    {
        var kept = new HashSet<Identifier>();
        if (_households is null)
        {
            return kept;
        }

        foreach (var subject in subjects)
        {
            if (await _households.FindByMemberAsync(subject, cancellationToken).ConfigureAwait(false) is not { } household)
            {
                continue;
            }

            var remaining = household.Members.Remove(subject);
            if (remaining.IsEmpty)
            {
                await _households.DeleteAsync(household.Id, household.Version, cancellationToken).ConfigureAwait(false);
                continue;
            }

            await _households.SaveAsync(household with { Members = remaining }, cancellationToken).ConfigureAwait(false);
            kept.UnionWith(household.SharedIdentifiers);
            foreach (var record in await _consents.ReadAsync(subject, cancellationToken).ConfigureAwait(false))
            {
                if (record.IsRestrictive && record.Status != ConsentStatus.PendingConfirmation && record.Identifier is { } address && household.Shares(address))
                {
                    await _suppressions.AddAsync(new Suppression(IdentifierHashing.Hash(address), SuppressionReason.OptOut, now, "erasure of a household member"), cancellationToken).ConfigureAwait(false);
                }
            }
        }

        return kept;
    }

    // Every id that stands for the same person: the id, the profile it was merged into, and the ids merged into either.
    internal static async ValueTask<List<CustomerId>> CollectSubjectsAsync(IProfileStore profiles, CustomerId customerId, CancellationToken cancellationToken)
    {
        var subjects = new List<CustomerId>();
        var pending = new Stack<CustomerId>();
        pending.Push(customerId);
        while (pending.Count > 0)
        {
            var id = pending.Pop();
            if (subjects.Contains(id))
            {
                continue;
            }

            subjects.Add(id);
            var profile = await profiles.GetAsync(id, cancellationToken).ConfigureAwait(false);
            if (profile?.MergedInto is { } redirect)
            {
                pending.Push(redirect.SurvivorId);
                foreach (var merge in redirect.Before.Merges)
                {
                    pending.Push(merge.MergedId);
                }
            }

            foreach (var merge in profile?.Merges ?? [])
            {
                pending.Push(merge.MergedId);
            }
        }

        return subjects;
    }

    /// <summary>Whether a customer was erased.</summary>
    /// <param name="suppressions">The suppression list.</param>
    /// <param name="customerId">The customer.</param>
    /// <param name="cancellationToken">Cancels the read.</param>
    /// <returns><see langword="true"/> when a tombstone exists: a suppression of the customer's tombstone hash with
    /// <see cref="SuppressionReason.Erasure"/> (what <see cref="EraseAsync"/> adds).</returns>
    public static ValueTask<bool> IsErasedAsync(ISuppressionStore suppressions, CustomerId customerId, CancellationToken cancellationToken = default)
        => IsErasedAsync(suppressions, TombstoneHash(customerId), cancellationToken);

    /// <summary>Whether the customer whose tombstone hash is <paramref name="tombstoneHash"/> was erased.</summary>
    internal static async ValueTask<bool> IsErasedAsync(ISuppressionStore suppressions, string tombstoneHash, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(suppressions);
        return IsErasure(await suppressions.FindAsync(tombstoneHash, cancellationToken).ConfigureAwait(false));
    }

    /// <summary>Whether the suppressions of a tombstone hash include an erasure (only an erasure makes a customer erased).</summary>
    internal static bool IsErasure(IReadOnlyList<Suppression> suppressions)
    {
        for (var i = 0; i < suppressions.Count; i++)
        {
            if (suppressions[i].Reason == SuppressionReason.Erasure)
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>The customer id an audit row of an erased customer carries: <c>erased-</c> and the first 32 hex digits of the tombstone hash, no personal data.</summary>
    /// <param name="customerId">The erased customer.</param>
    /// <returns>The pseudonymous id.</returns>
    public static string ErasedSubjectId(CustomerId customerId)
    {
        var hash = TombstoneHash(customerId);
        var hex = hash[(hash.IndexOf(':', StringComparison.Ordinal) + 1)..];
        return "erased-" + hex[..Math.Min(32, hex.Length)];
    }

    /// <summary>The hash of a customer's tombstone in the suppression list.</summary>
    internal static string TombstoneHash(CustomerId customerId)
    {
        var value = customerId.Value;
        // An identifier's value is trimmed and NFC-normalised; an id that is already both hashes as it is.
        return value.Length > 0 && !char.IsWhiteSpace(value[0]) && !char.IsWhiteSpace(value[^1]) && value.IsNormalized(System.Text.NormalizationForm.FormC)
            ? IdentifierHashing.HashParts(TombstoneKind.Name, value) // what Tombstone(customerId) hashes to, without building it
            : IdentifierHashing.Hash(Tombstone(customerId));
    }
}

/// <summary>
/// The tombstone hashes of recently seen customer ids: every tracked event checks its customer's tombstone, and a SHA-256
/// through the platform's cryptography costs about a microsecond, most of an event's budget. Two-way set-associative (an
/// id may sit in either slot of the pair its hash code picks; a new id takes the first and moves the first's id to the
/// second), so it is bounded, needs no lock and keeps the customers of current sessions. With a store that counts its
/// erasures (<see cref="ICountedSuppressions"/>), nothing is hashed or asked while the store holds no erasure, and an entry
/// remembers the count at which its customer was found not erased, so the store is not asked again until another erasure
/// (not a bounce or an opt-out) moves the count.
/// </summary>
internal sealed class TombstoneHashCache
{
    private readonly Entry?[] _slots;

    /// <summary>Creates the cache.</summary>
    /// <param name="slots">The number of slots, a power of two (at least two).</param>
    public TombstoneHashCache(int slots)
    {
        if (slots < 2 || (slots & (slots - 1)) != 0)
        {
            throw new ArgumentOutOfRangeException(nameof(slots), slots, "must be a power of two, at least two");
        }

        _slots = new Entry?[slots];
    }

    /// <summary>The tombstone hash of <paramref name="customerId"/>: <see cref="CustomerErasure.TombstoneHash"/>, remembered.</summary>
    /// <param name="customerId">The customer.</param>
    /// <returns>The hash.</returns>
    public string HashOf(CustomerId customerId) => EntryFor(customerId).Hash;

    /// <summary>Whether <paramref name="customerId"/> was erased (has a tombstone in <paramref name="suppressions"/>).</summary>
    /// <param name="customerId">The customer.</param>
    /// <param name="suppressions">The suppression store.</param>
    /// <param name="cancellationToken">Cancels the read.</param>
    /// <returns><see langword="true"/> for an erased customer.</returns>
    public ValueTask<bool> IsErasedAsync(CustomerId customerId, ISuppressionStore suppressions, CancellationToken cancellationToken)
    {
        if (suppressions is not ICountedSuppressions counted)
        {
            return CustomerErasure.IsErasedAsync(suppressions, EntryFor(customerId).Hash, cancellationToken);
        }

        // The count is read before the look-up: an erasure added after it moves the count, and the memo no longer holds.
        // Until the store holds an erasure, no customer is erased and nothing need be looked up or remembered.
        var erasures = counted.Erasures;
        if (erasures == 0)
        {
            return new ValueTask<bool>(false);
        }

        var entry = EntryFor(customerId);
        if (Volatile.Read(ref entry.ClearAt) == erasures)
        {
            return new ValueTask<bool>(false);
        }

        var found = suppressions.FindAsync(entry.Hash, cancellationToken);
        if (!found.IsCompletedSuccessfully)
        {
            return CustomerErasure.IsErasedAsync(suppressions, entry.Hash, cancellationToken);
        }

        var erased = CustomerErasure.IsErasure(found.Result);
        if (!erased)
        {
            Volatile.Write(ref entry.ClearAt, erasures);
        }

        return new ValueTask<bool>(erased);
    }

    private Entry EntryFor(CustomerId customerId)
    {
        var value = customerId.Value;
        var first = string.GetHashCode(value, StringComparison.Ordinal) & (_slots.Length - 2);
        var recent = Volatile.Read(ref _slots[first]);
        if (recent is not null && string.Equals(recent.CustomerId, value, StringComparison.Ordinal))
        {
            return recent;
        }

        if (Volatile.Read(ref _slots[first + 1]) is { } older && string.Equals(older.CustomerId, value, StringComparison.Ordinal))
        {
            return older;
        }

        var entry = new Entry(value, CustomerErasure.TombstoneHash(customerId));
        if (recent is not null)
        {
            Volatile.Write(ref _slots[first + 1], recent);
        }

        Volatile.Write(ref _slots[first], entry);
        return entry;
    }

    private sealed class Entry(string customerId, string hash)
    {
        public string CustomerId { get; } = customerId;

        public string Hash { get; } = hash;

        // The suppression store's erasure count at which the customer was last found not erased; -1 for never.
        public long ClearAt = -1;
    }
}
