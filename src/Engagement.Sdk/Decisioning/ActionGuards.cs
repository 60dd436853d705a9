using Engagement.Sdk.Channels;
using Engagement.Sdk.Consent;
using Engagement.Sdk.Profiles;

namespace Engagement.Sdk.Decisioning;

/// <summary>
/// The action-level filters of the pipeline, shared by decisions and by the checks made again before a held or queued message
/// goes out: validity, eligibility, applicability and suitability. Pure functions of the action, the customer and the instant.
/// </summary>
internal static class ActionGuards
{
    /// <summary>Validity, eligibility and applicability (all but stock), in pipeline order; the reason is <see langword="null"/> when all pass.</summary>
    public static (DecisionStage Stage, string? Reason, long Aux) Check(ActionDefinition action, CustomerProfile profile, DecisionContext context, string? stageId, Journeys.JourneyFacts? journeys, Journeys.JourneyWorkspace? facts, DateTimeOffset at)
    {
        var atTicks = at.UtcTicks;
        if (action.ValidFrom is { } from && atTicks < from.UtcTicks)
        {
            return (DecisionStage.Validity, DecisionReasons.NotYetValid, 0);
        }

        if (action.ValidUntil is { } until && atTicks >= until.UtcTicks)
        {
            return (DecisionStage.Validity, DecisionReasons.Expired, 0);
        }

        // A customer who objects to profiling gets transactional messages only: nothing chosen from their behaviour.
        if (profile.ProfilingObjectedAt is not null && !action.Purpose.IsTransactional)
        {
            return (DecisionStage.Eligibility, DecisionReasons.ProfilingObjected, 0);
        }

        if (!action.Stages.IsDefaultOrEmpty && (stageId is null || !Contains(action.Stages, stageId)))
        {
            return (DecisionStage.Eligibility, DecisionReasons.NotInStage, 0);
        }

        // The shared condition language: evaluated over the journeys' facts; without them the condition cannot hold.
        if (action.Eligibility is not null && (journeys is null || facts is null || !journeys.IsEligible(action.Id, facts, at)))
        {
            return (DecisionStage.Eligibility, DecisionReasons.NotEligible, journeys is null || facts is null ? 1 : 0);
        }

        var behaviour = profile.Behaviour;
        if (action.ProductId is { } product)
        {
            if (behaviour.HasBought(product))
            {
                if (action.ReplenishAfter is not { } replenish)
                {
                    return (DecisionStage.Applicability, DecisionReasons.AlreadyBought, 0);
                }

                // A product bought before the profile kept per-product times is placed at the customer's last purchase.
                var last = behaviour.ItemsLastBought.TryGetValue(product, out var bought) ? bought : behaviour.LastPurchase;
                if (last is not { } lastBought)
                {
                    return (DecisionStage.Applicability, DecisionReasons.AlreadyBought, 0);
                }

                if (atTicks < lastBought.UtcTicks + replenish.Ticks)
                {
                    return (DecisionStage.Applicability, DecisionReasons.BeforeReplenishment, lastBought.UtcTicks);
                }
            }

            var inCart = behaviour.ItemsInCart.Contains(product);
            if (action.InCart == InCartRule.Exclude && inCart)
            {
                return (DecisionStage.Applicability, DecisionReasons.InCart, 0);
            }

            if (action.InCart == InCartRule.Require && !inCart)
            {
                return (DecisionStage.Applicability, DecisionReasons.NotInCart, 0);
            }
        }

        if (action.PurchaseCooldown is { } cooldown && behaviour.LastPurchase is { } purchase && atTicks < purchase.UtcTicks + cooldown.Ticks)
        {
            return (DecisionStage.Applicability, DecisionReasons.PurchaseCooldown, purchase.UtcTicks);
        }

        return (DecisionStage.Applicability, null, 0);
    }

    /// <summary>The host's suitability rules; the reason is <see langword="null"/> when all hold.</summary>
    public static (DecisionStage Stage, string? Reason, long Aux) CheckSuitability(ActionDefinition action, CustomerProfile profile, DecisionContext context)
    {
        var rules = action.Suitability;
        for (var r = 0; r < (rules.IsDefault ? 0 : rules.Length); r++)
        {
            if (!rules[r].Test(profile, context))
            {
                return (DecisionStage.Suitability, DecisionReasons.NotSuitable, r);
            }
        }

        return (DecisionStage.Suitability, null, 0);
    }

    /// <summary>
    /// The customer's stage in the decision journey: from the journey store when there are facts, else the stage recorded on the
    /// profile (profiles written before journeys kept their own state).
    /// </summary>
    public static string? StageOf(CustomerProfile profile, string journeyId, Journeys.JourneyFacts? journeys, Journeys.JourneyWorkspace? facts)
    {
        if (journeys is not null && facts is not null && journeys.Catalog.IndexOf(journeyId) is var index and >= 0)
        {
            return facts.StageId(index);
        }

        return profile.Journeys.TryGetValue(journeyId, out var position) ? position.StageId : null;
    }

    /// <summary>Checks one action on one channel again before its message goes out.</summary>
    public static async ValueTask<Recheck> RecheckAsync(IPermissionGate gate, IStockProvider stock, Func<Channel, bool> canSend, string journeyId, Journeys.JourneyFacts? journeys, CustomerProfile profile, ActionDefinition action, Channel channel, DateTimeOffset at, CancellationToken cancellationToken, string? dispatchId)
    {
        // The journeys' facts are read only for an action whose stages or eligibility condition test them.
        var needsFacts = !action.Stages.IsDefaultOrEmpty || action.Eligibility is not null;
        var facts = journeys is null || !needsFacts ? null : await journeys.LoadAsync(profile, at, cancellationToken).ConfigureAwait(false);
        var stageId = StageOf(profile, journeyId, journeys, facts);
        var context = DecisionContext.From(profile, null);
        var (_, reason, aux) = Check(action, profile, context, stageId, journeys, facts, at);
        if (reason is null && action.ProductId is { } product && !await stock.IsInStockAsync(product, cancellationToken).ConfigureAwait(false))
        {
            reason = DecisionReasons.OutOfStock;
        }

        if (reason is null)
        {
            (_, reason, aux) = CheckSuitability(action, profile, context);
        }

        if (reason is not null)
        {
            return new Recheck(reason, Describe(action, profile, reason, aux, stageId), null, null);
        }

        if (!canSend(channel))
        {
            return new Recheck(DecisionReasons.NoSender, $"No sender is registered for {channel}.", null, null);
        }

        if (!ChannelAddress.TryFind(profile, channel, out var address))
        {
            return new Recheck(PermissionReasons.NoAddress, $"The customer has no {ChannelAddress.KindFor(channel)} for {channel}.", null, null);
        }

        var permission = await gate.CheckAsync(new PermissionRequest(profile, channel, action.Purpose, address, at) { DispatchId = dispatchId }, cancellationToken).ConfigureAwait(false);
        return new Recheck(null, permission.Code, permission, address);
    }

    private static string Describe(ActionDefinition action, CustomerProfile profile, string reason, long aux, string? stageId) => reason switch
    {
        DecisionReasons.NotInStage => $"{action.Id}: eligible in {string.Join(", ", action.Stages)}, the customer is in {stageId ?? "no stage"}.",
        DecisionReasons.NotEligible => $"{action.Id}: its eligibility {action.Eligibility} does not hold.",
        DecisionReasons.ProfilingObjected => $"{action.Id}: the customer objected to profiling on {profile.ProfilingObjectedAt:O}; only transactional messages are chosen for them.",
        DecisionReasons.NotSuitable => $"{action.Id}: the suitability rule '{action.Suitability[(int)aux].Name}' does not hold.",
        DecisionReasons.AlreadyBought => $"{action.Id}: the customer already bought {action.ProductId}.",
        DecisionReasons.OutOfStock => $"{action.Id}: {action.ProductId} is out of stock.",
        DecisionReasons.InCart => $"{action.Id}: {action.ProductId} is in the customer's cart.",
        DecisionReasons.NotInCart => $"{action.Id}: {action.ProductId} is not in the customer's cart.",
        _ => $"{action.Id}: {reason}.",
    };

    private static bool Contains(System.Collections.Immutable.ImmutableArray<string> stages, string stageId)
    {
        foreach (var stage in stages)
        {
            if (string.Equals(stage, stageId, StringComparison.Ordinal))
            {
                return true;
            }
        }

        return false;
    }
}

/// <summary>Stable hash splits for experiments and the streams that seed exploration.</summary>
internal static class Experiments
{
    /// <summary>A number in [0, 1) fixed for <paramref name="salt"/>, <paramref name="tag"/> and <paramref name="id"/> (FNV-1a, 64 bits, over their characters).</summary>
    public static double Share(string salt, string tag, string id)
    {
        var hash = Fnv(Fnv(Fnv(Offset, salt), tag), id);
        return (Mix(hash) >> 11) * (1.0 / (1UL << 53));
    }

    /// <summary>The exploration stream of a decision: its id's hash, else the customer's and the instant's.</summary>
    public static ulong Stream(string? decisionId, CustomerId customer, long atTicks)
        => decisionId is not null ? Mix(Fnv(Offset, decisionId)) : Mix(Fnv(Offset, customer.Value) ^ (ulong)atTicks);

    private const ulong Offset = 14695981039346656037UL;

    private static ulong Fnv(ulong hash, string text)
    {
        foreach (var c in text)
        {
            hash = (hash ^ c) * 1099511628211UL;
        }

        // A separator, so that ("ab", "c") and ("a", "bc") differ.
        return (hash ^ 0xFFFF) * 1099511628211UL;
    }

    // SplitMix64's finaliser: spreads FNV's weak low bits over all 64.
    private static ulong Mix(ulong z)
    {
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }
}
