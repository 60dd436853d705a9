using System.Collections.Immutable;
using Engagement.Sdk.Channels;
using Engagement.Sdk.Consent;
using Engagement.Sdk.Diagnostics;
using Engagement.Sdk.Profiles;
using Engagement.Sdk.Storage;
using Microsoft.Extensions.Logging;

namespace Engagement.Sdk.Decisioning;

/// <summary>
/// The contest for a customer's contact-policy slots: the live decision and the customer's due held messages compete by
/// priority, what policy allows is queued in the outbox in that order, and the best deferred action worth holding is held.
/// Runs under the customer's lock, in the unit of work of the event (or of the sweep) that started it.
/// </summary>
internal sealed class HeldMessageContest
{
    private readonly NextBestActionDecider _decider;
    private readonly DispatchOutbox _outbox;
    private readonly ActionCatalog _catalog;
    private readonly ContactPolicyOptions _policy;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly LogIds _logIds;
    private readonly bool _holding;

    public HeldMessageContest(NextBestActionDecider decider, DispatchOutbox outbox, ActionCatalog catalog, ContactPolicyOptions policy, TimeProvider time, ILogger logger, LogIds? logIds = null)
    {
        _logIds = logIds ?? LogIds.Hashed;
        _decider = decider;
        _outbox = outbox;
        _catalog = catalog;
        _policy = policy;
        _time = time;
        _logger = logger;
        _holding = catalog.Actions.Any(static a => a.HoldFor is not null);
    }

    /// <summary>
    /// Lets a customer's due held messages and the live decision compete for contact-policy slots by priority (ties go to the
    /// message held first, then to the live one), queues in the outbox what policy allows in that order, and holds the best deferred action
    /// that is worth holding.
    /// </summary>
    internal ValueTask<(DispatchSummary? Live, ImmutableArray<HeldMessageOutcome> Held, Decision? Decision)> ContendAsync(
        CustomerProfile profile, CustomerId queueOwner, Decision? decision, Events.EngagementEvent? trigger, CancellationToken cancellationToken)
    {
        if (_holding || decision is not { Withheld: null })
        {
            return ContendWithHeldAsync(profile, queueOwner, decision, trigger, cancellationToken);
        }

        // No action of the catalogue is ever held, so nothing held competes and nothing is to hold: a live decision (the usual
        // case) is queued as it is, without the lists and the state the contest needs.
        return decision is { IsNoAction: false, Channel: not null }
            ? QueueAloneAsync(profile, decision, trigger!, cancellationToken)
            : new((null, [], decision));
    }

    private async ValueTask<(DispatchSummary? Live, ImmutableArray<HeldMessageOutcome> Held, Decision? Decision)> QueueAloneAsync(
        CustomerProfile profile, Decision live, Events.EngagementEvent trigger, CancellationToken cancellationToken)
    {
        var (summary, linked) = await EnqueueLiveAsync(profile, live, trigger, _time.GetUtcNow(), cancellationToken).ConfigureAwait(false);
        return (summary, [], linked);
    }

    private async ValueTask<(DispatchSummary? Live, ImmutableArray<HeldMessageOutcome> Held, Decision? Decision)> ContendWithHeldAsync(
        CustomerProfile profile, CustomerId queueOwner, Decision? decision, Events.EngagementEvent? trigger, CancellationToken cancellationToken)
    {
        var now = _time.GetUtcNow();
        if (decision is { Withheld: { } withheld } && trigger is not null)
        {
            // A control group's would-be send: logged in the dispatch log (never sent, never counted by caps) with its choice
            // probability, so that the uplift of the action or of the whole programme can be measured.
            var logged = await _outbox.LogWithheldAsync(
                new DispatchRecord
                {
                    DispatchId = EngagementEngine.DispatchIdFor(trigger, withheld.Action.Id, withheld.Channel),
                    CustomerId = profile.Id,
                    Channel = withheld.Channel,
                    Purpose = withheld.Action.Purpose,
                    ActionId = withheld.Action.Id,
                    CreatedAt = now,
                    Priority = withheld.Action.Priority,
                    Decision = decision.ToLog(),
                },
                cancellationToken).ConfigureAwait(false);
            decision = decision.WithDispatch(logged);
        }

        var queue = _holding || decision is null ? await _outbox.ListHeldAsync(queueOwner, now, cancellationToken).ConfigureAwait(false) : [];
        if ((_holding || decision is null) && queueOwner == profile.Id)
        {
            // Messages held for profiles merged into this one are the survivor's now: they compete on its live events too,
            // not only in the sweep. Each release is a compare-and-set, so a sweep running at the same time queues none twice.
            // A merged profile's messages were held before its merge and expire within the longest hold, so only merges that
            // recent are looked at: a profile with years of merged sessions does not query each of them on every event.
            foreach (var merge in profile.Merges.Where(m => m.At >= now - ActionCatalog.MaxHoldFor))
            {
                queue.AddRange(await _outbox.ListHeldAsync(merge.MergedId, now, cancellationToken).ConfigureAwait(false));
            }
        }

        var live = decision is { IsNoAction: false, Channel: { } liveChannel } ? decision : null;
        if (queue.Count == 0 && live is null && (decision is null || !_holding))
        {
            // Nothing held, nothing to queue and nothing to hold: the usual end of a decision that chose no action.
            return (null, [], decision);
        }

        var outcomes = ImmutableArray.CreateBuilder<HeldMessageOutcome>(queue.Count); // (no array while nothing is held)
        List<DispatchRecord>? due = null;
        if (queue.Count > 0)
        {
            // (Most decisions find nothing held: then none of this is needed.)
            foreach (var expired in queue.Where(h => h.ExpiresAt <= now).ToList())
            {
                outcomes.Add(await CancelHeldAsync(expired, HoldReasons.Expired, $"Held until {expired.ExpiresAt:O} and not allowed before then.", now, cancellationToken).ConfigureAwait(false));
                queue.Remove(expired);
            }

            due = queue.Where(h => h.ReleaseAt is not { } release || release <= now)
                .OrderByDescending(h => h.Priority).ThenBy(h => h.HeldAt).ThenBy(h => h.DispatchId, StringComparer.Ordinal).ToList();
        }

        var liveDone = live is null;
        var anyQueued = false;
        DispatchSummary? liveSummary = null;
        Decision? linked = decision;
        Recheck? liveDeferred = null;
        HashSet<string>? releasedActions = null;

        async ValueTask QueueLiveAsync()
        {
            liveDone = true;
            var action = live!.Action;
            var channel = live.Channel!.Value;
            if (anyQueued)
            {
                // A held message took a slot since the decision was taken: ask again.
                var check = await _decider.RecheckAsync(profile, action, channel, now, cancellationToken).ConfigureAwait(false);
                if (check.Permission is not { IsAllowed: true })
                {
                    liveDeferred = check;
                    await _decider.ReleaseBudgetsAsync(live, cancellationToken).ConfigureAwait(false);
                    return;
                }
            }

            (liveSummary, linked) = await EnqueueLiveAsync(profile, live, trigger!, now, cancellationToken).ConfigureAwait(false);
            anyQueued |= !liveSummary.Result.WasReplay;
        }

        foreach (var held in due ?? Enumerable.Empty<DispatchRecord>())
        {
            if (!liveDone && live!.Action.Priority > held.Priority)
            {
                await QueueLiveAsync().ConfigureAwait(false);
            }

            var outcome = await ReleaseOneAsync(held, now, cancellationToken).ConfigureAwait(false);
            outcomes.Add(outcome);
            if (outcome.Status == HeldMessageStatus.Released)
            {
                (releasedActions ??= new HashSet<string>(StringComparer.Ordinal)).Add(held.ActionId);
            }

            queue.Remove(held);
            if (outcome.Status == HeldMessageStatus.Rescheduled)
            {
                queue.Add(outcome.Record);
            }
        }

        if (!liveDone)
        {
            await QueueLiveAsync().ConfigureAwait(false);
        }

        if (decision is not null && _holding)
        {
            var queuedPriority = liveSummary is { Result.WasReplay: false } ? live!.Action.Priority : int.MinValue;
            var candidate = HoldCandidate(decision, live, liveDeferred, queuedPriority, queue, releasedActions);
            if (candidate is { } c)
            {
                await HoldAsync(profile, queueOwner, trigger!, c.Action, c.Channel, c.Until, c.Why, queue, outcomes, now, cancellationToken).ConfigureAwait(false);
            }
        }

        for (var i = 0; i < outcomes.Count; i++)
        {
            EngagementTelemetry.RecordHeld(outcomes[i].Record.Channel, outcomes[i].Status, outcomes[i].Reason);
        }

        return (liveSummary, outcomes.ToImmutable(), linked);

        async ValueTask<HeldMessageOutcome> ReleaseOneAsync(DispatchRecord held, DateTimeOffset at, CancellationToken ct)
        {
            if (!_catalog.TryGet(held.ActionId, out var action))
            {
                return await CancelHeldAsync(held, HoldReasons.ActionRemoved, $"{held.ActionId} is no longer in the catalogue.", at, ct).ConfigureAwait(false);
            }

            var check = await _decider.RecheckAsync(profile, action, held.Channel, at, ct).ConfigureAwait(false);
            if (check.Rejection is { } rejection)
            {
                return await CancelHeldAsync(held, HoldReasons.NotEligible, rejection + ": " + check.Detail, at, ct).ConfigureAwait(false);
            }

            var permission = check.Permission!;
            if (permission.IsAllowed)
            {
                var result = await _outbox.ReleaseAsync(held, ct).ConfigureAwait(false);
                if (!result.WasReplay)
                {
                    anyQueued = true;
                    await RecordSentAsync(held.CustomerId, held.ActionId, held.Channel, at, held.DispatchId, ct).ConfigureAwait(false);
                }

                var released = held with { Status = result.Status, CreatedAt = at, DueAt = at };
                return new HeldMessageOutcome(released, HeldMessageStatus.Released, HoldReasons.Allowed, $"{action.Id} on {held.Channel}: allowed now.") { Dispatch = result };
            }

            if (permission.Verdict == PermissionVerdict.Defer && permission.DeferUntil is { } until && (held.ExpiresAt is not { } expires || until < expires))
            {
                var rescheduled = held with { ReleaseAt = until };
                if (await _outbox.UpdateHeldAsync(rescheduled, ct).ConfigureAwait(false))
                {
                    return new HeldMessageOutcome(rescheduled, HeldMessageStatus.Rescheduled, HoldReasons.Deferred, $"{permission.Code}: {permission.Reasons[0].Detail}");
                }
            }

            return permission.Verdict == PermissionVerdict.Defer
                ? await CancelHeldAsync(held, HoldReasons.Expired, $"{permission.Code}: not allowed before it expires at {held.ExpiresAt:O}.", at, ct).ConfigureAwait(false)
                : await CancelHeldAsync(held, HoldReasons.NotPermitted, $"{permission.Code}: {permission.Reasons[0].Detail}", at, ct).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// Queues the live decision's message in the outbox, under the id its trigger, action and channel give it: counted in the
    /// action's contact history when it is new, its volume budgets given back when it is a replay.
    /// </summary>
    /// <returns>What was queued, and the decision linked to its dispatch.</returns>
    private async ValueTask<(DispatchSummary Summary, Decision Linked)> EnqueueLiveAsync(CustomerProfile profile, Decision live, Events.EngagementEvent trigger, DateTimeOffset now, CancellationToken cancellationToken)
    {
        var action = live.Action;
        var channel = live.Channel!.Value;
        var dispatchId = EngagementEngine.DispatchIdFor(trigger, action.Id, channel);
        var result = await _outbox.EnqueueAsync(
            new DispatchRecord
            {
                DispatchId = dispatchId,
                CustomerId = profile.Id,
                Channel = channel,
                Purpose = action.Purpose,
                ActionId = action.Id,
                CreatedAt = now,
                DueAt = now,
                Priority = action.Priority,
                Decision = live.ToLog(),
            },
            cancellationToken).ConfigureAwait(false);
        if (!result.WasReplay)
        {
            await RecordSentAsync(profile.Id, action.Id, channel, now, dispatchId, cancellationToken).ConfigureAwait(false);
        }
        else
        {
            await _decider.ReleaseBudgetsAsync(live, cancellationToken).ConfigureAwait(false);
        }

        return (new DispatchSummary(action.Id, channel, result), live.WithDispatch(dispatchId));
    }

    /// <summary>The deferred action worth holding: the live one if a held message took its slot, else the highest-priority deferred candidate that outranks what was queued.</summary>
    private (ActionDefinition Action, Channel Channel, DateTimeOffset Until, string Why)? HoldCandidate(Decision decision, Decision? live, Recheck? liveDeferred, int queuedPriority, List<DispatchRecord> queue, HashSet<string>? releasedActions)
    {
        // An action is never held twice for one customer, nor held again just after its held copy went out.
        if (live is not null && liveDeferred?.Permission is { Verdict: PermissionVerdict.Defer, DeferUntil: { } liveUntil } deferred && live.Action.HoldFor is not null)
        {
            return queue.Any(h => h.ActionId == live.Action.Id) || releasedActions?.Contains(live.Action.Id) == true ? null : (live.Action, live.Channel!.Value, liveUntil, deferred.Code);
        }

        // An action some of whose channels contact policy deferred, and none of which was chosen: the first deferred channel of
        // the highest-priority such action (the customer's preferred order of channels is the catalogue's).
        (ActionDefinition Action, Channel Channel, DateTimeOffset Until, string Why)? best = null;
        foreach (var (action, channel, permission) in decision.Deferred())
        {
            if (action.HoldFor is null || action.Priority <= queuedPriority || (best is { } b && action.Priority <= b.Action.Priority)
                || (live is not null && live.Action.Id == action.Id) || queue.Any(h => h.ActionId == action.Id) || releasedActions?.Contains(action.Id) == true
                || permission.DeferUntil is not { } until)
            {
                continue;
            }

            best = (action, channel, until, permission.Code);
        }

        return best;
    }

    private async ValueTask HoldAsync(CustomerProfile profile, CustomerId queueOwner, Events.EngagementEvent trigger, ActionDefinition action, Channel channel, DateTimeOffset until, string why, List<DispatchRecord> queue, ImmutableArray<HeldMessageOutcome>.Builder outcomes, DateTimeOffset now, CancellationToken cancellationToken)
    {
        var record = new DispatchRecord
        {
            DispatchId = EngagementEngine.DispatchIdFor(trigger, action.Id, channel),
            CustomerId = queueOwner,
            Channel = channel,
            Purpose = action.Purpose,
            ActionId = action.Id,
            CreatedAt = now,
            Status = DispatchStatus.Held,
            Priority = action.Priority,
            HeldAt = now,
            ReleaseAt = until,
            ExpiresAt = now + action.HoldFor!.Value,
        };
        if (until >= record.ExpiresAt)
        {
            outcomes.Add(new HeldMessageOutcome(record with { Status = DispatchStatus.Cancelled }, HeldMessageStatus.Cancelled, HoldReasons.Expired, $"{why}: not allowed before {until:O}, after it would expire."));
            return;
        }

        if (queue.Count >= _policy.MaxHeldPerCustomer)
        {
            // The lowest priority goes; among equals, the one held last.
            var lowest = queue.OrderBy(h => h.Priority).ThenByDescending(h => h.HeldAt).ThenByDescending(h => h.DispatchId, StringComparer.Ordinal).First();
            if (action.Priority <= lowest.Priority)
            {
                outcomes.Add(new HeldMessageOutcome(record with { Status = DispatchStatus.Cancelled }, HeldMessageStatus.Cancelled, HoldReasons.QueueFull, $"{queue.Count} message(s) of priority {lowest.Priority} or more are already held for {profile.Id}."));
                return;
            }

            outcomes.Add(await CancelHeldAsync(lowest, HoldReasons.Preempted, $"Its place was taken by {action.Id} (priority {action.Priority} over {lowest.Priority}).", now, cancellationToken).ConfigureAwait(false));
            queue.Remove(lowest);
        }

        if (await _outbox.HoldAsync(record, cancellationToken).ConfigureAwait(false))
        {
            queue.Add(record);
            Log.Held(_logger, action.Id, _logIds.Of(profile.Id), channel.Name, why, until);
            outcomes.Add(new HeldMessageOutcome(record, HeldMessageStatus.Held, HoldReasons.Deferred, $"{why}: held until {until:O}, cancelled if still not allowed by {record.ExpiresAt:O}."));
        }
    }

    // The action's contact history counts a message from when it is queued (so two decisions in a row cannot both send it).
    private async ValueTask RecordSentAsync(CustomerId customer, string actionId, Channel channel, DateTimeOffset at, string dispatchId, CancellationToken cancellationToken)
    {
        if (_decider.Contacts is { } contacts && _catalog.TryGet(actionId, out var action) && action.ContactPolicy is not null)
        {
            await contacts.RecordAsync(new ActionContact(customer, actionId, channel, ActionContactKind.Sent, at, dispatchId), cancellationToken).ConfigureAwait(false);
        }
    }

    private async ValueTask<HeldMessageOutcome> CancelHeldAsync(DispatchRecord held, string reason, string detail, DateTimeOffset now, CancellationToken cancellationToken)
    {
        var cancelled = held with { Status = DispatchStatus.Cancelled, Error = reason + ": " + detail, CompletedAt = now };
        await _outbox.UpdateHeldAsync(cancelled, cancellationToken).ConfigureAwait(false);
        Log.HeldCancelled(_logger, held.ActionId, _logIds.Of(held.CustomerId), reason);
        return new HeldMessageOutcome(cancelled, HeldMessageStatus.Cancelled, reason, detail);
    }
}
