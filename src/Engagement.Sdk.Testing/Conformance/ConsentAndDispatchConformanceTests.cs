using Engagement.Sdk.Channels;
using Engagement.Sdk.Consent;
using Engagement.Sdk.Profiles;
using Engagement.Sdk.Storage;

namespace Engagement.Sdk.Testing.Conformance;

/// <summary>What every <see cref="IConsentStore"/> must do. Inherit it in the adapter's tests and return a fresh, empty store.</summary>
public abstract class ConsentStoreConformanceTests : ConformanceSuite
{
    /// <summary>Gets the names of this suite's checks, one row each, for a test framework's data-driven test.</summary>
    /// <value>One row per check.</value>
    public static IEnumerable<object[]> Checks => CheckRowsOf(typeof(ConsentStoreConformanceTests));

    private static readonly DateTimeOffset T0 = new(2026, 3, 1, 12, 0, 0, TimeSpan.Zero);

    /// <summary>Creates a fresh, empty store for one test.</summary>
    /// <returns>The store.</returns>
    protected abstract IConsentStore CreateStore();

    /// <summary>Records come back in append order, equal to what was appended.</summary>
    /// <returns>A task.</returns>
    [ConformanceCheck]
    public async Task ReadAsync_AppendedRecords_ComeBackInAppendOrder()
    {
        var store = CreateStore();
        var records = new[] { Record("r3", T0.AddDays(2)), Record("r1", T0), Record("r2", T0.AddDays(1)) with { Status = ConsentStatus.Withdrawn, Evidence = null } };
        foreach (var record in records)
        {
            (await store.AppendAsync(record)).Should().Be(AppendOutcome.Appended);
        }

        (await store.ReadAsync(new CustomerId("c1"))).Should().Equal(records);
        (await store.ReadAsync(new CustomerId("c2"))).Should().BeEmpty();
    }

    /// <summary>The same record twice is one entry; the id reused for other content is a conflict, and the first stays.</summary>
    /// <returns>A task.</returns>
    [ConformanceCheck]
    public async Task AppendAsync_SameIdTwice_IsIdempotentAndChangedContentConflicts()
    {
        var store = CreateStore();
        var record = Record("r1", T0);
        await store.AppendAsync(record);

        (await store.AppendAsync(record with { })).Should().Be(AppendOutcome.Duplicate);
        var act = async () => await store.AppendAsync(record with { Status = ConsentStatus.Withdrawn });

        await act.Should().ThrowAsync<ConsentConflictException>();
        (await store.ReadAsync(record.CustomerId)).Should().ContainSingle().Which.Status.Should().Be(ConsentStatus.Granted);
    }

    /// <summary>
    /// A retry of an append, stamped again by the ledger, is a duplicate: only <see cref="ConsentRecord.RecordedAt"/> differs.
    /// The first stamp is kept, and comes back exactly (a record without one comes back without one).
    /// </summary>
    /// <returns>A task.</returns>
    [ConformanceCheck]
    public async Task AppendAsync_SameRecordStampedAgain_IsADuplicateAndKeepsTheFirstStamp()
    {
        var store = CreateStore();
        var record = Record("r1", T0) with { RecordedAt = T0.AddTicks(1234567) };
        var unstamped = Record("r2", T0);
        await store.AppendAsync(record);
        await store.AppendAsync(unstamped);

        (await store.AppendAsync(record with { RecordedAt = T0.AddMinutes(3) })).Should().Be(AppendOutcome.Duplicate);
        (await store.AppendAsync(unstamped with { RecordedAt = T0.AddMinutes(3) })).Should().Be(AppendOutcome.Duplicate);
        var act = async () => await store.AppendAsync(record with { RecordedAt = T0.AddMinutes(3), Status = ConsentStatus.Withdrawn });

        await act.Should().ThrowAsync<ConsentConflictException>();
        (await store.ReadAsync(record.CustomerId)).Select(r => r.RecordedAt).Should().Equal(T0.AddTicks(1234567), null);
    }

    /// <summary>Erasure removes the subject's ledger only.</summary>
    /// <returns>A task.</returns>
    [ConformanceCheck]
    public async Task EraseSubjectAsync_Subject_RemovesOnlyTheirRecords()
    {
        var store = CreateStore();
        await store.AppendAsync(Record("r1", T0));
        await store.AppendAsync(Record("r2", T0) with { CustomerId = new CustomerId("c2") });
        var erasure = store.Should().BeAssignableTo<ISubjectErasure>().Subject;

        (await erasure.EraseSubjectAsync(new CustomerId("c1"))).Should().Be(1);

        (await store.ReadAsync(new CustomerId("c1"))).Should().BeEmpty();
        (await store.ReadAsync(new CustomerId("c2"))).Should().ContainSingle();
    }

    private static ConsentRecord Record(string id, DateTimeOffset at) => new()
    {
        RecordId = id,
        CustomerId = new CustomerId("c1"),
        Channel = Channel.Email,
        Purpose = Purpose.Marketing,
        Identifier = Identifier.Email("ann@example.com"),
        Status = ConsentStatus.Granted,
        Source = "form ✓",
        Evidence = new ConsentEvidence("v1", "form", "203.0.113.7", "Mozilla/5.0"),
        EffectiveAt = at,
        ExpiresAt = at.AddYears(2),
    };
}

/// <summary>What every <see cref="IDispatchStore"/> must do. Inherit it in the adapter's tests and return a fresh, empty store.</summary>
public abstract class DispatchStoreConformanceTests : ConformanceSuite
{
    /// <summary>Gets the names of this suite's checks, one row each, for a test framework's data-driven test.</summary>
    /// <value>One row per check.</value>
    public static IEnumerable<object[]> Checks => CheckRowsOf(typeof(DispatchStoreConformanceTests));

    private static readonly DateTimeOffset T0 = new(2026, 3, 1, 12, 0, 0, TimeSpan.Zero);

    /// <summary>Creates a fresh, empty store for one test.</summary>
    /// <returns>The store.</returns>
    protected abstract IDispatchStore CreateStore();

    /// <summary>Of many concurrent attempts to begin one dispatch id, exactly one succeeds.</summary>
    /// <returns>A task.</returns>
    [ConformanceCheck]
    public async Task TryBeginAsync_ConcurrentAttemptsWithOneId_ExactlyOneSucceeds()
    {
        var store = CreateStore();

        var results = await Task.WhenAll(Enumerable.Range(0, 100).Select(_ => Task.Run(async () => await store.TryBeginAsync(Dispatch("d1", T0)))));

        results.Count(r => r).Should().Be(1);
    }

    /// <summary>A new dispatch is queued, due when it was created unless it says otherwise, and cannot be begun again.</summary>
    /// <returns>A task.</returns>
    [ConformanceCheck]
    public async Task TryBeginAsync_NewDispatch_IsQueuedAndDue()
    {
        var store = CreateStore();
        (await store.TryBeginAsync(Dispatch("d1", T0))).Should().BeTrue();
        (await store.TryBeginAsync(Dispatch("d2", T0) with { DueAt = T0.AddMinutes(5) })).Should().BeTrue();

        (await store.GetAsync("d1")).Should().Be(Dispatch("d1", T0) with { Status = DispatchStatus.Queued, DueAt = T0 });
        (await store.GetAsync("d2"))!.DueAt.Should().Be(T0.AddMinutes(5));
        (await store.GetAsync("nope")).Should().BeNull();
        (await store.TryBeginAsync(Dispatch("d1", T0.AddHours(1)))).Should().BeFalse();
    }

    /// <summary>Listing by customer honours the start; listing by status finds queued ones oldest first.</summary>
    /// <returns>A task.</returns>
    [ConformanceCheck]
    public async Task ListAsync_SinceAndByStatus_FilterAndOrder()
    {
        var store = CreateStore();
        await store.TryBeginAsync(Dispatch("d2", T0.AddHours(2)) with { Status = DispatchStatus.Sent });
        await store.TryBeginAsync(Dispatch("d1", T0.AddHours(1)));
        await store.TryBeginAsync(Dispatch("d0", T0));
        await store.TryBeginAsync(Dispatch("other", T0) with { CustomerId = new CustomerId("c2") });

        (await store.ListAsync(new CustomerId("c1"), T0.AddHours(1))).Select(d => d.DispatchId).Should().Equal("d1", "d2");
        var queued = new List<string>();
        await foreach (var d in store.ListByStatusAsync(DispatchStatus.Queued))
        {
            queued.Add(d.DispatchId);
        }

        queued.Should().Equal("d0", "other", "d1");
    }

    /// <summary>A held dispatch is stored as held with its schedule, a settled one (an import) as given; neither is queued.</summary>
    /// <returns>A task.</returns>
    [ConformanceCheck]
    public async Task TryBeginAsync_HeldOrSettledRecord_IsStoredAsGiven()
    {
        var store = CreateStore();
        var held = Dispatch("h1", T0) with { Status = DispatchStatus.Held, Priority = 7, HeldAt = T0, ReleaseAt = T0.AddHours(9), ExpiresAt = T0.AddDays(2) };
        var sent = Dispatch("p1", T0) with { Status = DispatchStatus.Sent, Attempts = 2, CompletedAt = T0.AddSeconds(3), Reason = DispatchReasons.Accepted };

        (await store.TryBeginAsync(held)).Should().BeTrue();
        (await store.TryBeginAsync(sent)).Should().BeTrue();

        (await store.ListAsync(new CustomerId("c1"), T0)).Should().BeEquivalentTo([held, sent]);
        var byStatus = new List<string>();
        await foreach (var d in store.ListByStatusAsync(DispatchStatus.Held))
        {
            byStatus.Add(d.DispatchId);
        }

        byStatus.Should().Equal("h1");
        (await store.ClaimAsync(T0.AddDays(3), "w1", T0.AddDays(3).AddMinutes(5), 10)).Should().BeEmpty("neither is for a worker");
    }

    /// <summary>An update applies only while the stored status is the expected one, and also moves the record's creation time.</summary>
    /// <returns>A task.</returns>
    [ConformanceCheck]
    public async Task TryUpdateAsync_ExpectedStatus_ReplacesTheRecordOnce()
    {
        var store = CreateStore();
        var held = Dispatch("h1", T0) with { Status = DispatchStatus.Held, HeldAt = T0, ReleaseAt = T0.AddHours(9), ExpiresAt = T0.AddDays(2) };
        await store.TryBeginAsync(held);
        var released = held with { Status = DispatchStatus.Queued, CreatedAt = T0.AddHours(9), DueAt = T0.AddHours(9) };

        (await store.TryUpdateAsync(released, DispatchStatus.Held)).Should().BeTrue();
        (await store.TryUpdateAsync(held with { Status = DispatchStatus.Cancelled, Error = "expired" }, DispatchStatus.Held)).Should().BeFalse("it is no longer held");
        (await store.TryUpdateAsync(Dispatch("missing", T0), DispatchStatus.Held)).Should().BeFalse();
        (await store.TryUpdateAsync(released with { CustomerId = new CustomerId("c2") }, DispatchStatus.Queued)).Should().BeFalse("another customer's update never applies");

        (await store.ListAsync(new CustomerId("c1"), T0.AddHours(1))).Should().ContainSingle().Which.Should().Be(released);
        (await store.ListAsync(new CustomerId("c1"), T0.AddHours(10))).Should().BeEmpty("the listing follows the new creation time");
        (await store.ClaimAsync(T0.AddHours(8), "w1", T0.AddHours(9), 10)).Should().BeEmpty("a released message is due when released");
        (await store.ClaimAsync(T0.AddHours(9), "w1", T0.AddHours(10), 10)).Should().ContainSingle().Which.DispatchId.Should().Be("h1");
    }

    /// <summary>Of many concurrent updates expecting one status, exactly one applies.</summary>
    /// <returns>A task.</returns>
    [ConformanceCheck]
    public async Task TryUpdateAsync_ConcurrentReleasesOfOneHeldDispatch_ExactlyOneSucceeds()
    {
        var store = CreateStore();
        var held = Dispatch("h1", T0) with { Status = DispatchStatus.Held, ReleaseAt = T0.AddHours(1) };
        await store.TryBeginAsync(held);

        var results = await Task.WhenAll(Enumerable.Range(0, 50).Select(i => Task.Run(async () =>
            await store.TryUpdateAsync(held with { Status = DispatchStatus.Queued, Attempts = i }, DispatchStatus.Held))));

        results.Count(r => r).Should().Be(1);
    }

    /// <summary>A claim takes only what is due, oldest due first, up to the limit, leases it, and returns it as it stood.</summary>
    /// <returns>A task.</returns>
    [ConformanceCheck]
    public async Task ClaimAsync_DueDispatches_AreLeasedOldestDueFirst()
    {
        var store = CreateStore();
        await store.TryBeginAsync(Dispatch("late", T0) with { DueAt = T0.AddMinutes(30) });
        await store.TryBeginAsync(Dispatch("second", T0.AddMinutes(2)));
        await store.TryBeginAsync(Dispatch("first", T0.AddMinutes(1)));
        await store.TryBeginAsync(Dispatch("third", T0.AddMinutes(3)));

        var claimed = await store.ClaimAsync(T0.AddMinutes(10), "w1", T0.AddMinutes(15), 2);

        claimed.Select(d => d.DispatchId).Should().Equal("first", "second");
        claimed.Should().OnlyContain(d => d.Status == DispatchStatus.Queued && d.LeaseOwner == null, "a claim returns what it took as it stood");
        var leased = await store.GetAsync("first");
        leased!.Status.Should().Be(DispatchStatus.Sending);
        leased.LeaseOwner.Should().Be("w1");
        leased.LeaseUntil.Should().Be(T0.AddMinutes(15));
        (await store.ClaimAsync(T0.AddMinutes(10), "w2", T0.AddMinutes(15), 10)).Select(d => d.DispatchId).Should().Equal("third");
        (await store.ClaimAsync(T0.AddMinutes(14), "w2", T0.AddMinutes(20), 10)).Should().BeEmpty("the leases still run");
    }

    /// <summary>A lease that runs out makes its dispatch claimable again, returned as sending (its outcome is unknown).</summary>
    /// <returns>A task.</returns>
    [ConformanceCheck]
    public async Task ClaimAsync_LeaseRanOut_ClaimableAgainAsSending()
    {
        var store = CreateStore();
        await store.TryBeginAsync(Dispatch("d1", T0));
        await store.ClaimAsync(T0, "w1", T0.AddMinutes(5), 10);

        var again = await store.ClaimAsync(T0.AddMinutes(5), "w2", T0.AddMinutes(10), 10);

        again.Should().ContainSingle().Which.Should().Match<DispatchRecord>(d => d.Status == DispatchStatus.Sending && d.LeaseOwner == "w1");
        (await store.TrySettleAsync((await store.GetAsync("d1"))! with { Status = DispatchStatus.Sent }, "w1")).Should().BeFalse("w1's lease was taken over");
        (await store.GetAsync("d1"))!.LeaseOwner.Should().Be("w2");
    }

    /// <summary>Workers claiming at once get disjoint dispatches, and every due one exactly once.</summary>
    /// <returns>A task.</returns>
    [ConformanceCheck]
    public async Task ClaimAsync_ConcurrentWorkers_ClaimEachDispatchOnce()
    {
        var store = CreateStore();
        for (var i = 0; i < 200; i++)
        {
            await store.TryBeginAsync(Dispatch($"d{i:D3}", T0.AddSeconds(i)));
        }

        var claims = await Task.WhenAll(Enumerable.Range(0, 8).Select(w => Task.Run(async () =>
        {
            var mine = new List<string>();
            while (true)
            {
                var batch = await store.ClaimAsync(T0.AddHours(1), $"w{w}", T0.AddHours(2), 7);
                if (batch.Count == 0)
                {
                    return mine;
                }

                mine.AddRange(batch.Select(d => d.DispatchId));
            }
        })));

        claims.SelectMany(c => c).Should().OnlyHaveUniqueItems().And.HaveCount(200);
    }

    /// <summary>Only the lease's owner settles, only while sending; a dispatch queued again falls due at its new time.</summary>
    /// <returns>A task.</returns>
    [ConformanceCheck]
    public async Task TrySettleAsync_OwnerWhileSending_SettlesOnce()
    {
        var store = CreateStore();
        await store.TryBeginAsync(Dispatch("d1", T0));
        await store.TryBeginAsync(Dispatch("d2", T0));
        await store.ClaimAsync(T0, "w1", T0.AddMinutes(5), 10);
        var sent = Dispatch("d1", T0) with { Status = DispatchStatus.Sent, Attempts = 1, CompletedAt = T0.AddSeconds(1), Reason = DispatchReasons.Accepted };
        var retry = Dispatch("d2", T0) with { Status = DispatchStatus.Queued, Attempts = 1, DueAt = T0.AddMinutes(2), Reason = DispatchReasons.Transient, Error = "throttled" };

        (await store.TrySettleAsync(sent, "w2")).Should().BeFalse("w2 holds no lease");
        (await store.TrySettleAsync(sent, "w1")).Should().BeTrue();
        (await store.TrySettleAsync(sent with { Attempts = 2 }, "w1")).Should().BeFalse("it is settled");
        (await store.TrySettleAsync(retry, "w1")).Should().BeTrue();
        (await store.TrySettleAsync(Dispatch("missing", T0), "w1")).Should().BeFalse();

        (await store.GetAsync("d1")).Should().Be(sent);
        (await store.ClaimAsync(T0.AddMinutes(1), "w1", T0.AddMinutes(6), 10)).Should().BeEmpty();
        (await store.ClaimAsync(T0.AddMinutes(2), "w1", T0.AddMinutes(7), 10)).Should().ContainSingle().Which.Should().Be(retry);
    }

    /// <summary>The cap log lists exactly the dispatches caps count — queued, sending, unknown and sent — from its start.</summary>
    /// <returns>A task.</returns>
    [ConformanceCheck]
    public async Task ListCountedAsync_CountsWhatCapsCountAndNothingElse()
    {
        var store = CreateStore();
        store.Should().BeAssignableTo<IDispatchCapLog>("every store of this library lists what caps count without reading documents");
        await store.TryBeginAsync(Dispatch("queued", T0.AddHours(1)));
        await store.TryBeginAsync(Dispatch("sending", T0.AddHours(1)) with { Channel = Channel.Sms, Purpose = Purpose.Transactional });
        await store.ClaimAsync(T0.AddHours(1), "w1", T0.AddHours(2), 1);
        await store.TryBeginAsync(Dispatch("sent", T0.AddHours(2)) with { Status = DispatchStatus.Sent });
        await store.TryBeginAsync(Dispatch("unknown", T0.AddHours(2)) with { Status = DispatchStatus.Unknown });
        await store.TryBeginAsync(Dispatch("held", T0.AddHours(2)) with { Status = DispatchStatus.Held });
        await store.TryBeginAsync(Dispatch("cancelled", T0.AddHours(2)) with { Status = DispatchStatus.Cancelled });
        await store.TryBeginAsync(Dispatch("dead", T0.AddHours(2)) with { Status = DispatchStatus.DeadLettered });
        await store.TryBeginAsync(Dispatch("gone", T0.AddHours(2)) with { Status = DispatchStatus.Undeliverable });
        await store.TryBeginAsync(Dispatch("old", T0));
        await store.TryBeginAsync(Dispatch("other", T0.AddHours(2)) with { CustomerId = new CustomerId("c2") });

        var counted = await ((IDispatchCapLog)store).ListCountedAsync(new CustomerId("c1"), T0.AddHours(1));

        counted.OrderBy(c => c.DispatchId, StringComparer.Ordinal).Should().Equal(
            new CappedDispatch("queued", T0.AddHours(1), Channel.Email, Purpose.Marketing),
            new CappedDispatch("sending", T0.AddHours(1), Channel.Sms, Purpose.Transactional),
            new CappedDispatch("sent", T0.AddHours(2), Channel.Email, Purpose.Marketing),
            new CappedDispatch("unknown", T0.AddHours(2), Channel.Email, Purpose.Marketing));
    }

    /// <summary>
    /// After a read-ahead of the cap log, a customer's counted dispatches are what the store holds: the ones read ahead, and
    /// then (after a write) the new dispatch too; a customer not read ahead, or an earlier start, reads the store.
    /// </summary>
    /// <returns>A task.</returns>
    [ConformanceCheck]
    public async Task ReadAheadCountedAsync_LaterListsStillSeeWhatTheStoreHolds()
    {
        var store = CreateStore();
        var log = (IDispatchCapLog)store;
        var c1 = new CustomerId("c1");
        var c2 = new CustomerId("c2");
        await store.TryBeginAsync(Dispatch("a", T0.AddHours(1)));
        await store.TryBeginAsync(Dispatch("b", T0.AddHours(3)));
        await store.TryBeginAsync(Dispatch("early", T0));
        await store.TryBeginAsync(Dispatch("other", T0.AddHours(2)) with { CustomerId = c2 });

        await log.ReadAheadCountedAsync([c1, new CustomerId("nobody")], T0.AddHours(1));

        (await log.ListCountedAsync(c1, T0.AddHours(1))).Select(c => c.DispatchId).Should().BeEquivalentTo(["a", "b"]);
        (await log.ListCountedAsync(c1, T0.AddHours(2))).Select(c => c.DispatchId).Should().BeEquivalentTo(["b"]);
        (await log.ListCountedAsync(c1, T0)).Select(c => c.DispatchId).Should().BeEquivalentTo(["a", "b", "early"], "an earlier start than the read-ahead's is read from the store");
        (await log.ListCountedAsync(new CustomerId("nobody"), T0)).Should().BeEmpty();
        (await log.ListCountedAsync(c2, T0)).Select(c => c.DispatchId).Should().BeEquivalentTo(["other"]);

        await store.TryBeginAsync(Dispatch("c", T0.AddHours(4)));
        (await log.ListCountedAsync(c1, T0.AddHours(1))).Select(c => c.DispatchId).Should().BeEquivalentTo(["a", "b", "c"], "a dispatch written after the read-ahead counts");
    }

    /// <summary>Claim arguments are checked.</summary>
    /// <returns>A task.</returns>
    [ConformanceCheck]
    public async Task ClaimAsync_BadArguments_AreTypedErrors()
    {
        var store = CreateStore();
        var noOwner = async () => await store.ClaimAsync(T0, " ", T0.AddMinutes(1), 1);
        var noMax = async () => await store.ClaimAsync(T0, "w1", T0.AddMinutes(1), 0);

        (await noOwner.Should().ThrowAsync<EngagementValidationException>()).Which.Field.Should().Be("owner");
        (await noMax.Should().ThrowAsync<EngagementValidationException>()).Which.Field.Should().Be("max");
    }

    private static DispatchRecord Dispatch(string id, DateTimeOffset at) => new()
    {
        DispatchId = id,
        CustomerId = new CustomerId("c1"),
        Channel = Channel.Email,
        Purpose = Purpose.Marketing,
        ActionId = "offer",
        CreatedAt = at,
    };
}

/// <summary>What every <see cref="ISuppressionStore"/> must do. Inherit it in the adapter's tests and return a fresh, empty store.</summary>
public abstract class SuppressionStoreConformanceTests : ConformanceSuite
{
    /// <summary>Gets the names of this suite's checks, one row each, for a test framework's data-driven test.</summary>
    /// <value>One row per check.</value>
    public static IEnumerable<object[]> Checks => CheckRowsOf(typeof(SuppressionStoreConformanceTests));

    /// <summary>Creates a fresh, empty store for one test.</summary>
    /// <returns>The store.</returns>
    protected abstract ISuppressionStore CreateStore();

    /// <summary>Suppressions come back by hash, oldest first, once each, with their offset.</summary>
    /// <returns>A task.</returns>
    [ConformanceCheck]
    public async Task FindAsync_AddedSuppressions_ComeBackOnceOldestFirst()
    {
        var store = CreateStore();
        var hash = IdentifierHashing.Hash(Identifier.Email("ann@example.com"));
        var bounce = new Suppression(hash, SuppressionReason.HardBounce, new DateTimeOffset(2026, 3, 2, 9, 0, 0, TimeSpan.FromHours(2)), "esp");
        var complaint = new Suppression(hash, SuppressionReason.Complaint, new DateTimeOffset(2026, 3, 1, 9, 0, 0, TimeSpan.Zero), "esp");

        await store.AddAsync(bounce);
        await store.AddAsync(complaint);
        await store.AddAsync(bounce);

        (await store.FindAsync(hash)).Should().Equal(complaint, bounce);
        (await store.FindAsync(IdentifierHashing.Hash(Identifier.Email("bob@example.com")))).Should().BeEmpty();
    }
}
