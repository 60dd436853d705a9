using System.Collections.Immutable;
using Engagement.Sdk.Channels;
using Engagement.Sdk.Profiles;

namespace Engagement.Sdk.Consent;

/// <summary>
/// The current consent of one customer: a fold over their ledger. The fold does not depend on the order records arrive in.
/// For each question the records that apply are taken in the order they were recorded (<see cref="ConsentRecord.RecordedAt"/>;
/// unstamped records first): a record takes over from the one before if its effective time is later (a tie goes to the more
/// restrictive status, then to the greater record id), and a withdrawal, denial or objection also takes over from any grant
/// recorded before it, whatever effective time that grant claims. So a late-arriving old grant never resurrects a later
/// withdrawal, and a grant dated ahead never overrides a withdrawal acknowledged after it; only a grant recorded after the
/// withdrawal, and effective after it, does. A restrictive record is in force from its recording at the latest. Records
/// without a recording time fold by effective time alone.
/// </summary>
public sealed class ConsentState
{
    private readonly ImmutableArray<ConsentRecord> _records;

    // The records in recording order, when any was stamped with a recording time; otherwise the precedence order decides.
    private readonly ConsentRecord[]? _byRecording;
    private Explained?[]? _explained;
    private int _nextExplained;

    private ConsentState(CustomerId customerId, ImmutableArray<ConsentRecord> records, ConsentRecord[]? byRecording)
    {
        CustomerId = customerId;
        _records = records;
        _byRecording = byRecording;
    }

    /// <summary>The customer.</summary>
    public CustomerId CustomerId { get; }

    /// <summary>The records the state was folded from, without duplicates, in a canonical order.</summary>
    public ImmutableArray<ConsentRecord> Records => _records;

    /// <summary>Folds a customer's records (duplicates by record id are ignored).</summary>
    /// <param name="customerId">The customer.</param>
    /// <param name="records">Their records, in any order.</param>
    /// <returns>The state.</returns>
    public static ConsentState Fold(CustomerId customerId, IEnumerable<ConsentRecord> records)
    {
        ArgumentNullException.ThrowIfNull(records);
        var ordered = Unique(customerId, records);
        Array.Sort(ordered, Precedence);
        ConsentRecord[]? byRecording = null;
        foreach (var record in ordered)
        {
            if (record.RecordedAt is not null)
            {
                byRecording = [.. ordered];
                Array.Sort(byRecording, RecordingOrder);
                break;
            }
        }

        // The array is the state's own: kept as it is, not copied again.
        return new ConsentState(customerId, System.Runtime.InteropServices.ImmutableCollectionsMarshal.AsImmutableArray(ordered), byRecording);
    }

    // The customer's records, the first of each record id, in a new array. A customer has a handful: they are compared with
    // those kept so far, without a dictionary; a long list is hashed.
    private static ConsentRecord[] Unique(CustomerId customerId, IEnumerable<ConsentRecord> records)
    {
        if (records is IReadOnlyList<ConsentRecord> list && list.Count <= 16)
        {
            var kept = new ConsentRecord[list.Count];
            var n = 0;
            for (var i = 0; i < list.Count; i++)
            {
                var record = list[i];
                if (record.CustomerId == customerId && !Holds(kept.AsSpan(0, n), record.RecordId))
                {
                    kept[n++] = record;
                }
            }

            return n == kept.Length ? kept : kept[..n];
        }

        var unique = new Dictionary<string, ConsentRecord>(StringComparer.Ordinal);
        foreach (var record in records)
        {
            if (record.CustomerId == customerId)
            {
                unique.TryAdd(record.RecordId, record);
            }
        }

        return [.. unique.Values];

        static bool Holds(ReadOnlySpan<ConsentRecord> kept, string recordId)
        {
            foreach (var record in kept)
            {
                if (string.Equals(record.RecordId, recordId, StringComparison.Ordinal))
                {
                    return true;
                }
            }

            return false;
        }
    }

    /// <summary>
    /// The record that decides the question "channel × purpose × identifier" at <paramref name="now"/>: the winning record among
    /// those for that channel or for every channel, for that purpose, and for that identifier or for all identifiers, that
    /// have taken effect by <paramref name="now"/>. <see langword="null"/> when there is none.
    /// </summary>
    /// <param name="channel">The channel.</param>
    /// <param name="purpose">The purpose.</param>
    /// <param name="identifier">The identifier to be contacted at, or <see langword="null"/>.</param>
    /// <param name="now">The instant of the question.</param>
    /// <returns>The deciding record.</returns>
    public ConsentRecord? Decisive(Channel channel, Purpose purpose, Identifier? identifier, DateTimeOffset now)
        => Find(channel, purpose, identifier, now, exactKey: false);

    /// <summary>
    /// The record in force for exactly this key (<paramref name="channel"/> and <paramref name="identifier"/> as given, null
    /// meaning the records for every channel or every identifier), by the same rules as <see cref="Decisive"/>.
    /// </summary>
    internal ConsentRecord? InForce(Channel? channel, Purpose purpose, Identifier? identifier, DateTimeOffset now)
        => Find(channel, purpose, identifier, now, exactKey: true);

    private ConsentRecord? Find(Channel? channel, Purpose purpose, Identifier? identifier, DateTimeOffset now, bool exactKey)
    {
        if (_byRecording is null)
        {
            // Records are sorted by precedence, highest first: the first match is the winner.
            foreach (var record in _records)
            {
                if (Applies(record, channel, purpose, identifier, now, exactKey))
                {
                    return record;
                }
            }

            return null;
        }

        // In recording order, each applicable record takes over from the one in force if it overtakes it.
        ConsentRecord? winner = null;
        foreach (var record in _byRecording)
        {
            if (Applies(record, channel, purpose, identifier, now, exactKey) && (winner is null || Overtakes(record, winner)))
            {
                winner = record;
            }
        }

        return winner;
    }

    private static bool Applies(ConsentRecord record, Channel? channel, Purpose purpose, Identifier? identifier, DateTimeOffset now, bool exactKey)
        => record.Purpose == purpose
            && record.InForceFrom <= now
            && (exactKey ? record.Channel == channel && record.Identifier == identifier
                : (record.Channel is null || record.Channel == channel) && (record.Identifier is null || record.Identifier == identifier));

    /// <summary>
    /// Whether <paramref name="next"/>, recorded at or after <paramref name="current"/>, takes over from it: a restriction
    /// recorded strictly later than a grant always does; otherwise the later effective time does (a tie goes to the more
    /// restrictive status, then to the greater record id).
    /// </summary>
    private static bool Overtakes(ConsentRecord next, ConsentRecord current)
    {
        if (next.IsRestrictive && !current.IsRestrictive && next.RecordedAt is { } recorded && recorded > (current.RecordedAt ?? DateTimeOffset.MinValue))
        {
            return true;
        }

        return Precedence(next, current) < 0;
    }

    /// <summary>
    /// Answers the consent question "may we contact at this channel × purpose × identifier now?" from the folded ledger,
    /// without allocating. Transactional messages are allowed (the contract suffices); the confirmation request of a double
    /// opt-in is allowed only while a confirmation is pending for that channel and identifier; an objection to direct
    /// marketing also denies profiling; every other purpose needs a grant in force.
    /// </summary>
    /// <param name="channel">The channel.</param>
    /// <param name="purpose">The purpose.</param>
    /// <param name="identifier">The address, or <see langword="null"/> for channels without one.</param>
    /// <param name="now">The instant.</param>
    /// <returns>The verdict, its reason code and the deciding record.</returns>
    public ConsentVerdict Evaluate(Channel channel, Purpose purpose, Identifier? identifier, DateTimeOffset now)
    {
        if (purpose.IsTransactional)
        {
            return new ConsentVerdict(true, PermissionReasons.Transactional, null);
        }

        if (purpose == Purpose.ConsentConfirmation)
        {
            foreach (var record in _records)
            {
                if (record.Status == ConsentStatus.PendingConfirmation && record.Channel is { } c && c == channel && record.Identifier == identifier
                    && record.InForceFrom <= now && (record.ExpiresAt is null || record.ExpiresAt > now)
                    && ReferenceEquals(Decisive(channel, record.Purpose, identifier, now), record))
                {
                    return new ConsentVerdict(true, PermissionReasons.PendingConfirmation, record);
                }
            }

            return new ConsentVerdict(false, PermissionReasons.NoConsent, null);
        }

        var decisive = Decisive(channel, purpose, identifier, now);
        if (purpose == Purpose.Profiling)
        {
            foreach (var record in _records)
            {
                // The objection decides unless the record deciding profiling overtook it (by the fold's rules).
                if (record.Status == ConsentStatus.Objected && record.Purpose == Purpose.Marketing && record.InForceFrom <= now
                    && (decisive is null || !Overtook(decisive, record)))
                {
                    return new ConsentVerdict(false, PermissionReasons.Objected, record);
                }
            }
        }

        if (decisive is null)
        {
            return new ConsentVerdict(false, PermissionReasons.NoConsent, null);
        }

        return decisive.Status switch
        {
            ConsentStatus.Granted when decisive.ExpiresAt is { } expiry && expiry <= now => new ConsentVerdict(false, PermissionReasons.Expired, decisive),
            ConsentStatus.Granted => new ConsentVerdict(true, PermissionReasons.ConsentGranted, decisive),
            ConsentStatus.Withdrawn => new ConsentVerdict(false, PermissionReasons.Withdrawn, decisive),
            ConsentStatus.Objected => new ConsentVerdict(false, PermissionReasons.Objected, decisive),
            ConsentStatus.PendingConfirmation => new ConsentVerdict(false, PermissionReasons.PendingConfirmation, decisive),
            _ => new ConsentVerdict(false, PermissionReasons.Denied, decisive),
        };
    }

    /// <summary>
    /// The record by which the customer objects to profiling at <paramref name="now"/>, if any: a withdrawal, denial or
    /// objection for <see cref="Purpose.Profiling"/> on every channel, or an objection to <see cref="Purpose.Marketing"/> on
    /// every channel (which covers the profiling that serves it) that no later profiling record overtook.
    /// </summary>
    /// <param name="now">The instant.</param>
    /// <returns>The record, or <see langword="null"/>.</returns>
    internal ConsentRecord? ProfilingObjection(DateTimeOffset now)
    {
        var profiling = InForce(null, Purpose.Profiling, null, now);
        if (profiling is { IsRestrictive: true, Status: not ConsentStatus.PendingConfirmation })
        {
            return profiling;
        }

        var marketing = InForce(null, Purpose.Marketing, null, now);
        return marketing is { Status: ConsentStatus.Objected } && (profiling is null || !Overtook(profiling, marketing)) ? marketing : null;
    }

    // Whether `decisive` would have taken over from `objection`, had both been records of one question.
    private static bool Overtook(ConsentRecord decisive, ConsentRecord objection)
    {
        return RecordingOrder(decisive, objection) > 0 ? Overtakes(decisive, objection) : !Overtakes(objection, decisive);
    }

    /// <summary>Orders records by when they were recorded (unstamped first), then by precedence, lowest first.</summary>
    private static int RecordingOrder(ConsentRecord x, ConsentRecord y)
    {
        var byRecording = (x.RecordedAt ?? DateTimeOffset.MinValue).CompareTo(y.RecordedAt ?? DateTimeOffset.MinValue);
        return byRecording != 0 ? byRecording : Precedence(y, x);
    }

    /// <summary>Orders records by precedence: later time in force first, then more restrictive, then greater record id.</summary>
    private static int Precedence(ConsentRecord x, ConsentRecord y)
    {
        var byTime = y.InForceFrom.CompareTo(x.InForceFrom);
        if (byTime != 0)
        {
            return byTime;
        }

        var byRestriction = y.Restrictiveness.CompareTo(x.Restrictiveness);
        return byRestriction != 0 ? byRestriction : string.CompareOrdinal(y.RecordId, x.RecordId);
    }

    /// <summary>
    /// The explained decision for a verdict, reused while the same question is asked again: the state is immutable, so the
    /// same verdict on the same channel and purpose always has the same explanation, and a warm decision allocates nothing.
    /// The last four questions are kept (one per channel a decision weighs, typically), so a state folded for one decision
    /// costs little more than before.
    /// </summary>
    internal PermissionDecision Explain(ConsentVerdict verdict, Channel channel, Purpose purpose, Func<ExplainedKey, PermissionDecision> build)
    {
        var key = new ExplainedKey(verdict, channel, purpose);
        var cache = Volatile.Read(ref _explained);
        if (cache is not null)
        {
            for (var i = 0; i < cache.Length; i++)
            {
                if (Volatile.Read(ref cache[i]) is { } entry && entry.Key.Equals(key))
                {
                    return entry.Decision;
                }
            }
        }
        else
        {
            cache = Interlocked.CompareExchange(ref _explained, new Explained?[4], null) ?? _explained!;
        }

        var decision = build(key);
        var slot = (Interlocked.Increment(ref _nextExplained) & int.MaxValue) % cache.Length;
        Volatile.Write(ref cache[slot], new Explained(key, decision));
        return decision;
    }

    private sealed record Explained(ExplainedKey Key, PermissionDecision Decision);
}

/// <summary>The consent part of a permission decision, without explanation text: cheap to compute and allocation-free.</summary>
/// <param name="IsAllowed">Whether consent permits the contact.</param>
/// <param name="Code">The reason code (<see cref="PermissionReasons"/>).</param>
/// <param name="Record">The record that decided it, if any.</param>
public readonly record struct ConsentVerdict(bool IsAllowed, string Code, ConsentRecord? Record);

/// <summary>What an explained consent decision depends on: the verdict (its decisive record by reference), channel and purpose.</summary>
/// <param name="Verdict">The verdict.</param>
/// <param name="Channel">The channel asked about.</param>
/// <param name="Purpose">The purpose asked about.</param>
internal readonly record struct ExplainedKey(ConsentVerdict Verdict, Channel Channel, Purpose Purpose)
{
    public bool Equals(ExplainedKey other)
        => Verdict.IsAllowed == other.Verdict.IsAllowed && ReferenceEquals(Verdict.Record, other.Verdict.Record)
            && string.Equals(Verdict.Code, other.Verdict.Code, StringComparison.Ordinal) && Channel == other.Channel && Purpose == other.Purpose;

    public override int GetHashCode() => HashCode.Combine(Verdict.Code, System.Runtime.CompilerServices.RuntimeHelpers.GetHashCode(Verdict.Record), Channel, Purpose);
}
