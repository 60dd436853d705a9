using Engagement.Sdk.Storage;

namespace Engagement.Sdk.Tests.Storage;

public sealed class UnitOfWorkTests
{
    [Fact]
    public async Task LockCustomerAsync_ByDefault_LocksTheCustomersKey()
    {
        IUnitOfWork unit = new RecordingUnit();

        await unit.LockCustomerAsync(new CustomerId("ann"));
        await unit.LockCustomerAsync(new CustomerId("Ann Smith"));

        ((RecordingUnit)unit).Keys.Should().Equal("customer:ann", "customer:Ann Smith");
    }

    [Fact]
    public void LockCustomerAsync_WithoutTransactions_LocksNothing()
    {
        IUnitOfWork unit = NoTransactions.Instance.Begin();

        unit.LockCustomerAsync(new CustomerId("ann")).IsCompletedSuccessfully.Should().BeTrue();
    }

    // Records the keys it is asked to lock; everything else does nothing.
    private sealed class RecordingUnit : IUnitOfWork
    {
        public List<string> Keys { get; } = [];

        public ValueTask StartAsync(CancellationToken cancellationToken = default) => ValueTask.CompletedTask;

        public ValueTask LockAsync(string key, CancellationToken cancellationToken = default)
        {
            Keys.Add(key);
            return ValueTask.CompletedTask;
        }

        public ValueTask CompleteAsync(CancellationToken cancellationToken = default) => ValueTask.CompletedTask;

        public ValueTask DisposeAsync() => ValueTask.CompletedTask;
    }
}
