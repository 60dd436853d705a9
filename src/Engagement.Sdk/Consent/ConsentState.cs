using System.Collections.Immutable;
using Engagement.Sdk.Channels;
using Engagement.Sdk.Profiles;

namespace Engagement.Sdk.Consent;

/// <summary>
/// The current consent of one customer: a fold over their ledger. The fold does not depend on the order records arrive in:
/// for each question the record with the latest <see cref="ConsentRecord.EffectiveAt"/> wins, a tie goes to the more
/// restrictive status (withdrawal beats a grant), and a remaining tie to the greater record id, so a late-arriving old grant
/// never resurrects a later withdrawal.
/// </summary>
public sealed class ConsentState
{
    private readonly ImmutableArray<ConsentRecord> _records;
    private Explained? _explained;

    private ConsentState(CustomerId customerId, ImmutableArray<ConsentRecord> records)
    {
        CustomerId = customerId;
        _records = records;
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
        var unique = new Dictionary<string, ConsentRecord>(StringComparer.Ordinal);
        foreach (var record in records)
        {
            if (record.CustomerId == customerId)
            {
                unique.TryAdd(record.RecordId, record);
            }
        }

        var ordered = unique.Values.ToArray();
        Array.Sort(ordered, Precedence);
        return new ConsentState(customerId, [.. ordered]);
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
    {
        // Records are sorted by precedence, highest first: the first match is the winner.
        foreach (var record in _records)
        {
            if (record.Purpose == purpose
                && record.EffectiveAt <= now
                && (record.Channel is null || record.Channel.Value == channel)
                && (record.Identifier is null || record.Identifier == identifier))
            {
                return record;
            }
        }

        return null;
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
                    && record.EffectiveAt <= now && (record.ExpiresAt is null || record.ExpiresAt > now)
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
                if (record.Status == ConsentStatus.Objected && record.Purpose == Purpose.Marketing && record.EffectiveAt <= now)
                {
                    if (decisive is null || record.EffectiveAt >= decisive.EffectiveAt)
                    {
                        return new ConsentVerdict(false, PermissionReasons.Objected, record);
                    }

                    break;
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

    /// <summary>Orders records by precedence: later effective time first, then more restrictive, then greater record id.</summary>
    private static int Precedence(ConsentRecord x, ConsentRecord y)
    {
        var byTime = y.EffectiveAt.CompareTo(x.EffectiveAt);
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
    /// One entry (the last question) is kept, so a state folded for one decision costs no more than before.
    /// </summary>
    internal PermissionDecision Explain(ConsentVerdict verdict, Channel channel, Purpose purpose, Func<ExplainedKey, PermissionDecision> build)
    {
        var key = new ExplainedKey(verdict, channel, purpose);
        if (Volatile.Read(ref _explained) is { } last && last.Key.Equals(key))
        {
            return last.Decision;
        }

        var decision = build(key);
        Volatile.Write(ref _explained, new Explained(key, decision));
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
