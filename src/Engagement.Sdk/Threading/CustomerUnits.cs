using Engagement.Sdk.Profiles;
using Engagement.Sdk.Storage;

namespace Engagement.Sdk.Threading;

/// <summary>
/// The engine's per-customer exclusion: a striped lock (two customers share a stripe about once in 1,000) taken after the
/// storage's unit of work, so that every flow takes locks in the same order, and a unit of work of its own for work that is
/// not an event (a timer fallen due, a held message released), run as the surviving profile if the customer was merged.
/// </summary>
internal sealed class CustomerUnits
{
    private readonly AsyncGate[] _locks;
    private readonly IStoreTransactions _transactions;
    private readonly IdentityResolver _identity;

    /// <summary>Creates the locks.</summary>
    /// <param name="stripes">How many stripes.</param>
    /// <param name="transactions">The storage's units of work.</param>
    /// <param name="identity">Identity resolution, to load a customer as the survivor of a merge.</param>
    public CustomerUnits(int stripes, IStoreTransactions transactions, IdentityResolver identity)
    {
        _locks = new AsyncGate[stripes];
        for (var i = 0; i < stripes; i++)
        {
            _locks[i] = new AsyncGate();
        }

        _transactions = transactions;
        _identity = identity;
    }

    /// <summary>The lock of a customer's stripe.</summary>
    /// <param name="customerId">The customer.</param>
    /// <returns>The gate to hold while working on the customer.</returns>
    public AsyncGate For(CustomerId customerId) => _locks[(customerId.GetHashCode() & int.MaxValue) % _locks.Length];

    /// <summary>
    /// Runs <paramref name="work"/> for <paramref name="customer"/> in a unit of work of its own, under the customer's lock,
    /// with their profile (the survivor's, locked too, when they were merged into another). The unit ends, and undoes its
    /// writes unless the work completed, before the lock is given back, so no one builds on writes it undoes.
    /// </summary>
    /// <typeparam name="TState">What the work is given besides the profile.</typeparam>
    /// <typeparam name="T">What the work returns.</typeparam>
    /// <param name="customer">The customer.</param>
    /// <param name="state">Passed to the work.</param>
    /// <param name="work">The work: the customer as they were asked for, their profile, the state.</param>
    /// <param name="cancellationToken">Cancels the work.</param>
    /// <returns>What the work returned.</returns>
    public async ValueTask<T> RunAsync<TState, T>(CustomerId customer, TState state, Func<CustomerId, CustomerProfile, TState, CancellationToken, ValueTask<T>> work, CancellationToken cancellationToken)
    {
        var unit = _transactions.Begin();
        AsyncGate? gate = null;
        try
        {
            await unit.StartAsync(cancellationToken).ConfigureAwait(false);
            await unit.LockCustomerAsync(customer, cancellationToken).ConfigureAwait(false);
            var customerGate = For(customer);
            await customerGate.WaitAsync(cancellationToken).ConfigureAwait(false);
            gate = customerGate;

            // A customer merged into another since their work was set (a timer, a held message) is served as the survivor.
            var profile = await _identity.GetAsync(customer, cancellationToken).ConfigureAwait(false) ?? CustomerProfile.New(customer);
            if (profile.Id != customer)
            {
                await unit.LockCustomerAsync(profile.Id, cancellationToken).ConfigureAwait(false);
            }

            var outcome = await work(customer, profile, state, cancellationToken).ConfigureAwait(false);
            await unit.CompleteAsync(cancellationToken).ConfigureAwait(false);
            return outcome;
        }
        finally
        {
            await unit.DisposeAsync().ConfigureAwait(false);
            gate?.Release();
        }
    }
}
