using Engagement.Sdk.Events;
using Engagement.Sdk.Storage;
using Engagement.Sdk.Testing.Conformance;

namespace Engagement.Sdk.Testing.XunitV3.Tests;

/// <summary>The kit's checks really run under xUnit v3: a conforming store passes every one, a broken store fails the check it breaks.</summary>
public sealed class KitRunsChecksTests
{
    [Fact]
    public async Task RunAllAsync_InMemoryEventStore_RunsAndPassesEveryCheck()
    {
        var results = await ConformanceSuite.RunAllAsync(() => new EventStoreSuite(() => new InMemoryEventStore()));

        Assert.Equal(ConformanceSuite.CheckNamesOf(typeof(EventStoreConformanceTests)), results.Select(r => r.Check));
        Assert.True(results.Count >= 6, $"only {results.Count} checks were found");
        Assert.All(results, r => Assert.True(r.Passed, $"{r.Check}: {r.Failure}"));
    }

    [Fact]
    public async Task RunAllAsync_StoreThatHidesConflicts_FailsExactlyTheIdempotencyCheck()
    {
        var results = await ConformanceSuite.RunAllAsync(() => new EventStoreSuite(() => new ConflictHidingEventStore(new InMemoryEventStore())));

        var failed = Assert.Single(results, r => !r.Passed);
        Assert.Equal(nameof(EventStoreConformanceTests.AppendAsync_SameIdTwice_IsIdempotentAndADifferentPayloadConflicts), failed.Check);
        var failure = Assert.IsType<ConformanceException>(failed.Failure);
        Assert.Contains("to throw EventConflictException", failure.Message, StringComparison.Ordinal);
        Assert.Contains("it completed without an exception", failure.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task RunAsync_StoreWithAnInclusiveRangeEnd_ThrowsAConformanceExceptionNamingTheExpectation()
    {
        var suite = new EventStoreSuite(() => new InclusiveEndEventStore(new InMemoryEventStore()));

        var failure = await Assert.ThrowsAsync<ConformanceException>(() => suite.RunAsync(nameof(EventStoreConformanceTests.ReadAsync_TimeRange_IsOrderedInclusiveAtStartAndExclusiveAtEnd)));

        Assert.Contains("to equal", failure.Message, StringComparison.Ordinal);
        Assert.Contains("but found", failure.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task RunAsync_UnknownCheck_IsAnArgumentError()
    {
        var suite = new EventStoreSuite(() => new InMemoryEventStore());

        var error = await Assert.ThrowsAsync<ArgumentException>(() => suite.RunAsync("NoSuchCheck"));

        Assert.Contains("NoSuchCheck", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void CheckNamesOf_ChecksWithCases_NameEachCase()
    {
        var names = ConformanceSuite.CheckNamesOf(typeof(EventAtomicityConformanceTests));

        Assert.Contains(names, n => n.EndsWith("(EventAppend)", StringComparison.Ordinal));
        Assert.Equal(names.Count, names.Distinct(StringComparer.Ordinal).Count());
    }

    private sealed class EventStoreSuite(Func<IEventStore> create) : EventStoreConformanceTests
    {
        protected override IEventStore CreateStore() => create();
    }

    /// <summary>Broken on purpose: a reused event id with another payload is reported as a duplicate instead of a conflict.</summary>
    private sealed class ConflictHidingEventStore(InMemoryEventStore inner) : IEventStore, ISubjectErasure
    {
        public async ValueTask<AppendOutcome> AppendAsync(EngagementEvent engagementEvent, CancellationToken cancellationToken = default)
        {
            try
            {
                return await inner.AppendAsync(engagementEvent, cancellationToken);
            }
            catch (EventConflictException)
            {
                return AppendOutcome.Duplicate;
            }
        }

        public IAsyncEnumerable<EngagementEvent> ReadAsync(CustomerId customerId, DateTimeOffset? from = null, DateTimeOffset? to = null, CancellationToken cancellationToken = default)
            => inner.ReadAsync(customerId, from, to, cancellationToken);

        public IAsyncEnumerable<EngagementEvent> ReadRangeAsync(DateTimeOffset from, DateTimeOffset to, CancellationToken cancellationToken = default)
            => inner.ReadRangeAsync(from, to, cancellationToken);

        public ValueTask<int> EraseSubjectAsync(CustomerId customerId, CancellationToken cancellationToken = default)
            => inner.EraseSubjectAsync(customerId, cancellationToken);
    }

    /// <summary>Broken on purpose: a customer's read includes events at the end of the range.</summary>
    private sealed class InclusiveEndEventStore(InMemoryEventStore inner) : IEventStore
    {
        public ValueTask<AppendOutcome> AppendAsync(EngagementEvent engagementEvent, CancellationToken cancellationToken = default)
            => inner.AppendAsync(engagementEvent, cancellationToken);

        public IAsyncEnumerable<EngagementEvent> ReadAsync(CustomerId customerId, DateTimeOffset? from = null, DateTimeOffset? to = null, CancellationToken cancellationToken = default)
            => inner.ReadAsync(customerId, from, to?.AddTicks(1), cancellationToken);

        public IAsyncEnumerable<EngagementEvent> ReadRangeAsync(DateTimeOffset from, DateTimeOffset to, CancellationToken cancellationToken = default)
            => inner.ReadRangeAsync(from, to, cancellationToken);
    }
}
