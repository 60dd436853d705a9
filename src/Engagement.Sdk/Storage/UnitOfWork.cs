namespace Engagement.Sdk.Storage;

/// <summary>
/// Implemented by storage that can write several store operations atomically (SQLite and PostgreSQL with transactions, the
/// in-memory stores with <see cref="InMemoryTransactions"/>, which undo their writes). The engine wraps each tracked event (event append, profile save, dispatch log) in a unit of work, and a batch
/// in an enclosing one, so that an event is never stored without its effect on the profile, and a batch is written in one
/// transaction.
/// </summary>
/// <remarks>
/// A unit of work belongs to the asynchronous flow that began it: call <see cref="Begin"/> in the method that makes the store
/// calls, and do not make store calls from parallel tasks inside it. Units nest: an inner unit that is disposed without being
/// completed undoes only its own writes.
/// </remarks>
public interface IStoreTransactions
{
    /// <summary>Begins a unit of work on the current asynchronous flow (nested in the current one, if any).</summary>
    /// <returns>The unit: complete it to keep its writes; dispose it without completing to undo them.</returns>
    IUnitOfWork Begin();

    /// <summary>
    /// Makes everything written so far on the current flow durable, before an external side effect that must not be repeated
    /// (a message handed to a channel). The current units stay open for further writes; a later rollback undoes only what
    /// was written after the flush. Does nothing outside a unit of work.
    /// </summary>
    /// <param name="cancellationToken">Cancels the work.</param>
    /// <returns>A task.</returns>
    ValueTask FlushAsync(CancellationToken cancellationToken = default);
}

/// <summary>A unit of work begun by <see cref="IStoreTransactions.Begin"/>.</summary>
public interface IUnitOfWork : IAsyncDisposable
{
    /// <summary>
    /// Takes the storage's write lock now rather than at the first store call. Callers that also take locks of their own take
    /// this one first, so that every flow takes locks in the same order.
    /// </summary>
    /// <param name="cancellationToken">Cancels waiting.</param>
    /// <returns>A task.</returns>
    ValueTask StartAsync(CancellationToken cancellationToken = default);

    /// <summary>
    /// Takes an exclusive lock on <paramref name="key"/> (for example a customer) until the outermost unit ends, so that units
    /// in other processes that lock the same key wait. Storage whose units already exclude each other entirely (SQLite) need
    /// do nothing.
    /// </summary>
    /// <param name="key">The key.</param>
    /// <param name="cancellationToken">Cancels waiting.</param>
    /// <returns>A task.</returns>
    ValueTask LockAsync(string key, CancellationToken cancellationToken = default);

    /// <summary>
    /// Takes the lock of one customer: <see cref="LockAsync"/> on the key <c>customer:</c> followed by the id (the engine
    /// locks every customer it writes). Storage whose units lock nothing by key may answer without building the key.
    /// </summary>
    /// <param name="customerId">The customer.</param>
    /// <param name="cancellationToken">Cancels waiting.</param>
    /// <returns>A task.</returns>
    ValueTask LockCustomerAsync(CustomerId customerId, CancellationToken cancellationToken = default)
        => LockAsync("customer:" + customerId.Value, cancellationToken);

    /// <summary>Keeps the unit's writes (commits them, or releases them into the enclosing unit).</summary>
    /// <param name="cancellationToken">Cancels the work.</param>
    /// <returns>A task.</returns>
    ValueTask CompleteAsync(CancellationToken cancellationToken = default);
}

/// <summary>For stores without units of work: units that do nothing (a fault part-way through an event leaves what was written).</summary>
public sealed class NoTransactions : IStoreTransactions, IUnitOfWork
{
    private NoTransactions()
    {
    }

    /// <summary>The instance.</summary>
    public static NoTransactions Instance { get; } = new();

    /// <inheritdoc />
    public IUnitOfWork Begin() => this;

    /// <inheritdoc />
    public ValueTask FlushAsync(CancellationToken cancellationToken = default) => ValueTask.CompletedTask;

    /// <inheritdoc />
    public ValueTask StartAsync(CancellationToken cancellationToken = default) => ValueTask.CompletedTask;

    /// <inheritdoc />
    public ValueTask LockAsync(string key, CancellationToken cancellationToken = default) => ValueTask.CompletedTask;

    /// <inheritdoc />
    public ValueTask LockCustomerAsync(CustomerId customerId, CancellationToken cancellationToken = default) => ValueTask.CompletedTask;

    /// <inheritdoc />
    public ValueTask CompleteAsync(CancellationToken cancellationToken = default) => ValueTask.CompletedTask;

    /// <inheritdoc />
    public ValueTask DisposeAsync() => ValueTask.CompletedTask;
}

/// <summary>
/// Implemented by storage whose nested units of work cost something to make undoable on their own (SQLite's savepoints: two
/// statements and a copy of every page a nested unit changes). A unit begun with <see cref="TryBeginOptimistic"/> runs the
/// units nested in it without that: when each of them completes, what is written is the same; when one ends without
/// completing, its writes cannot be undone alone, so the unit reports <see cref="IOptimisticUnitOfWork.MustRollBack"/>, can
/// only be rolled back as a whole, and the caller does the work again in an ordinary unit. For batches in which a failing
/// item is rare (the engine's batches of events).
/// </summary>
public interface IOptimisticTransactions
{
    /// <summary>Begins an optimistic unit of work, or answers <see langword="null"/> inside another unit (whose nested units must stay undoable).</summary>
    /// <returns>The unit, or <see langword="null"/>.</returns>
    IOptimisticUnitOfWork? TryBeginOptimistic();
}

/// <summary>A unit of work begun by <see cref="IOptimisticTransactions.TryBeginOptimistic"/>.</summary>
public interface IOptimisticUnitOfWork : IUnitOfWork
{
    /// <summary>
    /// Whether a unit nested in this one ended without completing: its writes are still part of this unit, which must then be
    /// disposed without completing (completing it throws <see cref="InvalidOperationException"/>).
    /// </summary>
    bool MustRollBack { get; }
}
