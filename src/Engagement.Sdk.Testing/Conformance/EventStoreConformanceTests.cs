using Engagement.Sdk.Channels;
using Engagement.Sdk.Events;
using Engagement.Sdk.Storage;

namespace Engagement.Sdk.Testing.Conformance;

/// <summary>What every <see cref="IEventStore"/> must do. Inherit it in the adapter's tests and return a fresh, empty store.</summary>
public abstract class EventStoreConformanceTests : ConformanceSuite
{
    /// <summary>Gets the names of this suite's checks, one row each, for a test framework's data-driven test.</summary>
    /// <value>One row per check.</value>
    public static IEnumerable<object[]> Checks => CheckRowsOf(typeof(EventStoreConformanceTests));

    private static readonly DateTimeOffset T0 = new(2026, 3, 1, 12, 0, 0, TimeSpan.Zero);

    /// <summary>Creates a fresh, empty store for one test.</summary>
    /// <returns>The store.</returns>
    protected abstract IEventStore CreateStore();

    /// <summary>The same event twice is one entry; a reused id with another payload is a conflict.</summary>
    /// <returns>A task.</returns>
    [ConformanceCheck]
    public async Task AppendAsync_SameIdTwice_IsIdempotentAndADifferentPayloadConflicts()
    {
        var store = CreateStore();
        var view = View("e1", "c1", T0, "sku-1");

        (await store.AppendAsync(view)).Should().Be(AppendOutcome.Appended);
        (await store.AppendAsync(view with { })).Should().Be(AppendOutcome.Duplicate);
        var act = async () => await store.AppendAsync(view with { ProductId = "sku-2" });

        (await act.Should().ThrowAsync<EventConflictException>()).Which.EventId.Should().Be("e1");
        (await ReadAll(store.ReadAsync(new CustomerId("c1")))).Should().ContainSingle().Which.Should().BeEquivalentTo(view);
    }

    /// <summary>Events round-trip with their type, offset and unicode text.</summary>
    /// <returns>A task.</returns>
    [ConformanceCheck]
    public async Task ReadAsync_AppendedEvents_RoundTripWithTypeOffsetAndUnicode()
    {
        var store = CreateStore();
        var purchase = new Purchased
        {
            EventId = "e-ü-😀",
            CustomerId = new CustomerId("c1"),
            Timestamp = new DateTimeOffset(2026, 3, 1, 14, 30, 0, TimeSpan.FromHours(2)),
            Channel = Channel.Web,
            OrderId = "o-١٢٣",
            Lines = [new OrderLine("sku-שלום", 2, Money.Of(19.99m, "EUR"), "e\u0301te")],
        };

        await store.AppendAsync(purchase);
        var read = (await ReadAll(store.ReadAsync(purchase.CustomerId))).Single();

        read.Should().BeOfType<Purchased>().Which.Lines.Should().Equal(purchase.Lines);
        read.Timestamp.Should().Be(purchase.Timestamp);
        read.Timestamp.Offset.Should().Be(TimeSpan.FromHours(2));
        read.EventId.Should().Be("e-ü-😀");
    }

    /// <summary>Reads are ordered by time then id, the range includes its start and excludes its end, and other customers are left out.</summary>
    /// <returns>A task.</returns>
    [ConformanceCheck]
    public async Task ReadAsync_TimeRange_IsOrderedInclusiveAtStartAndExclusiveAtEnd()
    {
        var store = CreateStore();
        await store.AppendAsync(View("b", "c1", T0.AddHours(1), "p"));
        await store.AppendAsync(View("a", "c1", T0.AddHours(1), "p"));
        await store.AppendAsync(View("c", "c1", T0, "p"));
        await store.AppendAsync(View("d", "c1", T0.AddHours(2), "p"));
        await store.AppendAsync(View("x", "c2", T0.AddHours(1), "p"));

        (await ReadAll(store.ReadAsync(new CustomerId("c1")))).Select(e => e.EventId).Should().Equal("c", "a", "b", "d");
        (await ReadAll(store.ReadAsync(new CustomerId("c1"), T0.AddHours(1), T0.AddHours(2)))).Select(e => e.EventId).Should().Equal("a", "b");
        (await ReadAll(store.ReadRangeAsync(T0.AddHours(1), T0.AddHours(2)))).Select(e => e.EventId).Should().Equal("a", "b", "x");
    }

    /// <summary>Ranges compare instants, not local clock readings.</summary>
    /// <returns>A task.</returns>
    [ConformanceCheck]
    public async Task ReadRangeAsync_EventsWithDifferentOffsets_AreOrderedByInstant()
    {
        var store = CreateStore();
        await store.AppendAsync(View("kyiv", "c1", new DateTimeOffset(2026, 3, 1, 13, 0, 0, TimeSpan.FromHours(2)), "p"));
        await store.AppendAsync(View("utc", "c1", new DateTimeOffset(2026, 3, 1, 12, 0, 0, TimeSpan.Zero), "p"));

        (await ReadAll(store.ReadRangeAsync(T0.AddDays(-1), T0.AddDays(1)))).Select(e => e.EventId).Should().Equal("kyiv", "utc");
    }

    /// <summary>Many events are paged through completely.</summary>
    /// <returns>A task.</returns>
    [ConformanceCheck]
    public async Task ReadRangeAsync_ManyEvents_ReturnsEveryOneOnce()
    {
        var store = CreateStore();
        for (var i = 0; i < 2500; i++)
        {
            await store.AppendAsync(View($"e{i:00000}", $"c{i % 7}", T0.AddSeconds(i / 3), "p"));
        }

        var read = await ReadAll(store.ReadRangeAsync(T0, T0.AddDays(1)));

        read.Select(e => e.EventId).Should().OnlyHaveUniqueItems().And.HaveCount(2500);
        read.Select(e => e.Timestamp).Should().BeInAscendingOrder();
    }

    /// <summary>Erasure removes one customer's events only.</summary>
    /// <returns>A task.</returns>
    [ConformanceCheck]
    public async Task EraseSubjectAsync_Customer_RemovesOnlyTheirEvents()
    {
        var store = CreateStore();
        await store.AppendAsync(View("e1", "c1", T0, "p"));
        await store.AppendAsync(View("e2", "c2", T0, "p"));
        var erasure = store.Should().BeAssignableTo<ISubjectErasure>().Subject;

        (await erasure.EraseSubjectAsync(new CustomerId("c1"))).Should().Be(1);

        (await ReadAll(store.ReadRangeAsync(T0.AddDays(-1), T0.AddDays(1)))).Select(e => e.EventId).Should().Equal("e2");
    }

    private static ProductViewed View(string id, string customer, DateTimeOffset at, string product)
        => new() { EventId = id, CustomerId = new CustomerId(customer), Timestamp = at, ProductId = product };

    private static async Task<List<EngagementEvent>> ReadAll(IAsyncEnumerable<EngagementEvent> events)
    {
        var list = new List<EngagementEvent>();
        await foreach (var e in events)
        {
            list.Add(e);
        }

        return list;
    }
}

/// <summary>
/// What an event store with a retention policy (<see cref="IEventRetention"/>) must do. Inherit it in the adapter's tests
/// when the adapter supports retention.
/// </summary>
public abstract class EventRetentionConformanceTests : ConformanceSuite
{
    /// <summary>Gets the names of this suite's checks, one row each, for a test framework's data-driven test.</summary>
    /// <value>One row per check.</value>
    public static IEnumerable<object[]> Checks => CheckRowsOf(typeof(EventRetentionConformanceTests));

    private static readonly DateTimeOffset T0 = new(2026, 3, 1, 12, 0, 0, TimeSpan.Zero);

    /// <summary>Creates a fresh, empty store for one test.</summary>
    /// <returns>The store.</returns>
    protected abstract IEventRetention CreateStore();

    /// <summary>A purge removes exactly the events before the cutoff, whatever their offset, and counts them.</summary>
    /// <returns>A task.</returns>
    [ConformanceCheck]
    public async Task PurgeBeforeAsync_Cutoff_RemovesExactlyTheOlderEvents()
    {
        var retention = CreateStore();
        var store = (IEventStore)retention;
        var cutoff = T0;
        await store.AppendAsync(new ProductViewed { EventId = "old", CustomerId = new CustomerId("c1"), Timestamp = T0.AddDays(-10), ProductId = "p" });
        await store.AppendAsync(new ProductViewed { EventId = "just-before", CustomerId = new CustomerId("c2"), Timestamp = new DateTimeOffset(2026, 3, 1, 13, 59, 59, TimeSpan.FromHours(2)), ProductId = "p" });
        await store.AppendAsync(new ProductViewed { EventId = "at-cutoff", CustomerId = new CustomerId("c1"), Timestamp = new DateTimeOffset(2026, 3, 1, 14, 0, 0, TimeSpan.FromHours(2)), ProductId = "p" });
        await store.AppendAsync(new ProductViewed { EventId = "new", CustomerId = new CustomerId("c1"), Timestamp = T0.AddDays(1), ProductId = "p" });

        var purged = await retention.PurgeBeforeAsync(cutoff);

        purged.Should().Be(2);
        var left = new List<string>();
        await foreach (var e in store.ReadRangeAsync(T0.AddYears(-1), T0.AddYears(1)))
        {
            left.Add(e.EventId);
        }

        left.Should().Equal("at-cutoff", "new");
        (await store.AppendAsync(new ProductViewed { EventId = "new", CustomerId = new CustomerId("c1"), Timestamp = T0.AddDays(1), ProductId = "p" })).Should().Be(AppendOutcome.Duplicate);
        (await retention.PurgeBeforeAsync(cutoff)).Should().Be(0);
    }
}
