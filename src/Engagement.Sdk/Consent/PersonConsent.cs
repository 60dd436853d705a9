using Engagement.Sdk.Profiles;
using Engagement.Sdk.Storage;

namespace Engagement.Sdk.Consent;

/// <summary>
/// The consent of a person whose profile absorbed others by merges. Each record stays in the ledger of the id it was recorded
/// for (so an unmerge gives each side back exactly its own); the person's state folds their own ledger with what the ids
/// merged into them recorded: every withdrawal, denial and objection (a merge never widens consent), and anything recorded
/// since the merge (the same person, known by another id).
/// </summary>
internal static class PersonConsent
{
    /// <summary>The records that decide for <paramref name="profile"/>: <paramref name="own"/> and those of the ids merged into it, filed under the profile's id.</summary>
    /// <param name="store">The consent store.</param>
    /// <param name="profile">The live profile.</param>
    /// <param name="own">The profile's own records.</param>
    /// <param name="cancellationToken">Cancels the reads.</param>
    /// <returns>The records (<paramref name="own"/> itself for a profile that merged nothing, or when the others add none).</returns>
    public static async ValueTask<IReadOnlyList<ConsentRecord>> ReadAsync(IConsentStore store, CustomerProfile profile, IReadOnlyList<ConsentRecord> own, CancellationToken cancellationToken)
    {
        if (profile.Merges.IsDefaultOrEmpty)
        {
            return own;
        }

        List<ConsentRecord>? all = null;
        await CollectAsync(profile, DateTimeOffset.MinValue).ConfigureAwait(false);
        return all ?? own;

        async ValueTask CollectAsync(CustomerProfile side, DateTimeOffset since)
        {
            foreach (var merge in side.Merges)
            {
                var from = merge.At > since ? merge.At : since;
                foreach (var record in await store.ReadAsync(merge.MergedId, cancellationToken).ConfigureAwait(false))
                {
                    if (record.IsRestrictive || (record.RecordedAt ?? record.EffectiveAt) >= from)
                    {
                        (all ??= [.. own]).Add(record with { CustomerId = profile.Id });
                    }
                }

                if (merge.MergedState is { } merged)
                {
                    await CollectAsync(merged, from).ConfigureAwait(false);
                }
            }
        }
    }
}
