using Engagement.Sdk.Threading;

namespace Engagement.Sdk.Tests.Threading;

public sealed class AsyncGateTests
{
    [Fact]
    public void WaitAsync_FreeGate_IsGrantedAtOnceAndReleaseFreesIt()
    {
        var gate = new AsyncGate();

        var wait = gate.WaitAsync();

        wait.IsCompletedSuccessfully.Should().BeTrue();
        gate.IsHeld.Should().BeTrue();
        gate.Release();
        gate.IsHeld.Should().BeFalse();
        gate.WaitAsync().IsCompletedSuccessfully.Should().BeTrue("a released gate can be taken again");
    }

    [Fact]
    public async Task WaitAsync_HeldGate_WaitsForTheRelease()
    {
        var gate = new AsyncGate();
        await gate.WaitAsync();

        var second = gate.WaitAsync().AsTask();
        await Task.Delay(20);
        second.IsCompleted.Should().BeFalse("the gate is held");

        gate.Release();
        await second.WaitAsync(TimeSpan.FromSeconds(10));
        gate.IsHeld.Should().BeTrue("the gate passed to the waiter");
        gate.Release();
        gate.IsHeld.Should().BeFalse();
    }

    [Fact]
    public async Task WaitAsync_SeveralWaiters_AreServedInArrivalOrder()
    {
        var gate = new AsyncGate();
        await gate.WaitAsync();
        var order = new List<int>();

        // Each call queues its waiter before it returns, so the waiters queue in the order 0, 1, 2, …
        var waiters = Enumerable.Range(0, 5).Select(async i =>
        {
            await gate.WaitAsync();
            lock (order)
            {
                order.Add(i);
            }

            gate.Release();
        }).ToArray();
        order.Should().BeEmpty("the gate is held");

        gate.Release();
        await Task.WhenAll(waiters).WaitAsync(TimeSpan.FromSeconds(10));

        order.Should().Equal(0, 1, 2, 3, 4);
        gate.IsHeld.Should().BeFalse();
    }

    [Fact]
    public async Task WaitAsync_ManyContendingTasks_OneAtATimeAndNoneLost()
    {
        var gate = new AsyncGate();
        var inside = 0;
        var overlaps = 0;
        var count = 0;
        var workers = Enumerable.Range(0, 8).Select(w => Task.Run(async () =>
        {
            for (var i = 0; i < 5_000; i++)
            {
                await gate.WaitAsync();
                try
                {
                    if (Interlocked.Increment(ref inside) != 1)
                    {
                        Interlocked.Increment(ref overlaps);
                    }

                    count++; // not atomic on purpose: only the gate keeps it exact
                    if (i % 100 == w)
                    {
                        await Task.Yield(); // held across an await, as the engine holds it
                    }

                    Interlocked.Decrement(ref inside);
                }
                finally
                {
                    gate.Release();
                }
            }
        })).ToArray();

        await Task.WhenAll(workers).WaitAsync(TimeSpan.FromSeconds(60));

        overlaps.Should().Be(0);
        count.Should().Be(8 * 5_000);
        gate.IsHeld.Should().BeFalse();
    }

    [Fact]
    public async Task WaitAsync_CancelledWhileQueued_ThrowsAndTheGatePassesOn()
    {
        var gate = new AsyncGate();
        await gate.WaitAsync();
        using var cancel = new CancellationTokenSource();
        var cancelled = gate.WaitAsync(cancel.Token).AsTask();
        var next = gate.WaitAsync().AsTask();

        await cancel.CancelAsync();
        var act = () => cancelled;
        await act.Should().ThrowAsync<OperationCanceledException>();

        gate.Release();
        await next.WaitAsync(TimeSpan.FromSeconds(10));
        gate.IsHeld.Should().BeTrue("the next waiter got the gate, not the cancelled one");
        gate.Release();
        gate.IsHeld.Should().BeFalse();
    }

    [Fact]
    public async Task WaitAsync_OnlyCancelledWaiters_ReleaseFreesTheGate()
    {
        var gate = new AsyncGate();
        await gate.WaitAsync();
        using var cancel = new CancellationTokenSource();
        var cancelled = gate.WaitAsync(cancel.Token).AsTask();
        await cancel.CancelAsync();
        await FluentActions.Awaiting(() => cancelled).Should().ThrowAsync<OperationCanceledException>();

        gate.Release();

        gate.IsHeld.Should().BeFalse();
        gate.WaitAsync().IsCompletedSuccessfully.Should().BeTrue();
    }

    [Fact]
    public void WaitAsync_TokenAlreadyCancelled_ThrowsWithoutTakingTheGate()
    {
        var gate = new AsyncGate();

        var act = () => gate.WaitAsync(new CancellationToken(canceled: true));

        act.Should().Throw<OperationCanceledException>();
        gate.IsHeld.Should().BeFalse();
    }

    [Fact]
    public void Release_GateNotHeld_Throws()
    {
        var gate = new AsyncGate();

        var act = gate.Release;

        act.Should().Throw<SynchronizationLockException>();
    }
}
