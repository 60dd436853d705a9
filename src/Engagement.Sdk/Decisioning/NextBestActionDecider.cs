using System.Collections.Immutable;
using System.Globalization;
using Engagement.Sdk.Channels;
using Engagement.Sdk.Consent;
using Engagement.Sdk.Profiles;

namespace Engagement.Sdk.Decisioning;

/// <summary>
/// Chooses the next best action for a customer: every catalogue action is a candidate; eligibility (journey stage),
/// applicability (already bought, out of stock) and permission (consent and contact policy per channel, trying the
/// customer's preferred channel first) filter them; the survivors are ranked by value × propensity × lever; the best one
/// wins if it is worth more than doing nothing. Every candidate's fate is explained.
/// </summary>
public sealed class NextBestActionDecider
{
    private readonly ActionCatalog _catalog;
    private readonly IPermissionGate _gate;
    private readonly IPropensityModel _propensity;
    private readonly IStockProvider _stock;
    private readonly Func<Channel, bool> _canSend;
    private readonly string _journeyId;
    private readonly Journeys.JourneyFacts? _journeys;

    /// <summary>Creates the decider.</summary>
    /// <param name="catalog">The actions.</param>
    /// <param name="gate">The permission gate.</param>
    /// <param name="propensity">The propensity model.</param>
    /// <param name="stock">The stock provider.</param>
    /// <param name="canSend">Whether a channel has a sender.</param>
    /// <param name="journeyId">The journey whose stage decides eligibility.</param>
    public NextBestActionDecider(ActionCatalog catalog, IPermissionGate gate, IPropensityModel propensity, IStockProvider stock, Func<Channel, bool> canSend, string journeyId)
    {
        ArgumentNullException.ThrowIfNull(catalog);
        ArgumentNullException.ThrowIfNull(gate);
        ArgumentNullException.ThrowIfNull(propensity);
        ArgumentNullException.ThrowIfNull(stock);
        ArgumentNullException.ThrowIfNull(canSend);
        _catalog = catalog;
        _gate = gate;
        _propensity = propensity;
        _stock = stock;
        _canSend = canSend;
        _journeyId = journeyId;
    }

    /// <summary>Creates the decider with the journeys' facts: stage eligibility reads the journey store, and eligibility conditions are evaluated.</summary>
    internal NextBestActionDecider(ActionCatalog catalog, IPermissionGate gate, IPropensityModel propensity, IStockProvider stock, Func<Channel, bool> canSend, string journeyId, Journeys.JourneyFacts? journeys)
        : this(catalog, gate, propensity, stock, canSend, journeyId)
    {
        _journeys = journeys;
    }

    /// <summary>Decides for <paramref name="profile"/> at <paramref name="at"/>.</summary>
    /// <param name="profile">The customer, up to date.</param>
    /// <param name="at">The instant of the decision.</param>
    /// <param name="cancellationToken">Cancels the decision.</param>
    /// <returns>The decision with every candidate's evaluation.</returns>
    public ValueTask<Decision> DecideAsync(CustomerProfile profile, DateTimeOffset at, CancellationToken cancellationToken = default)
        => DecideAsync(profile, at, null, cancellationToken);

    /// <summary>Decides among <paramref name="among"/> only (a journey's send step), or among every action when it is null.</summary>
    internal async ValueTask<Decision> DecideAsync(CustomerProfile profile, DateTimeOffset at, IReadOnlyCollection<string>? among, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(profile);
        var rejected = new List<CandidateEvaluation>();
        var survivors = new List<(ActionDefinition Action, Channel Channel, Identifier? Address, double Propensity, double Score, ImmutableArray<ChannelCheck> Checks)>();
        var facts = _journeys is null ? null : await _journeys.LoadAsync(profile, at, cancellationToken).ConfigureAwait(false);
        var stage = StageOf(profile, facts);

        // Candidates sharing a channel, purpose and address get the same answer within one decision: ask the gate once.
        var permissions = new Dictionary<(Channel, Consent.Purpose, Identifier?), PermissionDecision>();

        foreach (var action in _catalog.Actions)
        {
            if (action.Kind == ActionKind.NoAction || (among is not null && !among.Contains(action.Id)))
            {
                continue;
            }

            if (profile.ProfilingObjectedAt is { } objected && !action.Purpose.IsTransactional)
            {
                rejected.Add(Reject(action, DecisionReasons.ProfilingObjected, $"{action.Id}: the customer objected to profiling on {objected:O}; only transactional messages are chosen for them."));
                continue;
            }

            if (Ineligible(action, stage, facts, at) is { } ineligible)
            {
                rejected.Add(Reject(action, ineligible.Reason, ineligible.Detail));
                continue;
            }

            if (action.ProductId is { } product)
            {
                if (profile.Behaviour.ItemsBought.Contains(product))
                {
                    rejected.Add(Reject(action, DecisionReasons.AlreadyBought, $"{action.Id}: the customer already bought {product}."));
                    continue;
                }

                if (!await _stock.IsInStockAsync(product, cancellationToken).ConfigureAwait(false))
                {
                    rejected.Add(Reject(action, DecisionReasons.OutOfStock, $"{action.Id}: {product} is out of stock."));
                    continue;
                }
            }

            var checks = ImmutableArray.CreateBuilder<ChannelCheck>();
            (Channel Channel, Identifier? Address)? permitted = null;
            foreach (var channel in OrderChannels(profile, action))
            {
                if (!_canSend(channel))
                {
                    checks.Add(new ChannelCheck(channel, PermissionDecision.Deny("no_sender", $"No sender is registered for {channel}.")));
                    continue;
                }

                if (!ChannelAddress.TryFind(profile, channel, out var address))
                {
                    checks.Add(new ChannelCheck(channel, PermissionDecision.Deny(PermissionReasons.NoAddress, $"The customer has no {ChannelAddress.KindFor(channel)} for {channel}.")));
                    continue;
                }

                if (!permissions.TryGetValue((channel, action.Purpose, address), out var decision))
                {
                    decision = await _gate.CheckAsync(new PermissionRequest(profile, channel, action.Purpose, address, at), cancellationToken).ConfigureAwait(false);
                    permissions.Add((channel, action.Purpose, address), decision);
                }

                checks.Add(new ChannelCheck(channel, decision));
                if (decision.IsAllowed)
                {
                    permitted = (channel, address);
                    break;
                }
            }

            if (permitted is not { } chosen)
            {
                var why = string.Join("; ", checks.Select(c => $"{c.Channel}: {c.Decision.Code}"));
                rejected.Add(new CandidateEvaluation(action.Id, CandidateStatus.Rejected, DecisionReasons.NoPermittedChannel, $"{action.Id}: no permitted channel ({why}).", null, 0, checks.ToImmutable()));
                continue;
            }

            var propensity = _propensity.Estimate(action, chosen.Channel);
            var score = (double)action.Value * propensity * action.Lever;
            survivors.Add((action, chosen.Channel, chosen.Address, propensity, score, checks.ToImmutable()));
        }

        survivors.Sort(static (a, b) =>
        {
            var byScore = b.Score.CompareTo(a.Score);
            return byScore != 0 ? byScore : string.CompareOrdinal(a.Action.Id, b.Action.Id);
        });

        var candidates = ImmutableArray.CreateBuilder<CandidateEvaluation>(survivors.Count + rejected.Count + 1);
        var best = survivors.Count > 0 && survivors[0].Score > 0 ? survivors[0] : default;
        if (best.Action is not null)
        {
            candidates.Add(new CandidateEvaluation(best.Action.Id, CandidateStatus.Chosen, DecisionReasons.HighestScore, $"{best.Action.Id} on {best.Channel}: value {best.Action.Value.ToString(CultureInfo.InvariantCulture)} × propensity {best.Propensity.ToString("0.000", CultureInfo.InvariantCulture)} × lever {best.Action.Lever.ToString(CultureInfo.InvariantCulture)} = {best.Score.ToString("0.000", CultureInfo.InvariantCulture)}, the highest of {survivors.Count} permitted candidate(s).", best.Channel, best.Score, best.Checks));
        }
        else
        {
            candidates.Add(new CandidateEvaluation(ActionCatalog.NoActionId, CandidateStatus.Chosen, DecisionReasons.NothingBetter, $"Do nothing: {survivors.Count} permitted candidate(s) and none worth more than zero; {rejected.Count} rejected.", null, 0, []));
        }

        foreach (var s in survivors)
        {
            if (!ReferenceEquals(s.Action, best.Action))
            {
                candidates.Add(new CandidateEvaluation(s.Action.Id, CandidateStatus.Outranked, DecisionReasons.Outranked, $"{s.Action.Id} on {s.Channel}: score {s.Score.ToString("0.000", CultureInfo.InvariantCulture)}, outranked.", s.Channel, s.Score, s.Checks));
            }
        }

        candidates.AddRange(rejected);
        return best.Action is not null
            ? new Decision(profile.Id, at, best.Action, best.Channel, best.Address, best.Score, best.Propensity, candidates.ToImmutable())
            : new Decision(profile.Id, at, ActionCatalog.NoAction, null, null, 0, 0, candidates.ToImmutable());
    }

    /// <summary>
    /// Checks one action on one channel again for a customer (a held message about to be released): the same eligibility
    /// filters as a decision, then the permission gate.
    /// </summary>
    /// <param name="profile">The customer, up to date.</param>
    /// <param name="action">The action.</param>
    /// <param name="channel">The channel it was held for.</param>
    /// <param name="at">The instant.</param>
    /// <param name="cancellationToken">Cancels the check.</param>
    /// <param name="dispatchId">The queued dispatch being handed over, which caps do not count against itself.</param>
    /// <returns>The outcome: a rejection code and why, or the gate's answer and the address.</returns>
    internal async ValueTask<Recheck> RecheckAsync(CustomerProfile profile, ActionDefinition action, Channel channel, DateTimeOffset at, CancellationToken cancellationToken, string? dispatchId = null)
    {
        if (profile.ProfilingObjectedAt is { } objected && !action.Purpose.IsTransactional)
        {
            return new Recheck(DecisionReasons.ProfilingObjected, $"{action.Id}: the customer objected to profiling on {objected:O}.", null, null);
        }

        var facts = _journeys is null ? null : await _journeys.LoadAsync(profile, at, cancellationToken).ConfigureAwait(false);
        if (Ineligible(action, StageOf(profile, facts), facts, at) is { } ineligible)
        {
            return new Recheck(ineligible.Reason, ineligible.Detail, null, null);
        }

        if (action.ProductId is { } product)
        {
            if (profile.Behaviour.ItemsBought.Contains(product))
            {
                return new Recheck(DecisionReasons.AlreadyBought, $"{action.Id}: the customer already bought {product}.", null, null);
            }

            if (!await _stock.IsInStockAsync(product, cancellationToken).ConfigureAwait(false))
            {
                return new Recheck(DecisionReasons.OutOfStock, $"{action.Id}: {product} is out of stock.", null, null);
            }
        }

        if (!_canSend(channel))
        {
            return new Recheck("no_sender", $"No sender is registered for {channel}.", null, null);
        }

        if (!ChannelAddress.TryFind(profile, channel, out var address))
        {
            return new Recheck(PermissionReasons.NoAddress, $"The customer has no {ChannelAddress.KindFor(channel)} for {channel}.", null, null);
        }

        var permission = await _gate.CheckAsync(new PermissionRequest(profile, channel, action.Purpose, address, at) { DispatchId = dispatchId }, cancellationToken).ConfigureAwait(false);
        return new Recheck(null, permission.Code, permission, address);
    }

    // The customer's stage in the decision journey: from the journey store when the decider has it, else the stage recorded
    // on the profile (profiles written before journeys kept their own state).
    private string? StageOf(CustomerProfile profile, Journeys.JourneyWorkspace? facts)
    {
        if (facts is not null && _journeys!.Catalog.IndexOf(_journeyId) is var index and >= 0)
        {
            return facts.StageId(index);
        }

        return profile.Journeys.TryGetValue(_journeyId, out var position) ? position.StageId : null;
    }

    // Why an action is not eligible (its stages, its eligibility condition), or null when it is.
    private (string Reason, string Detail)? Ineligible(ActionDefinition action, string? stage, Journeys.JourneyWorkspace? facts, DateTimeOffset at)
    {
        if (!action.Stages.IsEmpty && (stage is null || !action.Stages.Contains(stage)))
        {
            return (DecisionReasons.NotInStage, $"{action.Id}: eligible in {string.Join(", ", action.Stages)}, the customer is in {stage ?? "no stage"}.");
        }

        if (action.Eligibility is { } eligibility && (facts is null || !_journeys!.IsEligible(action.Id, facts, at)))
        {
            return (DecisionReasons.NotEligible, $"{action.Id}: its eligibility {eligibility} does not hold{(facts is null ? " (no journey facts to evaluate it with)" : string.Empty)}.");
        }

        return null;
    }

    private static IEnumerable<Channel> OrderChannels(CustomerProfile profile, ActionDefinition action)
    {
        if (action.MessageType is { } type && profile.ChannelPreferences.TryGetValue(type, out var preferred) && action.Channels.Contains(preferred))
        {
            yield return preferred;
            foreach (var channel in action.Channels)
            {
                if (channel != preferred)
                {
                    yield return channel;
                }
            }

            yield break;
        }

        foreach (var channel in action.Channels)
        {
            yield return channel;
        }
    }

    private static CandidateEvaluation Reject(ActionDefinition action, string reason, string detail)
        => new(action.Id, CandidateStatus.Rejected, reason, detail, null, 0, []);
}

/// <summary>The outcome of <see cref="NextBestActionDecider.RecheckAsync"/>.</summary>
/// <param name="Rejection">Why the action is no longer eligible, or <see langword="null"/> when it is (then see <paramref name="Permission"/>).</param>
/// <param name="Detail">A sentence for people.</param>
/// <param name="Permission">The gate's answer, when the action is eligible.</param>
/// <param name="Address">The address on the channel, when one was found.</param>
internal sealed record Recheck(string? Rejection, string Detail, PermissionDecision? Permission, Identifier? Address);
