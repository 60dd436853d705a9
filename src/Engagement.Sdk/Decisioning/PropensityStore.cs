using System.Globalization;
using Engagement.Sdk.Channels;
using Engagement.Sdk.Storage;

namespace Engagement.Sdk.Decisioning;

/// <summary>The outcome of a dispatch that a propensity counts.</summary>
public enum PropensityOutcome
{
    /// <summary>The message was sent (the channel accepted it): a trial.</summary>
    Send,

    /// <summary>The customer responded (the first click within the attribution window): a success.</summary>
    Response,
}

/// <summary>What a learned propensity is kept for: an action on a channel, with a treatment and for a segment ("" for none).</summary>
/// <param name="ActionId">The action.</param>
/// <param name="Channel">The channel.</param>
/// <param name="Treatment">The treatment, or "" for the action's default.</param>
/// <param name="Segment">The customer segment, or "" for all customers.</param>
public readonly record struct PropensityArm(string ActionId, Channel Channel, string Treatment, string Segment)
{
    /// <summary>Shows the arm.</summary>
    /// <returns>The text.</returns>
    public override string ToString() => string.Create(CultureInfo.InvariantCulture, $"{ActionId}@{Channel}{(Treatment.Length > 0 ? "/" + Treatment : string.Empty)}{(Segment.Length > 0 ? "[" + Segment + "]" : string.Empty)}");
}

/// <summary>One outcome of a dispatch to be counted (see <see cref="IPropensityStore.CountAllAsync"/>).</summary>
/// <param name="Arm">The arm.</param>
/// <param name="DispatchId">The dispatch.</param>
/// <param name="Outcome">Send or response.</param>
/// <param name="Bucket">The bucket's start.</param>
public readonly record struct PropensityTally(PropensityArm Arm, string DispatchId, PropensityOutcome Outcome, DateTimeOffset Bucket);

/// <summary>The sends and responses of one arm counted in one time bucket.</summary>
/// <param name="Arm">The arm.</param>
/// <param name="Bucket">The bucket's start (UTC).</param>
/// <param name="Sends">The sends counted.</param>
/// <param name="Responses">The responses counted.</param>
public readonly record struct PropensityCount(PropensityArm Arm, DateTimeOffset Bucket, long Sends, long Responses);

/// <summary>
/// Where learned propensities live: per arm and time bucket, how many sends and responses were counted, each outcome of a
/// dispatch at most once. Every implementation counts atomically, so two processes learning at once lose no count, and a
/// restart loses nothing. Inside a unit of work, a count is kept or undone with the unit.
/// </summary>
public interface IPropensityStore
{
    /// <summary>
    /// Counts <paramref name="outcome"/> of <paramref name="dispatchId"/> for <paramref name="arm"/> in the bucket starting at
    /// <paramref name="bucket"/>, unless that outcome of that dispatch was counted before: both the record of the outcome and
    /// the increment are written, or neither.
    /// </summary>
    /// <param name="arm">The arm.</param>
    /// <param name="dispatchId">The dispatch.</param>
    /// <param name="outcome">Send or response.</param>
    /// <param name="bucket">The bucket's start.</param>
    /// <param name="cancellationToken">Cancels the write.</param>
    /// <returns><see langword="true"/> when it was counted now; <see langword="false"/> when it had been counted before.</returns>
    ValueTask<bool> CountAsync(PropensityArm arm, string dispatchId, PropensityOutcome outcome, DateTimeOffset bucket, CancellationToken cancellationToken = default);

    /// <summary>
    /// Counts several outcomes as <see cref="CountAsync"/> counts each, in order (an outcome named twice is counted once, at its
    /// first mention): a store may write them with fewer statements (the delivery worker counts the sends of a whole pass at once).
    /// Inside a unit of work, all are kept or undone with the unit.
    /// </summary>
    /// <param name="tallies">The outcomes.</param>
    /// <param name="cancellationToken">Cancels the write.</param>
    /// <returns>For each tally, in order, whether it was counted now.</returns>
    /// <exception cref="EngagementValidationException">A tally's arguments are missing or out of range (nothing is counted).</exception>
    ValueTask<IReadOnlyList<bool>> CountAllAsync(IReadOnlyList<PropensityTally> tallies, CancellationToken cancellationToken = default)
        => PropensityStoreChecks.CountOneByOneAsync(this, tallies, cancellationToken);

    /// <summary>Reads the counts of every arm in buckets starting at or after <paramref name="since"/>, in no particular order.</summary>
    /// <param name="since">The earliest bucket.</param>
    /// <param name="cancellationToken">Cancels the read.</param>
    /// <returns>The counts.</returns>
    ValueTask<IReadOnlyList<PropensityCount>> ReadAsync(DateTimeOffset since, CancellationToken cancellationToken = default);
}

/// <summary>An in-memory <see cref="IPropensityStore"/>: thread-safe; its writes are undone with an in-memory unit of work.</summary>
public sealed class InMemoryPropensityStore : IPropensityStore, IUndoable
{
    private readonly Lock _lock = new();
    private readonly Dictionary<(PropensityArm Arm, long Bucket), (long Sends, long Responses)> _counts = [];
    private readonly HashSet<(string DispatchId, PropensityOutcome Outcome)> _counted = [];

    /// <inheritdoc />
    public ValueTask<bool> CountAsync(PropensityArm arm, string dispatchId, PropensityOutcome outcome, DateTimeOffset bucket, CancellationToken cancellationToken = default)
    {
        PropensityStoreChecks.Require(arm, dispatchId, outcome);
        cancellationToken.ThrowIfCancellationRequested();
        var entry = new CountEntry(arm, dispatchId, outcome, bucket.UtcTicks);
        lock (_lock)
        {
            if (!_counted.Add((dispatchId, outcome)))
            {
                return ValueTask.FromResult(false);
            }

            Add(entry, 1);
        }

        InMemoryTransactions.Record(this, entry, null, entry);
        return ValueTask.FromResult(true);
    }

    /// <inheritdoc />
    public ValueTask<IReadOnlyList<PropensityCount>> ReadAsync(DateTimeOffset since, CancellationToken cancellationToken = default)
    {
        cancellationToken.ThrowIfCancellationRequested();
        var sinceTicks = since.UtcTicks;
        lock (_lock)
        {
            var result = new List<PropensityCount>(_counts.Count);
            foreach (var ((arm, bucket), (sends, responses)) in _counts)
            {
                if (bucket >= sinceTicks)
                {
                    result.Add(new PropensityCount(arm, new DateTimeOffset(bucket, TimeSpan.Zero), sends, responses));
                }
            }

            return ValueTask.FromResult<IReadOnlyList<PropensityCount>>(result);
        }
    }

    /// <inheritdoc />
    void IUndoable.Undo(object key, object? previous, object written)
    {
        var entry = (CountEntry)written;
        lock (_lock)
        {
            if (_counted.Remove((entry.DispatchId, entry.Outcome)))
            {
                Add(entry, -1);
            }
        }
    }

    private void Add(CountEntry entry, int delta)
    {
        var key = (entry.Arm, entry.Bucket);
        var (sends, responses) = _counts.GetValueOrDefault(key);
        if (entry.Outcome == PropensityOutcome.Send)
        {
            sends += delta;
        }
        else
        {
            responses += delta;
        }

        if (sends == 0 && responses == 0)
        {
            _counts.Remove(key);
        }
        else
        {
            _counts[key] = (sends, responses);
        }
    }

    private sealed record CountEntry(PropensityArm Arm, string DispatchId, PropensityOutcome Outcome, long Bucket);
}

/// <summary>Argument checks shared by the propensity stores.</summary>
public static class PropensityStoreChecks
{
    /// <summary>Counts <paramref name="tallies"/> through <paramref name="store"/>'s <see cref="IPropensityStore.CountAsync"/>, one by one, after checking them all.</summary>
    /// <param name="store">The store.</param>
    /// <param name="tallies">The outcomes.</param>
    /// <param name="cancellationToken">Cancels the writes.</param>
    /// <returns>For each tally, whether it was counted now.</returns>
    /// <exception cref="EngagementValidationException">A tally's arguments are missing or out of range.</exception>
    public static async ValueTask<IReadOnlyList<bool>> CountOneByOneAsync(IPropensityStore store, IReadOnlyList<PropensityTally> tallies, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(store);
        Require(tallies);
        var counted = new bool[tallies.Count];
        for (var i = 0; i < counted.Length; i++)
        {
            var t = tallies[i];
            counted[i] = await store.CountAsync(t.Arm, t.DispatchId, t.Outcome, t.Bucket, cancellationToken).ConfigureAwait(false);
        }

        return counted;
    }

    /// <summary>Checks the arguments of <see cref="IPropensityStore.CountAllAsync"/>.</summary>
    /// <param name="tallies">The outcomes.</param>
    /// <exception cref="EngagementValidationException">A tally's arguments are missing or out of range.</exception>
    public static void Require(IReadOnlyList<PropensityTally> tallies)
    {
        ArgumentNullException.ThrowIfNull(tallies);
        foreach (var t in tallies)
        {
            Require(t.Arm, t.DispatchId, t.Outcome);
        }
    }

    /// <summary>Checks the arguments of <see cref="IPropensityStore.CountAsync"/>.</summary>
    /// <param name="arm">The arm.</param>
    /// <param name="dispatchId">The dispatch.</param>
    /// <param name="outcome">The outcome.</param>
    /// <exception cref="EngagementValidationException">An argument is missing or out of range.</exception>
    public static void Require(PropensityArm arm, string dispatchId, PropensityOutcome outcome)
    {
        Text.RequireToken("arm.actionId", arm.ActionId);
        if (arm.Channel.IsEmpty)
        {
            throw new EngagementValidationException("arm.channel", null, "an arm needs a channel");
        }

        if (arm.Treatment is null)
        {
            throw new EngagementValidationException("arm.treatment", null, "use \"\" for an action without treatments");
        }

        if (arm.Segment is null)
        {
            throw new EngagementValidationException("arm.segment", null, "use \"\" for all customers");
        }

        Text.RequireToken("dispatchId", dispatchId);
        if (!Enum.IsDefined(outcome))
        {
            throw new EngagementValidationException("outcome", outcome, "must be Send or Response");
        }
    }
}
