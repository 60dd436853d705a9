using Engagement.Sdk.Profiles;
using Engagement.Sdk.Storage;
using Engagement.Sdk.Threading;

namespace Engagement.Sdk.Journeys;

/// <summary>
/// The loop of the sweeps (journeys and segments): the customers whose timers are due now, read from the store's due index in
/// batches; a batch is one unit of work (one transaction where the storage has them) and each customer a nested unit under the
/// customer's lock, evaluated as the survivor if merged, as an event is.
/// </summary>
internal sealed class DueSweeper(IStoreTransactions transactions, CustomerUnits units, TimeProvider time)
{
    /// <summary>How many customers are read from the due index, and swept in one unit of work, at a time.</summary>
    public const int Batch = 512;

    /// <summary>Evaluates every customer due now, once each.</summary>
    /// <typeparam name="T">What an evaluation returns.</typeparam>
    /// <param name="listDue">Lists up to a number of customers due at an instant, earliest first.</param>
    /// <param name="evaluate">Evaluates one customer (their profile, now).</param>
    /// <param name="collect">Receives each evaluation's outcome, in order.</param>
    /// <param name="cancellationToken">Cancels the work (customers already evaluated stay evaluated).</param>
    /// <returns>How many customers were evaluated.</returns>
    public async ValueTask<int> SweepAsync<T>(
        Func<DateTimeOffset, int, CancellationToken, ValueTask<IReadOnlyList<CustomerId>>> listDue,
        Func<CustomerProfile, DateTimeOffset, CancellationToken, ValueTask<T>> evaluate,
        Action<T> collect,
        CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow();
        var done = new HashSet<CustomerId>();
        var state = (Now: now, Evaluate: evaluate);
        while (true)
        {
            var due = await listDue(now, Batch, cancellationToken).ConfigureAwait(false);
            var fresh = due.Where(done.Add).ToList();
            if (fresh.Count == 0)
            {
                break;
            }

            var batch = transactions.Begin();
            await using (batch.ConfigureAwait(false))
            {
                await batch.StartAsync(cancellationToken).ConfigureAwait(false);
                foreach (var customer in fresh)
                {
                    collect(await units.RunAsync(customer, state, static (_, profile, s, ct) => s.Evaluate(profile, s.Now, ct), cancellationToken).ConfigureAwait(false));
                }

                await batch.CompleteAsync(cancellationToken).ConfigureAwait(false);
            }

            if (due.Count < Batch)
            {
                break;
            }
        }

        return done.Count;
    }
}
