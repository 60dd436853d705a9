using System.Collections.Immutable;
using System.Runtime.InteropServices;
using System.Security.Cryptography;
using System.Text;
using Engagement.Sdk.Channels;
using Engagement.Sdk.Conditions;
using Engagement.Sdk.Consent;
using Engagement.Sdk.Decisioning;
using Engagement.Sdk.Events;
using Engagement.Sdk.Profiles;
using Engagement.Sdk.Storage;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Engagement.Sdk.Journeys;

/// <summary>
/// The journeys' step of the engine: after an event has updated the profile (or when a customer's timer falls due), loads the
/// customer's journey state, folds in profiles merged into theirs, evaluates every journey (catching up with time first),
/// stores the new state, runs the send steps through next-best-action, the permission gate and the outbox (a control-group
/// customer's would-be sends are recorded instead), and records the history. Runs under the customer's lock, in the unit of
/// work of the event or of the sweep, so a step and its send are stored together or not at all.
/// </summary>
public sealed class JourneyOrchestrator
{
    private readonly JourneyEvaluator _evaluator;
    private readonly JourneyFacts _facts;
    private readonly NextBestActionDecider _decider;
    private readonly DispatchOutbox _outbox;
    private readonly ILogger _logger;
    private readonly Diagnostics.LogIds _logIds;

    // A workspace kept from the last evaluation for the next one (an evaluation makes one at most): its arrays and effect list
    // are reused instead of made for every event. Taken and given back with one atomic exchange, so concurrent evaluations of
    // different customers each have their own.
    private JourneyWorkspace? _spare;

    /// <summary>Creates the orchestrator.</summary>
    /// <param name="catalog">The journeys.</param>
    /// <param name="store">Where the journeys' state and history are kept.</param>
    /// <param name="decider">Next-best-action, which every send step goes through (build it with the same catalogue and store).</param>
    /// <param name="outbox">The outbox sends are queued in.</param>
    /// <param name="ledger">The consent ledger, for consent conditions.</param>
    /// <param name="logger">The logger (customer ids in its messages are hashed).</param>
    public JourneyOrchestrator(JourneyCatalog catalog, IJourneyStore store, NextBestActionDecider decider, DispatchOutbox outbox, ConsentLedger? ledger = null, ILogger? logger = null)
        : this(catalog, store, decider, outbox, ledger, logger, Diagnostics.LogIds.Hashed)
    {
    }

    /// <summary>Creates the orchestrator, with customer ids in logs as the engine's options ask.</summary>
    internal JourneyOrchestrator(JourneyCatalog catalog, IJourneyStore store, NextBestActionDecider decider, DispatchOutbox outbox, ConsentLedger? ledger, ILogger? logger, Diagnostics.LogIds logIds)
    {
        Catalog = catalog ?? throw new ArgumentNullException(nameof(catalog));
        Store = store ?? throw new ArgumentNullException(nameof(store));
        _decider = decider ?? throw new ArgumentNullException(nameof(decider));
        _outbox = outbox ?? throw new ArgumentNullException(nameof(outbox));
        _logger = logger ?? NullLogger.Instance;
        _logIds = logIds;
        _evaluator = new JourneyEvaluator(catalog);
        _facts = new JourneyFacts(catalog, store, ledger);
    }

    /// <summary>The journeys.</summary>
    public JourneyCatalog Catalog { get; }

    /// <summary>The store.</summary>
    public IJourneyStore Store { get; }

    /// <summary>
    /// Evaluates the customer's journeys after <paramref name="engagementEvent"/> was applied to the profile: first every
    /// instant at which a timer fell due before now (with the profile as it was before the event), then the event.
    /// </summary>
    /// <param name="profile">The customer's profile, saved with the event (the survivor, after a merge).</param>
    /// <param name="engagementEvent">The event.</param>
    /// <param name="now">The clock's instant.</param>
    /// <param name="before">The profile as it was before the event (what timers that fell due earlier are evaluated with); <paramref name="profile"/> when omitted.</param>
    /// <param name="cancellationToken">Cancels the work.</param>
    /// <returns>What the journeys did.</returns>
    public ValueTask<JourneyOutcome> OnEventAsync(CustomerProfile profile, EngagementEvent engagementEvent, DateTimeOffset now, CustomerProfile? before = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(engagementEvent);
        return RunAsync(profile, engagementEvent, now, before, cancellationToken);
    }

    /// <summary>Evaluates a customer whose timer fell due: every due instant up to <paramref name="now"/>, in order.</summary>
    /// <param name="profile">The customer's profile.</param>
    /// <param name="now">The clock's instant.</param>
    /// <param name="cancellationToken">Cancels the work.</param>
    /// <returns>What the journeys did.</returns>
    public ValueTask<JourneyOutcome> OnTimeAsync(CustomerProfile profile, DateTimeOffset now, CancellationToken cancellationToken = default)
        => RunAsync(profile, null, now, null, cancellationToken);

    /// <summary>Lists customers whose journey timers are due.</summary>
    /// <param name="now">The instant.</param>
    /// <param name="max">The most to list.</param>
    /// <param name="cancellationToken">Cancels the read.</param>
    /// <returns>The customers, earliest due first.</returns>
    public ValueTask<IReadOnlyList<CustomerId>> ListDueAsync(DateTimeOffset now, int max, CancellationToken cancellationToken = default)
        => Store.ListDueAsync(now, max, cancellationToken);

    /// <summary>Where a customer is in each journey: journey id → stage id (journeys the customer is not in are left out).</summary>
    /// <param name="customerId">The customer.</param>
    /// <param name="cancellationToken">Cancels the read.</param>
    /// <returns>The stages.</returns>
    public async ValueTask<ImmutableDictionary<string, string>> GetStagesAsync(CustomerId customerId, CancellationToken cancellationToken = default)
    {
        var record = await Store.GetAsync(customerId, cancellationToken).ConfigureAwait(false);
        var stages = ImmutableDictionary.CreateBuilder<string, string>(StringComparer.Ordinal);
        foreach (var track in record?.Tracks ?? [])
        {
            if (Catalog.StageOf(track) is { } stage)
            {
                stages[track.JourneyId] = stage;
            }
        }

        return stages.ToImmutable();
    }

    /// <summary>The facts decisions read (stages of every journey, counters, consent), for the decider.</summary>
    internal JourneyFacts Facts => _facts;

    private async ValueTask<JourneyOutcome> RunAsync(CustomerProfile profile, EngagementEvent? engagementEvent, DateTimeOffset now, CustomerProfile? before, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(profile);
        if (Catalog.Compiled.Length == 0)
        {
            return JourneyOutcome.None;
        }

        var record = await Store.GetAsync(profile.Id, cancellationToken).ConfigureAwait(false);
        if (record is null && engagementEvent is null)
        {
            return JourneyOutcome.None;
        }

        var ws = Interlocked.Exchange(ref _spare, null)?.Reset(profile, record) ?? new JourneyWorkspace(Catalog, profile, record);
        try
        {
            await FoldMergesAsync(ws, profile, cancellationToken).ConfigureAwait(false);
            ws.Consent = await _facts.ConsentAsync(profile, now, cancellationToken).ConfigureAwait(false);
            if (before is not null && before.Id == profile.Id && !ReferenceEquals(before, profile))
            {
                // Timers that fell due before the event are evaluated with the profile as it was then.
                ws.Profile = before;
                _evaluator.CatchUp(ws, now.UtcTicks);
                ws.Profile = profile;
            }

            _evaluator.Process(ws, engagementEvent, now.UtcTicks);
            if (!ws.Changed)
            {
                return JourneyOutcome.None;
            }

            await Store.SaveAsync(ws.ToRecord(profile.Id), cancellationToken).ConfigureAwait(false);
            var history = await RecordAsync(ws, profile, now, cancellationToken).ConfigureAwait(false);
            if (history.Length > 0)
            {
                await Store.AppendHistoryAsync(history, cancellationToken).ConfigureAwait(false);
            }

            List<StageTransition>? transitions = null;
            foreach (var entry in history)
            {
                if (entry.Kind is JourneyHistoryKind.Entered or JourneyHistoryKind.Moved && entry.StageId is { } stage)
                {
                    (transitions ??= new(2)).Add(new StageTransition(entry.JourneyId, entry.FromStageId, stage, entry.At, entry.Reason ?? string.Empty));
                    JourneyLog.StageChanged(_logger, _logIds.Of(profile.Id), entry.FromStageId, stage, entry.JourneyId);
                }
            }

            return new JourneyOutcome(
                transitions is null ? [] : ImmutableCollectionsMarshal.AsImmutableArray(transitions.ToArray()),
                ImmutableCollectionsMarshal.AsImmutableArray(history));
        }
        finally
        {
            // Nothing made from the workspace keeps it: the record, history and decisions copy what they need.
            ws.Clear();
            Volatile.Write(ref _spare, ws);
        }
    }

    // Profiles merged into this one since the last evaluation: their counters and tracks are folded in, their records and timers deleted.
    private async ValueTask FoldMergesAsync(JourneyWorkspace ws, CustomerProfile profile, CancellationToken cancellationToken)
    {
        var merges = profile.Merges;
        if (merges.Length == ws.MergesFolded)
        {
            return;
        }

        for (var i = ws.MergesFolded; i < merges.Length; i++)
        {
            var mergedId = merges[i].MergedId;
            if (mergedId != profile.Id && await Store.GetAsync(mergedId, cancellationToken).ConfigureAwait(false) is { } merged)
            {
                ws.Fold(merged);
                await Store.DeleteAsync(mergedId, cancellationToken).ConfigureAwait(false);
            }
        }

        ws.MergesFolded = merges.Length;
        ws.Changed = true;
    }

    private async ValueTask<JourneyHistoryEntry[]> RecordAsync(JourneyWorkspace ws, CustomerProfile profile, DateTimeOffset now, CancellationToken cancellationToken)
    {
        var history = new JourneyHistoryEntry[ws.Effects.Count];
        for (var i = 0; i < history.Length; i++)
        {
            var effect = ws.Effects[i];
            var journey = Catalog.Compiled[effect.Journey];
            var version = journey.Versions.TryGetValue(effect.Version, out var v) ? v : journey.Latest;
            var stage = StageId(version, effect.Stage);
            var step = effect.Step >= 0 && effect.Stage >= 0 ? version.Stages[effect.Stage].Steps[effect.Step] : null;
            var entry = new JourneyHistoryEntry
            {
                CustomerId = profile.Id,
                JourneyId = journey.Id,
                Version = effect.Version,
                Kind = effect.Kind switch
                {
                    EffectKind.Entered => JourneyHistoryKind.Entered,
                    EffectKind.Moved => JourneyHistoryKind.Moved,
                    EffectKind.Exited => JourneyHistoryKind.Exited,
                    EffectKind.Migrated => JourneyHistoryKind.Migrated,
                    EffectKind.Reset => JourneyHistoryKind.Reset,
                    EffectKind.StepStarted => JourneyHistoryKind.StepStarted,
                    EffectKind.Goal => JourneyHistoryKind.Goal,
                    EffectKind.Revenue => JourneyHistoryKind.Revenue,
                    _ => JourneyHistoryKind.NotSent,
                },
                At = new DateTimeOffset(effect.At, TimeSpan.Zero),
                StageId = stage,
                FromStageId = StageId(version, effect.FromStage),
                StepId = step?.Id,
                Reason = effect.Reason,
                Amount = effect.Kind == EffectKind.Revenue ? effect.Amount : null,
                IsControl = effect.Control,
                Visit = effect.Visit,
            };
            if (effect.Kind == EffectKind.Send)
            {
                // A send that fell due while catching up with time is made only if the customer is still in that stage visit:
                // a win-back for a stage they have since left (they bought again) is not sent late.
                var track = ws.Tracks[effect.Journey];
                entry = track.IsInJourney && track.Visits == effect.Visit
                    ? await SendAsync(entry, step!, profile, ws, now, cancellationToken).ConfigureAwait(false)
                    : entry with { Kind = JourneyHistoryKind.NotSent, At = now, Reason = "the customer left the stage before the send was made" };
            }

            history[i] = entry;
        }

        return history;
    }

    // A send step: next-best-action among the step's actions (eligibility, already bought, stock, permission per channel), then
    // the outbox; never a bypass. A control-group customer's send is decided the same way and recorded, not queued.
    private async ValueTask<JourneyHistoryEntry> SendAsync(JourneyHistoryEntry entry, CompiledStep step, CustomerProfile profile, JourneyWorkspace ws, DateTimeOffset now, CancellationToken cancellationToken)
    {
        // Decided on the state just evaluated (and saved): the facts need not be read again. A send that will be queued uses
        // the actions' volume budgets; a control group's would-be send only looks.
        var decision = await _decider.DecideAsync(profile, now, step.Actions, cancellationToken, reserve: !entry.IsControl, known: ws).ConfigureAwait(false);
        if (decision.IsNoAction || decision.Channel is not { } channel)
        {
            return entry with { At = now, Kind = JourneyHistoryKind.NotSent, Reason = decision.Explain() };
        }

        if (entry.IsControl)
        {
            return entry with { At = now, Kind = JourneyHistoryKind.WouldSend, ActionId = decision.Action.Id, Channel = channel, Reason = "control group: " + decision.Explain() };
        }

        var dispatchId = DispatchIdFor(profile.Id, entry, decision.Action.Id, channel);
        var result = await _outbox.EnqueueAsync(
            new DispatchRecord
            {
                DispatchId = dispatchId,
                CustomerId = profile.Id,
                Channel = channel,
                Purpose = decision.Action.Purpose,
                ActionId = decision.Action.Id,
                CreatedAt = now,
                Priority = decision.Action.Priority,
                Decision = decision.ToLog(),
            },
            cancellationToken).ConfigureAwait(false);
        if (result.WasReplay)
        {
            await _decider.ReleaseBudgetsAsync(decision, cancellationToken).ConfigureAwait(false);
        }
        else if (_decider.Contacts is { } contacts && decision.Action.ContactPolicy is not null)
        {
            await contacts.RecordAsync(new ActionContact(profile.Id, decision.Action.Id, channel, ActionContactKind.Sent, now, dispatchId), cancellationToken).ConfigureAwait(false);
        }

        return entry with
        {
            At = now,
            Kind = JourneyHistoryKind.Sent,
            ActionId = decision.Action.Id,
            Channel = channel,
            DispatchId = dispatchId,
            Reason = result.WasReplay ? "already queued: " + decision.Explain() : decision.Explain(),
        };
    }

    private static string? StageId(CompiledVersion version, int index) => index >= 0 && index < version.Stages.Length ? version.Stages[index].Id : null;

    // Deterministic for the customer, journey, stage visit, step, action and channel: a step run again (a replay, a retried unit
    // of work) finds its dispatch and queues nothing twice.
    internal static string DispatchIdFor(CustomerId customerId, JourneyHistoryEntry entry, string actionId, Channel channel)
    {
        var key = string.Join('\n', customerId.Value, entry.JourneyId, entry.Visit.ToString(System.Globalization.CultureInfo.InvariantCulture), entry.StepId, actionId, channel.Name);
        return "j-" + Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(key)).AsSpan(0, 16));
    }
}

/// <summary>
/// Loads what conditions read about a customer outside the journeys' own evaluation (for action eligibility): their tracks in
/// every journey, their counters, and the consent facts the catalogue's conditions test.
/// </summary>
internal sealed class JourneyFacts(JourneyCatalog catalog, IJourneyStore store, ConsentLedger? ledger)
{
    public JourneyCatalog Catalog => catalog;

    public IJourneyStore Store => store;

    public async ValueTask<JourneyWorkspace> LoadAsync(CustomerProfile profile, DateTimeOffset now, CancellationToken cancellationToken)
    {
        var ws = new JourneyWorkspace(catalog, profile, await store.GetAsync(profile.Id, cancellationToken).ConfigureAwait(false));
        ws.Consent = await ConsentAsync(profile, now, cancellationToken).ConfigureAwait(false);
        return ws;
    }

    /// <summary>One bit per consent fact of the catalogue (none read when no condition tests consent).</summary>
    public async ValueTask<ulong> ConsentAsync(CustomerProfile profile, DateTimeOffset now, CancellationToken cancellationToken)
    {
        if (catalog.ConsentFacts.Count == 0 || ledger is null)
        {
            return 0;
        }

        var state = await ledger.GetStateAsync(profile.Id, cancellationToken).ConfigureAwait(false);
        ulong facts = 0;
        for (var i = 0; i < catalog.ConsentFacts.Count; i++)
        {
            if (ConditionSet.ConsentFact(profile, state, catalog.ConsentFacts[i].Channel, catalog.ConsentFacts[i].Purpose, now))
            {
                facts |= 1UL << i;
            }
        }

        return facts;
    }

    /// <summary>Whether an action's eligibility condition holds for the loaded customer.</summary>
    public bool IsEligible(string actionId, JourneyWorkspace ws, DateTimeOffset now)
    {
        if (catalog.EligibilityOf(actionId) is not { } condition)
        {
            return true;
        }

        var context = new ConditionContext(ws.Profile, ws.Windows, ws.StageKeys, ws.Consent, now.UtcTicks);
        return condition.Evaluate(context);
    }
}
