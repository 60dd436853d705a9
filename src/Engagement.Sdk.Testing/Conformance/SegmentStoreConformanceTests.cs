using Engagement.Sdk.Conditions;
using Engagement.Sdk.Events;
using Engagement.Sdk.Segments;
using Engagement.Sdk.Storage;

namespace Engagement.Sdk.Testing.Conformance;

/// <summary>What every <see cref="ISegmentStore"/> must do. Inherit it in the adapter's tests and return a fresh, empty store.</summary>
public abstract class SegmentStoreConformanceTests : ConformanceSuite
{
    /// <summary>Gets the names of this suite's checks, one row each, for a test framework's data-driven test.</summary>
    /// <value>One row per check.</value>
    public static IEnumerable<object[]> Checks => CheckRowsOf(typeof(SegmentStoreConformanceTests));

    private static readonly DateTimeOffset T0 = new(2026, 3, 1, 12, 0, 0, TimeSpan.Zero);
    private static readonly CustomerId Ann = new("ann");
    private static readonly CustomerId Bob = new("bob");
    private static readonly CustomerId Carl = new("carl");

    /// <summary>Creates a fresh, empty store for one test.</summary>
    /// <returns>The store.</returns>
    protected abstract ISegmentStore CreateStore();

    /// <summary>A record is saved at version 1 and read back with its memberships, counters, due time and merges folded.</summary>
    /// <returns>A task.</returns>
    [ConformanceCheck]
    public async Task SaveAsync_NewRecord_ReadsBackEverything()
    {
        var store = CreateStore();
        var counters = WindowsWith(T0.AddHours(-2), T0.AddHours(-1));
        var record = new SegmentRecord { CustomerId = Ann, Members = [new SegmentMembership("buyers", T0)], Windows = counters, DueAt = T0.AddDays(90), MergesFolded = 2 };

        var saved = await store.SaveAsync(record, [Entered(Ann, "buyers", T0)]);

        saved.Version.Should().Be(1);
        var read = await store.GetAsync(Ann);
        read!.Version.Should().Be(1);
        read.Members.Should().Equal(new SegmentMembership("buyers", T0));
        read.DueAt.Should().Be(T0.AddDays(90));
        read.MergesFolded.Should().Be(2);
        read.Windows.RecentTicks("purchased").Should().BeEquivalentTo(counters.RecentTicks("purchased"));
        (await store.GetAsync(Bob)).Should().BeNull();
    }

    /// <summary>A save from a stale version is a conflict and changes nothing (not the members, not the history).</summary>
    /// <returns>A task.</returns>
    [ConformanceCheck]
    public async Task SaveAsync_StaleVersion_IsAConflictAndChangesNothing()
    {
        var store = CreateStore();
        var v1 = await store.SaveAsync(new SegmentRecord { CustomerId = Ann }, []);
        await store.SaveAsync(v1 with { Members = [new SegmentMembership("buyers", T0)] }, [Entered(Ann, "buyers", T0)]);

        var stale = () => store.SaveAsync(v1 with { Members = [new SegmentMembership("vip", T0)] }, [Entered(Ann, "vip", T0)]).AsTask();
        var again = () => store.SaveAsync(new SegmentRecord { CustomerId = Ann }, []).AsTask();

        (await stale.Should().ThrowAsync<ConcurrencyConflictException>()).Which.ActualVersion.Should().Be(2);
        await again.Should().ThrowAsync<ConcurrencyConflictException>();
        (await store.GetAsync(Ann))!.Members.Select(m => m.Segment).Should().Equal("buyers");
        (await store.CountAsync("vip")).Should().Be(0);
        (await store.ReadHistoryAsync(Ann).ToListAsync()).Should().ContainSingle();
    }

    /// <summary>Entries and exits keep the counts and member lists of every segment, listed by customer id.</summary>
    /// <returns>A task.</returns>
    [ConformanceCheck]
    public async Task CountAndMembers_FollowEntriesAndExits()
    {
        var store = CreateStore();
        foreach (var id in new[] { Carl, Ann, Bob })
        {
            await store.SaveAsync(new SegmentRecord { CustomerId = id, Members = [new SegmentMembership("buyers", T0)] }, [Entered(id, "buyers", T0)]);
        }

        var bob = await store.GetAsync(Bob);
        await store.SaveAsync(bob! with { Members = [new SegmentMembership("vip", T0.AddDays(1))] }, [Exited(Bob, "buyers", T0.AddDays(1)), Entered(Bob, "vip", T0.AddDays(1))]);

        (await store.CountAsync("buyers")).Should().Be(2);
        (await store.CountAsync("vip")).Should().Be(1);
        (await store.CountAsync("nobody")).Should().Be(0);
        (await store.ListMembersAsync("buyers").ToListAsync()).Should().Equal(Ann, Carl);
        (await store.ListMembersAsync("vip").ToListAsync()).Should().Equal(Bob);
        (await store.ListMembersAsync("nobody").ToListAsync()).Should().BeEmpty();
    }

    /// <summary>
    /// A save that keeps some segments, leaves one and enters another changes only those: the kept segment keeps the customer
    /// whether the new record holds the same members or an equal copy of them.
    /// </summary>
    /// <returns>A task.</returns>
    [ConformanceCheck]
    public async Task CountAndMembers_ASaveKeepingSomeSegments_ChangesOnlyTheOthers()
    {
        var store = CreateStore();
        var saved = await store.SaveAsync(new SegmentRecord { CustomerId = Ann, Members = [new SegmentMembership("buyers", T0), new SegmentMembership("vip", T0)] }, [Entered(Ann, "buyers", T0), Entered(Ann, "vip", T0)]);
        saved = await store.SaveAsync(saved with { DueAt = T0.AddDays(1) }, []);
        saved = await store.SaveAsync(saved with { Members = [new SegmentMembership("buyers", T0), new SegmentMembership("lapsing", T0.AddDays(2))] }, [Exited(Ann, "vip", T0.AddDays(2)), Entered(Ann, "lapsing", T0.AddDays(2))]);
        await store.SaveAsync(saved with { Members = [.. saved.Members] }, []);

        (await store.ListMembersAsync("buyers").ToListAsync()).Should().Equal(Ann);
        (await store.ListMembersAsync("lapsing").ToListAsync()).Should().Equal(Ann);
        (await store.CountAsync("vip")).Should().Be(0);
        (await store.GetAsync(Ann))!.Members.Select(m => m.Segment).Should().Equal("buyers", "lapsing");
    }

    /// <summary>A segment with more members than one page lists them all, in order.</summary>
    /// <returns>A task.</returns>
    [ConformanceCheck]
    public async Task ListMembersAsync_ManyMembers_ListsEveryOneInOrder()
    {
        var store = CreateStore();
        var ids = Enumerable.Range(0, 1_203).Select(i => new CustomerId("c" + i.ToString("D5", System.Globalization.CultureInfo.InvariantCulture))).ToList();
        foreach (var id in ids)
        {
            await store.SaveAsync(new SegmentRecord { CustomerId = id, Members = [new SegmentMembership("all", T0)] }, [Entered(id, "all", T0)]);
        }

        (await store.CountAsync("all")).Should().Be(ids.Count);
        (await store.ListMembersAsync("all").ToListAsync()).Should().Equal(ids);
    }

    /// <summary>The history keeps each customer's entries and exits in the order appended, with their instants and reasons.</summary>
    /// <returns>A task.</returns>
    [ConformanceCheck]
    public async Task ReadHistoryAsync_InTheOrderAppended()
    {
        var store = CreateStore();
        var v1 = await store.SaveAsync(new SegmentRecord { CustomerId = Ann, Members = [new SegmentMembership("cart", T0)] }, [Entered(Ann, "cart", T0)]);
        await store.SaveAsync(v1 with { Members = [] }, [Exited(Ann, "cart", T0.AddHours(1)) with { Reason = null }]);
        await store.SaveAsync(new SegmentRecord { CustomerId = Bob, Members = [new SegmentMembership("cart", T0)] }, [Entered(Bob, "cart", T0)]);

        var history = await store.ReadHistoryAsync(Ann).ToListAsync();

        history.Should().Equal(Entered(Ann, "cart", T0), Exited(Ann, "cart", T0.AddHours(1)) with { Reason = null });
        (await store.ReadHistoryAsync(Carl).ToListAsync()).Should().BeEmpty();
    }

    /// <summary>Only records due at or before the instant are listed, earliest first; a record saved without a due time leaves the index.</summary>
    /// <returns>A task.</returns>
    [ConformanceCheck]
    public async Task ListDueAsync_ListsOnlyDueCustomersEarliestFirst()
    {
        var store = CreateStore();
        await store.SaveAsync(new SegmentRecord { CustomerId = Ann, DueAt = T0.AddDays(2) }, []);
        var bob = await store.SaveAsync(new SegmentRecord { CustomerId = Bob, DueAt = T0.AddDays(1) }, []);
        await store.SaveAsync(new SegmentRecord { CustomerId = Carl, DueAt = T0.AddDays(30) }, []);

        (await store.ListDueAsync(T0, 10)).Should().BeEmpty();
        (await store.ListDueAsync(T0.AddDays(3), 10)).Should().Equal(Bob, Ann);
        (await store.ListDueAsync(T0.AddDays(3), 1)).Should().Equal(Bob);

        await store.SaveAsync(bob with { DueAt = null }, []);
        (await store.ListDueAsync(T0.AddDays(3), 10)).Should().Equal(Ann);
    }

    /// <summary>Erasing a customer removes their record, memberships, timer and history, and no one else's.</summary>
    /// <returns>A task.</returns>
    [ConformanceCheck]
    public async Task EraseSubjectAsync_RemovesEverythingOfTheCustomerOnly()
    {
        var store = CreateStore();
        await store.SaveAsync(new SegmentRecord { CustomerId = Ann, Members = [new SegmentMembership("buyers", T0)], DueAt = T0.AddDays(1) }, [Entered(Ann, "buyers", T0)]);
        await store.SaveAsync(new SegmentRecord { CustomerId = Bob, Members = [new SegmentMembership("buyers", T0)] }, [Entered(Bob, "buyers", T0)]);
        store.Should().BeAssignableTo<ISubjectErasure>("every store that holds personal data can erase a subject");

        var removed = await ((ISubjectErasure)store).EraseSubjectAsync(Ann);

        removed.Should().BePositive();
        (await store.GetAsync(Ann)).Should().BeNull();
        (await store.ReadHistoryAsync(Ann).ToListAsync()).Should().BeEmpty();
        (await store.ListMembersAsync("buyers").ToListAsync()).Should().Equal(Bob);
        (await store.ListDueAsync(T0.AddDays(5), 10)).Should().BeEmpty();
        (await store.ReadHistoryAsync(Bob).ToListAsync()).Should().ContainSingle();
    }

    private static SegmentChange Entered(CustomerId id, string segment, DateTimeOffset at)
        => new() { CustomerId = id, Segment = segment, Kind = SegmentChangeKind.Entered, At = at, Reason = "purchased" };

    private static SegmentChange Exited(CustomerId id, string segment, DateTimeOffset at)
        => new() { CustomerId = id, Segment = segment, Kind = SegmentChangeKind.Exited, At = at, Reason = "time" };

    private static EventWindows WindowsWith(params DateTimeOffset[] purchases)
    {
        var set = ConditionSet.Create(ConditionSchema.Empty, [Condition.EventCount("purchased", TimeSpan.FromDays(90), ComparisonOperator.Ge, 2)]);
        var windows = set.NewWindows();
        var i = 0;
        foreach (var at in purchases)
        {
            set.Record(windows, Order(at, ++i), T0);
        }

        return windows;
    }

    private static Purchased Order(DateTimeOffset at, int n) => new()
    {
        EventId = "o" + n.ToString(System.Globalization.CultureInfo.InvariantCulture),
        CustomerId = Ann,
        Timestamp = at,
        OrderId = "o" + n.ToString(System.Globalization.CultureInfo.InvariantCulture),
        Lines = [new OrderLine("p", 1, Money.Of(10m, "EUR"))],
    };
}
