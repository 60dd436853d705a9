namespace Engagement.Sdk.Profiles;

/// <summary>
/// State kept per customer outside the profile that must follow a merge the host asks for and an unmerge (the segments' counters
/// and memberships): told by <see cref="IdentityResolver"/> once the profiles are saved, in the same unit of work.
/// </summary>
internal interface IMergeFollower
{
    /// <summary>After <see cref="IdentityResolver.MergeAsync"/>: <paramref name="survivor"/> as saved.</summary>
    ValueTask OnMergedAsync(CustomerProfile survivor, DateTimeOffset now, CancellationToken cancellationToken);

    /// <summary>After an unmerge: both profiles as saved.</summary>
    ValueTask OnUnmergedAsync(CustomerProfile survivor, CustomerProfile restored, DateTimeOffset now, CancellationToken cancellationToken);
}
