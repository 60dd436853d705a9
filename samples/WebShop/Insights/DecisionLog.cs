using System.Collections.Immutable;
using Engagement.Sdk;
using Engagement.Sdk.Consent;
using Engagement.Sdk.Decisioning;

namespace WebShop.Insights;

/// <summary>Per channel: how many contacts decisions wanted but consent stopped, and how many contact policy deferred.</summary>
/// <param name="Channel">The channel.</param>
/// <param name="Suppressed">Stopped for consent (none, withdrawn, denied, pending confirmation, …).</param>
/// <param name="Deferred">Deferred by contact policy (frequency caps, quiet hours, a pause).</param>
public sealed record ChannelRefusals(string Channel, long Suppressed, long Deferred);

/// <summary>
/// What the shop's decisions did, as this process saw them (from the start, including the demo replay when it ran here):
/// the most recent decisions with their full traces, and per channel the contacts stopped by consent or deferred by contact
/// policy. The SDK stores messages (the outbox) but not decisions, so this log lives in memory.
/// </summary>
public sealed class DecisionLog
{
    private const int Capacity = 200;
    private readonly Lock _lock = new();
    private readonly LinkedList<Decision> _recent = new();
    private readonly Dictionary<string, (long Suppressed, long Deferred)> _refusals = new(StringComparer.Ordinal);

    /// <summary>Decisions recorded since the process started.</summary>
    public long Decisions { get; private set; }

    /// <summary>Records one decision.</summary>
    /// <param name="decision">The decision.</param>
    /// <param name="contacted">
    /// Whether the decision was taken to contact the customer (tracking); <see langword="false"/> for a decision only asked
    /// for (<see cref="IEngagementEngine.DecideAsync"/>), whose refused channels are not counted as suppressed or deferred.
    /// </param>
    public void Record(Decision decision, bool contacted = true)
    {
        ArgumentNullException.ThrowIfNull(decision);
        lock (_lock)
        {
            Decisions++;
            _recent.AddFirst(decision);
            if (_recent.Count > Capacity)
            {
                _recent.RemoveLast();
            }

            if (!contacted)
            {
                return;
            }

            foreach (var candidate in decision.Candidates)
            {
                foreach (var check in candidate.ChannelChecks)
                {
                    if (check.Decision.IsAllowed)
                    {
                        continue;
                    }

                    var counts = _refusals.GetValueOrDefault(check.Channel.Name);
                    if (EngagementEngine.IsConsentReason(check.Decision.Code))
                    {
                        counts.Suppressed++;
                    }
                    else if (check.Decision.Verdict == PermissionVerdict.Defer)
                    {
                        counts.Deferred++;
                    }

                    _refusals[check.Channel.Name] = counts;
                }
            }
        }
    }

    /// <summary>Records what tracking one event decided, if it decided anything.</summary>
    /// <param name="result">The result.</param>
    public void Record(TrackResult result)
    {
        ArgumentNullException.ThrowIfNull(result);
        if (result.Decision is { } decision)
        {
            Record(decision);
        }
    }

    /// <summary>The newest decisions.</summary>
    /// <param name="count">How many at most.</param>
    /// <param name="customerId">Only this customer's, when given.</param>
    /// <returns>Newest first.</returns>
    public ImmutableArray<Decision> Recent(int count, CustomerId? customerId = null)
    {
        lock (_lock)
        {
            return [.. _recent.Where(d => customerId is not { } id || d.CustomerId == id).Take(count)];
        }
    }

    /// <summary>Contacts stopped and deferred, per channel, ordered by channel.</summary>
    /// <returns>The counts.</returns>
    public ImmutableArray<ChannelRefusals> Refusals()
    {
        lock (_lock)
        {
            return [.. _refusals.OrderBy(p => p.Key, StringComparer.Ordinal).Select(p => new ChannelRefusals(p.Key, p.Value.Suppressed, p.Value.Deferred))];
        }
    }

    /// <summary>Forgets a customer's decisions (after an erasure).</summary>
    /// <param name="customerId">The customer.</param>
    public void Forget(CustomerId customerId)
    {
        lock (_lock)
        {
            for (var node = _recent.First; node is not null;)
            {
                var next = node.Next;
                if (node.Value.CustomerId == customerId)
                {
                    _recent.Remove(node);
                }

                node = next;
            }
        }
    }
}
