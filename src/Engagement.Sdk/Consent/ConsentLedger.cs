using System.Collections.Immutable;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Engagement.Sdk.Channels;
using Engagement.Sdk.Profiles;
using Engagement.Sdk.Serialization;
using Engagement.Sdk.Storage;
using Microsoft.Extensions.Options;

namespace Engagement.Sdk.Consent;

/// <summary>A double opt-in that was started: send <see cref="Token"/> to the address (it is not stored anywhere).</summary>
/// <param name="RecordId">The pending record.</param>
/// <param name="Token">The single-use confirmation token.</param>
/// <param name="ExpiresAt">When it stops being accepted.</param>
public sealed record DoubleOptInStart(string RecordId, string Token, DateTimeOffset ExpiresAt);

/// <summary>How a confirmation attempt ended.</summary>
public enum DoubleOptInOutcome
{
    /// <summary>Confirmed: the grant is in the ledger.</summary>
    Confirmed,

    /// <summary>No pending confirmation has this token.</summary>
    UnknownToken,

    /// <summary>The token is bound to another address.</summary>
    WrongIdentifier,

    /// <summary>The token expired.</summary>
    Expired,

    /// <summary>The token was used already (tokens are single-use).</summary>
    AlreadyUsed,

    /// <summary>A later record (a withdrawal, a new request) superseded the pending confirmation.</summary>
    Superseded,
}

/// <summary>What an inbound SMS did.</summary>
public enum InboundSmsOutcome
{
    /// <summary>The message is not an opt-out keyword; nothing changed.</summary>
    NotAKeyword,

    /// <summary>Marketing on SMS to the number was withdrawn in the customer's ledger.</summary>
    Withdrawn,

    /// <summary>The number belongs to no known customer: it was suppressed for marketing.</summary>
    Suppressed,
}

/// <summary>Everything recorded about one subject's consent: the ledger itself, reproducible by <see cref="ConsentLedger.ImportAsync"/>.</summary>
/// <param name="SchemaVersion">The document's schema version (1).</param>
/// <param name="CustomerId">The subject.</param>
/// <param name="ExportedAt">When.</param>
/// <param name="Records">The ledger, in append order.</param>
public sealed record ConsentExport(int SchemaVersion, CustomerId CustomerId, DateTimeOffset ExportedAt, ImmutableArray<ConsentRecord> Records);

/// <summary>
/// The consent ledger's service: records consent after validating it, runs double opt-in with single-use tokens bound to the
/// address, applies inbound opt-out keywords, bounces, complaints and Global Privacy Control signals, and exports and
/// re-imports a subject's ledger. It never updates or deletes a record.
/// </summary>
public sealed class ConsentLedger
{
    private readonly IConsentStore _store;
    private readonly ISuppressionStore _suppressions;
    private readonly IProfileStore _profiles;
    private readonly TimeProvider _time;
    private readonly EngagementOptions _options;
    private long _lastStamp;

    /// <summary>Creates the service.</summary>
    /// <param name="store">The consent store.</param>
    /// <param name="suppressions">The suppression list.</param>
    /// <param name="profiles">The profile store, to find who an address belongs to.</param>
    /// <param name="time">The clock.</param>
    /// <param name="options">The options (custom purposes and channels, clock skew).</param>
    public ConsentLedger(IConsentStore store, ISuppressionStore suppressions, IProfileStore profiles, TimeProvider time, IOptions<EngagementOptions> options)
    {
        ArgumentNullException.ThrowIfNull(options);
        _store = store ?? throw new ArgumentNullException(nameof(store));
        _suppressions = suppressions ?? throw new ArgumentNullException(nameof(suppressions));
        _profiles = profiles ?? throw new ArgumentNullException(nameof(profiles));
        _time = time ?? throw new ArgumentNullException(nameof(time));
        _options = options.Value;
    }

    /// <summary>
    /// Validates and appends a record: it must pass <see cref="ConsentRecordValidator"/>, name a known channel and purpose, and
    /// not grant anything to an address that was erased.
    /// </summary>
    /// <param name="record">The record.</param>
    /// <param name="cancellationToken">Cancels the write.</param>
    /// <returns>Whether it was appended or was a duplicate.</returns>
    /// <remarks>
    /// The ledger stamps the record's <see cref="ConsentRecord.RecordedAt"/> with its clock (never earlier than the last stamp
    /// it gave, so that the order of recording survives a clock set back); appending the same record again is a duplicate
    /// whatever its stamp.
    /// </remarks>
    public async ValueTask<AppendOutcome> RecordAsync(ConsentRecord record, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(record);
        record = Normalise(record);
        await CheckAsync(record, cancellationToken).ConfigureAwait(false);
        var outcome = await _store.AppendAsync(record with { RecordedAt = Stamp() }, cancellationToken).ConfigureAwait(false);
        if (outcome == AppendOutcome.Appended && AffectsProfiling(record))
        {
            await RefreshProfilingAsync(record.CustomerId, cancellationToken).ConfigureAwait(false);
        }

        return outcome;
    }

    // A record on every channel and address about profiling, or about marketing (whose objection covers profiling).
    private static bool AffectsProfiling(ConsentRecord record)
        => record.Channel is null && record.Identifier is null && (record.Purpose == Purpose.Profiling || record.Purpose == Purpose.Marketing);

    /// <summary>
    /// Brings <see cref="CustomerProfile.ProfilingObjectedAt"/> of the profile <paramref name="customerId"/> belongs to (and of
    /// the states its merges keep for an unmerge) in line with the ledger: set while the person objects to profiling.
    /// </summary>
    internal async ValueTask RefreshProfilingAsync(CustomerId customerId, CancellationToken cancellationToken)
    {
        for (var attempt = 1; ; attempt++)
        {
            var profile = await _profiles.GetAsync(customerId, cancellationToken).ConfigureAwait(false);
            for (var hop = 0; hop < 32 && profile?.MergedInto is { } redirect; hop++)
            {
                profile = await _profiles.GetAsync(redirect.SurvivorId, cancellationToken).ConfigureAwait(false);
            }

            if (profile is null || profile.IsMerged)
            {
                return; // no profile yet: the engine asks when it makes one (NewProfileAsync)
            }

            var refreshed = await WithProfilingAsync(profile, cancellationToken).ConfigureAwait(false);
            if (ReferenceEquals(refreshed, profile))
            {
                return;
            }

            try
            {
                await _profiles.SaveAsync(refreshed, cancellationToken).ConfigureAwait(false);
                return;
            }
            catch (ConcurrencyConflictException) when (attempt < 8)
            {
                // Another writer saved the profile: read it again.
            }
        }
    }

    /// <summary>
    /// A new profile for <paramref name="customerId"/> that already objects to profiling, when the ledger says so (consent
    /// recorded before the first event); <see langword="null"/> otherwise (most customers, who have no records yet).
    /// </summary>
    internal async ValueTask<CustomerProfile?> NewProfileAsync(CustomerId customerId, CancellationToken cancellationToken)
    {
        var records = await _store.ReadAsync(customerId, cancellationToken).ConfigureAwait(false);
        if (records.Count == 0)
        {
            return null;
        }

        var objection = ConsentState.Fold(customerId, records).ProfilingObjection(_time.GetUtcNow());
        return objection is null ? null : CustomerProfile.New(customerId) with { ProfilingObjectedAt = objection.InForceFrom };
    }

    /// <summary>The profile with its <see cref="CustomerProfile.ProfilingObjectedAt"/> (and the flags of the states its merges keep, each by its own side's ledgers) as the ledger says now.</summary>
    internal async ValueTask<CustomerProfile> WithProfilingAsync(CustomerProfile profile, CancellationToken cancellationToken)
    {
        var own = await _store.ReadAsync(profile.Id, cancellationToken).ConfigureAwait(false);
        var records = await PersonConsent.ReadAsync(_store, profile, own, cancellationToken).ConfigureAwait(false);
        var objectedAt = records.Count == 0 ? null : ConsentState.Fold(profile.Id, records).ProfilingObjection(_time.GetUtcNow())?.InForceFrom;
        var merges = profile.Merges;
        ImmutableArray<Profiles.ProfileMerge>.Builder? changed = null;
        for (var i = 0; i < merges.Length; i++)
        {
            var merge = merges[i];

            // The survivor's side without this merge still had the merges before it.
            var survivorSide = await WithProfilingAsync(merge.SurvivorBefore with { Merges = merges[..i] }, cancellationToken).ConfigureAwait(false);
            var survivorBefore = survivorSide.ProfilingObjectedAt == merge.SurvivorBefore.ProfilingObjectedAt ? merge.SurvivorBefore : merge.SurvivorBefore with { ProfilingObjectedAt = survivorSide.ProfilingObjectedAt };
            var mergedState = merge.MergedState is { } state ? await WithProfilingAsync(state, cancellationToken).ConfigureAwait(false) : null;
            if (!ReferenceEquals(survivorBefore, merge.SurvivorBefore) || !ReferenceEquals(mergedState, merge.MergedState))
            {
                changed ??= merges.ToBuilder();
                changed[i] = merge with { SurvivorBefore = survivorBefore, MergedState = mergedState };
            }
        }

        var result = changed is null ? profile : profile with { Merges = changed.MoveToImmutable() };
        return result.ProfilingObjectedAt == objectedAt ? result : result with { ProfilingObjectedAt = objectedAt };
    }

    /// <summary>Appends a record of an export as it was recorded (its <see cref="ConsentRecord.RecordedAt"/> kept), after the same checks.</summary>
    internal async ValueTask<AppendOutcome> RecordImportedAsync(ConsentRecord record, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(record);
        record = Normalise(record);
        await CheckAsync(record, cancellationToken, imported: true).ConfigureAwait(false);
        var outcome = await _store.AppendAsync(record, cancellationToken).ConfigureAwait(false);
        if (outcome == AppendOutcome.Appended && AffectsProfiling(record))
        {
            await RefreshProfilingAsync(record.CustomerId, cancellationToken).ConfigureAwait(false);
        }

        return outcome;
    }

    // The record's identifier compared by the configured rule for its kind (IdentifierRule.IgnoreCase).
    private ConsentRecord Normalise(ConsentRecord record)
        => record.Identifier is { } identifier && !ReferenceEquals(_options.Identity.Normalise(identifier), identifier)
            ? record with { Identifier = _options.Identity.Normalise(identifier) }
            : record;

    // The ledger's clock, strictly increasing across the records this instance stamps.
    private DateTimeOffset Stamp()
    {
        var now = _time.GetUtcNow().UtcTicks;
        while (true)
        {
            var last = Interlocked.Read(ref _lastStamp);
            var next = now > last ? now : last + 1;
            if (Interlocked.CompareExchange(ref _lastStamp, next, last) == last)
            {
                return new DateTimeOffset(next, TimeSpan.Zero);
            }
        }
    }

    /// <summary>Every check <see cref="RecordAsync"/> makes, without writing: an import checks its whole document first.</summary>
    /// <exception cref="EngagementValidationException">The record breaks a rule.</exception>
    internal async ValueTask CheckAsync(ConsentRecord record, CancellationToken cancellationToken, bool imported = false)
    {
        ConsentRecordValidator.Validate(record, _time.GetUtcNow(), _options.MaxClockSkew);
        if (!Purpose.WellKnown.Contains(record.Purpose) && !_options.CustomPurposes.Contains(record.Purpose.Name))
        {
            throw new EngagementValidationException("purpose", record.Purpose.Name, "must be a well-known purpose or one registered in EngagementOptions.CustomPurposes");
        }

        if (record.Channel is { } channel && !Channel.WellKnown.Contains(channel) && !_options.CustomChannels.Contains(channel.Name))
        {
            throw new EngagementValidationException("channel", channel.Name, "must be a well-known channel or one registered in EngagementOptions.CustomChannels");
        }

        if (await Profiles.CustomerErasure.IsErasedAsync(_suppressions, record.CustomerId, cancellationToken).ConfigureAwait(false))
        {
            throw new EngagementValidationException("customerId", record.CustomerId.Value, "this customer's data was erased; a replay or re-import cannot recreate their ledger");
        }

        if (record.Identifier is { } identifier && !record.IsRestrictive)
        {
            foreach (var suppression in await _suppressions.FindAsync(identifier, cancellationToken).ConfigureAwait(false))
            {
                if (suppression.Reason != SuppressionReason.Erasure)
                {
                    continue;
                }

                // An erased address is never given consent again by a replay or a re-import of old records; only a new
                // sign-up, with evidence newer than the erasure (for e-mail, a double opt-in confirmed after it), may.
                if (imported || record.EffectiveAt <= suppression.At)
                {
                    throw new EngagementValidationException("identifier", "(erased)", "this address belonged to a customer whose data was erased; it cannot be given consent again by a replay or re-import");
                }

                if (record.Channel == Channel.Email && (record.Evidence?.ConfirmedAt is not { } confirmed || confirmed <= suppression.At))
                {
                    throw new EngagementValidationException("evidence.confirmedAt", record.Evidence?.ConfirmedAt, "an erased e-mail address may be granted consent again only by a new double opt-in confirmed after the erasure (StartDoubleOptInAsync, then ConfirmDoubleOptInAsync)");
                }
            }
        }
    }

    /// <summary>
    /// Whether <paramref name="state"/> holds a new sign-up for <paramref name="address"/> on <paramref name="channel"/> since
    /// <paramref name="erasedAt"/>: a grant recorded by the ledger after the erasure, effective after it, and for e-mail
    /// confirmed by a double opt-in after it. Such a grant lifts the address's erasure suppression on that channel (the
    /// permission gate then decides by the ledger as for any address); a replayed or re-imported older record never does.
    /// </summary>
    internal static bool SignedUpAgain(ConsentState state, Channel channel, Purpose purpose, Identifier address, DateTimeOffset erasedAt)
    {
        foreach (var record in state.Records)
        {
            // The confirmation request of a double opt-in started after the erasure may go out (it is how e-mail signs up again).
            var status = purpose == Purpose.ConsentConfirmation ? ConsentStatus.PendingConfirmation : ConsentStatus.Granted;
            if (record.Status == status && record.Identifier == address && (record.Channel is null || record.Channel == channel)
                && record.RecordedAt is { } recorded && recorded > erasedAt && record.EffectiveAt > erasedAt
                && (channel != Channel.Email || status == ConsentStatus.PendingConfirmation || record.Evidence?.ConfirmedAt is { } confirmed && confirmed > erasedAt))
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>
    /// Reads and folds the consent of the person <paramref name="profile"/> stands for: its own ledger and what the ids merged
    /// into it recorded (every restriction, and anything recorded since the merge). The permission gate decides by it.
    /// </summary>
    /// <param name="profile">The live profile.</param>
    /// <param name="cancellationToken">Cancels the reads.</param>
    /// <returns>The current state, under the profile's id.</returns>
    public async ValueTask<ConsentState> GetStateAsync(CustomerProfile profile, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(profile);
        var own = await _store.ReadAsync(profile.Id, cancellationToken).ConfigureAwait(false);
        return ConsentState.Fold(profile.Id, await PersonConsent.ReadAsync(_store, profile, own, cancellationToken).ConfigureAwait(false));
    }

    /// <summary>One customer id's own records, in append order.</summary>
    internal ValueTask<IReadOnlyList<ConsentRecord>> ReadRecordsAsync(CustomerId customerId, CancellationToken cancellationToken)
        => _store.ReadAsync(customerId, cancellationToken);

    /// <summary>Reads and folds a customer's ledger.</summary>
    /// <param name="customerId">The customer.</param>
    /// <param name="cancellationToken">Cancels the read.</param>
    /// <returns>The current state.</returns>
    public async ValueTask<ConsentState> GetStateAsync(CustomerId customerId, CancellationToken cancellationToken = default)
        => ConsentState.Fold(customerId, await _store.ReadAsync(customerId, cancellationToken).ConfigureAwait(false));

    /// <summary>Starts a double opt-in: records a pending confirmation bound to <paramref name="address"/> and returns a single-use token.</summary>
    /// <param name="customerId">The customer.</param>
    /// <param name="channel">The channel consent is asked for.</param>
    /// <param name="purpose">The purpose.</param>
    /// <param name="address">The address the confirmation goes to, and the only one it can confirm.</param>
    /// <param name="evidence">What the customer was shown and where.</param>
    /// <param name="validity">How long the token is accepted (1 minute to 30 days).</param>
    /// <param name="cancellationToken">Cancels the write.</param>
    /// <returns>The token to send.</returns>
    public async ValueTask<DoubleOptInStart> StartDoubleOptInAsync(CustomerId customerId, Channel channel, Purpose purpose, Identifier address, ConsentEvidence evidence, TimeSpan validity, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(evidence);
        ArgumentNullException.ThrowIfNull(address);
        address = _options.Identity.Normalise(address);
        if (validity < TimeSpan.FromMinutes(1) || validity > TimeSpan.FromDays(30))
        {
            throw new EngagementValidationException("validity", validity, "must be between 1 minute and 30 days");
        }

        var token = Convert.ToBase64String(RandomNumberGenerator.GetBytes(32)).TrimEnd('=').Replace('+', '-').Replace('/', '_');
        var now = _time.GetUtcNow();
        var record = new ConsentRecord
        {
            RecordId = "doi-" + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(12)),
            CustomerId = customerId,
            Channel = channel,
            Purpose = purpose,
            Identifier = address,
            Status = ConsentStatus.PendingConfirmation,
            Source = "double-opt-in",
            Evidence = evidence with { TokenHash = HashToken(token) },
            EffectiveAt = now,
            ExpiresAt = now + validity,
        };
        await RecordAsync(record, cancellationToken).ConfigureAwait(false);
        return new DoubleOptInStart(record.RecordId, token, record.ExpiresAt!.Value);
    }

    /// <summary>Confirms a double opt-in with its token, from the address it was sent to. A token confirms once.</summary>
    /// <param name="customerId">The customer.</param>
    /// <param name="address">The address the confirmation came from.</param>
    /// <param name="token">The token.</param>
    /// <param name="cancellationToken">Cancels the work.</param>
    /// <returns>How it ended.</returns>
    public async ValueTask<DoubleOptInOutcome> ConfirmDoubleOptInAsync(CustomerId customerId, Identifier address, string token, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(address);
        address = _options.Identity.Normalise(address);
        if (string.IsNullOrEmpty(token))
        {
            return DoubleOptInOutcome.UnknownToken;
        }

        var hash = HashToken(token);
        var state = await GetStateAsync(customerId, cancellationToken).ConfigureAwait(false);
        var pending = state.Records.FirstOrDefault(r => r.Status == ConsentStatus.PendingConfirmation && r.Evidence?.TokenHash is { } h
            && CryptographicOperations.FixedTimeEquals(Encoding.ASCII.GetBytes(h), Encoding.ASCII.GetBytes(hash)));
        if (pending is null)
        {
            return DoubleOptInOutcome.UnknownToken;
        }

        if (pending.Identifier != address)
        {
            return DoubleOptInOutcome.WrongIdentifier;
        }

        foreach (var suppression in await _suppressions.FindAsync(address, cancellationToken).ConfigureAwait(false))
        {
            if (suppression.Reason == SuppressionReason.Erasure && (pending.RecordedAt ?? pending.EffectiveAt) <= suppression.At)
            {
                return DoubleOptInOutcome.Superseded; // the address was erased after this confirmation was asked for
            }
        }

        var confirmationId = "confirm-" + pending.RecordId;
        if (state.Records.Any(r => r.RecordId == confirmationId))
        {
            return DoubleOptInOutcome.AlreadyUsed;
        }

        var now = _time.GetUtcNow();
        if (pending.ExpiresAt is { } expiry && expiry <= now)
        {
            return DoubleOptInOutcome.Expired;
        }

        if (!ReferenceEquals(state.Decisive(pending.Channel!.Value, pending.Purpose, address, now), pending))
        {
            return DoubleOptInOutcome.Superseded;
        }

        var grant = pending with
        {
            RecordId = confirmationId,
            Status = ConsentStatus.Granted,
            Source = "double-opt-in-confirmation",
            Evidence = pending.Evidence! with { TokenHash = null, ConfirmedAt = now, ConfirmsRecordId = pending.RecordId },
            EffectiveAt = now,
            ExpiresAt = null,
            RecordedAt = Stamp(),
        };

        try
        {
            return await _store.AppendAsync(grant, cancellationToken).ConfigureAwait(false) == AppendOutcome.Appended
                ? DoubleOptInOutcome.Confirmed
                : DoubleOptInOutcome.AlreadyUsed;
        }
        catch (ConsentConflictException)
        {
            return DoubleOptInOutcome.AlreadyUsed;
        }
    }

    /// <summary>
    /// Handles an inbound SMS: an opt-out keyword (STOP, UNSUBSCRIBE, …) withdraws marketing on SMS for that number at once —
    /// in the ledger of the customer who owns it, or as a suppression when no customer does.
    /// </summary>
    /// <param name="from">The sender's number.</param>
    /// <param name="text">The message.</param>
    /// <param name="cancellationToken">Cancels the work.</param>
    /// <returns>What it did.</returns>
    public async ValueTask<InboundSmsOutcome> HandleInboundSmsAsync(Identifier from, string text, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(from);
        from = _options.Identity.Normalise(from);
        if (from.Kind != IdentifierKind.Phone)
        {
            throw new EngagementValidationException("from", from.Kind.Name, "an inbound SMS comes from a phone number");
        }

        if (!OptOutKeywords.IsOptOut(text))
        {
            return InboundSmsOutcome.NotAKeyword;
        }

        var now = _time.GetUtcNow();
        var owner = await _profiles.FindByIdentifierAsync(from, cancellationToken).ConfigureAwait(false);
        if (owner is null)
        {
            await _suppressions.AddAsync(new Suppression(IdentifierHashing.Hash(from), SuppressionReason.Keyword, now, "sms-keyword"), cancellationToken).ConfigureAwait(false);
            return InboundSmsOutcome.Suppressed;
        }

        await _store.AppendAsync(
            new ConsentRecord
            {
                RecordId = "keyword-" + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(12)),
                CustomerId = owner.Id,
                Channel = Channel.Sms,
                Purpose = Purpose.Marketing,
                Identifier = from,
                Status = ConsentStatus.Withdrawn,
                Source = "sms-keyword:" + text.Trim().ToUpperInvariant(),
                EffectiveAt = now,
            },
            cancellationToken).ConfigureAwait(false);
        return InboundSmsOutcome.Withdrawn;
    }

    /// <summary>
    /// Suppresses an address after a hard bounce, an invalid-address report or a spam complaint. The customer's own consent
    /// records are left as they are.
    /// </summary>
    /// <param name="address">The address.</param>
    /// <param name="reason">Why.</param>
    /// <param name="source">Who reported it.</param>
    /// <param name="cancellationToken">Cancels the write.</param>
    /// <returns>A task.</returns>
    public ValueTask SuppressAsync(Identifier address, SuppressionReason reason, string source, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(address);
        address = _options.Identity.Normalise(address);
        Text.RequireToken("source", source, 256);
        if (reason == SuppressionReason.Erasure)
        {
            throw new EngagementValidationException("reason", reason, "erasure suppressions are recorded by the erasure itself");
        }

        return _suppressions.AddAsync(new Suppression(IdentifierHashing.Hash(address), reason, _time.GetUtcNow(), source), cancellationToken);
    }

    /// <summary>Records a Global Privacy Control signal: an objection to the sale and sharing of the customer's data, on every channel.</summary>
    /// <param name="customerId">The customer.</param>
    /// <param name="source">Where the signal was seen (for example <c>Sec-GPC header</c>).</param>
    /// <param name="cancellationToken">Cancels the write.</param>
    /// <returns>Whether it was appended.</returns>
    public ValueTask<AppendOutcome> RecordGlobalPrivacyControlAsync(CustomerId customerId, string source, CancellationToken cancellationToken = default)
        => RecordAsync(
            new ConsentRecord
            {
                RecordId = "gpc-" + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(12)),
                CustomerId = customerId,
                Channel = null,
                Purpose = Purpose.SaleSharing,
                Status = ConsentStatus.Objected,
                LawfulBasis = LawfulBasis.LegitimateInterest,
                Source = source,
                EffectiveAt = _time.GetUtcNow(),
            },
            cancellationToken);

    /// <summary>Exports everything recorded about one subject's consent.</summary>
    /// <param name="customerId">The subject.</param>
    /// <param name="cancellationToken">Cancels the read.</param>
    /// <returns>The export.</returns>
    public async ValueTask<ConsentExport> ExportAsync(CustomerId customerId, CancellationToken cancellationToken = default)
        => new(1, customerId, _time.GetUtcNow(), [.. await _store.ReadAsync(customerId, cancellationToken).ConfigureAwait(false)]);

    /// <summary>
    /// Re-imports an export into a (possibly empty) store: each record is validated against today's rules except the clock,
    /// and appended once, with the recording time it was exported with.
    /// </summary>
    /// <param name="export">The export.</param>
    /// <param name="cancellationToken">Cancels the work.</param>
    /// <returns>How many records were appended.</returns>
    public async ValueTask<int> ImportAsync(ConsentExport export, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(export);
        if (export.SchemaVersion != 1)
        {
            throw new EngagementValidationException("schemaVersion", export.SchemaVersion, "only schema version 1 is understood");
        }

        var appended = 0;
        foreach (var record in export.Records)
        {
            if (record.CustomerId != export.CustomerId)
            {
                throw new EngagementValidationException("records.customerId", record.CustomerId.Value, $"every record of the export must belong to '{export.CustomerId}'");
            }

            if (await RecordImportedAsync(record, cancellationToken).ConfigureAwait(false) == AppendOutcome.Appended)
            {
                appended++;
            }
        }

        return appended;
    }

    /// <summary>Serialises an export to JSON (schema in docs/consent.md).</summary>
    /// <param name="export">The export.</param>
    /// <returns>UTF-8 JSON.</returns>
    public static byte[] ToJson(ConsentExport export) => JsonSerializer.SerializeToUtf8Bytes(export, EngagementJsonContext.Default.ConsentExport);

    /// <summary>Reads an export from JSON.</summary>
    /// <param name="utf8Json">UTF-8 JSON.</param>
    /// <returns>The export.</returns>
    public static ConsentExport FromJson(ReadOnlySpan<byte> utf8Json)
    {
        try
        {
            return JsonSerializer.Deserialize(utf8Json, EngagementJsonContext.Default.ConsentExport)
                ?? throw new EngagementValidationException("export", "null", "must be a consent export document");
        }
        catch (JsonException ex)
        {
            throw new EngagementValidationException(string.IsNullOrEmpty(ex.Path) ? "export" : ex.Path.TrimStart('$', '.'), null, "is not valid in a consent export (" + ex.Message.Split(". ")[0] + ")");
        }
    }

    private static string HashToken(string token) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(token)));
}
