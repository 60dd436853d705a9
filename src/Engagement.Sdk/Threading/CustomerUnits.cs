using System.Diagnostics;
using Engagement.Sdk.Diagnostics;
using Engagement.Sdk.Profiles;
using Engagement.Sdk.Storage;

namespace Engagement.Sdk.Threading;

/// <summary>
/// The engine's per-customer exclusion: a striped lock (two customers share a stripe about once in 1,000) taken after the
/// storage's unit of work, so that every flow takes locks in the same order; the unit of work of each tracked event; and a
/// unit of work of its own for work that is not an event (a timer fallen due, a held message released), run as the surviving
/// profile if the customer was merged.
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

    /// <summary>
    /// Runs one event's <paramref name="work"/> in a unit of work of its own under the customer's lock: the unit (the storage's
    /// lock) is taken before the customer's lock, as on every path, so locks never cross, and the customer's lock is released
    /// after the unit ended, so that no one builds on writes it undoes. In memory, with nothing to trace, the usual event (the
    /// gate free, every store answering at once) runs without an asynchronous state machine around it.
    /// </summary>
    /// <typeparam name="TState">What the work is given besides the unit.</typeparam>
    /// <typeparam name="T">What the work returns.</typeparam>
    /// <param name="customer">The customer the event is addressed to.</param>
    /// <param name="activity">The event's trace activity, ended here and marked failed if the work throws; or <see langword="null"/>.</param>
    /// <param name="state">Passed to the work.</param>
    /// <param name="work">The work: the state, the unit, the token.</param>
    /// <param name="cancellationToken">Cancels the work.</param>
    /// <returns>What the work returned.</returns>
    public ValueTask<T> RunEventAsync<TState, T>(CustomerId customer, Activity? activity, TState state, Func<TState, IUnitOfWork, CancellationToken, ValueTask<T>> work, CancellationToken cancellationToken)
        => activity is null && _transactions is InMemoryTransactions
            ? RunInMemoryEvent(customer, state, work, cancellationToken)
            : RunEventInUnitAsync(customer, activity, state, work, cancellationToken);

    private async ValueTask<T> RunEventInUnitAsync<TState, T>(CustomerId customer, Activity? activity, TState state, Func<TState, IUnitOfWork, CancellationToken, ValueTask<T>> work, CancellationToken cancellationToken)
    {
        using (activity)
        {
            // An in-memory unit is ended here once and not kept: the thread's next event reuses it.
            var unit = _transactions is InMemoryTransactions ? InMemoryTransactions.BeginReusable() : _transactions.Begin();
            AsyncGate? gate = null;
            try
            {
                await unit.StartAsync(cancellationToken).ConfigureAwait(false);
                await unit.LockCustomerAsync(customer, cancellationToken).ConfigureAwait(false);
                var customerGate = For(customer);
                await customerGate.WaitAsync(cancellationToken).ConfigureAwait(false);
                gate = customerGate;
                var result = await work(state, unit, cancellationToken).ConfigureAwait(false);
                await unit.CompleteAsync(cancellationToken).ConfigureAwait(false);
                return result;
            }
            catch (Exception ex)
            {
                EngagementTelemetry.Fail(activity, ex);
                throw;
            }
            finally
            {
                await unit.DisposeAsync().ConfigureAwait(false);
                gate?.Release();
                InMemoryTransactions.Recycle(unit);
            }
        }
    }

    // The usual in-memory event: the customer's gate free, every store answering at once. Then the event runs in its unit
    // without an asynchronous state machine around it; anything else (a held gate, a step that went asynchronous or failed, a
    // cancelled token) continues in the asynchronous path, which ends the unit as RunEventInUnitAsync does. In-memory units
    // take no locks, so the gate may be taken before the unit is begun.
    private ValueTask<T> RunInMemoryEvent<TState, T>(CustomerId customer, TState state, Func<TState, IUnitOfWork, CancellationToken, ValueTask<T>> work, CancellationToken cancellationToken)
    {
        var caller = ExecutionContext.Capture();
        var gate = For(customer);
        if (caller is null || cancellationToken.IsCancellationRequested || !gate.TryEnter())
        {
            return RunEventInUnitAsync(customer, null, state, work, cancellationToken);
        }

        // The unit changes this flow's execution context (see BeginReusable); the caller's is put back before returning.
        var unit = InMemoryTransactions.BeginReusable();
        var handedOver = false;
        try
        {
            var pending = work(state, unit, cancellationToken);
            if (!pending.IsCompletedSuccessfully || cancellationToken.IsCancellationRequested)
            {
                handedOver = true;
                return FinishInMemoryEventAsync(pending, unit, gate, cancellationToken);
            }

            var result = pending.Result;
            try
            {
                // An in-memory unit completes at once; it throws only for a token cancelled since the check above.
                _ = unit.CompleteAsync(cancellationToken);
            }
            catch (OperationCanceledException ex)
            {
                return ValueTask.FromCanceled<T>(ex.CancellationToken);
            }

            return new ValueTask<T>(result);
        }
        finally
        {
            if (!handedOver)
            {
                // Undoes the event's writes if the unit was not completed (an exception on the way out).
                _ = unit.DisposeAsync();
                gate.Release();
                InMemoryTransactions.Recycle(unit);
            }

            ExecutionContext.Restore(caller);
        }
    }

    // The rest of RunInMemoryEvent's event when it did not complete at once: awaited, completed or undone, the gate released.
    private static async ValueTask<T> FinishInMemoryEventAsync<T>(ValueTask<T> pending, InMemoryUnitOfWork unit, AsyncGate gate, CancellationToken cancellationToken)
    {
        try
        {
            var result = await pending.ConfigureAwait(false);
            await unit.CompleteAsync(cancellationToken).ConfigureAwait(false);
            return result;
        }
        finally
        {
            await unit.DisposeAsync().ConfigureAwait(false);
            gate.Release();
            InMemoryTransactions.Recycle(unit);
        }
    }
}
