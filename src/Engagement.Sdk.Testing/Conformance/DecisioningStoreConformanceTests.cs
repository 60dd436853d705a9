using Engagement.Sdk.Channels;
using Engagement.Sdk.Decisioning;
using Engagement.Sdk.Storage;

namespace Engagement.Sdk.Testing.Conformance;

/// <summary>
/// What every <see cref="IPropensityStore"/> must do: count each outcome of a dispatch once, keep counts per arm and bucket,
/// lose no count when writers race (in one process or several), keep them across a restart, and undo a count with its unit
/// of work. Inherit it in the adapter's tests.
/// </summary>
public abstract class PropensityStoreConformanceTests : ConformanceSuite
{
    /// <summary>Gets the names of this suite's checks, one row each, for a test framework's data-driven test.</summary>
    /// <value>One row per check.</value>
    public static IEnumerable<object[]> Checks => CheckRowsOf(typeof(PropensityStoreConformanceTests));

    private static readonly DateTimeOffset Day1 = new(2026, 3, 1, 0, 0, 0, TimeSpan.Zero);
    private static readonly PropensityArm Email = new("offer", Channel.Email, string.Empty, string.Empty);

    /// <summary>Creates a fresh, empty store (and the storage behind it) for one test.</summary>
    /// <returns>The store.</returns>
    protected abstract IPropensityStore CreateStore();

    /// <summary>A second handle on the storage of the last store created, as another process (or the same one after a restart) would open it.</summary>
    /// <returns>The store.</returns>
    protected abstract IPropensityStore OpenAgain();

    /// <summary>The units of work of the storage of the last store created.</summary>
    protected abstract IStoreTransactions Transactions { get; }

    /// <summary>An outcome of a dispatch is counted once however often it is reported; a send and a response are separate outcomes.</summary>
    /// <returns>A task.</returns>
    [ConformanceCheck]
    public async Task CountAsync_EachOutcomeOfADispatch_IsCountedOnce()
    {
        var store = CreateStore();

        (await store.CountAsync(Email, "d1", PropensityOutcome.Send, Day1)).Should().BeTrue();
        (await store.CountAsync(Email, "d1", PropensityOutcome.Send, Day1)).Should().BeFalse();
        (await store.CountAsync(Email, "d1", PropensityOutcome.Response, Day1)).Should().BeTrue();
        for (var i = 0; i < 9; i++)
        {
            (await store.CountAsync(Email, "d1", PropensityOutcome.Response, Day1)).Should().BeFalse("ten clicks on one message are one response");
        }

        (await store.ReadAsync(DateTimeOffset.MinValue)).Should().Equal(new PropensityCount(Email, Day1, 1, 1));
    }

    /// <summary>Counts are kept per arm (action, channel, treatment, segment) and bucket, and read from a bucket on.</summary>
    /// <returns>A task.</returns>
    [ConformanceCheck]
    public async Task ReadAsync_CountsPerArmAndBucket_FromTheBucketAskedFor()
    {
        var store = CreateStore();
        var sms = Email with { Channel = Channel.Sms };
        var treated = Email with { Treatment = "blue" };
        var segment = Email with { Segment = "engagement" };
        var n = 0;
        foreach (var (arm, bucket, responded) in new[] { (Email, Day1, true), (Email, Day1, false), (Email, Day1.AddDays(1), false), (sms, Day1, true), (treated, Day1.AddDays(1), true), (segment, Day1.AddDays(2), false) })
        {
            var id = "d" + n++;
            await store.CountAsync(arm, id, PropensityOutcome.Send, bucket);
            if (responded)
            {
                await store.CountAsync(arm, id, PropensityOutcome.Response, bucket);
            }
        }

        (await store.ReadAsync(DateTimeOffset.MinValue)).Should().BeEquivalentTo(
        [
            new PropensityCount(Email, Day1, 2, 1), new PropensityCount(Email, Day1.AddDays(1), 1, 0), new PropensityCount(sms, Day1, 1, 1),
            new PropensityCount(treated, Day1.AddDays(1), 1, 1), new PropensityCount(segment, Day1.AddDays(2), 1, 0),
        ]);
        (await store.ReadAsync(Day1.AddDays(1))).Select(c => (c.Arm, c.Bucket)).Should().BeEquivalentTo([(Email, Day1.AddDays(1)), (treated, Day1.AddDays(1)), (segment, Day1.AddDays(2))]);
    }

    /// <summary>Writers racing on one arm through two handles (two processes) lose no count and count no outcome twice.</summary>
    /// <returns>A task.</returns>
    [ConformanceCheck]
    public async Task CountAsync_WritersRacingThroughTwoHandles_LoseNoCountAndCountNothingTwice()
    {
        var first = CreateStore();
        var second = OpenAgain();
        const int Dispatches = 120;

        // Each dispatch is reported by both handles, twice, from parallel tasks.
        var reports = Enumerable.Range(0, Dispatches).SelectMany(i => new[] { (first, i), (second, i), (first, i), (second, i) }).ToArray();
        var counted = await Task.WhenAll(reports.Select(r => Task.Run(async () =>
            (await r.Item1.CountAsync(Email, "d" + r.i, PropensityOutcome.Send, Day1)) | (r.i % 3 == 0 && await r.Item1.CountAsync(Email, "d" + r.i, PropensityOutcome.Response, Day1)))));

        counted.Count(c => c).Should().BeGreaterThanOrEqualTo(Dispatches);
        (await first.ReadAsync(DateTimeOffset.MinValue)).Should().Equal(new PropensityCount(Email, Day1, Dispatches, Dispatches / 3));
        (await second.ReadAsync(DateTimeOffset.MinValue)).Should().Equal(new PropensityCount(Email, Day1, Dispatches, Dispatches / 3));
    }

    /// <summary>What was counted is there when the storage is opened again (a restart).</summary>
    /// <returns>A task.</returns>
    [ConformanceCheck]
    public async Task ReadAsync_AfterOpeningAgain_FindsWhatWasCounted()
    {
        var store = CreateStore();
        await store.CountAsync(Email, "d1", PropensityOutcome.Send, Day1);
        await store.CountAsync(Email, "d1", PropensityOutcome.Response, Day1);

        var reopened = OpenAgain();

        (await reopened.ReadAsync(DateTimeOffset.MinValue)).Should().Equal(new PropensityCount(Email, Day1, 1, 1));
        (await reopened.CountAsync(Email, "d1", PropensityOutcome.Response, Day1)).Should().BeFalse("the response was counted before the restart");
    }

    /// <summary>A count inside a unit of work that is not completed is undone, record and increment alike, and can be made again.</summary>
    /// <returns>A task.</returns>
    [ConformanceCheck]
    public async Task CountAsync_InAUnitThatIsNotCompleted_IsUndoneWhole()
    {
        var store = CreateStore();
        await using (var unit = Transactions.Begin())
        {
            await unit.StartAsync();
            (await store.CountAsync(Email, "d1", PropensityOutcome.Send, Day1)).Should().BeTrue();
        }

        (await store.ReadAsync(DateTimeOffset.MinValue)).Should().BeEmpty();
        (await store.CountAsync(Email, "d1", PropensityOutcome.Send, Day1)).Should().BeTrue("the undone count left no record of the dispatch behind");
    }

    /// <summary>
    /// Counting a list counts as one by one would: an outcome counted before, or named twice in the list, is counted once (at its
    /// first mention), sends and responses apart, per arm and bucket.
    /// </summary>
    /// <returns>A task.</returns>
    [ConformanceCheck]
    public async Task CountAllAsync_CountsAsOneByOne_EachOutcomeOnce()
    {
        var store = CreateStore();
        var sms = Email with { Channel = Channel.Sms };
        (await store.CountAsync(Email, "d0", PropensityOutcome.Send, Day1)).Should().BeTrue();

        var counted = await store.CountAllAsync(
        [
            new PropensityTally(Email, "d0", PropensityOutcome.Send, Day1),
            new PropensityTally(Email, "d1", PropensityOutcome.Send, Day1),
            new PropensityTally(Email, "d1", PropensityOutcome.Send, Day1),
            new PropensityTally(Email, "d1", PropensityOutcome.Response, Day1),
            new PropensityTally(Email, "d2", PropensityOutcome.Send, Day1.AddDays(1)),
            new PropensityTally(sms, "d3", PropensityOutcome.Send, Day1),
            new PropensityTally(sms, "d4", PropensityOutcome.Send, Day1),
        ]);

        counted.Should().Equal(false, true, false, true, true, true, true);
        (await store.ReadAsync(DateTimeOffset.MinValue)).Should().BeEquivalentTo(
        [
            new PropensityCount(Email, Day1, 2, 1), new PropensityCount(Email, Day1.AddDays(1), 1, 0), new PropensityCount(sms, Day1, 2, 0),
        ]);
        (await store.CountAllAsync([new PropensityTally(sms, "d4", PropensityOutcome.Send, Day1)])).Should().Equal(false);
        (await store.CountAllAsync([])).Should().BeEmpty();
    }

    /// <summary>A list counted inside a unit of work that is not completed is undone whole; one bad tally refuses the list.</summary>
    /// <returns>A task.</returns>
    [ConformanceCheck]
    public async Task CountAllAsync_InAUnitThatIsNotCompleted_IsUndoneWhole_AndABadTallyCountsNothing()
    {
        var store = CreateStore();
        await using (var unit = Transactions.Begin())
        {
            await unit.StartAsync();
            (await store.CountAllAsync([new PropensityTally(Email, "d1", PropensityOutcome.Send, Day1), new PropensityTally(Email, "d2", PropensityOutcome.Send, Day1)])).Should().Equal(true, true);
        }

        (await store.ReadAsync(DateTimeOffset.MinValue)).Should().BeEmpty();

        var act = async () => await store.CountAllAsync([new PropensityTally(Email, "d1", PropensityOutcome.Send, Day1), new PropensityTally(Email, string.Empty, PropensityOutcome.Send, Day1)]);
        (await act.Should().ThrowAsync<EngagementValidationException>()).Which.Field.Should().Be("dispatchId");
        (await store.ReadAsync(DateTimeOffset.MinValue)).Should().BeEmpty();
        (await store.CountAllAsync([new PropensityTally(Email, "d1", PropensityOutcome.Send, Day1)])).Should().Equal(true);
    }

    /// <summary>A count without an action, a dispatch, or with a null treatment is refused, naming the field.</summary>
    /// <param name="field">The field left out.</param>
    /// <returns>A task.</returns>
    [ConformanceCheck("arm.actionId")]
    [ConformanceCheck("arm.treatment")]
    [ConformanceCheck("dispatchId")]
    public async Task CountAsync_MissingField_IsRefusedNamingIt(string field)
    {
        var store = CreateStore();
        var arm = field switch
        {
            "arm.actionId" => Email with { ActionId = " " },
            "arm.treatment" => Email with { Treatment = null! },
            _ => Email,
        };

        var act = async () => await store.CountAsync(arm, field == "dispatchId" ? string.Empty : "d1", PropensityOutcome.Send, Day1);

        (await act.Should().ThrowAsync<EngagementValidationException>()).Which.Field.Should().Be(field);
        (await store.ReadAsync(DateTimeOffset.MinValue)).Should().BeEmpty();
    }
}

/// <summary>
/// What every <see cref="IActionBudgetStore"/> must do: reserve atomically below the limit (never more than the limit, however
/// many writers race, through one handle or several), keep periods and actions apart, give back, and undo a reservation with
/// its unit of work. Inherit it in the adapter's tests.
/// </summary>
public abstract class ActionBudgetStoreConformanceTests : ConformanceSuite
{
    /// <summary>Gets the names of this suite's checks, one row each, for a test framework's data-driven test.</summary>
    /// <value>One row per check.</value>
    public static IEnumerable<object[]> Checks => CheckRowsOf(typeof(ActionBudgetStoreConformanceTests));

    private static readonly DateTimeOffset Today = new(2026, 3, 2, 0, 0, 0, TimeSpan.Zero);

    /// <summary>Creates a fresh, empty store (and the storage behind it) for one test.</summary>
    /// <returns>The store.</returns>
    protected abstract IActionBudgetStore CreateStore();

    /// <summary>A second handle on the storage of the last store created (another process).</summary>
    /// <returns>The store.</returns>
    protected abstract IActionBudgetStore OpenAgain();

    /// <summary>The units of work of the storage of the last store created.</summary>
    protected abstract IStoreTransactions Transactions { get; }

    /// <summary>Reservations succeed up to the limit and no further; other periods and actions have budgets of their own.</summary>
    /// <returns>A task.</returns>
    [ConformanceCheck]
    public async Task TryReserveAsync_UpToTheLimit_ThenRefused_PerActionAndPeriod()
    {
        var store = CreateStore();
        var results = new List<bool>();
        for (var i = 0; i < 5; i++)
        {
            results.Add(await store.TryReserveAsync("limited", Today, 3));
        }

        results.Should().Equal(true, true, true, false, false);
        (await store.GetUsedAsync("limited", Today)).Should().Be(3);
        (await store.TryReserveAsync("limited", Today.AddDays(1), 3)).Should().BeTrue("the next period starts afresh");
        (await store.TryReserveAsync("other", Today, 3)).Should().BeTrue("another action has its own budget");
        (await store.GetUsedAsync("never", Today)).Should().Be(0);
    }

    /// <summary>A budget of 0 reserves nothing and uses nothing.</summary>
    /// <returns>A task.</returns>
    [ConformanceCheck]
    public async Task TryReserveAsync_LimitZero_ReservesNothing()
    {
        var store = CreateStore();

        (await store.TryReserveAsync("stopped", Today, 0)).Should().BeFalse();
        (await store.GetUsedAsync("stopped", Today)).Should().Be(0);
    }

    /// <summary>Forty customers deciding at once through two handles on a budget of 17: exactly 17 get it.</summary>
    /// <returns>A task.</returns>
    [ConformanceCheck]
    public async Task TryReserveAsync_FortyWritersRacingThroughTwoHandles_ReserveExactlyTheLimit()
    {
        var first = CreateStore();
        var second = OpenAgain();

        var reserved = await Task.WhenAll(Enumerable.Range(0, 40).Select(i => Task.Run(async () => await (i % 2 == 0 ? first : second).TryReserveAsync("limited", Today, 17))));

        reserved.Count(r => r).Should().Be(17);
        (await first.GetUsedAsync("limited", Today)).Should().Be(17);
        (await second.GetUsedAsync("limited", Today)).Should().Be(17);
    }

    /// <summary>A unit given back can be reserved again; nothing is given back below zero.</summary>
    /// <returns>A task.</returns>
    [ConformanceCheck]
    public async Task ReleaseAsync_GivesAUnitBack_NeverBelowZero()
    {
        var store = CreateStore();
        await store.TryReserveAsync("limited", Today, 1);

        (await store.ReleaseAsync("limited", Today)).Should().BeTrue();
        (await store.ReleaseAsync("limited", Today)).Should().BeFalse();
        (await store.GetUsedAsync("limited", Today)).Should().Be(0);
        (await store.TryReserveAsync("limited", Today, 1)).Should().BeTrue();
    }

    /// <summary>A reservation inside a unit of work that is not completed is undone.</summary>
    /// <returns>A task.</returns>
    [ConformanceCheck]
    public async Task TryReserveAsync_InAUnitThatIsNotCompleted_IsUndone()
    {
        var store = CreateStore();
        await store.TryReserveAsync("limited", Today, 2);
        await using (var unit = Transactions.Begin())
        {
            await unit.StartAsync();
            (await store.TryReserveAsync("limited", Today, 2)).Should().BeTrue();
        }

        (await store.GetUsedAsync("limited", Today)).Should().Be(1);
    }

    /// <summary>A negative limit or a missing action is refused, naming the field.</summary>
    /// <returns>A task.</returns>
    [ConformanceCheck]
    public async Task TryReserveAsync_NegativeLimitOrNoAction_IsRefusedNamingTheField()
    {
        var store = CreateStore();

        var negative = async () => await store.TryReserveAsync("limited", Today, -1);
        var unnamed = async () => await store.TryReserveAsync(" ", Today, 1);

        (await negative.Should().ThrowAsync<EngagementValidationException>()).Which.Field.Should().Be("limit");
        (await unnamed.Should().ThrowAsync<EngagementValidationException>()).Which.Field.Should().Be("actionId");
    }
}

/// <summary>
/// What every <see cref="IActionContactLog"/> must do: record each kind of contact once per dispatch, return a customer's
/// contacts from an instant on in order, keep customers apart, erase a subject, and undo a record with its unit of work.
/// Inherit it in the adapter's tests.
/// </summary>
public abstract class ActionContactLogConformanceTests : ConformanceSuite
{
    /// <summary>Gets the names of this suite's checks, one row each, for a test framework's data-driven test.</summary>
    /// <value>One row per check.</value>
    public static IEnumerable<object[]> Checks => CheckRowsOf(typeof(ActionContactLogConformanceTests));

    private static readonly DateTimeOffset T0 = new(2026, 3, 1, 12, 0, 0, TimeSpan.Zero);
    private static readonly CustomerId Ann = new("ann");

    /// <summary>Creates a fresh, empty log (and the storage behind it) for one test.</summary>
    /// <returns>The log.</returns>
    protected abstract IActionContactLog CreateStore();

    /// <summary>A second handle on the storage of the last log created (another process, or after a restart).</summary>
    /// <returns>The log.</returns>
    protected abstract IActionContactLog OpenAgain();

    /// <summary>The units of work of the storage of the last log created.</summary>
    protected abstract IStoreTransactions Transactions { get; }

    /// <summary>Contacts come back oldest first from the instant asked for, each kind once per dispatch, with their offsets.</summary>
    /// <returns>A task.</returns>
    [ConformanceCheck]
    public async Task ReadAsync_Contacts_ComeBackInOrderFromTheInstantAskedFor()
    {
        var log = CreateStore();
        var sent = Contact("d2", ActionContactKind.Sent, T0.AddDays(-2));
        var dismissed = Contact("d2", ActionContactKind.Dismissed, new DateTimeOffset(2026, 3, 1, 14, 0, 0, TimeSpan.FromHours(3)));
        var older = Contact("d1", ActionContactKind.Sent, T0.AddDays(-9));
        var latest = Contact("d3", ActionContactKind.Sent, T0);

        foreach (var contact in new[] { latest, sent, older, dismissed })
        {
            (await log.RecordAsync(contact)).Should().BeTrue();
        }

        (await log.RecordAsync(sent)).Should().BeFalse("a kind of contact is recorded once per dispatch");
        await log.RecordAsync(Contact("d9", ActionContactKind.Sent, T0) with { CustomerId = new CustomerId("bob") });

        (await log.ReadAsync(Ann, T0.AddDays(-7))).ToArray().Should().Equal(sent, dismissed, latest);
        (await log.ReadAsync(Ann, DateTimeOffset.MinValue)).ToArray().Should().Equal(older, sent, dismissed, latest);
        (await OpenAgain().ReadAsync(Ann, T0.AddDays(-7))).ToArray().Should().Equal([sent, dismissed, latest], "the contacts are kept across a restart");
        (await log.ReadAsync(Ann, T0.AddDays(-7))).Span[1].At.Offset.Should().Be(TimeSpan.FromHours(3));
    }

    /// <summary>A contact recorded in a unit of work that is not completed is undone.</summary>
    /// <returns>A task.</returns>
    [ConformanceCheck]
    public async Task RecordAsync_InAUnitThatIsNotCompleted_IsUndone()
    {
        var log = CreateStore();
        await using (var unit = Transactions.Begin())
        {
            await unit.StartAsync();
            await log.RecordAsync(Contact("d1", ActionContactKind.Sent, T0));
        }

        (await log.ReadAsync(Ann, DateTimeOffset.MinValue)).Length.Should().Be(0);
        (await log.RecordAsync(Contact("d1", ActionContactKind.Sent, T0))).Should().BeTrue();
    }

    /// <summary>Erasing a customer removes their contacts only.</summary>
    /// <returns>A task.</returns>
    [ConformanceCheck]
    public async Task EraseSubjectAsync_Customer_RemovesTheirContactsOnly()
    {
        var log = CreateStore();
        await log.RecordAsync(Contact("d1", ActionContactKind.Sent, T0));
        await log.RecordAsync(Contact("d2", ActionContactKind.Sent, T0) with { CustomerId = new CustomerId("bob") });

        (await ((ISubjectErasure)log).EraseSubjectAsync(Ann)).Should().Be(1);

        (await log.ReadAsync(Ann, DateTimeOffset.MinValue)).Length.Should().Be(0);
        (await log.ReadAsync(new CustomerId("bob"), DateTimeOffset.MinValue)).Length.Should().Be(1);
    }

    /// <summary>A contact without an action or a dispatch is refused, naming the field.</summary>
    /// <param name="field">The field left out.</param>
    /// <returns>A task.</returns>
    [ConformanceCheck("actionId")]
    [ConformanceCheck("dispatchId")]
    public async Task RecordAsync_MissingField_IsRefusedNamingIt(string field)
    {
        var log = CreateStore();
        var contact = field == "actionId" ? Contact("d1", ActionContactKind.Sent, T0) with { ActionId = string.Empty } : Contact(" ", ActionContactKind.Sent, T0);

        var act = async () => await log.RecordAsync(contact);

        (await act.Should().ThrowAsync<EngagementValidationException>()).Which.Field.Should().Be(field);
    }

    private static ActionContact Contact(string dispatchId, ActionContactKind kind, DateTimeOffset at) => new(Ann, "offer", Channel.Email, kind, at, dispatchId);
}
