using System.Collections.Immutable;
using System.Diagnostics;
using System.Security.Cryptography;
using System.Text;
using Engagement.Sdk.Channels;
using Engagement.Sdk.Consent;
using Engagement.Sdk.Decisioning;
using Engagement.Sdk.Diagnostics;
using Engagement.Sdk.Events;
using Engagement.Sdk.Journeys;
using Engagement.Sdk.Profiles;
using Engagement.Sdk.Segments;
using Engagement.Sdk.Storage;
using Engagement.Sdk.Threading;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

namespace Engagement.Sdk;

/// <summary>The message a decision queued in the outbox.</summary>
/// <param name="ActionId">The action.</param>
/// <param name="Channel">The channel.</param>
/// <param name="Result">The outbox's result: queued, or a replay of a dispatch queued before.</param>
public sealed record DispatchSummary(string ActionId, Channel Channel, DispatchResult Result);

/// <summary>The outcome of one event of a batch: its result, or the reason it was rejected (then nothing of it was applied).</summary>
/// <param name="Index">The event's position in the batch.</param>
/// <param name="Result">What tracking it did, when it was accepted.</param>
/// <param name="Error">Why it was rejected: an <see cref="EngagementValidationException"/>, an <see cref="EventConflictException"/> or a <see cref="CurrencyMismatchException"/>.</param>
public sealed record BatchItemResult(int Index, TrackResult? Result, Exception? Error)
{
    /// <summary>Whether the event was accepted.</summary>
    public bool IsSuccess => Error is null;
}

/// <summary>The SDK's entry point: track events, record consent, decide.</summary>
public interface IEngagementEngine
{
    /// <summary>
    /// Runs one event through the loop: validate → append (idempotent) → update the profile → re-evaluate journeys → decide
    /// (when the event or a stage change triggers it) → check permission → queue the message in the outbox, all in one unit of
    /// work; the <see cref="DispatchWorker"/> delivers it and its receipt comes back as an event.
    /// </summary>
    /// <param name="engagementEvent">The event.</param>
    /// <param name="cancellationToken">Cancels the work.</param>
    /// <returns>What happened.</returns>
    /// <exception cref="EngagementValidationException">The event breaks a rule; nothing was stored.</exception>
    /// <exception cref="EventConflictException">The event id was used before for a different payload.</exception>
    ValueTask<TrackResult> TrackAsync(EngagementEvent engagementEvent, CancellationToken cancellationToken = default);

    /// <summary>
    /// Tracks a batch of events in order. An event that breaks a rule or conflicts with a stored one is rejected alone, with its
    /// reason; the others proceed. Infrastructure failures (a store that cannot be written) stop the batch and are thrown.
    /// </summary>
    /// <param name="events">The events.</param>
    /// <param name="cancellationToken">Cancels the work.</param>
    /// <returns>One result per event, in order.</returns>
    ValueTask<ImmutableArray<BatchItemResult>> TrackBatchAsync(IEnumerable<EngagementEvent> events, CancellationToken cancellationToken = default);

    /// <summary>Validates and appends a consent record to the ledger.</summary>
    /// <param name="record">The record.</param>
    /// <param name="cancellationToken">Cancels the write.</param>
    /// <returns>Whether it was appended or a duplicate.</returns>
    ValueTask<AppendOutcome> RecordConsentAsync(ConsentRecord record, CancellationToken cancellationToken = default);

    /// <summary>Decides the next best action for a customer now, without sending anything.</summary>
    /// <param name="customerId">The customer.</param>
    /// <param name="cancellationToken">Cancels the decision.</param>
    /// <returns>The decision.</returns>
    ValueTask<Decision> DecideAsync(CustomerId customerId, CancellationToken cancellationToken = default);

    /// <summary>
    /// Queues the held messages that contact policy now allows, highest priority first per customer (each one checked again:
    /// consent, eligibility, caps, quiet hours); reschedules the ones still deferred and cancels the expired and the no longer
    /// permitted. Call it periodically (for example every minute); each customer is handled in one unit of work.
    /// </summary>
    /// <param name="cancellationToken">Cancels the work.</param>
    /// <returns>What happened to each held message that was due or expired.</returns>
    ValueTask<ImmutableArray<HeldMessageOutcome>> ReleaseHeldAsync(CancellationToken cancellationToken = default);

    /// <summary>
    /// Evaluates the customers whose journey timers are due (a wait ended, a time-out passed, a windowed condition such as
    /// "no purchase for 90 days" came true): each one at every due instant up to now, in order, in a unit of work of its own
    /// under the customer's lock, so the stages, steps and sends are the same as if the customer's next event had done it.
    /// Only due customers are read (the store indexes due times). Call it periodically (for example every minute).
    /// </summary>
    /// <param name="cancellationToken">Cancels the work (customers already evaluated stay evaluated).</param>
    /// <returns>How many customers were evaluated, and what the journeys recorded.</returns>
    ValueTask<JourneySweepResult> SweepJourneysAsync(CancellationToken cancellationToken = default);

    /// <summary>
    /// Evaluates the customers whose segment timers are due (a counted event left its window, so a condition such as "no
    /// purchase in 90 days" may have come true): each in a unit of work of its own under the customer's lock; entries and exits
    /// are recorded and their events run through the journeys, as after an event. Only due customers are read (the store
    /// indexes due times). Call it periodically (for example every minute).
    /// </summary>
    /// <param name="cancellationToken">Cancels the work (customers already evaluated stay evaluated).</param>
    /// <returns>How many customers were evaluated, their entries and exits, and what the journeys recorded.</returns>
    ValueTask<SegmentSweepResult> SweepSegmentsAsync(CancellationToken cancellationToken = default);
}

/// <summary>
/// The thin engine that strings the components together. Events of one customer are processed one at a time (a striped
/// lock), so frequency caps and profile updates are atomic within the process; optimistic concurrency on profiles covers
/// other processes.
/// </summary>
public sealed class EngagementEngine : IEngagementEngine
{
    private const int MaxSaveAttempts = 5;
    private readonly TombstoneHashCache _tombstones = new(16_384); // about 3 MB when full
    private readonly IProfileStore _profiles;
    private readonly InMemoryProfileStore? _memoryProfiles;
    private readonly IEventStore _events;
    private readonly ConsentLedger _ledger;
    private readonly ISuppressionStore _suppressions;
    private readonly NextBestActionDecider _decider;
    private readonly DispatchOutbox _outbox;
    private readonly HeldMessageContest _contest;
    private readonly DeliveryReceipts _receipts;
    private readonly TimeProvider _time;
    private readonly EngagementOptions _options;
    private readonly EventValidator _validator;
    private readonly IdentityResolver _identity;
    private readonly IStoreTransactions _transactions;
    private readonly ActionCatalog _catalog;
    private readonly JourneyOrchestrator _journeys;
    private readonly SegmentOrchestrator _segments;
    private readonly CustomerUnits _units;
    private readonly DueSweeper _sweeper;
    private readonly ILogger _logger;
    private readonly LogIds _logIds;

    /// <summary>Creates the engine.</summary>
    /// <param name="profiles">The profile store.</param>
    /// <param name="events">The event store.</param>
    /// <param name="ledger">The consent ledger.</param>
    /// <param name="decider">The next-best-action decider (its catalogue, propensities and contact history are the engine's).</param>
    /// <param name="outbox">The outbox decided messages are queued in.</param>
    /// <param name="time">The clock.</param>
    /// <param name="options">The options.</param>
    /// <param name="suppressions">The suppression list, which holds the tombstones of erased customers.</param>
    /// <param name="logger">The logger.</param>
    /// <param name="identity">Identity resolution; by default one over the same stores, ledger and options.</param>
    /// <param name="transactions">The storage's units of work (<see cref="InMemoryTransactions"/> for the in-memory stores, as <c>AddEngagement</c> registers; none when omitted).</param>
    /// <param name="contactPolicy">The contact policy (for the size of each customer's queue of held messages).</param>
    /// <param name="journeyStore">Where the journeys' state, timers and history are kept (the decider's, else in memory, when omitted).</param>
    /// <param name="journeyCatalog">The compiled journeys (the decider's, else made from <see cref="EngagementOptions.Journeys"/> and the actions, when omitted).</param>
    /// <param name="segmentStore">Where the segments' state, members and history are kept (in memory when omitted).</param>
    /// <param name="segmentCatalog">The compiled segments (made from <see cref="EngagementOptions.Segments"/> when omitted).</param>
    public EngagementEngine(
        IProfileStore profiles,
        IEventStore events,
        ConsentLedger ledger,
        NextBestActionDecider decider,
        DispatchOutbox outbox,
        TimeProvider time,
        IOptions<EngagementOptions> options,
        ISuppressionStore suppressions,
        ILogger<EngagementEngine>? logger = null,
        IdentityResolver? identity = null,
        IStoreTransactions? transactions = null,
        IOptions<ContactPolicyOptions>? contactPolicy = null,
        IJourneyStore? journeyStore = null,
        JourneyCatalog? journeyCatalog = null,
        ISegmentStore? segmentStore = null,
        SegmentCatalog? segmentCatalog = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        _profiles = profiles ?? throw new ArgumentNullException(nameof(profiles));
        _memoryProfiles = profiles as InMemoryProfileStore;
        _events = events ?? throw new ArgumentNullException(nameof(events));
        _ledger = ledger ?? throw new ArgumentNullException(nameof(ledger));
        _suppressions = suppressions ?? throw new ArgumentNullException(nameof(suppressions));
        _outbox = outbox ?? throw new ArgumentNullException(nameof(outbox));
        _decider = decider ?? throw new ArgumentNullException(nameof(decider));
        _time = time ?? throw new ArgumentNullException(nameof(time));
        _options = options.Value;
        _validator = new EventValidator(time, _options.MaxClockSkew, _options.LatenessWindow);
        _logger = logger ?? NullLogger<EngagementEngine>.Instance;
        // The journeys read and write the same journey store as the decider's eligibility (both from the container).
        var journeys = journeyCatalog ?? decider.Facts?.Catalog ?? JourneyCatalog.FromOptions(_options, decider.Catalog);
        journeyStore ??= decider.Facts?.Store ?? new InMemoryJourneyStore();
        _logIds = LogIds.For(_options);
        _journeys = new JourneyOrchestrator(journeys, journeyStore, _decider, outbox, ledger, _logger, _logIds);
        _segments = new SegmentOrchestrator(segmentCatalog ?? SegmentCatalog.FromOptions(_options, journeys), segmentStore ?? new InMemorySegmentStore(), _journeys, ledger);
        _identity = identity ?? new IdentityResolver(profiles, events, ledger, time, options);
        // The journeys and segments follow merges the host asks for and unmerges.
        _identity.Follower = _segments.Catalog.IsEmpty ? _journeys : new MergeFollowers(_journeys, _segments);
        _transactions = transactions ?? NoTransactions.Instance;
        _units = new CustomerUnits(1024, _transactions, _identity); // two writers meet on a stripe about once in 1,000 events
        _sweeper = new DueSweeper(_transactions, _units, time);
        _catalog = decider.Catalog;
        _receipts = new DeliveryReceipts(outbox.Store, _identity, ledger, decider.Propensities, decider.Contacts, time);
        _contest = new HeldMessageContest(_decider, outbox, _catalog, contactPolicy?.Value ?? new ContactPolicyOptions(), time, _logger, _logIds);
    }

    /// <summary>The journeys the engine moves (for tests).</summary>
    internal JourneyOrchestrator Journeys => _journeys;

    /// <inheritdoc />
    public ValueTask<TrackResult> TrackAsync(EngagementEvent engagementEvent, CancellationToken cancellationToken = default)
        => TrackAsync(engagementEvent, null, cancellationToken);

    /// <summary>
    /// Tracks the delivery worker's receipt of a dispatch it has just settled (the dispatch is not read again to match it). The
    /// send is not counted for learning here: the worker counts those of its pass with <see cref="RecordReceiptSendsAsync"/>.
    /// </summary>
    internal ValueTask<TrackResult> TrackReceiptAsync(MessageSent receipt, DispatchRecord settled, CancellationToken cancellationToken)
        => TrackAsync(receipt, settled, cancellationToken);

    /// <summary>
    /// Counts for learning the sends whose receipts <see cref="TrackReceiptAsync"/> stored (which leaves them to the worker), in
    /// one write: call it in the unit of work the receipts were tracked in.
    /// </summary>
    internal ValueTask<int> RecordReceiptSendsAsync(IReadOnlyList<(DispatchRecord Dispatch, DateTimeOffset At)> sends, CancellationToken cancellationToken)
        => _decider.Propensities.RecordSendsAsync(sends, cancellationToken);

    private ValueTask<TrackResult> TrackAsync(EngagementEvent engagementEvent, DispatchRecord? settled, CancellationToken cancellationToken)
    {
        // One reading of the clock an event: the validation's "not in the future" and the journeys' "now".
        var now = _time.GetUtcNow();
        try
        {
            _validator.Validate(engagementEvent, now);
            RequireShopCurrency(engagementEvent);
            engagementEvent = _identity.Normalise(engagementEvent);
        }
        catch (Exception ex)
        {
            // Whatever the checks throw is reported through the returned task, as every failure of an asynchronous method is.
            return ValueTask.FromException<TrackResult>(ex);
        }

        var activity = EngagementTelemetry.Source.StartActivity("engagement.track");
        if (activity is null && _transactions is NoTransactions)
        {
            // Nothing to trace and no unit of work to open (the in-memory stores): the locked part is the whole of it.
            return TrackLockedAsync(engagementEvent, NoTransactions.Instance, now, settled, cancellationToken);
        }

        // One unit of work per event, under the customer's lock: the event and all its effects are written together.
        activity?.SetTag("event.type", engagementEvent.TypeName);
        return _units.RunEventAsync(engagementEvent.CustomerId, activity, (Engine: this, Event: engagementEvent, Now: now, Settled: settled), static (s, unit, ct) => s.Engine.TrackCoreAsync(s.Event, unit, s.Now, s.Settled, ct), cancellationToken);
    }

    private async ValueTask<TrackResult> TrackLockedAsync(EngagementEvent engagementEvent, IUnitOfWork unit, DateTimeOffset now, DispatchRecord? settled, CancellationToken cancellationToken)
    {
        var gate = LockFor(engagementEvent.CustomerId);
        await gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            return await TrackCoreAsync(engagementEvent, unit, now, settled, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            gate.Release();
        }
    }

    // Called holding the customer's lock.
    private async ValueTask<TrackResult> TrackCoreAsync(EngagementEvent engagementEvent, IUnitOfWork unit, DateTimeOffset now, DispatchRecord? settled, CancellationToken cancellationToken)
    {
        if (await _tombstones.IsErasedAsync(engagementEvent.CustomerId, _suppressions, cancellationToken).ConfigureAwait(false))
        {
            return new TrackResult(engagementEvent, false, null, [], null, null) { IsErasedSubject = true };
        }

        if (engagementEvent is Refunded or Purchased)
        {
            // A refund is checked against its order, and a purchase against the revenue limit, before anything is written.
            var current = await _identity.GetAsync(engagementEvent.CustomerId, cancellationToken).ConfigureAwait(false) ?? CustomerProfile.New(engagementEvent.CustomerId);
            ProfileUpdater.CheckAgainst(current.Behaviour, engagementEvent);
        }

        if (engagementEvent is ConsentChanged change)
        {
            // The ledger validates and records the change first: a record it refuses rejects the event.
            await _ledger.RecordAsync(change.Record, cancellationToken).ConfigureAwait(false);
        }

        // A receipt is matched to the dispatch it reports on before anything is written.
        var receipt = engagementEvent as MessageEvent;
        var receiptOf = receipt is null ? null : await _receipts.MatchAsync(receipt, settled, cancellationToken).ConfigureAwait(false);

        if (await _events.AppendAsync(engagementEvent, cancellationToken).ConfigureAwait(false) == AppendOutcome.Duplicate)
        {
            EngagementTelemetry.RecordEvent(engagementEvent.TypeName, duplicate: true);
            Log.DuplicateEvent(_logger, engagementEvent.EventId, engagementEvent.TypeName);
            return new TrackResult(engagementEvent, true, null, [], null, null);
        }

        EngagementTelemetry.RecordEvent(engagementEvent.TypeName, duplicate: false);

        // Most events stitch nothing: then no resolution object is made (the result makes one if asked for it).
        var route = await _identity.RouteAsync(engagementEvent.CustomerId, engagementEvent.Identifiers, cancellationToken).ConfigureAwait(false);
        var identity = route.Resolution;
        foreach (var merge in identity?.Merges ?? [])
        {
            Log.Merged(_logger, _logIds.Of(merge.MergedId), _logIds.Of(merge.SurvivorId), merge.MatchedOn?.Kind.Name);
        }

        if (route.CustomerId != engagementEvent.CustomerId)
        {
            // The event belongs to another profile (a merge): its decisions and caps are that customer's.
            await unit.LockCustomerAsync(route.CustomerId, cancellationToken).ConfigureAwait(false);
        }

        IReadOnlyCollection<Identifier> withheld = identity is null || identity.Conflicts.IsEmpty ? Array.Empty<Identifier>() : identity.Conflicts.Select(c => c.Identifier).ToHashSet();
        // A customer's first event: the ledger may already hold their objection to profiling.
        var known = route.Profile ?? await _ledger.NewProfileAsync(route.CustomerId, cancellationToken).ConfigureAwait(false);
        var (before, profile) = await ApplyAndSaveAsync(engagementEvent, route.CustomerId, withheld, now, known, cancellationToken).ConfigureAwait(false);
        var journeys = await _journeys.OnEventAsync(profile, engagementEvent, now, before, cancellationToken).ConfigureAwait(false);
        var segments = await _segments.OnEventAsync(profile, engagementEvent, now, cancellationToken).ConfigureAwait(false);
        journeys = segments.After(journeys);
        var moved = journeys.Transitions;

        if (receipt is not null)
        {
            // Learning from sends and clicks, suppressions from hard bounces and complaints.
            // The delivery worker's own receipts (settled) leave the send's learning to the worker, which counts a pass at once.
            await _receipts.ApplyAsync(receipt, receiptOf!, profile, cancellationToken, countSend: settled is null).ConfigureAwait(false);
        }

        var trigger = _options.DecisionTriggers.Contains(engagementEvent.TypeName) || segments.Triggers(_options.DecisionTriggers) || (_options.DecideOnStageChange && !moved.IsEmpty);
        if (!trigger || receipt is not null)
        {
            return new TrackResult(engagementEvent, false, profile, moved, null, null) { Identity = identity, IsRouted = true, JourneyHistory = journeys.History, SegmentChanges = segments.Changes };
        }

        var decision = await DecideCoreAsync(profile, engagementEvent, reserve: true, cancellationToken).ConfigureAwait(false);
        var contest = await _contest.ContendAsync(profile, profile.Id, decision, engagementEvent, cancellationToken).ConfigureAwait(false);
        return new TrackResult(engagementEvent, false, profile, moved, contest.Decision ?? decision, contest.Live) { Identity = identity, IsRouted = true, HeldMessages = contest.Held, JourneyHistory = journeys.History, SegmentChanges = segments.Changes };
    }

    /// <inheritdoc />
    public ValueTask<ImmutableArray<BatchItemResult>> TrackBatchAsync(IEnumerable<EngagementEvent> events, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(events);
        return EventBatch.TrackAsync(_transactions, events as IReadOnlyList<EngagementEvent> ?? [.. events], TrackAsync, cancellationToken);
    }

    /// <inheritdoc />
    public async ValueTask<AppendOutcome> RecordConsentAsync(ConsentRecord record, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(record);
        var unit = _transactions.Begin();
        AsyncGate? gate = null;
        try
        {
            await unit.StartAsync(cancellationToken).ConfigureAwait(false);
            await unit.LockCustomerAsync(record.CustomerId, cancellationToken).ConfigureAwait(false);
            var customerGate = LockFor(record.CustomerId);
            await customerGate.WaitAsync(cancellationToken).ConfigureAwait(false);
            gate = customerGate;

            // Consent given under an id that was merged stays in that id's ledger: it counts for the person it was merged
            // into (PersonConsent), and goes back with the id if the merge is undone.
            var outcome = await _ledger.RecordAsync(record, cancellationToken).ConfigureAwait(false);
            await unit.CompleteAsync(cancellationToken).ConfigureAwait(false);
            return outcome;
        }
        finally
        {
            // The unit ends (and undoes its writes if it was not completed) before anyone else may build on them.
            await unit.DisposeAsync().ConfigureAwait(false);
            gate?.Release();
        }
    }

    /// <inheritdoc />
    public async ValueTask<Decision> DecideAsync(CustomerId customerId, CancellationToken cancellationToken = default)
    {
        var profile = await _identity.GetAsync(customerId, cancellationToken).ConfigureAwait(false) ?? CustomerProfile.New(customerId);
        return await DecideCoreAsync(profile, null, reserve: false, cancellationToken).ConfigureAwait(false);
    }

    // A decision that will be sent (reserve) uses volume budgets; one that only looks checks them.
    private async ValueTask<Decision> DecideCoreAsync(CustomerProfile profile, EngagementEvent? trigger, bool reserve, CancellationToken cancellationToken)
    {
        var started = Stopwatch.GetTimestamp();
        using var activity = EngagementTelemetry.Source.StartActivity("engagement.decide");
        var request = new DecisionRequest(profile, _time.GetUtcNow())
        {
            Context = DecisionContext.From(profile, trigger),
            DecisionId = trigger is null ? null : "event:" + trigger.EventId,
            ReserveBudgets = reserve,
        };
        Decision decision;
        try
        {
            decision = await _decider.DecideAsync(request, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex)
        {
            EngagementTelemetry.Fail(activity, ex);
            throw;
        }

        EngagementTelemetry.RecordDecision(Stopwatch.GetElapsedTime(started).TotalMilliseconds);
        EngagementTelemetry.RecordDecision(decision.Channel, decision.Action.Kind == ActionKind.NoAction);
        decision.VisitPermissionRefusals((Logger: _logger, Customer: _logIds.Of(profile.Id)), static (state, actionId, channel, permission) =>
        {
            if (IsConsentReason(permission.Code))
            {
                EngagementTelemetry.RecordSuppressed(channel, permission.Code);
                Log.Suppressed(state.Logger, actionId, state.Customer, channel.Name, permission.Code);
            }
        });

        Log.Decided(_logger, _logIds.Of(profile.Id), decision.Action.Id, decision.Channel?.Name);
        activity?.SetTag("decision.action", decision.Action.Id);
        return decision;
    }

    /// <summary>Whether a permission reason code is a consent reason (as opposed to contact policy or a missing address).</summary>
    /// <param name="code">The code.</param>
    /// <returns><see langword="true"/> for consent reasons.</returns>
    public static bool IsConsentReason(string code)
        => code is PermissionReasons.NoConsent or PermissionReasons.Withdrawn or PermissionReasons.Denied or PermissionReasons.Objected
            or PermissionReasons.PendingConfirmation or PermissionReasons.Expired or PermissionReasons.StoreUnavailable;

    // Returns the profile the event was applied to and the saved result. The first attempt runs without an asynchronous state
    // machine when the store answers at once (in memory, or from a cache).
    private ValueTask<(CustomerProfile Before, CustomerProfile Saved)> ApplyAndSaveAsync(EngagementEvent engagementEvent, CustomerId target, IReadOnlyCollection<Identifier> withheld, DateTimeOffset now, CustomerProfile? known, CancellationToken cancellationToken)
    {
        if (known is null || known.Id != target)
        {
            return ApplyAndSaveSlowAsync(engagementEvent, target, withheld, now, null, 1, cancellationToken);
        }

        var profile = Apply(known, engagementEvent, withheld);
        ValueTask<CustomerProfile> save;
        try
        {
            save = SaveApplied(profile, cancellationToken);
        }
        catch (ConcurrencyConflictException)
        {
            Log.ProfileConflict(_logger, _logIds.Of(engagementEvent.CustomerId), 1);
            return ApplyAndSaveSlowAsync(engagementEvent, target, withheld, now, null, 2, cancellationToken);
        }

        return save.IsCompletedSuccessfully
            ? new ValueTask<(CustomerProfile, CustomerProfile)>((known, save.Result))
            : ApplyAndSaveSlowAsync(engagementEvent, target, withheld, now, (known, save), 1, cancellationToken);
    }

    // From attempt `first` on: a save already under way for it is awaited, later attempts re-read the profile (following any
    // merge made meanwhile) and apply the event again.
    private async ValueTask<(CustomerProfile Before, CustomerProfile Saved)> ApplyAndSaveSlowAsync(EngagementEvent engagementEvent, CustomerId target, IReadOnlyCollection<Identifier> withheld, DateTimeOffset now, (CustomerProfile Before, ValueTask<CustomerProfile> Save)? pending, int first, CancellationToken cancellationToken)
    {
        for (var attempt = first; ; attempt++)
        {
            ValueTask<CustomerProfile> save;
            CustomerProfile stored;
            if (pending is { } underway)
            {
                (stored, save) = underway;
                pending = null;
            }
            else
            {
                stored = await _identity.GetAsync(target, cancellationToken).ConfigureAwait(false) ?? CustomerProfile.New(target);
                save = default;
                try
                {
                    save = SaveApplied(Apply(stored, engagementEvent, withheld), cancellationToken);
                }
                catch (ConcurrencyConflictException) when (attempt < MaxSaveAttempts)
                {
                    Log.ProfileConflict(_logger, _logIds.Of(engagementEvent.CustomerId), attempt);
                    continue;
                }
            }

            try
            {
                return (stored, await save.ConfigureAwait(false));
            }
            catch (ConcurrencyConflictException) when (attempt < MaxSaveAttempts)
            {
                Log.ProfileConflict(_logger, _logIds.Of(engagementEvent.CustomerId), attempt);
            }
        }
    }

    // Saves what Apply made: the in-memory store takes it as the next version as it is, without copying it again.
    private ValueTask<CustomerProfile> SaveApplied(CustomerProfile applied, CancellationToken cancellationToken)
    {
        if (_memoryProfiles is not { } memory)
        {
            return _profiles.SaveAsync(applied, cancellationToken);
        }

        cancellationToken.ThrowIfCancellationRequested();
        return new ValueTask<CustomerProfile>(memory.SaveNext(applied));
    }

    // The event applied to the profile (with the next version already, for the in-memory store), and to the states an
    // unmerge restores, each on its own side.
    private CustomerProfile Apply(CustomerProfile stored, EngagementEvent engagementEvent, IReadOnlyCollection<Identifier> withheld)
    {
        var profile = ProfileUpdater.ApplyTo(stored, engagementEvent, withheld, _memoryProfiles is null ? 0 : 1);
        return profile.Merges.IsDefaultOrEmpty
            ? profile
            : profile with { Merges = MergeShadows.Advance(profile.Merges, engagementEvent.CustomerId, engagementEvent, withheld, static (side, e, w) => ProfileUpdater.ApplyTo(side, e, w)) };
    }

    private void RequireShopCurrency(EngagementEvent engagementEvent)
    {
        var currency = engagementEvent switch
        {
            Purchased order when !order.Lines.IsDefaultOrEmpty => order.Lines[0].UnitPrice.Currency,
            Refunded refund => refund.Amount.Currency,
            _ => _options.Currency,
        };

        if (currency != _options.Currency)
        {
            throw new EngagementValidationException("currency", currency.Code, $"amounts must be in the shop's currency {_options.Currency.Code}; convert them before tracking");
        }
    }

    /// <inheritdoc />
    public async ValueTask<ImmutableArray<HeldMessageOutcome>> ReleaseHeldAsync(CancellationToken cancellationToken = default)
    {
        var now = _time.GetUtcNow();
        var owners = new List<CustomerId>();
        var seen = new HashSet<CustomerId>();
        await foreach (var held in _outbox.ListHeldAsync(cancellationToken).ConfigureAwait(false))
        {
            if ((held.ReleaseAt <= now || held.ExpiresAt <= now) && seen.Add(held.CustomerId))
            {
                owners.Add(held.CustomerId);
            }
        }

        // The messages were held for their owner; if the profile was merged since, the survivor receives them.
        var outcomes = ImmutableArray.CreateBuilder<HeldMessageOutcome>();
        foreach (var owner in owners)
        {
            var contest = await _units.RunAsync(owner, _contest, static (owner, profile, contest, ct) => contest.ContendAsync(profile, owner, null, null, ct), cancellationToken).ConfigureAwait(false);
            outcomes.AddRange(contest.Held);
        }

        return outcomes.ToImmutable();
    }

    /// <inheritdoc />
    public async ValueTask<JourneySweepResult> SweepJourneysAsync(CancellationToken cancellationToken = default)
    {
        var history = ImmutableArray.CreateBuilder<JourneyHistoryEntry>();
        var swept = await _sweeper.SweepAsync(_journeys.ListDueAsync, SweepJourneysOfAsync, history.AddRange, cancellationToken).ConfigureAwait(false);
        JourneyLog.Swept(_logger, swept);
        return new JourneySweepResult(swept, history.ToImmutable());
    }

    // A stage moved with time may change the segments that test stages.
    private async ValueTask<ImmutableArray<JourneyHistoryEntry>> SweepJourneysOfAsync(CustomerProfile profile, DateTimeOffset now, CancellationToken cancellationToken)
    {
        var outcome = await _journeys.OnTimeAsync(profile, now, cancellationToken).ConfigureAwait(false);
        return outcome.Transitions.IsEmpty ? outcome.History : (await _segments.OnStagesMovedAsync(profile, now, cancellationToken).ConfigureAwait(false)).After(outcome).History;
    }

    /// <inheritdoc />
    public async ValueTask<SegmentSweepResult> SweepSegmentsAsync(CancellationToken cancellationToken = default)
    {
        var changes = ImmutableArray.CreateBuilder<SegmentChange>();
        var history = ImmutableArray.CreateBuilder<JourneyHistoryEntry>();
        var swept = await _sweeper.SweepAsync(
            _segments.ListDueAsync,
            _segments.OnTimeAsync,
            outcome =>
            {
                changes.AddRange(outcome.Changes);
                history.AddRange(outcome.Journeys.History);
            },
            cancellationToken).ConfigureAwait(false);
        return new SegmentSweepResult(swept, changes.ToImmutable(), history.ToImmutable());
    }

    private AsyncGate LockFor(CustomerId customerId) => _units.For(customerId);

    // Deterministic for one trigger, action and channel (a replayed event finds its dispatch), and growing with the trigger's
    // time: the instant's ticks lead, so stores append new dispatches (and their receipts) at the end of their id indexes
    // instead of on a random page, as a hash alone would.
    internal static string DispatchIdFor(EngagementEvent trigger, string actionId, Channel channel)
    {
        // "d-", the trigger's UTC ticks in 16 hex digits, then the first 12 bytes of SHA-256(UTF-8 of event id \n action \n
        // channel) in hex: the same for the same trigger, action and channel, so a decision made again is a replay. Made in
        // stack buffers: only the id itself is allocated.
        var name = channel.Name;
        var length = Encoding.UTF8.GetByteCount(trigger.EventId) + Encoding.UTF8.GetByteCount(actionId) + Encoding.UTF8.GetByteCount(name) + 2;
        byte[]? rented = null;
        var bytes = length <= 256 ? stackalloc byte[256] : (rented = System.Buffers.ArrayPool<byte>.Shared.Rent(length));
        var n = Encoding.UTF8.GetBytes(trigger.EventId, bytes);
        bytes[n++] = (byte)'\n';
        n += Encoding.UTF8.GetBytes(actionId, bytes[n..]);
        bytes[n++] = (byte)'\n';
        n += Encoding.UTF8.GetBytes(name, bytes[n..]);
        Span<byte> hash = stackalloc byte[SHA256.HashSizeInBytes];
        SHA256.HashData(bytes[..n], hash);
        if (rented is not null)
        {
            System.Buffers.ArrayPool<byte>.Shared.Return(rented);
        }

        Span<char> id = stackalloc char[2 + 16 + 24];
        id[0] = 'd';
        id[1] = '-';
        trigger.Timestamp.UtcTicks.TryFormat(id[2..18], out _, "x16", System.Globalization.CultureInfo.InvariantCulture);
        Convert.TryToHexStringLower(hash[..12], id[18..], out _);
        return new string(id);
    }
}
