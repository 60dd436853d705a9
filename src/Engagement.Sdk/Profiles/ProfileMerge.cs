namespace Engagement.Sdk.Profiles;

/// <summary>Why two profiles were merged.</summary>
public enum MergeReason
{
    /// <summary>An event carried an identifier that the other profile already held.</summary>
    SharedIdentifier,

    /// <summary>The host asked for the merge.</summary>
    Requested,
}

/// <summary>
/// One merge, recorded on the surviving profile: enough to undo it. The merged profile's own state before the merge is kept
/// on its redirect (<see cref="CustomerProfile.MergedInto"/>).
/// </summary>
public sealed record ProfileMerge
{
    /// <summary>The merge's id (deterministic for the pair and the merged profile's version, so a repeated merge is recognised).</summary>
    public required string MergeId { get; init; }

    /// <summary>The profile that survived.</summary>
    public required CustomerId SurvivorId { get; init; }

    /// <summary>The profile that was merged into it.</summary>
    public required CustomerId MergedId { get; init; }

    /// <summary>When the merge happened.</summary>
    public required DateTimeOffset At { get; init; }

    /// <summary>Why.</summary>
    public required MergeReason Reason { get; init; }

    /// <summary>The identifier both profiles presented, for <see cref="MergeReason.SharedIdentifier"/>.</summary>
    public Identifier? MatchedOn { get; init; }

    /// <summary>
    /// The surviving profile as it would be had this merge not happened (without its earlier merges, which stay on the
    /// survivor): its state just before the merge, kept up to date with every later event addressed to its side (its own id
    /// and the ids of its earlier merges) when <see cref="MergedState"/> is set, as the engine does. An unmerge restores it.
    /// </summary>
    public required CustomerProfile SurvivorBefore { get; init; }

    /// <summary>
    /// The merged profile as it would be had this merge not happened: its state at the merge, kept up to date with every later
    /// event addressed to its side (its id and the ids merged into it before), journeys evaluated as for a profile of its own.
    /// An unmerge restores it exactly, with no need of the events themselves (which retention may have purged since).
    /// <see langword="null"/> for a merge recorded before the SDK kept these states: its unmerge replays the events still stored.
    /// </summary>
    public CustomerProfile? MergedState { get; init; }

    /// <summary>The consent records appended to the survivor's ledger so that the merged profile's restrictions carry over.</summary>
    public System.Collections.Immutable.ImmutableArray<string> CarriedConsentRecordIds { get; init; } = [];
}

/// <summary>What a merged profile keeps: where it went and what it was.</summary>
/// <param name="SurvivorId">The profile it was merged into.</param>
/// <param name="MergeId">The merge.</param>
/// <param name="At">When.</param>
/// <param name="Before">The profile as it was just before the merge, restored by an unmerge.</param>
public sealed record ProfileRedirect(CustomerId SurvivorId, string MergeId, DateTimeOffset At, CustomerProfile Before);
