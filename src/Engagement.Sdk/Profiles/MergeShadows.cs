using System.Collections.Immutable;
using Engagement.Sdk.Events;

namespace Engagement.Sdk.Profiles;

/// <summary>
/// Keeps the states an unmerge restores (<see cref="ProfileMerge.SurvivorBefore"/> and <see cref="ProfileMerge.MergedState"/>)
/// up to date as events arrive, so that undoing a merge gives back both profiles exactly as if the merge had never happened:
/// late events, events whose bodies retention purged since, and journey stages included. An event addressed to an id on
/// the merged side of the latest merge updates that side's state (and, within it, the states of its own merges); any other
/// event updates the survivor's side and goes on to the earlier merges the same way.
/// </summary>
internal static class MergeShadows
{
    /// <summary>
    /// The merge records of a profile after <paramref name="engagementEvent"/>, addressed to <paramref name="addressedTo"/>:
    /// the state of each side it belongs to advanced by <paramref name="apply"/> (the same step the live profile took). A
    /// side the event does not apply to on its own (a refund of an order the other side placed) is left as it was.
    /// </summary>
    /// <param name="merges">The live profile's merges, oldest first.</param>
    /// <param name="addressedTo">The customer id the event names.</param>
    /// <param name="engagementEvent">The event.</param>
    /// <param name="withheld">Identifiers withheld from the live profile (another person holds them).</param>
    /// <param name="apply">Applies the event to a side's state: the profile updater and the journeys.</param>
    /// <returns>The merges, with the states brought up to date (the same array when no merge keeps states).</returns>
    public static ImmutableArray<ProfileMerge> Advance(ImmutableArray<ProfileMerge> merges, CustomerId addressedTo, EngagementEvent engagementEvent, IReadOnlyCollection<Identifier> withheld, Func<CustomerProfile, EngagementEvent, IReadOnlyCollection<Identifier>, CustomerProfile> apply)
    {
        if (merges.IsDefaultOrEmpty)
        {
            return merges;
        }

        var builder = merges.ToBuilder();
        for (var i = builder.Count - 1; i >= 0; i--)
        {
            var merge = builder[i];
            if (merge.MergedState is not { } merged)
            {
                // A merge recorded before states were kept: its unmerge replays stored events; earlier merges are older still.
                break;
            }

            if (Holds(merged, addressedTo))
            {
                // The merged side's own: the survivor's side, and the merges before this one, never saw it.
                builder[i] = merge with { MergedState = Step(merged, addressedTo, engagementEvent, Union(withheld, merge.SurvivorBefore.Identifiers, merged.Identifiers), apply) };
                return builder.MoveToImmutable();
            }

            builder[i] = merge with { SurvivorBefore = Step(merge.SurvivorBefore, addressedTo, engagementEvent, Union(withheld, merged.Identifiers, merge.SurvivorBefore.Identifiers), apply) };
        }

        return builder.MoveToImmutable();
    }

    /// <summary>Whether <paramref name="id"/> is the profile's own id or one merged into it (as its merge records tell).</summary>
    public static bool Holds(CustomerProfile profile, CustomerId id)
    {
        if (profile.Id == id)
        {
            return true;
        }

        foreach (var merge in profile.Merges)
        {
            if (merge.MergedId == id || (merge.MergedState is { } state && Holds(state, id)))
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>Every id a profile stands for: its own and those merged into it, at any depth.</summary>
    public static void CollectIds(CustomerProfile profile, ICollection<CustomerId> ids)
    {
        if (!ids.Contains(profile.Id))
        {
            ids.Add(profile.Id);
        }

        foreach (var merge in profile.Merges)
        {
            if (!ids.Contains(merge.MergedId))
            {
                ids.Add(merge.MergedId);
            }

            if (merge.MergedState is { } state)
            {
                CollectIds(state, ids);
            }
        }
    }

    private static CustomerProfile Step(CustomerProfile side, CustomerId addressedTo, EngagementEvent engagementEvent, IReadOnlyCollection<Identifier> withheld, Func<CustomerProfile, EngagementEvent, IReadOnlyCollection<Identifier>, CustomerProfile> apply)
    {
        CustomerProfile advanced;
        try
        {
            advanced = apply(side, engagementEvent, withheld);
        }
        catch (Exception ex) when (ex is EngagementValidationException or CurrencyMismatchException)
        {
            // Not applicable to this side alone (a refund of an order the other side placed): as tracking it there would refuse it.
            return side;
        }

        // The side's own merges keep their states too.
        return advanced.Merges.IsDefaultOrEmpty ? advanced : advanced with { Merges = Advance(advanced.Merges, addressedTo, engagementEvent, withheld, apply) };
    }

    // What one side must not take from an event: what the live profile withheld, and the identifiers only the other side holds.
    private static IReadOnlyCollection<Identifier> Union(IReadOnlyCollection<Identifier> withheld, ImmutableArray<Identifier> others, ImmutableArray<Identifier> own)
    {
        HashSet<Identifier>? set = null;
        foreach (var identifier in others)
        {
            if (!own.Contains(identifier))
            {
                (set ??= [.. withheld]).Add(identifier);
            }
        }

        return set ?? withheld;
    }
}
