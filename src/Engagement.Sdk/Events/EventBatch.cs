using System.Collections.Immutable;
using Engagement.Sdk.Consent;
using Engagement.Sdk.Storage;

namespace Engagement.Sdk.Events;

/// <summary>
/// Tracks a batch of events in one unit of work (one transaction where the storage has them), each event in a unit of its
/// own, so that a rejected event leaves nothing behind while the others are kept. Where an event's own unit costs a savepoint
/// (<see cref="IOptimisticTransactions"/>), the batch is first run without them; an event that fails after its unit began
/// undoes that attempt, and the batch runs again with a savepoint an event.
/// </summary>
internal static class EventBatch
{
    /// <summary>Tracks <paramref name="events"/>.</summary>
    /// <param name="transactions">The storage's units of work.</param>
    /// <param name="events">The events (a null one is rejected as such).</param>
    /// <param name="track">Tracks one event (in a unit nested in the batch's).</param>
    /// <param name="cancellationToken">Cancels the work.</param>
    /// <returns>Each event's result or rejection, in order.</returns>
    public static async ValueTask<ImmutableArray<BatchItemResult>> TrackAsync(
        IStoreTransactions transactions,
        IReadOnlyList<EngagementEvent> events,
        Func<EngagementEvent, CancellationToken, ValueTask<TrackResult>> track,
        CancellationToken cancellationToken)
    {
        if (transactions is IOptimisticTransactions optimistic && optimistic.TryBeginOptimistic() is { } attempt)
        {
            var results = await OptimisticBatch.TryRunAsync(
                attempt,
                events,
                async (engagementEvent, index, ct) => new BatchItemResult(index, await track(engagementEvent ?? throw NullEvent(index), ct).ConfigureAwait(false), null),
                static (ex, engagementEvent, index) => Rejected(ex, engagementEvent, index),
                cancellationToken).ConfigureAwait(false);
            if (!results.IsDefault)
            {
                return results;
            }
        }

        return await TrackInUnitsAsync(transactions, events, track, cancellationToken).ConfigureAwait(false);
    }

    // Each event in a nested unit of the batch's unit (a savepoint where the storage has them).
    private static async ValueTask<ImmutableArray<BatchItemResult>> TrackInUnitsAsync(
        IStoreTransactions transactions,
        IReadOnlyList<EngagementEvent> events,
        Func<EngagementEvent, CancellationToken, ValueTask<TrackResult>> track,
        CancellationToken cancellationToken)
    {
        var results = ImmutableArray.CreateBuilder<BatchItemResult>(events.Count);
        var batch = transactions.Begin();
        await using var scope = batch.ConfigureAwait(false);
        await batch.StartAsync(cancellationToken).ConfigureAwait(false);
        for (var index = 0; index < events.Count; index++)
        {
            var engagementEvent = events[index];
            try
            {
                results.Add(new BatchItemResult(index, await track(engagementEvent ?? throw NullEvent(index), cancellationToken).ConfigureAwait(false), null));
            }
            catch (Exception ex) when (Rejected(ex, engagementEvent, index) is { } rejected)
            {
                results.Add(rejected);
            }
        }

        await batch.CompleteAsync(cancellationToken).ConfigureAwait(false);
        return results.MoveToImmutable();
    }

    private static EngagementValidationException NullEvent(int index) => new($"events[{index}]", null, "must not be null");

    // The failures that reject one event of a batch (the others are kept), or null for any other exception (which ends the batch).
    private static BatchItemResult? Rejected(Exception ex, EngagementEvent? engagementEvent, int index) => ex switch
    {
        EngagementValidationException or EventConflictException or ConsentConflictException or CurrencyMismatchException => new BatchItemResult(index, null, ex),

        // Arithmetic on one event's data (amounts are checked against Money.MaxAmount first, so this is a safety net) rejects
        // that event alone, as a validation error.
        ArithmeticException => new BatchItemResult(index, null, new EngagementValidationException($"events[{index}]", engagementEvent?.EventId, $"its values cannot be computed ({ex.Message})")),
        _ => null,
    };
}
