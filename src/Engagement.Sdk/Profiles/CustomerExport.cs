using System.Collections.Immutable;
using System.Text.Json;
using Engagement.Sdk.Consent;
using Engagement.Sdk.Events;
using Engagement.Sdk.Serialization;
using Engagement.Sdk.Storage;

namespace Engagement.Sdk.Profiles;

/// <summary>
/// Everything recorded about one person (GDPR Art. 15 and 20): every profile that stands for them (the live one and the
/// redirects of the ids merged into it), their events, their consent ledger and their dispatch log. Versions are not
/// exported: an import writes fresh profiles.
/// </summary>
/// <param name="SchemaVersion">The document's schema version (1).</param>
/// <param name="CustomerId">The customer the export was asked for.</param>
/// <param name="ExportedAt">When it was made.</param>
/// <param name="Profiles">The profiles, the live one first.</param>
/// <param name="Events">The events addressed to any of the person's ids, oldest first.</param>
/// <param name="Consent">The consent records, per id in the order they were appended.</param>
/// <param name="Dispatches">The dispatch log entries, oldest first.</param>
public sealed record CustomerExport(
    int SchemaVersion,
    CustomerId CustomerId,
    DateTimeOffset ExportedAt,
    ImmutableArray<CustomerProfile> Profiles,
    ImmutableArray<EngagementEvent> Events,
    ImmutableArray<ConsentRecord> Consent,
    ImmutableArray<DispatchRecord> Dispatches)
{
    /// <summary>
    /// The household the person belonged to (its id and the identifiers it shares; the other members are other people and are
    /// not exported), or <see langword="null"/>. An import joins it again, or creates it when the store does not know it.
    /// </summary>
    public HouseholdMembership? Household { get; init; }

    /// <summary>The segments the person is in now, with when they entered (empty when none, or no segment store was given).</summary>
    public ImmutableArray<Segments.SegmentMembership> Segments { get; init; } = [];

    /// <summary>The person's segment entries and exits, per id in the order recorded. An import does not restore them: membership is re-evaluated from the imported data.</summary>
    public ImmutableArray<Segments.SegmentChange> SegmentHistory { get; init; } = [];
}

/// <summary>A person's membership of a household, as their export carries it.</summary>
/// <param name="HouseholdId">The household's id.</param>
/// <param name="SharedIdentifiers">The identifiers the household shares.</param>
public sealed record HouseholdMembership(string HouseholdId, ImmutableArray<Identifier> SharedIdentifiers);

/// <summary>Exports everything about one customer as one JSON document, and imports such a document into an empty store.</summary>
public sealed class CustomerDataPortability
{
    /// <summary>The schema version of <see cref="CustomerExport"/> documents this library writes and reads.</summary>
    public const int SchemaVersion = 1;

    private readonly IProfileStore _profiles;
    private readonly IEventStore _events;
    private readonly ConsentLedger _ledger;
    private readonly IConsentStore _consents;
    private readonly IDispatchStore _dispatches;
    private readonly TimeProvider _time;
    private readonly ISuppressionStore? _suppressions;
    private readonly Households.IHouseholdStore? _households;
    private readonly Segments.ISegmentStore? _segments;
    private readonly IStoreTransactions _transactions;
    private readonly TimeSpan _maxClockSkew;

    /// <summary>Creates the service.</summary>
    /// <param name="profiles">The profile store.</param>
    /// <param name="events">The event store.</param>
    /// <param name="ledger">The consent ledger (an import validates records through it).</param>
    /// <param name="consents">The consent store.</param>
    /// <param name="dispatches">The dispatch log.</param>
    /// <param name="time">The clock.</param>
    /// <param name="suppressions">The suppression list, whose erasure tombstones an import honours (none: no tombstone is checked).</param>
    /// <param name="transactions">The storage's units of work, so that an import is written all or nothing (none for the in-memory stores).</param>
    /// <param name="options">The SDK's options (the clock skew events and consent records may have).</param>
    /// <param name="households">The households: the export carries the person's membership, and an import restores it (none when <see langword="null"/>).</param>
    /// <param name="segments">The segments: the export carries the person's memberships and their history (none when <see langword="null"/>).</param>
    public CustomerDataPortability(IProfileStore profiles, IEventStore events, ConsentLedger ledger, IConsentStore consents, IDispatchStore dispatches, TimeProvider time, ISuppressionStore? suppressions = null, IStoreTransactions? transactions = null, Microsoft.Extensions.Options.IOptions<EngagementOptions>? options = null, Households.IHouseholdStore? households = null, Segments.ISegmentStore? segments = null)
    {
        _segments = segments;
        _households = households;
        _suppressions = suppressions;
        _transactions = transactions ?? NoTransactions.Instance;
        _maxClockSkew = options?.Value.MaxClockSkew ?? new EngagementOptions().MaxClockSkew;
        _profiles = profiles ?? throw new ArgumentNullException(nameof(profiles));
        _events = events ?? throw new ArgumentNullException(nameof(events));
        _ledger = ledger ?? throw new ArgumentNullException(nameof(ledger));
        _consents = consents ?? throw new ArgumentNullException(nameof(consents));
        _dispatches = dispatches ?? throw new ArgumentNullException(nameof(dispatches));
        _time = time ?? throw new ArgumentNullException(nameof(time));
    }

    /// <summary>Exports everything about the person <paramref name="customerId"/> stands for.</summary>
    /// <param name="customerId">Any id the person is known by.</param>
    /// <param name="cancellationToken">Cancels the reads.</param>
    /// <returns>The export (empty collections when nothing is recorded).</returns>
    public async ValueTask<CustomerExport> ExportAsync(CustomerId customerId, CancellationToken cancellationToken = default)
    {
        var subjects = await CustomerErasure.CollectSubjectsAsync(_profiles, customerId, cancellationToken).ConfigureAwait(false);
        var profiles = new List<CustomerProfile>();
        var events = new List<EngagementEvent>();
        var consent = new List<ConsentRecord>();
        var dispatches = new List<DispatchRecord>();
        foreach (var subject in subjects)
        {
            if (await _profiles.GetAsync(subject, cancellationToken).ConfigureAwait(false) is { } profile)
            {
                profiles.Add(profile with { Version = 0 });
            }

            await foreach (var e in _events.ReadAsync(subject, null, null, cancellationToken).ConfigureAwait(false))
            {
                events.Add(e);
            }

            consent.AddRange(await _consents.ReadAsync(subject, cancellationToken).ConfigureAwait(false));
            dispatches.AddRange(await _dispatches.ListAsync(subject, DateTimeOffset.MinValue, cancellationToken).ConfigureAwait(false));
        }

        profiles.Sort(static (a, b) => a.IsMerged.CompareTo(b.IsMerged));
        events.Sort(static (a, b) => a.Timestamp != b.Timestamp ? a.Timestamp.CompareTo(b.Timestamp) : string.CompareOrdinal(a.EventId, b.EventId));
        dispatches.Sort(static (a, b) => a.CreatedAt.CompareTo(b.CreatedAt));
        HouseholdMembership? membership = null;
        if (_households is not null && profiles.Count > 0 && await _households.FindByMemberAsync(profiles[0].Id, cancellationToken).ConfigureAwait(false) is { } household)
        {
            membership = new HouseholdMembership(household.Id, household.SharedIdentifiers);
        }

        var segments = ImmutableArray<Segments.SegmentMembership>.Empty;
        var segmentHistory = new List<Segments.SegmentChange>();
        if (_segments is not null)
        {
            // The memberships are the live profile's (a merged id's ended with the merge); the history is every id's.
            if (profiles.Count > 0 && await _segments.GetAsync(profiles[0].Id, cancellationToken).ConfigureAwait(false) is { } record)
            {
                segments = record.Members;
            }

            foreach (var subject in subjects)
            {
                await foreach (var change in _segments.ReadHistoryAsync(subject, cancellationToken).ConfigureAwait(false))
                {
                    segmentHistory.Add(change);
                }
            }
        }

        return new CustomerExport(SchemaVersion, customerId, _time.GetUtcNow(), [.. profiles], [.. events], [.. consent], [.. dispatches]) { Household = membership, Segments = segments, SegmentHistory = [.. segmentHistory] };
    }

    /// <summary>
    /// Imports an export into stores that do not know the person yet. The whole document is checked before anything is
    /// written: the schema version; that every item belongs to one of the exported ids; every event (as tracking checks it,
    /// except the lateness window: an import is how history is backfilled) and every consent record (as the ledger checks
    /// it); that no event id appears twice with different payloads; that none of the ids has a profile already; and that
    /// none of the ids, nor any identifier of the exported profiles, was erased (an erased person is never re-created). Then
    /// everything is written in one unit of work (one transaction on SQLite and PostgreSQL), so an import is all or nothing.
    /// Events and consent records already present are skipped.
    /// </summary>
    /// <param name="export">The export.</param>
    /// <param name="cancellationToken">Cancels the writes.</param>
    /// <returns>How many profiles, events, consent records and dispatches were written.</returns>
    /// <exception cref="EngagementValidationException">The document is not a valid export, one of its profiles exists, or it holds an erased person; nothing was written.</exception>
    public async ValueTask<ImportCounts> ImportAsync(CustomerExport export, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(export);
        var ids = await CheckAsync(export, cancellationToken).ConfigureAwait(false);

        var unit = _transactions.Begin();
        await using var scope = unit.ConfigureAwait(false);
        await unit.StartAsync(cancellationToken).ConfigureAwait(false);
        foreach (var id in ids.Order())
        {
            await unit.LockCustomerAsync(id, cancellationToken).ConfigureAwait(false);
        }

        // Checked again inside the unit: another writer may have created one of the profiles since.
        await RequireUnknownAsync(export, cancellationToken).ConfigureAwait(false);

        // Redirects last, so that the live profile takes the identifiers first.
        var profiles = 0;
        foreach (var profile in export.Profiles.OrderBy(p => p.IsMerged))
        {
            await _profiles.SaveAsync(profile with { Version = 0 }, cancellationToken).ConfigureAwait(false);
            profiles++;
        }

        var events = 0;
        foreach (var e in export.Events)
        {
            events += await _events.AppendAsync(e, cancellationToken).ConfigureAwait(false) == AppendOutcome.Appended ? 1 : 0;
        }

        var consent = 0;
        foreach (var record in export.Consent)
        {
            consent += await _ledger.RecordImportedAsync(record, cancellationToken).ConfigureAwait(false) == AppendOutcome.Appended ? 1 : 0;
        }

        var dispatches = 0;
        foreach (var dispatch in export.Dispatches)
        {
            // Settled and held dispatches are stored as they were; one that was with a channel under another store's lease may
            // have been sent (unknown, reconciled before anything is sent again); queued ones are checked at hand-off as always.
            var imported = dispatch.Status == DispatchStatus.Sending
                ? dispatch with { Status = DispatchStatus.Unknown, DueAt = dispatch.LeaseUntil ?? dispatch.CreatedAt, Reason = DispatchReasons.OutcomeUnknown, LeaseOwner = null, LeaseUntil = null }
                : dispatch with { LeaseOwner = null, LeaseUntil = null };
            if (await _dispatches.TryBeginAsync(imported, cancellationToken).ConfigureAwait(false))
            {
                dispatches++;
            }
        }

        if (export.Household is { } membership && _households is not null && export.Profiles.FirstOrDefault(p => !p.IsMerged) is { } live)
        {
            var household = await _households.GetAsync(membership.HouseholdId, cancellationToken).ConfigureAwait(false)
                ?? new Households.Household { Id = membership.HouseholdId, SharedIdentifiers = membership.SharedIdentifiers };
            await _households.SaveAsync(household with { Members = household.Members.Add(live.Id) }, cancellationToken).ConfigureAwait(false);
        }

        await unit.CompleteAsync(cancellationToken).ConfigureAwait(false);
        return new ImportCounts(profiles, events, consent, dispatches);
    }

    // Every check of an import, before the first write; returns the exported ids.
    private async ValueTask<HashSet<CustomerId>> CheckAsync(CustomerExport export, CancellationToken cancellationToken)
    {
        if (export.SchemaVersion != SchemaVersion)
        {
            throw new EngagementValidationException("schemaVersion", export.SchemaVersion, $"only customer export schema version {SchemaVersion} is understood");
        }

        if (export.CustomerId.IsEmpty || export.Profiles.IsDefault || export.Events.IsDefault || export.Consent.IsDefault || export.Dispatches.IsDefault)
        {
            throw new EngagementValidationException("export", null, "an export needs its customer id, profiles, events, consent and dispatches (empty arrays when there are none)");
        }

        var ids = export.Profiles.Select(p => p?.Id ?? throw new EngagementValidationException("profiles", null, "must not hold null")).ToHashSet();
        ids.Add(export.CustomerId);
        Require("events", export.Events.Select(e => e?.CustomerId ?? throw new EngagementValidationException("events", null, "must not hold null")), ids);
        Require("consent", export.Consent.Select(r => r?.CustomerId ?? throw new EngagementValidationException("consent", null, "must not hold null")), ids);
        Require("dispatches", export.Dispatches.Select(d => d?.CustomerId ?? throw new EngagementValidationException("dispatches", null, "must not hold null")), ids);

        // History is backfilled through an import, so events are checked without a lateness window.
        var validator = new EventValidator(_time, _maxClockSkew, null);
        var seen = new Dictionary<string, EngagementEvent>(StringComparer.Ordinal);
        for (var i = 0; i < export.Events.Length; i++)
        {
            var e = export.Events[i];
            try
            {
                validator.Validate(e);
            }
            catch (EngagementValidationException ex)
            {
                throw new EngagementValidationException($"events[{i}].{ex.Field}", ex.Value, ex.Rule);
            }

            if (seen.TryGetValue(e.EventId, out var earlier) && !EventJson.Serialize(earlier).AsSpan().SequenceEqual(EventJson.Serialize(e)))
            {
                throw new EngagementValidationException($"events[{i}].eventId", e.EventId, "appears twice in the export with different payloads");
            }

            seen[e.EventId] = e;
        }

        for (var i = 0; i < export.Consent.Length; i++)
        {
            try
            {
                await _ledger.CheckAsync(export.Consent[i], cancellationToken, imported: true).ConfigureAwait(false);
            }
            catch (EngagementValidationException ex)
            {
                throw new EngagementValidationException($"consent[{i}].{ex.Field}", ex.Value, ex.Rule);
            }
        }

        if (_suppressions is not null)
        {
            foreach (var id in ids)
            {
                if (await CustomerErasure.IsErasedAsync(_suppressions, id, cancellationToken).ConfigureAwait(false))
                {
                    throw new EngagementValidationException("customerId", id.Value, "this customer's data was erased; an import cannot re-create them");
                }
            }

            foreach (var identifier in export.Profiles.SelectMany(p => p.Identifiers))
            {
                foreach (var suppression in await _suppressions.FindAsync(identifier, cancellationToken).ConfigureAwait(false))
                {
                    if (suppression.Reason == SuppressionReason.Erasure)
                    {
                        throw new EngagementValidationException("profiles.identifiers", "(erased)", $"a {identifier.Kind} of the export belonged to a customer whose data was erased; an import cannot re-create them");
                    }
                }
            }
        }

        if (export.Household is { } membership && _households is not null)
        {
            Text.RequireToken("household.householdId", membership.HouseholdId, 128);
            var existing = await _households.GetAsync(membership.HouseholdId, cancellationToken).ConfigureAwait(false);
            for (var i = 0; i < (membership.SharedIdentifiers.IsDefault ? 0 : membership.SharedIdentifiers.Length); i++)
            {
                if (await _households.FindByIdentifierAsync(membership.SharedIdentifiers[i], cancellationToken).ConfigureAwait(false) is { } other && other.Id != membership.HouseholdId)
                {
                    throw new EngagementValidationException($"household.sharedIdentifiers[{i}]", membership.SharedIdentifiers[i].Kind.Name, $"is already shared by household '{other.Id}'; an identifier is shared by one household");
                }
            }

            if (existing is null && (membership.SharedIdentifiers.IsDefault))
            {
                throw new EngagementValidationException("household.sharedIdentifiers", null, "must be an array (empty when the household shares none)");
            }
        }

        await RequireUnknownAsync(export, cancellationToken).ConfigureAwait(false);
        return ids;
    }

    private async ValueTask RequireUnknownAsync(CustomerExport export, CancellationToken cancellationToken)
    {
        foreach (var profile in export.Profiles)
        {
            if (await _profiles.GetAsync(profile.Id, cancellationToken).ConfigureAwait(false) is not null)
            {
                throw new EngagementValidationException("profiles.id", profile.Id.Value, "a profile with this id exists already: an export is imported into a store that does not know the customer");
            }
        }
    }

    /// <summary>Writes an export as UTF-8 JSON.</summary>
    /// <param name="export">The export.</param>
    /// <returns>The JSON bytes.</returns>
    public static byte[] ToJson(CustomerExport export) => JsonSerializer.SerializeToUtf8Bytes(export, EngagementJsonContext.Default.CustomerExport);

    /// <summary>Reads an export from UTF-8 JSON, strictly (unknown or duplicate properties are errors).</summary>
    /// <param name="utf8Json">The JSON.</param>
    /// <returns>The export.</returns>
    /// <exception cref="EngagementValidationException">The JSON is not a valid export; the field is named.</exception>
    public static CustomerExport FromJson(ReadOnlySpan<byte> utf8Json)
    {
        try
        {
            return JsonSerializer.Deserialize(utf8Json, EngagementJsonContext.Default.CustomerExport)
                ?? throw new EngagementValidationException("export", "null", "must be a customer export document");
        }
        catch (JsonException ex)
        {
            throw new EngagementValidationException(string.IsNullOrEmpty(ex.Path) ? "export" : ex.Path.TrimStart('$', '.'), null, "is not valid in a customer export (" + ex.Message.Split(". ")[0] + ")");
        }
    }

    private static void Require(string field, IEnumerable<CustomerId> owners, HashSet<CustomerId> ids)
    {
        foreach (var owner in owners)
        {
            if (!ids.Contains(owner))
            {
                throw new EngagementValidationException(field + ".customerId", owner.Value, "every item of an export must belong to one of its profiles");
            }
        }
    }
}

/// <summary>What an import wrote.</summary>
/// <param name="Profiles">Profiles saved.</param>
/// <param name="Events">Events appended.</param>
/// <param name="ConsentRecords">Consent records appended.</param>
/// <param name="Dispatches">Dispatch log entries written.</param>
public sealed record ImportCounts(int Profiles, int Events, int ConsentRecords, int Dispatches);
