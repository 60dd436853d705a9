using Engagement.Sdk.Channels;
using Engagement.Sdk.Conditions;
using Engagement.Sdk.Events;
using Engagement.Sdk.Journeys;
using Engagement.Sdk.Storage;

namespace Engagement.Sdk.Testing.Conformance;

/// <summary>
/// What every <see cref="IJourneyStore"/> must do: records with optimistic concurrency, a due index that lists only due
/// customers, history in order per customer and per journey, erasure of everything about a customer, durability across a
/// restart, and writes that join the storage's units of work. Inherit it in the adapter's tests.
/// </summary>
public abstract class JourneyStoreConformanceTests : ConformanceSuite
{
    /// <summary>Gets the names of this suite's checks, one row each, for a test framework's data-driven test.</summary>
    /// <value>One row per check.</value>
    public static IEnumerable<object[]> Checks => CheckRowsOf(typeof(JourneyStoreConformanceTests));

    private static readonly DateTimeOffset T0 = new(2026, 3, 1, 12, 0, 0, TimeSpan.Zero);

    private static readonly ConditionSet Counters = ConditionSet.Create(ConditionSchema.Empty, [
        Condition.EventCount("product_viewed", TimeSpan.FromDays(7), ComparisonOperator.Ge, 3),
        Condition.EventSum("purchased", TimeSpan.FromDays(30), ComparisonOperator.Ge, 100m),
    ]);

    /// <summary>Creates a fresh, empty store for one test.</summary>
    /// <returns>The store.</returns>
    protected abstract IJourneyStore CreateStore();

    /// <summary>A new store over the same storage as <paramref name="store"/> (a restart); the same store where there is no storage to reopen.</summary>
    /// <param name="store">The store.</param>
    /// <returns>The reopened store.</returns>
    protected virtual IJourneyStore Reopen(IJourneyStore store) => store;

    /// <summary>The units of work of the storage behind <paramref name="store"/>, or <see langword="null"/> when it has none.</summary>
    /// <param name="store">The store.</param>
    /// <returns>The units of work.</returns>
    protected virtual IStoreTransactions? TransactionsOf(IJourneyStore store) => null;

    /// <summary>A new record is saved at version 1 and read back equal: tracks, counters (timestamps and bucket sums) and merges folded.</summary>
    /// <returns>A task.</returns>
    [ConformanceCheck]
    public async Task SaveAsync_NewRecord_IsStoredAtVersionOneAndRoundTrips()
    {
        var store = CreateStore();
        var record = Record("ünï-客户", due: T0.AddDays(2)) with { MergesFolded = 2 };

        var saved = await store.SaveAsync(record);
        var read = await store.GetAsync(record.CustomerId);

        saved.Version.Should().Be(1);
        read.Should().NotBeNull();
        read!.Version.Should().Be(1);
        read.Tracks.Should().Equal(record.Tracks);
        read.MergesFolded.Should().Be(2);
        read.DueAt.Should().Be(T0.AddDays(2));
        read.Windows.RecentTicks("product_viewed").Should().Equal(record.Windows.RecentTicks("product_viewed"));
        read.Windows.BucketsOf("purchased").Should().Equal(record.Windows.BucketsOf("purchased"));
        read.Windows.BucketsOf("purchased").Sum(b => b.Sum).Should().Be(119.98m);
    }

    /// <summary>
    /// The journey states kept for an unmerge (<see cref="JourneyRecord.Shadows"/>, nested: a merged side with merges of its own)
    /// round-trip with their customers, tracks, counters and counts of merges folded, and the record falls due (and is listed
    /// due) when the earliest of them does.
    /// </summary>
    /// <returns>A task.</returns>
    [ConformanceCheck]
    public async Task SaveAsync_RecordWithMergeShadows_RoundTripsThem()
    {
        var store = CreateStore();
        var inner = new JourneyMergeShadow("m-inner", Record("c-2", due: null) with { MergesFolded = 0 }, null);
        var merged = Record("c-1", due: T0.AddHours(3)) with { MergesFolded = 1, Shadows = [inner] };
        var record = Record("c-0", due: T0.AddDays(1)) with { MergesFolded = 1, Shadows = [new JourneyMergeShadow("m-outer", Record("c-0", due: null), merged)] };

        await store.SaveAsync(record);
        var read = await store.GetAsync(record.CustomerId);

        read.Should().NotBeNull();
        read!.Shadows.Should().HaveCount(1);
        var shadow = read.Shadows[0];
        shadow.MergeId.Should().Be("m-outer");
        shadow.SurvivorBefore!.CustomerId.Should().Be(new CustomerId("c-0"));
        shadow.SurvivorBefore.Tracks.Should().Equal(record.Shadows[0].SurvivorBefore!.Tracks);
        shadow.Merged!.CustomerId.Should().Be(new CustomerId("c-1"));
        shadow.Merged.MergesFolded.Should().Be(1);
        shadow.Merged.DueAt.Should().Be(T0.AddHours(3));
        shadow.Merged.Windows.BucketsOf("purchased").Should().Equal(merged.Windows.BucketsOf("purchased"));
        shadow.Merged.Shadows.Should().HaveCount(1);
        shadow.Merged.Shadows[0].MergeId.Should().Be("m-inner");
        shadow.Merged.Shadows[0].SurvivorBefore!.CustomerId.Should().Be(new CustomerId("c-2"));
        shadow.Merged.Shadows[0].Merged.Should().BeNull();
        read.DueAt.Should().Be(T0.AddHours(3), "a side kept for an unmerge falls due with the live record, for the sweep to catch it up");
        (await store.ListDueAsync(T0.AddHours(4), 10)).Should().Equal([record.CustomerId]);
    }

    /// <summary>A save from a stale version is a conflict and changes nothing.</summary>
    /// <returns>A task.</returns>
    [ConformanceCheck]
    public async Task SaveAsync_StaleVersion_ThrowsConflictAndKeepsTheNewerRecord()
    {
        var store = CreateStore();
        var v1 = await store.SaveAsync(Record("c1", due: T0));
        var v2 = await store.SaveAsync(v1 with { MergesFolded = 7 });

        var fromNew = () => store.SaveAsync(Record("c1", due: null)).AsTask();
        var fromStale = () => store.SaveAsync(v1 with { MergesFolded = 9 }).AsTask();

        await fromNew.Should().ThrowAsync<ConcurrencyConflictException>();
        (await fromStale.Should().ThrowAsync<ConcurrencyConflictException>()).Which.ActualVersion.Should().Be(2);
        var read = await store.GetAsync(new CustomerId("c1"));
        read!.Version.Should().Be(2);
        read.MergesFolded.Should().Be(7);
        v2.Version.Should().Be(2);
    }

    /// <summary>Only records due at or before the instant are listed, earliest first (to the minute), at most as many as asked.</summary>
    /// <returns>A task.</returns>
    [ConformanceCheck]
    public async Task ListDueAsync_SomeDue_ListsOnlyThoseEarliestFirst()
    {
        var store = CreateStore();
        var a = await store.SaveAsync(Record("a", due: T0.AddHours(1)));
        await store.SaveAsync(Record("b", due: T0.AddHours(1)));
        await store.SaveAsync(Record("c", due: T0.AddHours(3)));
        await store.SaveAsync(Record("d", due: null));

        (await store.ListDueAsync(T0.AddHours(2), 10)).Should().BeEquivalentTo([new CustomerId("a"), new CustomerId("b")], "customers due at the same minute may come in any order");
        (await store.ListDueAsync(T0.AddHours(2), 1)).Should().ContainSingle().Which.Value.Should().BeOneOf("a", "b");
        (await store.ListDueAsync(T0.AddHours(4), 2)).Should().NotContain(new CustomerId("c"), "the earliest come first");
        (await store.ListDueAsync(T0, 10)).Should().BeEmpty();

        // A record saved with a later due time leaves the earlier one behind, and one saved without any leaves the index.
        await store.SaveAsync(a with { Tracks = [Track("j", T0.AddHours(10))] });
        (await store.ListDueAsync(T0.AddHours(5), 10)).Should().Equal(new CustomerId("b"), new CustomerId("c"));
        var c = await store.GetAsync(new CustomerId("c"));
        await store.SaveAsync(c! with { Tracks = [Track("j", null)] });
        (await store.ListDueAsync(T0.AddHours(5), 10)).Should().Equal(new CustomerId("b"));
    }

    /// <summary>Deleting a record removes it and its timer; its history stays.</summary>
    /// <returns>A task.</returns>
    [ConformanceCheck]
    public async Task DeleteAsync_MergedCustomer_RemovesRecordAndTimerButKeepsHistory()
    {
        var store = CreateStore();
        await store.SaveAsync(Record("b", due: T0));
        await store.AppendHistoryAsync([Entry("b", "j", JourneyHistoryKind.Entered, 0)]);

        (await store.DeleteAsync(new CustomerId("b"))).Should().BeTrue();
        (await store.DeleteAsync(new CustomerId("b"))).Should().BeFalse();

        (await store.GetAsync(new CustomerId("b"))).Should().BeNull();
        (await store.ListDueAsync(T0.AddDays(1), 10)).Should().BeEmpty();
        (await ToList(store.ReadHistoryAsync(new CustomerId("b")))).Should().HaveCount(1);
    }

    /// <summary>History reads back in the order appended, per customer and per journey (by customer), with every field.</summary>
    /// <returns>A task.</returns>
    [ConformanceCheck]
    public async Task History_AppendedInterleaved_ReadsBackInOrderWithEveryField()
    {
        var store = CreateStore();
        var sent = Entry("b", "welcome", JourneyHistoryKind.Sent, 3) with
        {
            StageId = "new", StepId = "hello", ActionId = "welcome", Channel = Channel.Email, DispatchId = "j-1", Reason = "value 5 × propensity 0.2 — élan 😀",
            Amount = 12.34m, IsControl = true, Visit = 2, At = new DateTimeOffset(2026, 3, 2, 9, 30, 0, TimeSpan.FromHours(2)),
        };
        await store.AppendHistoryAsync([Entry("b", "welcome", JourneyHistoryKind.Entered, 0), Entry("a", "welcome", JourneyHistoryKind.Entered, 1)]);
        await store.AppendHistoryAsync([Entry("a", "other", JourneyHistoryKind.Entered, 2), sent, Entry("a", "welcome", JourneyHistoryKind.Moved, 4)]);

        var b = await ToList(store.ReadHistoryAsync(new CustomerId("b")));
        var welcome = await ToList(store.ReadJourneyHistoryAsync("welcome"));

        b.Should().HaveCount(2);
        b[1].Should().BeEquivalentTo(sent);
        b[1].At.Offset.Should().Be(TimeSpan.FromHours(2));
        welcome.Select(e => (e.CustomerId.Value, e.Kind)).Should().Equal(("a", JourneyHistoryKind.Entered), ("a", JourneyHistoryKind.Moved), ("b", JourneyHistoryKind.Entered), ("b", JourneyHistoryKind.Sent));
    }

    /// <summary>Erasing a customer removes their record, timer and history, and nothing of anyone else's.</summary>
    /// <returns>A task.</returns>
    [ConformanceCheck]
    public async Task EraseSubjectAsync_CustomerMidJourney_LeavesNoRecordTimerOrHistory()
    {
        var store = CreateStore();
        await store.SaveAsync(Record("ann", due: T0));
        await store.SaveAsync(Record("bob", due: T0));
        await store.AppendHistoryAsync([Entry("ann", "j", JourneyHistoryKind.Entered, 0), Entry("ann", "j", JourneyHistoryKind.StepStarted, 1), Entry("bob", "j", JourneyHistoryKind.Entered, 0)]);

        var removed = await ((ISubjectErasure)store).EraseSubjectAsync(new CustomerId("ann"));

        removed.Should().Be(3);
        (await store.GetAsync(new CustomerId("ann"))).Should().BeNull();
        (await store.ListDueAsync(T0.AddDays(1), 10)).Should().Equal(new CustomerId("bob"));
        (await ToList(store.ReadHistoryAsync(new CustomerId("ann")))).Should().BeEmpty();
        (await ToList(store.ReadJourneyHistoryAsync("j"))).Should().ContainSingle().Which.CustomerId.Should().Be(new CustomerId("bob"));
    }

    /// <summary>Every record is listed, by customer id.</summary>
    /// <returns>A task.</returns>
    [ConformanceCheck]
    public async Task ListAsync_SeveralRecords_ListsThemByCustomerId()
    {
        var store = CreateStore();
        foreach (var id in new[] { "m", "a", "z", "b" })
        {
            await store.SaveAsync(Record(id, due: null));
        }

        (await ToList(store.ListAsync())).Select(r => r.CustomerId.Value).Should().Equal("a", "b", "m", "z");
    }

    /// <summary>What was written is there after a restart.</summary>
    /// <returns>A task.</returns>
    [ConformanceCheck]
    public async Task Reopen_AfterARestart_TheRecordTimerAndHistoryAreThere()
    {
        var store = CreateStore();
        var record = Record("ann", due: T0);
        await store.SaveAsync(record);
        await store.AppendHistoryAsync([Entry("ann", "j", JourneyHistoryKind.Entered, 0)]);

        var reopened = Reopen(store);

        (await reopened.GetAsync(new CustomerId("ann")))!.Tracks.Should().Equal(record.Tracks);
        (await reopened.ListDueAsync(T0, 10)).Should().Equal(new CustomerId("ann"));
        (await ToList(reopened.ReadHistoryAsync(new CustomerId("ann")))).Should().HaveCount(1);
    }

    /// <summary>A unit of work that ends without completing leaves no record, timer or history behind.</summary>
    /// <returns>A task.</returns>
    [ConformanceCheck]
    public async Task UnitOfWork_NotCompleted_UndoesTheSaveAndTheHistory()
    {
        var store = CreateStore();
        if (TransactionsOf(store) is not { } transactions)
        {
            return;
        }

        await store.SaveAsync(Record("bob", due: T0));
        var unit = transactions.Begin();
        await using (unit)
        {
            await unit.StartAsync();
            var bob = await store.GetAsync(new CustomerId("bob"));
            await store.SaveAsync(bob! with { Tracks = [Track("j", T0.AddDays(9))] });
            await store.SaveAsync(Record("ann", due: T0));
            await store.AppendHistoryAsync([Entry("ann", "j", JourneyHistoryKind.Entered, 0)]);
        }

        (await store.GetAsync(new CustomerId("ann"))).Should().BeNull();
        (await store.GetAsync(new CustomerId("bob")))!.Version.Should().Be(1);
        (await store.ListDueAsync(T0, 10)).Should().Equal(new CustomerId("bob"));
        (await ToList(store.ReadHistoryAsync(new CustomerId("ann")))).Should().BeEmpty();
    }

    private static JourneyRecord Record(string customer, DateTimeOffset? due)
    {
        var windows = Counters.NewWindows();
        foreach (var hours in new[] { 1, 5, 30 })
        {
            Counters.Record(windows, new ProductViewed { EventId = "v" + hours, CustomerId = new CustomerId(customer), Timestamp = T0.AddHours(-hours), ProductId = "p" }, T0);
        }

        foreach (var (day, amount) in new[] { (1, 59.99m), (3, 59.99m) })
        {
            Counters.Record(windows, new Purchased { EventId = "o" + day, CustomerId = new CustomerId(customer), Timestamp = T0.AddDays(-day), OrderId = "o" + day, Lines = [new OrderLine("p", 1, Money.Of(amount, "EUR"))] }, T0);
        }

        return new JourneyRecord { CustomerId = new CustomerId(customer), Tracks = [Track("lifecycle", due), Track("onboarding", null) with { Flags = JourneyTrackFlags.Control | JourneyTrackFlags.Exited, StageIndex = -1 }], Windows = windows };
    }

    private static JourneyTrack Track(string journey, DateTimeOffset? due) => new()
    {
        JourneyId = journey,
        Version = 2,
        Fingerprint = -12345,
        StageIndex = 3,
        StepIndex = 1,
        Visits = 4,
        Flags = JourneyTrackFlags.GoalReached,
        JourneyEnteredAt = T0.AddDays(-10),
        StageEnteredAt = T0.AddDays(-1),
        StepStartedAt = T0.AddHours(-1),
        DueAt = due,
    };

    private static JourneyHistoryEntry Entry(string customer, string journey, JourneyHistoryKind kind, int minute)
        => new() { CustomerId = new CustomerId(customer), JourneyId = journey, Version = 1, Kind = kind, At = T0.AddMinutes(minute), StageId = "s", Visit = 1 };

    private static async Task<List<T>> ToList<T>(IAsyncEnumerable<T> items)
    {
        var list = new List<T>();
        await foreach (var item in items)
        {
            list.Add(item);
        }

        return list;
    }
}
