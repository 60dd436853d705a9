namespace Engagement.Sdk.Profiles;

/// <summary>Two followers told in turn (the journeys first, whose restored stages the segments then read).</summary>
internal sealed class MergeFollowers(IMergeFollower first, IMergeFollower second) : IMergeFollower
{
    /// <inheritdoc />
    public async ValueTask OnMergedAsync(CustomerProfile survivor, DateTimeOffset now, CancellationToken cancellationToken)
    {
        await first.OnMergedAsync(survivor, now, cancellationToken).ConfigureAwait(false);
        await second.OnMergedAsync(survivor, now, cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc />
    public async ValueTask OnUnmergedAsync(CustomerProfile survivor, CustomerProfile restored, DateTimeOffset now, CancellationToken cancellationToken)
    {
        await first.OnUnmergedAsync(survivor, restored, now, cancellationToken).ConfigureAwait(false);
        await second.OnUnmergedAsync(survivor, restored, now, cancellationToken).ConfigureAwait(false);
    }
}
