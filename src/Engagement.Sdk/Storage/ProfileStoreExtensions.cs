using Engagement.Sdk.Events;
using Engagement.Sdk.Profiles;

namespace Engagement.Sdk.Storage;

/// <summary>Helpers over the store interfaces.</summary>
public static class ProfileStoreExtensions
{
    /// <summary>
    /// Reads a profile, applies <paramref name="change"/> and saves it; on a <see cref="ConcurrencyConflictException"/> it
    /// reloads and applies the change again, so a concurrent writer's update is never lost.
    /// </summary>
    /// <param name="store">The store.</param>
    /// <param name="customerId">The customer (a new profile is started when unknown).</param>
    /// <param name="change">The change; it may run more than once, so it must depend only on the profile it is given.</param>
    /// <param name="maxAttempts">How many times to try (at least 1).</param>
    /// <param name="cancellationToken">Cancels the work.</param>
    /// <returns>The saved profile.</returns>
    /// <exception cref="ConcurrencyConflictException">Every attempt conflicted.</exception>
    public static async ValueTask<CustomerProfile> UpdateAsync(this IProfileStore store, CustomerId customerId, Func<CustomerProfile, CustomerProfile> change, int maxAttempts = 5, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(store);
        ArgumentNullException.ThrowIfNull(change);
        if (maxAttempts < 1)
        {
            throw new EngagementValidationException(nameof(maxAttempts), maxAttempts, "must be at least 1");
        }

        for (var attempt = 1; ; attempt++)
        {
            var current = await store.GetAsync(customerId, cancellationToken).ConfigureAwait(false) ?? CustomerProfile.New(customerId);
            try
            {
                return await store.SaveAsync(change(current), cancellationToken).ConfigureAwait(false);
            }
            catch (ConcurrencyConflictException) when (attempt < maxAttempts)
            {
            }
        }
    }

    /// <summary>
    /// Counts the events of a person that match <paramref name="predicate"/> in the window ending at <paramref name="now"/>:
    /// those addressed to the profile's id and to every id merged into it (events are stored under the id they were sent
    /// with). The behavioural conditions of journeys and actions, such as "viewed this product three times in seven days".
    /// </summary>
    /// <param name="store">The event store.</param>
    /// <param name="profile">The live profile (as <see cref="Profiles.IdentityResolver.GetAsync"/> returns it).</param>
    /// <param name="predicate">Which events count.</param>
    /// <param name="window">How far back to look.</param>
    /// <param name="now">The end of the window (exclusive).</param>
    /// <param name="cancellationToken">Cancels the read.</param>
    /// <returns>The count.</returns>
    public static async ValueTask<int> CountAsync(this IEventStore store, Profiles.CustomerProfile profile, Func<EngagementEvent, bool> predicate, TimeSpan window, DateTimeOffset now, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(store);
        ArgumentNullException.ThrowIfNull(profile);
        var ids = new List<CustomerId>();
        Profiles.MergeShadows.CollectIds(profile, ids);
        var count = 0;
        foreach (var id in ids)
        {
            count += await store.CountAsync(id, predicate, window, now, cancellationToken).ConfigureAwait(false);
        }

        return count;
    }

    /// <summary>
    /// Counts the events addressed to one customer id that match <paramref name="predicate"/> in the window ending at
    /// <paramref name="now"/>. For a person known by several ids (after a merge) count through the profile
    /// (<see cref="CountAsync(IEventStore, Profiles.CustomerProfile, Func{EngagementEvent, bool}, TimeSpan, DateTimeOffset, CancellationToken)"/>)
    /// or <see cref="Profiles.IdentityResolver.CountEventsAsync"/>, which follow merges.
    /// </summary>
    /// <param name="store">The event store.</param>
    /// <param name="customerId">The customer.</param>
    /// <param name="predicate">Which events count.</param>
    /// <param name="window">How far back to look.</param>
    /// <param name="now">The end of the window (exclusive).</param>
    /// <param name="cancellationToken">Cancels the read.</param>
    /// <returns>The count.</returns>
    public static async ValueTask<int> CountAsync(this IEventStore store, CustomerId customerId, Func<EngagementEvent, bool> predicate, TimeSpan window, DateTimeOffset now, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(store);
        ArgumentNullException.ThrowIfNull(predicate);
        var count = 0;
        await foreach (var e in store.ReadAsync(customerId, now - window, now, cancellationToken).ConfigureAwait(false))
        {
            if (predicate(e))
            {
                count++;
            }
        }

        return count;
    }
}
