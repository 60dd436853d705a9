using System.Collections.Immutable;
using System.Security.Cryptography;
using System.Text;

namespace Engagement.Sdk.Profiles;

/// <summary>
/// Combines two profiles of one person into one, by the <see cref="IdentityOptions"/> rules: identifiers united, traits by
/// their rule, preferences and settings from the survivor unless it has none, behaviour summed (counts), widened (first and
/// last times) or united (items, categories). A pure function: storage and consent are handled by the caller.
/// </summary>
public static class ProfileMerger
{
    /// <summary>The deterministic id of merging <paramref name="merged"/> (at its version) into <paramref name="survivor"/>.</summary>
    /// <param name="survivor">The surviving profile's id.</param>
    /// <param name="merged">The profile merged into it.</param>
    /// <returns>An id such as <c>merge-1f3a…</c>.</returns>
    public static string MergeIdFor(CustomerId survivor, CustomerProfile merged)
    {
        ArgumentNullException.ThrowIfNull(merged);
        var hash = SHA256.HashData(Encoding.UTF8.GetBytes($"{survivor.Value}\u0001{merged.Id.Value}\u0001{merged.Version}"));
        return "merge-" + Convert.ToHexStringLower(hash.AsSpan(0, 12));
    }

    /// <summary>The survivor's content after absorbing <paramref name="merged"/>.</summary>
    /// <param name="survivor">The surviving profile (its id and version are kept).</param>
    /// <param name="merged">The profile merged into it.</param>
    /// <param name="rules">The identity rules.</param>
    /// <returns>The combined profile, without a merge record (the caller adds it).</returns>
    /// <exception cref="EngagementValidationException">The profiles hold different exclusive identifiers of one kind.</exception>
    public static CustomerProfile Combine(CustomerProfile survivor, CustomerProfile merged, IdentityOptions rules)
    {
        ArgumentNullException.ThrowIfNull(survivor);
        ArgumentNullException.ThrowIfNull(merged);
        ArgumentNullException.ThrowIfNull(rules);
        if (survivor.Id == merged.Id)
        {
            throw new EngagementValidationException("mergedId", merged.Id.Value, "a profile cannot be merged into itself");
        }

        if (survivor.IsMerged || merged.IsMerged)
        {
            var which = survivor.IsMerged ? survivor : merged;
            throw new EngagementValidationException("customerId", which.Id.Value, $"the profile was already merged into '{which.MergedInto!.SurvivorId}'");
        }

        var conflicts = rules.ExclusiveConflicts(survivor, merged);
        if (!conflicts.IsEmpty)
        {
            var (left, right) = conflicts[0];
            throw new EngagementValidationException("identifiers", right.ToString(), $"'{survivor.Id}' holds {left} and '{merged.Id}' holds {right}: {left.Kind} is exclusive, so they are two people and are not merged");
        }

        var identifiers = survivor.Identifiers.ToBuilder();
        foreach (var identifier in merged.Identifiers)
        {
            if (!identifiers.Contains(identifier))
            {
                identifiers.Add(identifier);
            }
        }

        var (traits, times) = CombineTraits(survivor, merged, rules);
        var preferences = survivor.ChannelPreferences;
        foreach (var (messageType, channel) in merged.ChannelPreferences)
        {
            if (!preferences.ContainsKey(messageType))
            {
                preferences = preferences.Add(messageType, channel);
            }
        }

        var journeys = survivor.Journeys.Combine(merged.Journeys, static (ours, _) => ours);

        return survivor with
        {
            Identifiers = identifiers.ToImmutable(),
            Traits = traits,
            TraitTimes = times,
            ChannelPreferences = preferences,
            TimeZone = survivor.TimeZone ?? merged.TimeZone,
            Locale = survivor.Locale ?? merged.Locale,
            PausedUntil = Later(survivor.PausedUntil, merged.PausedUntil),
            ProfilingObjectedAt = Earlier(survivor.ProfilingObjectedAt, merged.ProfilingObjectedAt), // an objection is never lost
            Behaviour = CombineBehaviour(survivor.Behaviour, merged.Behaviour),
            Journeys = journeys,
        };
    }

    /// <summary>Combines two profiles' behaviour: counts and money summed, first/last times widened, sets united.</summary>
    /// <param name="a">The survivor's behaviour.</param>
    /// <param name="b">The merged profile's behaviour.</param>
    /// <returns>The combined behaviour.</returns>
    public static BehaviourAggregates CombineBehaviour(BehaviourAggregates a, BehaviourAggregates b)
    {
        ArgumentNullException.ThrowIfNull(a);
        ArgumentNullException.ThrowIfNull(b);
        var refundable = a.RefundableByOrder.Combine(b.RefundableByOrder, static (ours, _) => ours);

        var bought = a.ItemsBought.Union(b.ItemsBought);
        var bLater = b.LastSeen is { } bl && (a.LastSeen is not { } al || bl > al);
        return new BehaviourAggregates
        {
            FirstSeen = Earlier(a.FirstSeen, b.FirstSeen),
            LastSeen = Later(a.LastSeen, b.LastSeen),
            FirstPurchase = Earlier(a.FirstPurchase, b.FirstPurchase),
            LastPurchase = Later(a.LastPurchase, b.LastPurchase),
            Orders = a.Orders + b.Orders,
            Revenue = Sum(a.Revenue, b.Revenue),
            Refunds = Sum(a.Refunds, b.Refunds),
            RefundableByOrder = refundable,
            Searches = a.Searches + b.Searches,
            ProductViews = a.ProductViews + b.ProductViews,
            PageViews = a.PageViews + b.PageViews,
            CategoryViews = a.CategoryViews.Combine(b.CategoryViews, static (m, n) => m + n),
            ItemsBought = bought,
            ItemsLastBought = a.ItemsLastBought.Combine(b.ItemsLastBought, static (m, n) => m >= n ? m : n),
            ItemsInCart = a.ItemsInCart.Union(b.ItemsInCart),
            ItemsViewed = a.ItemsViewed.Union(b.ItemsViewed),
            CategoriesBought = a.CategoriesBought.Union(b.CategoriesBought),
            LastChannel = bLater ? b.LastChannel ?? a.LastChannel : a.LastChannel ?? b.LastChannel,
            MessagesSent = Add(a.MessagesSent, b.MessagesSent),
            Engagements = Add(a.Engagements, b.Engagements),
        };
    }

    private static (ImmutableDictionary<string, TraitValue> Traits, ImmutableDictionary<string, DateTimeOffset> Times) CombineTraits(CustomerProfile survivor, CustomerProfile merged, IdentityOptions rules)
    {
        var traits = survivor.Traits.ToBuilder();
        var times = survivor.TraitTimes.ToBuilder();
        foreach (var (name, theirs) in merged.Traits)
        {
            if (!traits.TryGetValue(name, out var ours))
            {
                traits[name] = theirs;
                if (merged.TraitTimes.TryGetValue(name, out var t))
                {
                    times[name] = t;
                }

                continue;
            }

            var ourTime = survivor.TraitTimes.TryGetValue(name, out var ot) ? ot : (DateTimeOffset?)null;
            var theirTime = merged.TraitTimes.TryGetValue(name, out var tt) ? tt : (DateTimeOffset?)null;
            var rule = rules.RuleFor(name);
            if (rule == TraitMergeRule.Union && ours.Kind == TraitKind.List && theirs.Kind == TraitKind.List)
            {
                var items = ours.AsList().ToBuilder();
                foreach (var item in theirs.AsList())
                {
                    if (!items.Contains(item))
                    {
                        items.Add(item);
                    }
                }

                traits[name] = TraitValue.Of(items.ToImmutable());
                if (Later(ourTime, theirTime) is { } latest)
                {
                    times[name] = latest;
                }

                continue;
            }

            var takeTheirs = rule switch
            {
                TraitMergeRule.OldestWins => theirTime is { } a && (ourTime is not { } b || a < b),
                TraitMergeRule.NonEmptyWins => IsEmpty(ours) && !IsEmpty(theirs),
                _ => theirTime is { } a2 && (ourTime is not { } b2 || a2 > b2),
            };
            if (takeTheirs)
            {
                traits[name] = theirs;
                times[name] = theirTime!.Value;
            }
        }

        return (traits.ToImmutable(), times.ToImmutable());
    }

    private static bool IsEmpty(TraitValue value) => value.Kind switch
    {
        TraitKind.String => string.IsNullOrWhiteSpace(value.AsString()),
        TraitKind.List => value.AsList().IsEmpty,
        _ => false,
    };

    private static DateTimeOffset? Earlier(DateTimeOffset? a, DateTimeOffset? b) => a is { } x ? (b is { } y && y < x ? y : x) : b;

    private static DateTimeOffset? Later(DateTimeOffset? a, DateTimeOffset? b) => a is { } x ? (b is { } y && y > x ? y : x) : b;

    private static Money? Sum(Money? a, Money? b) => a is { } x ? (b is { } y ? x + y : x) : b;

    private static ImmutableDictionary<TKey, int> Add<TKey>(ImmutableDictionary<TKey, int> a, ImmutableDictionary<TKey, int> b)
        where TKey : notnull
    {
        var sum = a.ToBuilder();
        foreach (var (key, n) in b)
        {
            sum[key] = sum.TryGetValue(key, out var m) ? m + n : n;
        }

        return sum.ToImmutable();
    }
}
