namespace Engagement.Sdk.Threading;

/// <summary>
/// An asynchronous mutual-exclusion lock for the engine's per-customer stripes: held across awaits, taken and given back
/// with one atomic instruction each while nobody waits (the usual case: two events of one stripe rarely overlap), and
/// handing itself to the first waiter otherwise. Not re-entrant.
/// </summary>
/// <remarks>
/// <see cref="SemaphoreSlim"/> does the same job but takes a monitor on every wait and every release; this gate only
/// locks when a caller has to wait, and a caller that finds it held first spins for a few microseconds (an event's work
/// in memory takes about one) before it queues. Waiters are served in arrival order; a waiter whose token is cancelled
/// leaves the queue without taking the gate. The lock and the queue are made on the first wait, so an idle gate is one
/// small object.
/// </remarks>
internal sealed class AsyncGate
{
    private const int Free = 0;
    private const int Held = 1;
    private const int HeldWithWaiters = 2;

    private Lock? _lock;
    private Queue<Waiter>? _waiters;
    private int _state;

    /// <summary>Whether someone holds the gate (for tests and diagnostics; it may change at once).</summary>
    public bool IsHeld => Volatile.Read(ref _state) != Free;

    /// <summary>Takes the gate, waiting for it if it is held.</summary>
    /// <param name="cancellationToken">Cancels the wait (not a wait already granted).</param>
    /// <returns>A task that completes when the caller holds the gate.</returns>
    /// <exception cref="OperationCanceledException">The token was cancelled before the gate was granted.</exception>
    public ValueTask WaitAsync(CancellationToken cancellationToken = default)
    {
        cancellationToken.ThrowIfCancellationRequested();
        return Interlocked.CompareExchange(ref _state, Held, Free) == Free ? ValueTask.CompletedTask : WaitSlowAsync(cancellationToken);
    }

    /// <summary>Takes the gate if it is free, without waiting.</summary>
    /// <returns>Whether the caller now holds the gate.</returns>
    public bool TryEnter() => Interlocked.CompareExchange(ref _state, Held, Free) == Free;

    /// <summary>Gives the gate back: to the first waiter if any, otherwise it becomes free.</summary>
    /// <exception cref="SynchronizationLockException">The gate is not held.</exception>
    public void Release()
    {
        if (Interlocked.CompareExchange(ref _state, Free, Held) == Held)
        {
            return;
        }

        lock (Sync)
        {
            if (_state == Free)
            {
                throw new SynchronizationLockException("The gate was released without being held.");
            }

            // The state is HeldWithWaiters: waiters change it only under this lock.
            while (_waiters is not null && _waiters.TryDequeue(out var waiter))
            {
                if (waiter.TryGrant())
                {
                    if (_waiters!.Count == 0)
                    {
                        Volatile.Write(ref _state, Held);
                    }

                    return;
                }
            }

            Volatile.Write(ref _state, Free);
        }
    }

    // Made on first use, by whichever caller gets there first.
    private Lock Sync => Volatile.Read(ref _lock) ?? Interlocked.CompareExchange(ref _lock, new Lock(), null) ?? _lock!;

    private ValueTask WaitSlowAsync(CancellationToken cancellationToken)
    {
        // The holder is most likely in the middle of one short piece of work: spin briefly before queueing, which would
        // cost a task and a hop through the thread pool.
        var spinner = default(SpinWait);
        while (!spinner.NextSpinWillYield)
        {
            spinner.SpinOnce();
            if (Volatile.Read(ref _state) == Free && Interlocked.CompareExchange(ref _state, Held, Free) == Free)
            {
                return ValueTask.CompletedTask;
            }
        }

        Waiter waiter;
        lock (Sync)
        {
            while (true)
            {
                var state = Volatile.Read(ref _state);
                if (state == Free)
                {
                    if (Interlocked.CompareExchange(ref _state, Held, Free) == Free)
                    {
                        return ValueTask.CompletedTask;
                    }

                    continue;
                }

                // Marking the gate as waited for makes the holder's release take the lock and find this waiter.
                if (state == HeldWithWaiters || Interlocked.CompareExchange(ref _state, HeldWithWaiters, Held) == Held)
                {
                    break;
                }
            }

            waiter = new Waiter();
            (_waiters ??= new Queue<Waiter>()).Enqueue(waiter);
        }

        waiter.Watch(cancellationToken);
        return new ValueTask(waiter.Task);
    }

    // A queued caller: granted the gate by a release, or cancelled, whichever comes first.
    private sealed class Waiter() : TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously)
    {
        private CancellationTokenRegistration _registration;

        public void Watch(CancellationToken cancellationToken)
        {
            if (cancellationToken.CanBeCanceled)
            {
                _registration = cancellationToken.UnsafeRegister(static (state, token) => ((Waiter)state!).TrySetCanceled(token), this);
            }
        }

        public bool TryGrant()
        {
            if (!TrySetResult())
            {
                return false;
            }

            _registration.Dispose();
            return true;
        }
    }
}
