using System.Collections.Immutable;

namespace Engagement.Sdk.Storage;

/// <summary>
/// Runs the items of a batch in one optimistic unit of work (<see cref="IOptimisticTransactions"/>): each item's own unit
/// costs nothing to undo there, because none is ever undone alone. An item that fails without having written anything (its
/// checks before its unit began) is reported and the batch goes on; an item whose unit ended without completing leaves writes
/// that cannot be told apart from the others', so the whole attempt is rolled back and the caller runs the batch again with
/// an undoable unit per item.
/// </summary>
internal static class OptimisticBatch
{
    /// <summary>Runs <paramref name="items"/> in <paramref name="unit"/> (which it ends).</summary>
    /// <typeparam name="TItem">The items' type.</typeparam>
    /// <typeparam name="T">The results' type.</typeparam>
    /// <param name="unit">The optimistic unit, not yet started.</param>
    /// <param name="items">The items.</param>
    /// <param name="run">Runs one item (with its index) in a unit nested in <paramref name="unit"/>.</param>
    /// <param name="failed">The result of an item that failed with an exception the batch reports per item, or <see langword="null"/> when the exception is not one of those (it then ends the batch).</param>
    /// <param name="cancellationToken">Cancels the work.</param>
    /// <returns>The results in order, all written; or <see langword="default"/> when the attempt was rolled back and must be run again.</returns>
    public static async ValueTask<ImmutableArray<T>> TryRunAsync<TItem, T>(
        IOptimisticUnitOfWork unit,
        IReadOnlyList<TItem> items,
        Func<TItem, int, CancellationToken, ValueTask<T>> run,
        Func<Exception, TItem, int, T?> failed,
        CancellationToken cancellationToken)
        where T : class
    {
        await using (unit.ConfigureAwait(false))
        {
            await unit.StartAsync(cancellationToken).ConfigureAwait(false);
            var results = ImmutableArray.CreateBuilder<T>(items.Count);
            for (var i = 0; i < items.Count; i++)
            {
                T? result;
                try
                {
                    result = await run(items[i], i, cancellationToken).ConfigureAwait(false);
                }
                catch (Exception ex) when (failed(ex, items[i], i) is { } failure)
                {
                    result = failure;
                }

                if (unit.MustRollBack)
                {
                    return default; // disposing the unit without completing it rolls the attempt back
                }

                results.Add(result);
            }

            await unit.CompleteAsync(cancellationToken).ConfigureAwait(false);
            return results.MoveToImmutable();
        }
    }
}
