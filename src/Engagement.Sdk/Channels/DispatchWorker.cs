using System.Collections.Immutable;
using System.Threading.RateLimiting;
using Engagement.Sdk.Consent;
using Engagement.Sdk.Decisioning;
using Engagement.Sdk.Diagnostics;
using Engagement.Sdk.Events;
using Engagement.Sdk.Profiles;
using Engagement.Sdk.Storage;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Polly;
using Polly.CircuitBreaker;
using Polly.RateLimiting;
using Polly.Timeout;

namespace Engagement.Sdk.Channels;

/// <summary>What one pass of the <see cref="DispatchWorker"/> did.</summary>
/// <param name="Claimed">How many dispatches it claimed.</param>
/// <param name="Settled">Each claimed dispatch as it was left (sent, queued again, unknown, undeliverable, dead-lettered or cancelled).</param>
public sealed record DeliveryReport(int Claimed, ImmutableArray<DispatchRecord> Settled)
{
    /// <summary>How many of the settled dispatches stand in <paramref name="status"/>.</summary>
    /// <param name="status">The status.</param>
    /// <returns>The count.</returns>
    public int Count(DispatchStatus status) => Settled.Count(d => d.Status == status);
}

/// <summary>
/// Delivers the outbox. Each pass claims the dispatches that are due under a lease (safe with several workers and processes on
/// one store), checks every gate again at hand-off (the erasure tombstone, eligibility, consent, suppressions, quiet hours and
/// caps: a withdrawal between decision and send cancels the dispatch with its reason), hands each to its channel with the
/// dispatch id as the provider's idempotency key, through the channel's rate limiter, circuit breaker and attempt time-out, and
/// settles it:
/// <list type="bullet">
/// <item>accepted: <see cref="DispatchStatus.Sent"/>, and a <see cref="MessageSent"/> receipt tracked in the same unit of work;</item>
/// <item>a transient failure: queued again after an exponential back-off with jitter (or the provider's <c>Retry-After</c>), a
/// durable schedule rather than an in-memory delay; dead-lettered when the attempts or the time run out;</item>
/// <item>a permanent failure: an invalid address is suppressed (<see cref="DispatchStatus.Undeliverable"/>); rejected content is dead-lettered;</item>
/// <item>an unknown outcome (a time-out after the request went out, a lease that ran out mid-send): reconciled on a later pass
/// through the channel's status query, or sent again under the same idempotency key where the provider deduplicates,
/// otherwise dead-lettered for a person to decide; never sent again blindly;</item>
/// <item>an open circuit or a rate limit: queued again without counting an attempt; nothing is dropped.</item>
/// </list>
/// </summary>
public sealed class DispatchWorker
{
    private readonly Dictionary<Channel, IChannelSender> _senders = [];
    private readonly Func<Channel, bool> _canSend;
    private readonly Dictionary<Channel, ResiliencePipeline<SendResult>> _pipelines = [];
    private readonly IDispatchStore _store;
    private readonly ISuppressionStore _suppressions;
    private readonly IdentityResolver _identity;
    private readonly ConsentLedger _ledger;
    private readonly ActionCatalog _catalog;
    private readonly IPermissionGate _gate;
    private readonly IStockProvider _stock;
    private readonly string _journeyId;
    private readonly Journeys.JourneyFacts? _facts;
    private readonly IEngagementEngine _engine;
    private readonly IStoreTransactions _transactions;
    private readonly TimeProvider _time;
    private readonly DispatchOptions _options;
    private readonly ILogger _logger;

    // The tombstone hashes of the customers recently handed over (each a SHA-256 otherwise, at every hand-off).
    private readonly TombstoneHashCache _tombstones = new(4096);

    /// <summary>Creates the worker.</summary>
    /// <param name="senders">The channel senders (one per channel).</param>
    /// <param name="store">The dispatch log.</param>
    /// <param name="suppressions">The suppression list (erasure tombstones, suppressed addresses).</param>
    /// <param name="identity">Identity resolution, to find the customer a dispatch is for (following merges).</param>
    /// <param name="ledger">The consent ledger, which suppresses an address a channel reports invalid.</param>
    /// <param name="gate">The permission gate.</param>
    /// <param name="catalog">The action catalogue.</param>
    /// <param name="stock">The stock provider.</param>
    /// <param name="engine">The engine, which takes the receipts.</param>
    /// <param name="time">The clock.</param>
    /// <param name="options">The delivery settings.</param>
    /// <param name="engagementOptions">The engine's options (the journey decisions read).</param>
    /// <param name="logger">The logger.</param>
    /// <param name="transactions">The storage's units of work.</param>
    /// <param name="workerId">This worker's identity in leases; by default a new one.</param>
    /// <param name="journeyStore">The journeys' state, which stage eligibility and eligibility conditions read at hand-off.</param>
    /// <param name="journeyCatalog">The compiled journeys (made from the options and the actions when omitted).</param>
    /// <exception cref="EngagementValidationException">Two senders serve one channel.</exception>
    public DispatchWorker(
        IEnumerable<IChannelSender> senders,
        IDispatchStore store,
        ISuppressionStore suppressions,
        IdentityResolver identity,
        ConsentLedger ledger,
        IPermissionGate gate,
        ActionCatalog catalog,
        IStockProvider stock,
        IEngagementEngine engine,
        TimeProvider time,
        IOptions<DispatchOptions> options,
        IOptions<EngagementOptions> engagementOptions,
        ILogger<DispatchWorker>? logger = null,
        IStoreTransactions? transactions = null,
        string? workerId = null,
        Journeys.IJourneyStore? journeyStore = null,
        Journeys.JourneyCatalog? journeyCatalog = null)
    {
        ArgumentNullException.ThrowIfNull(senders);
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(engagementOptions);
        _store = store ?? throw new ArgumentNullException(nameof(store));
        _suppressions = suppressions ?? throw new ArgumentNullException(nameof(suppressions));
        _identity = identity ?? throw new ArgumentNullException(nameof(identity));
        _ledger = ledger ?? throw new ArgumentNullException(nameof(ledger));
        _catalog = catalog ?? throw new ArgumentNullException(nameof(catalog));
        _engine = engine ?? throw new ArgumentNullException(nameof(engine));
        _time = time ?? throw new ArgumentNullException(nameof(time));
        _options = options.Value;
        _logger = logger ?? NullLogger<DispatchWorker>.Instance;
        _transactions = transactions ?? NoTransactions.Instance;
        WorkerId = workerId ?? "worker-" + Guid.NewGuid().ToString("N");
        var invalid = new DispatchOptionsValidator().Validate(null, _options);
        if (invalid.Failed)
        {
            throw new EngagementValidationException("DispatchOptions", null, invalid.FailureMessage);
        }

        var all = senders.ToList();
        if (ChannelSendersValidator.Describe(all) is { } twoSenders)
        {
            throw new EngagementValidationException("senders", null, twoSenders.TrimEnd('.'));
        }

        _canSend = _senders.ContainsKey;
        foreach (var sender in all)
        {
            _senders.Add(sender.Channel, sender);

            _pipelines[sender.Channel] = BuildPipeline(_options.For(sender.Channel), _options.AttemptTimeout, time);
        }

        _gate = gate ?? throw new ArgumentNullException(nameof(gate));
        _stock = stock ?? throw new ArgumentNullException(nameof(stock));
        _journeyId = engagementOptions.Value.DecisionJourneyId;
        _facts = journeyStore is null ? null : new Journeys.JourneyFacts(journeyCatalog ?? Journeys.JourneyCatalog.FromOptions(engagementOptions.Value, catalog), journeyStore, ledger);
    }

    /// <summary>This worker's identity in the leases it takes.</summary>
    public string WorkerId { get; }

    /// <summary>Claims the dispatches that are due (at most <see cref="DispatchOptions.BatchSize"/>), delivers and settles them.</summary>
    /// <param name="cancellationToken">Stops the pass; a dispatch in flight is settled as unknown.</param>
    /// <returns>What the pass did.</returns>
    public async ValueTask<DeliveryReport> RunOnceAsync(CancellationToken cancellationToken = default)
    {
        using var activity = EngagementTelemetry.Source.StartActivity("engagement.deliver");
        try
        {
            var report = await RunPassAsync(cancellationToken).ConfigureAwait(false);
            activity?.SetTag("dispatch.claimed", report.Claimed);
            EngagementTelemetry.RecordDeliveryPass(failed: false);
            return report;
        }
        catch (Exception ex)
        {
            EngagementTelemetry.Fail(activity, ex);
            EngagementTelemetry.RecordDeliveryPass(failed: true);
            throw;
        }
    }

    private async ValueTask<DeliveryReport> RunPassAsync(CancellationToken cancellationToken)
    {
        var now = _time.GetUtcNow();
        var leaseUntil = now + _options.LeaseDuration;

        // The claim and the gates of the whole batch in one unit of work where the storage has them (one transaction instead
        // of two; its reads are cheaper there, and its caches valid). The unit writes only the leases and calls no channel; it
        // ends before any channel is called, so every lease is durable before its dispatch is handed over. A pass that fails
        // here leaves its dispatches queued as they were (the leases are undone with the unit).
        IReadOnlyList<DispatchRecord> claimed;
        List<Plan> plans;
        var unit = _transactions.Begin();
        await using (unit.ConfigureAwait(false))
        {
            await unit.StartAsync(cancellationToken).ConfigureAwait(false);
            claimed = await _store.ClaimAsync(now, WorkerId, leaseUntil, _options.BatchSize, cancellationToken).ConfigureAwait(false);
            if (claimed.Count == 0)
            {
                await unit.CompleteAsync(cancellationToken).ConfigureAwait(false);
                return new DeliveryReport(0, []);
            }

            plans = new List<Plan>(claimed.Count);
            if (_gate is PermissionGate gate)
            {
                // The caps of the whole pass read with one query (where the store can); every gate is still checked per dispatch.
                var customers = new HashSet<CustomerId>(claimed.Count);
                foreach (var dispatch in claimed)
                {
                    customers.Add(dispatch.CustomerId);
                }

                await gate.ReadAheadCapsAsync(customers, now, cancellationToken).ConfigureAwait(false);
            }

            foreach (var dispatch in claimed)
            {
                plans.Add(await PlanAsync(dispatch, cancellationToken).ConfigureAwait(false));
            }

            await unit.CompleteAsync(cancellationToken).ConfigureAwait(false);
        }

        // Then the channels, outside any unit of work. What they did is written at the end of the pass, and sooner whenever the
        // calls have run for SettleInterval: a slow channel's outcomes and receipts are not held back for a whole claim.
        var settled = ImmutableArray.CreateBuilder<DispatchRecord>(claimed.Count);
        var settlements = new List<Settlement>(claimed.Count);
        var written = 0; // the plans (in the claim's order) whose outcomes were written
        try
        {
            var since = _time.GetTimestamp();
            foreach (var plan in plans)
            {
                cancellationToken.ThrowIfCancellationRequested();
                settlements.Add(await CarryOutAsync(plan, leaseUntil, cancellationToken).ConfigureAwait(false));
                if (written + settlements.Count < plans.Count && _time.GetElapsedTime(since) >= _options.SettleInterval)
                {
                    settled.AddRange(await SettleAsync(settlements, cancellationToken).ConfigureAwait(false));
                    written += settlements.Count;
                    settlements.Clear();
                    since = _time.GetTimestamp();
                }
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            // Stopping: what was sent is settled; the rest go back to the queue untouched (the one in flight is unknown).
            foreach (var dispatch in claimed.Skip(written + settlements.Count))
            {
                settlements.Add(new Settlement(dispatch with { LeaseOwner = null, LeaseUntil = null }, null, null, false));
            }

            await SettleAsync(settlements, CancellationToken.None).ConfigureAwait(false);
            throw;
        }

        // Stopped during the last call: what the calls did is still written (a send in flight as unknown), then the stop is reported.
        settled.AddRange(await SettleAsync(settlements, cancellationToken.IsCancellationRequested ? CancellationToken.None : cancellationToken).ConfigureAwait(false));
        cancellationToken.ThrowIfCancellationRequested();
        return new DeliveryReport(claimed.Count, settled.ToImmutable());
    }

    /// <summary>Runs passes until nothing more is due now (for tests, samples and hosts that deliver on demand).</summary>
    /// <param name="cancellationToken">Stops the work.</param>
    /// <returns>Every dispatch settled, in order.</returns>
    public async ValueTask<ImmutableArray<DispatchRecord>> DeliverDueAsync(CancellationToken cancellationToken = default)
    {
        var settled = ImmutableArray.CreateBuilder<DispatchRecord>();
        while (true)
        {
            var report = await RunOnceAsync(cancellationToken).ConfigureAwait(false);
            settled.AddRange(report.Settled);
            if (report.Claimed == 0)
            {
                return settled.ToImmutable();
            }
        }
    }

    /// <summary>Runs passes until stopped, waiting <see cref="DispatchOptions.PollInterval"/> (on the clock) whenever nothing is due.</summary>
    /// <param name="cancellationToken">Stops the worker; a dispatch in flight is settled as unknown and reconciled later.</param>
    /// <returns>A task that ends when the worker is stopped.</returns>
    public async Task RunAsync(CancellationToken cancellationToken)
    {
        while (!cancellationToken.IsCancellationRequested)
        {
            DeliveryReport report;
            try
            {
                report = await RunOnceAsync(cancellationToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception ex)
            {
                // A store that cannot be reached: nothing was lost (claims run out and are reconciled); try again later.
                Log.DeliveryPassFailed(_logger, ex.GetType().Name);
                report = new DeliveryReport(0, []);
            }

            if (report.Claimed == 0)
            {
                try
                {
                    await Task.Delay(_options.PollInterval, _time, cancellationToken).ConfigureAwait(false);
                }
                catch (OperationCanceledException)
                {
                    return;
                }
            }
        }
    }

    /// <summary>Queues a dead letter again, due now; every gate is checked again when it is handed over.</summary>
    /// <param name="dispatchId">The dead-lettered dispatch.</param>
    /// <param name="cancellationToken">Cancels the work.</param>
    /// <returns><see langword="true"/> when it was queued; <see langword="false"/> when it is not (or no longer) a dead letter.</returns>
    public async ValueTask<bool> ReplayAsync(string dispatchId, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(dispatchId);
        if (await _store.GetAsync(dispatchId, cancellationToken).ConfigureAwait(false) is not { Status: DispatchStatus.DeadLettered } dead)
        {
            return false;
        }

        var now = _time.GetUtcNow();
        var queued = dead with { Status = DispatchStatus.Queued, DueAt = now, CreatedAt = now, Attempts = 0, Reason = DispatchReasons.Replayed, CompletedAt = null };
        return await _store.TryUpdateAsync(queued, DispatchStatus.DeadLettered, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>The dead letters, oldest first.</summary>
    /// <param name="cancellationToken">Cancels the enumeration.</param>
    /// <returns>The dispatches set aside for a person.</returns>
    public IAsyncEnumerable<DispatchRecord> ListDeadLettersAsync(CancellationToken cancellationToken = default)
        => _store.ListByStatusAsync(DispatchStatus.DeadLettered, cancellationToken);

    /// <summary>The delay before attempt <paramref name="attempts"/> + 1: exponential from <see cref="DispatchOptions.RetryBaseDelay"/>, capped, with jitter (half to all of it).</summary>
    internal TimeSpan Backoff(int attempts)
    {
        var exponent = Math.Clamp(attempts - 1, 0, 30);
        var ceiling = Math.Min(_options.RetryMaxDelay.Ticks, _options.RetryBaseDelay.Ticks * Math.Pow(2, exponent));
        return TimeSpan.FromTicks((long)(ceiling * (0.5 + (Random.Shared.NextDouble() * 0.5))));
    }

    // What to do with one claimed dispatch, from the gates alone: a settlement that needs no channel, a refusal of an uncertain
    // dispatch (the channel may be asked whether it had it), or a message to hand over (after reconciling an uncertain one).
    private async ValueTask<Plan> PlanAsync(DispatchRecord dispatch, CancellationToken cancellationToken)
    {
        var now = _time.GetUtcNow();

        // The dispatch is under this worker's lease (the claim wrote it); every settlement made of it below sets its status and
        // clears the lease, so it is not copied with the lease first.
        var leased = dispatch;
        var uncertain = dispatch.Status is DispatchStatus.Sending or DispatchStatus.Unknown;
        if (!_senders.TryGetValue(dispatch.Channel, out var sender))
        {
            return Plan.Settled(Dead(leased, DispatchReasons.NotEligible, $"No sender is registered for {dispatch.Channel}.", now));
        }

        // The gates first: a message that may not go out now is not sent, whatever became of an earlier attempt.
        if (await _tombstones.IsErasedAsync(dispatch.CustomerId, _suppressions, cancellationToken).ConfigureAwait(false))
        {
            return Plan.Settled(Cancel(leased, DispatchReasons.Erased, "The customer was erased.", now));
        }

        var profile = await _identity.GetAsync(dispatch.CustomerId, cancellationToken).ConfigureAwait(false) ?? CustomerProfile.New(dispatch.CustomerId);
        if (!_catalog.TryGet(dispatch.ActionId, out var action))
        {
            return Refuse(DispatchReasons.NotEligible, $"{dispatch.ActionId} is no longer in the catalogue.");
        }

        var check = await ActionGuards.RecheckAsync(_gate, _stock, _canSend, _journeyId, _facts, profile, action, dispatch.Channel, now, cancellationToken, dispatch.DispatchId).ConfigureAwait(false);
        if (check.Rejection is { } rejection)
        {
            return Refuse(rejection, check.Detail);
        }

        var permission = check.Permission!;
        if (permission.Code == PermissionReasons.ClockSkew)
        {
            // This process's clock is behind the store's: it hands nothing over, and leaves the message for a worker whose clock is right.
            return Plan.Settled(Wait(Requeue(leased, now + _options.RetryBaseDelay, PermissionReasons.ClockSkew, permission.Reasons[0].Detail, countAttempt: false)));
        }

        if (permission.Verdict == PermissionVerdict.Deny)
        {
            return Refuse(permission.Code, permission.Reasons[0].Detail);
        }

        if (permission.Verdict == PermissionVerdict.Defer)
        {
            var until = permission.DeferUntil ?? now + _options.RetryBaseDelay;
            return until > dispatch.CreatedAt + _options.GiveUpAfter
                ? Refuse(permission.Code, $"{permission.Reasons[0].Detail} Not allowed before {until:O}, after the dispatch gives up.")
                : Plan.Settled(Wait(Requeue(leased, until, DispatchReasons.Deferred, permission.Code + ": " + permission.Reasons[0].Detail, countAttempt: false)));
        }

        var message = new OutboundMessage(dispatch.DispatchId, profile.Id, dispatch.Channel, dispatch.Purpose, check.Address, dispatch.ActionId, profile.Locale);
        return new Plan(leased, sender, profile, uncertain, null, null, message);

        Plan Refuse(string reason, string detail)
            => uncertain ? new Plan(leased, sender, profile, true, null, (reason, detail), null) : Plan.Settled(Cancel(leased, reason, detail, now));

        // An uncertain dispatch stays uncertain while it waits: it is reconciled before anything is sent.
        Settlement Wait(Settlement waiting) => uncertain ? waiting with { Record = waiting.Record with { Status = DispatchStatus.Unknown } } : waiting;
    }

    // Carries out a plan: the channel is asked or called only while the lease outlasts the attempt.
    private async ValueTask<Settlement> CarryOutAsync(Plan plan, DateTimeOffset leaseUntil, CancellationToken cancellationToken)
    {
        if (plan.Done is { } done)
        {
            return done;
        }

        var now = _time.GetUtcNow();
        var leased = plan.Leased;
        if (now + _options.AttemptTimeout > leaseUntil)
        {
            // The lease would run out during the call: hand it back untouched rather than contact the channel without a lease.
            return new Settlement(leased with { Status = plan.Uncertain ? DispatchStatus.Unknown : DispatchStatus.Queued, DueAt = now, LeaseOwner = null, LeaseUntil = null }, null, null, false);
        }

        var sender = plan.Sender!;
        if (plan.Refusal is { } refusal)
        {
            return await RefuseAsync(leased, sender, refusal.Reason, refusal.Detail, plan.Profile!, now, cancellationToken).ConfigureAwait(false);
        }

        if (plan.Uncertain)
        {
            // The last attempt may have reached the provider: ask it, or send again under the same key only where it deduplicates.
            var reconciled = await ReconcileAsync(leased, sender, now, cancellationToken).ConfigureAwait(false);
            if (reconciled is not null)
            {
                return reconciled;
            }
        }

        return await SendAsync(leased, sender, plan.Message!, plan.Profile!, cancellationToken).ConfigureAwait(false);
    }

    // The gate refuses the dispatch: it is cancelled, unless an earlier attempt's outcome is unknown and the provider can tell
    // that it had accepted it (then it was sent, whatever the gate says now).
    private async ValueTask<Settlement> RefuseAsync(DispatchRecord leased, IChannelSender sender, string reason, string detail, CustomerProfile profile, DateTimeOffset now, CancellationToken cancellationToken)
    {
        if (sender.Capabilities.HasFlag(ChannelCapabilities.StatusQuery) && sender is IChannelStatusQuery query)
        {
            try
            {
                if (await query.QueryAsync(leased.DispatchId, cancellationToken).ConfigureAwait(false) == DeliveryStatus.Accepted)
                {
                    return Sent(leased, profile.Id, now, "Reconciled: the provider had accepted it.");
                }
            }
            catch (Exception ex) when (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
            {
                detail += " The outcome of an earlier attempt could not be confirmed.";
            }
        }
        else
        {
            detail += " The outcome of an earlier attempt is unknown.";
        }

        return Cancel(leased, reason, detail, now);
    }

    // Null when the dispatch may be sent (again): the provider never had it, or deduplicates by its id.
    private async ValueTask<Settlement?> ReconcileAsync(DispatchRecord leased, IChannelSender sender, DateTimeOffset now, CancellationToken cancellationToken)
    {
        if (sender.Capabilities.HasFlag(ChannelCapabilities.StatusQuery) && sender is IChannelStatusQuery query)
        {
            DeliveryStatus status;
            try
            {
                status = await query.QueryAsync(leased.DispatchId, cancellationToken).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
            {
                status = DeliveryStatus.Unavailable;
            }

            switch (status)
            {
                case DeliveryStatus.Accepted:
                    var profile = await _identity.GetAsync(leased.CustomerId, cancellationToken).ConfigureAwait(false);
                    return Sent(leased, profile?.Id ?? leased.CustomerId, now, "Reconciled: the provider had accepted it.");
                case DeliveryStatus.NotFound:
                    return null;
                default:
                    return Uncertain(leased, now, "The provider could not say whether it had the message.", countAttempt: false);
            }
        }

        if (sender.Capabilities.HasFlag(ChannelCapabilities.IdempotencyKeys))
        {
            return null;
        }

        return Dead(leased, DispatchReasons.Unreconcilable, "The outcome of the last attempt is unknown and the channel can neither be asked nor deduplicates: a person decides whether to replay it.", now);
    }

    private async ValueTask<Settlement> SendAsync(DispatchRecord leased, IChannelSender sender, OutboundMessage message, CustomerProfile profile, CancellationToken cancellationToken)
    {
        SendResult result;
        try
        {
            result = await _pipelines[sender.Channel].ExecuteAsync(static (state, token) => state.Sender.SendAsync(state.Message, token), (Sender: sender, Message: message), cancellationToken).ConfigureAwait(false);
        }
        catch (BrokenCircuitException ex)
        {
            return Requeue(leased, _time.GetUtcNow() + (ex.RetryAfter ?? _options.For(sender.Channel).BreakerBreakDuration), DispatchReasons.ChannelBusy, "The channel's circuit is open.", countAttempt: false);
        }
        catch (RateLimiterRejectedException ex)
        {
            return Requeue(leased, _time.GetUtcNow() + (ex.RetryAfter ?? TimeSpan.FromSeconds(1)), DispatchReasons.ChannelBusy, "The channel's rate limit is reached.", countAttempt: false);
        }
        catch (TimeoutRejectedException)
        {
            result = SendResult.Unknown($"No answer within {_options.AttemptTimeout}.");
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            // Stopped mid-send: the request may have gone out.
            result = SendResult.Unknown("The worker stopped during the call.");
        }
        catch (Exception ex)
        {
            // A sender that throws may have sent: an unknown outcome, with the exception's type only (its text may hold an address).
            result = SendResult.Unknown(ex.GetType().Name);
        }

        var now = _time.GetUtcNow();
        EngagementTelemetry.RecordSendAttempt(sender.Channel, result.Outcome);

        // The provider's words are stored with the dispatch; an address it quotes is not.
        result = result with { Detail = Redaction.RedactContacts(result.Detail) };
        if (result.Outcome == SendOutcome.Accepted)
        {
            return Sent(leased, profile.Id, now, null, leased.Attempts + 1);
        }

        var attempted = leased with { Attempts = leased.Attempts + 1 };
        switch (result.Outcome)
        {
            case SendOutcome.TransientFailure:
                var due = now + Max(Backoff(attempted.Attempts), result.RetryAfter ?? TimeSpan.Zero);
                return attempted.Attempts >= _options.MaxAttempts || due > leased.CreatedAt + _options.GiveUpAfter
                    ? Dead(attempted, DispatchReasons.RetriesExhausted, $"{attempted.Attempts} attempt(s); the last: {result.Detail}", now)
                    : Requeue(attempted, due, DispatchReasons.Transient, result.Detail, countAttempt: true);
            case SendOutcome.PermanentFailure when result.FailureKind == PermanentFailureKind.AddressInvalid:
                var undeliverable = attempted with { Status = DispatchStatus.Undeliverable, Reason = DispatchReasons.AddressInvalid, Error = result.Detail, CompletedAt = now, DueAt = null, LeaseOwner = null, LeaseUntil = null };
                return new Settlement(undeliverable, null, message.Address, true);
            case SendOutcome.PermanentFailure:
                return Dead(attempted, result.FailureKind == PermanentFailureKind.ContentRejected ? DispatchReasons.ContentRejected : DispatchReasons.Rejected, result.Detail, now);
            default:
                return Uncertain(attempted, now, result.Detail, countAttempt: true);
        }
    }

    private Settlement Uncertain(DispatchRecord record, DateTimeOffset now, string? detail, bool countAttempt)
    {
        var due = now + Backoff(Math.Max(1, record.Attempts));
        if ((countAttempt && record.Attempts >= _options.MaxAttempts) || due > record.CreatedAt + _options.GiveUpAfter)
        {
            return Dead(record, DispatchReasons.Unreconcilable, "The outcome stayed unknown: " + detail, now);
        }

        return new Settlement(record with { Status = DispatchStatus.Unknown, DueAt = due, Reason = DispatchReasons.OutcomeUnknown, Error = detail, LeaseOwner = null, LeaseUntil = null }, null, null, true);
    }

    private static Settlement Sent(DispatchRecord record, CustomerId recipient, DateTimeOffset now, string? detail, int? attempts = null)
        => new(record with { Attempts = attempts ?? record.Attempts, Status = DispatchStatus.Sent, Reason = DispatchReasons.Accepted, Error = detail, CompletedAt = now, DueAt = null, LeaseOwner = null, LeaseUntil = null }, recipient, null, true);

    private static Settlement Requeue(DispatchRecord record, DateTimeOffset due, string reason, string? detail, bool countAttempt)
        => new(record with { Status = DispatchStatus.Queued, DueAt = due, Reason = reason, Error = detail, LeaseOwner = null, LeaseUntil = null }, null, null, countAttempt);

    private static Settlement Cancel(DispatchRecord record, string reason, string detail, DateTimeOffset now)
        => new(record with { Status = DispatchStatus.Cancelled, Reason = reason, Error = detail, CompletedAt = now, DueAt = null, LeaseOwner = null, LeaseUntil = null }, null, null, false);

    private static Settlement Dead(DispatchRecord record, string reason, string? detail, DateTimeOffset now)
        => new(record with { Status = DispatchStatus.DeadLettered, Reason = reason, Error = detail, CompletedAt = now, DueAt = null, LeaseOwner = null, LeaseUntil = null }, null, null, true);

    private static TimeSpan Max(TimeSpan a, TimeSpan b) => a >= b ? a : b;

    // Writes the outcomes of one pass in one unit of work: each dispatch only if this worker still holds its lease, with its
    // receipt (a sent message) or the suppression of its address (an invalid one). Where a receipt's own unit costs a
    // savepoint, the pass is first written without them; a receipt refused after its unit began undoes that attempt, and the
    // pass is written again with a savepoint a receipt (so that the refused one alone is left out).
    private async ValueTask<ImmutableArray<DispatchRecord>> SettleAsync(List<Settlement> settlements, CancellationToken cancellationToken)
    {
        if (_transactions is IOptimisticTransactions optimistic && optimistic.TryBeginOptimistic() is { } attempt)
        {
            var settled = await SettleInAsync(attempt, settlements, cancellationToken).ConfigureAwait(false);
            if (!settled.IsDefault)
            {
                return settled;
            }
        }

        return await SettleInAsync(_transactions.Begin(), settlements, cancellationToken).ConfigureAwait(false);
    }

    // Writes the settlements in the unit (which it ends); default when an optimistic unit had to be rolled back. What is
    // reported (telemetry, the log) is reported once the unit is written.
    private async ValueTask<ImmutableArray<DispatchRecord>> SettleInAsync(IUnitOfWork unit, List<Settlement> settlements, CancellationToken cancellationToken)
    {
        var settled = ImmutableArray.CreateBuilder<DispatchRecord>(settlements.Count);
        var counted = new List<DispatchRecord>(settlements.Count);
        var sends = new List<(DispatchRecord Dispatch, DateTimeOffset At)>(settlements.Count);
        await using (unit.ConfigureAwait(false))
        {
            await unit.StartAsync(cancellationToken).ConfigureAwait(false);
            foreach (var settlement in settlements)
            {
                var record = settlement.Record;
                if (!await _store.TrySettleAsync(record, WorkerId, cancellationToken).ConfigureAwait(false))
                {
                    await LostLeaseAsync(record, cancellationToken).ConfigureAwait(false);
                    continue;
                }

                if (settlement.Recipient is { } recipient)
                {
                    var receipt = new MessageSent
                    {
                        EventId = "sent-" + record.DispatchId,
                        CustomerId = recipient,
                        Timestamp = record.CompletedAt ?? _time.GetUtcNow(),
                        Channel = record.Channel,
                        DispatchId = record.DispatchId,
                        ActionId = record.ActionId,
                        ChoiceProbability = record.Decision?.ChoiceProbability,
                        Policy = record.Decision?.Policy,
                    };
                    var tracked = await TrackReceiptAsync(receipt, record, cancellationToken).ConfigureAwait(false);
                    if (unit is IOptimisticUnitOfWork { MustRollBack: true })
                    {
                        return default; // disposing the unit without completing it rolls the attempt back
                    }

                    if (tracked)
                    {
                        sends.Add((record, receipt.Timestamp));
                    }
                }

                if (settlement.InvalidAddress is { } address)
                {
                    await _ledger.SuppressAsync(address, SuppressionReason.InvalidAddress, "dispatch:" + record.DispatchId, cancellationToken).ConfigureAwait(false);
                }

                if (settlement.Counted)
                {
                    counted.Add(record);
                }

                settled.Add(record);
            }

            if (sends.Count > 0 && _engine is EngagementEngine engine)
            {
                // The sends of the pass are counted for learning at once, in the pass's unit of work (each once per dispatch).
                await engine.RecordReceiptSendsAsync(sends, cancellationToken).ConfigureAwait(false);
            }

            await unit.CompleteAsync(cancellationToken).ConfigureAwait(false);
        }

        foreach (var record in counted)
        {
            EngagementTelemetry.RecordDispatch(record.Channel, record.Status);
        }

        foreach (var record in settled)
        {
            if (record.Status is DispatchStatus.DeadLettered or DispatchStatus.Undeliverable)
            {
                Log.DispatchFailed(_logger, record.DispatchId, record.Channel.Name, record.Status.ToString(), record.Attempts);
            }
        }

        return settled.ToImmutable();
    }

    // A receipt the engine refuses (its own rules) is logged; the dispatch stays settled. True when the engine of this library
    // stored the receipt and left its send for the worker to count for learning.
    private async ValueTask<bool> TrackReceiptAsync(MessageSent receipt, DispatchRecord settled, CancellationToken cancellationToken)
    {
        try
        {
            if (_engine is EngagementEngine engine)
            {
                // It matches the receipt to the dispatch as settled here, without reading it again.
                var result = await engine.TrackReceiptAsync(receipt, settled, cancellationToken).ConfigureAwait(false);
                return !result.IsDuplicate && !result.IsErasedSubject;
            }

            await _engine.TrackAsync(receipt, cancellationToken).ConfigureAwait(false);
            return false;
        }
        catch (Exception ex) when (ex is EngagementValidationException or EventConflictException)
        {
            Log.ReceiptRefused(_logger, receipt.DispatchId, ex.GetType().Name);
            return false;
        }
    }

    // The lease was lost: another worker took the dispatch over (this one ran past its lease) or the customer was erased.
    private async ValueTask LostLeaseAsync(DispatchRecord record, CancellationToken cancellationToken)
    {
        if (await _store.GetAsync(record.DispatchId, cancellationToken).ConfigureAwait(false) is not null)
        {
            Log.LeaseLost(_logger, record.DispatchId, record.Channel.Name);
            return;
        }

        if (record.Status is DispatchStatus.Sent or DispatchStatus.Unknown)
        {
            // Erased while the message was with the channel: an audit row that says a message went out, with no personal data.
            var audit = record with
            {
                CustomerId = new CustomerId(CustomerErasure.ErasedSubjectId(record.CustomerId)),
                Status = record.Status,
                Reason = DispatchReasons.ErasedInFlight,
                Error = null,
                DueAt = null,
                LeaseOwner = null,
                LeaseUntil = null,
                CompletedAt = record.CompletedAt ?? _time.GetUtcNow(),
            };
            await _store.TryBeginAsync(audit, cancellationToken).ConfigureAwait(false);
        }
    }

    private static ResiliencePipeline<SendResult> BuildPipeline(ChannelResilienceOptions o, TimeSpan attemptTimeout, TimeProvider time)
    {
        var builder = new ResiliencePipelineBuilder<SendResult> { TimeProvider = time };
        if (o.PermitsPerSecond is { } permits)
        {
            builder.AddRateLimiter(new TokenBucketRateLimiter(new TokenBucketRateLimiterOptions
            {
                TokenLimit = permits,
                TokensPerPeriod = permits,
                ReplenishmentPeriod = TimeSpan.FromSeconds(1),
                QueueLimit = 0,
                AutoReplenishment = true,
            }));
        }

        // No retry and no hedging here: a retry is a durable reschedule in the outbox, and a hedged send would be a duplicate.
        builder.AddCircuitBreaker(new CircuitBreakerStrategyOptions<SendResult>
        {
            FailureRatio = o.BreakerFailureRatio,
            MinimumThroughput = o.BreakerMinimumThroughput,
            SamplingDuration = o.BreakerSamplingDuration,
            BreakDuration = o.BreakerBreakDuration,
            ShouldHandle = new PredicateBuilder<SendResult>()
                .Handle<Exception>(static ex => ex is not OperationCanceledException || ex is TimeoutRejectedException)
                .HandleResult(static r => r.Outcome is SendOutcome.TransientFailure or SendOutcome.Unknown),
        });
        return builder.AddTimeout(attemptTimeout).Build();
    }

    /// <summary>What the gates decided for one claimed dispatch.</summary>
    /// <param name="Leased">The dispatch under this worker's lease, as claimed (each settlement made of it sets its status and clears the lease).</param>
    /// <param name="Sender">Its channel.</param>
    /// <param name="Profile">The recipient.</param>
    /// <param name="Uncertain">Whether an earlier attempt's outcome is unknown.</param>
    /// <param name="Done">The settlement, when no channel needs to be contacted.</param>
    /// <param name="Refusal">For an uncertain dispatch the gates refuse: why (the channel may still confirm it had it).</param>
    /// <param name="Message">The message to hand over.</param>
    private sealed record Plan(DispatchRecord Leased, IChannelSender? Sender, CustomerProfile? Profile, bool Uncertain, Settlement? Done, (string Reason, string Detail)? Refusal, OutboundMessage? Message)
    {
        public static Plan Settled(Settlement settlement) => new(settlement.Record, null, null, false, settlement, null, null);
    }

    /// <summary>One dispatch's outcome, to be written.</summary>
    /// <param name="Record">The dispatch as it is to be left.</param>
    /// <param name="Recipient">For a sent message: the customer its receipt is tracked for.</param>
    /// <param name="InvalidAddress">For an address the channel refused for good: the address to suppress.</param>
    /// <param name="Counted">Whether the outcome is reported to telemetry (a deferral or a hand-back is not).</param>
    private sealed record Settlement(DispatchRecord Record, CustomerId? Recipient, Profiles.Identifier? InvalidAddress, bool Counted);
}
