using Engagement.Sdk.Channels;
using Engagement.Sdk.Consent;
using Engagement.Sdk.Profiles;
using Engagement.Sdk.Storage;
using FluentAssertions;
using Xunit;

namespace Engagement.Sdk.Testing.Conformance;

/// <summary>What every <see cref="IConsentStore"/> must do. Inherit it in the adapter's tests and return a fresh, empty store.</summary>
public abstract class ConsentStoreConformanceTests
{
    private static readonly DateTimeOffset T0 = new(2026, 3, 1, 12, 0, 0, TimeSpan.Zero);

    /// <summary>Creates a fresh, empty store for one test.</summary>
    /// <returns>The store.</returns>
    protected abstract IConsentStore CreateStore();

    /// <summary>Records come back in append order, equal to what was appended.</summary>
    /// <returns>A task.</returns>
    [Fact]
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
    [Fact]
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

    /// <summary>Erasure removes the subject's ledger only.</summary>
    /// <returns>A task.</returns>
    [Fact]
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
public abstract class DispatchStoreConformanceTests
{
    private static readonly DateTimeOffset T0 = new(2026, 3, 1, 12, 0, 0, TimeSpan.Zero);

    /// <summary>Creates a fresh, empty store for one test.</summary>
    /// <returns>The store.</returns>
    protected abstract IDispatchStore CreateStore();

    /// <summary>Of many concurrent attempts to begin one dispatch id, exactly one succeeds.</summary>
    /// <returns>A task.</returns>
    [Fact]
    public async Task TryBeginAsync_ConcurrentAttemptsWithOneId_ExactlyOneSucceeds()
    {
        var store = CreateStore();

        var results = await Task.WhenAll(Enumerable.Range(0, 100).Select(_ => Task.Run(async () => await store.TryBeginAsync(Dispatch("d1", T0)))));

        results.Count(r => r).Should().Be(1);
    }

    /// <summary>A completed dispatch keeps its outcome and cannot be begun again.</summary>
    /// <returns>A task.</returns>
    [Fact]
    public async Task CompleteAsync_BegunDispatch_RecordsTheOutcome()
    {
        var store = CreateStore();
        await store.TryBeginAsync(Dispatch("d1", T0));

        await store.CompleteAsync("d1", DispatchStatus.Failed, 4, "timeout", T0.AddSeconds(30));

        var record = (await store.ListAsync(new CustomerId("c1"), T0)).Should().ContainSingle().Subject;
        record.Status.Should().Be(DispatchStatus.Failed);
        record.Attempts.Should().Be(4);
        record.Error.Should().Be("timeout");
        record.CompletedAt.Should().Be(T0.AddSeconds(30));
        (await store.TryBeginAsync(Dispatch("d1", T0.AddHours(1)))).Should().BeFalse();
    }

    /// <summary>Completing a dispatch that was never begun is an error that names it.</summary>
    /// <returns>A task.</returns>
    [Fact]
    public async Task CompleteAsync_UnknownDispatch_Throws()
    {
        var act = async () => await CreateStore().CompleteAsync("nope", DispatchStatus.Sent, 1, null, T0);

        (await act.Should().ThrowAsync<EngagementValidationException>()).Which.Value.Should().Be("nope");
    }

    /// <summary>Listing by customer honours the start; listing by status finds pending ones oldest first.</summary>
    /// <returns>A task.</returns>
    [Fact]
    public async Task ListAsync_SinceAndByStatus_FilterAndOrder()
    {
        var store = CreateStore();
        await store.TryBeginAsync(Dispatch("d2", T0.AddHours(2)));
        await store.TryBeginAsync(Dispatch("d1", T0.AddHours(1)));
        await store.TryBeginAsync(Dispatch("d0", T0));
        await store.TryBeginAsync(Dispatch("other", T0) with { CustomerId = new CustomerId("c2") });
        await store.CompleteAsync("d2", DispatchStatus.Sent, 1, null, T0.AddHours(2));

        (await store.ListAsync(new CustomerId("c1"), T0.AddHours(1))).Select(d => d.DispatchId).Should().Equal("d1", "d2");
        var pending = new List<string>();
        await foreach (var d in store.ListByStatusAsync(DispatchStatus.Pending))
        {
            pending.Add(d.DispatchId);
        }

        pending.Should().Equal("d0", "other", "d1");
    }

    /// <summary>A held dispatch is stored as held with its schedule, and is listed by that status, not as pending.</summary>
    /// <returns>A task.</returns>
    [Fact]
    public async Task TryBeginAsync_HeldRecord_IsStoredHeldWithItsSchedule()
    {
        var store = CreateStore();
        var held = Dispatch("h1", T0) with { Status = DispatchStatus.Held, Priority = 7, HeldAt = T0, ReleaseAt = T0.AddHours(9), ExpiresAt = T0.AddDays(2) };

        (await store.TryBeginAsync(held)).Should().BeTrue();
        (await store.TryBeginAsync(Dispatch("p1", T0) with { Status = DispatchStatus.Sent })).Should().BeTrue();

        (await store.ListAsync(new CustomerId("c1"), T0)).Should().BeEquivalentTo([held, Dispatch("p1", T0)]);
        var byStatus = new List<string>();
        await foreach (var d in store.ListByStatusAsync(DispatchStatus.Held))
        {
            byStatus.Add(d.DispatchId);
        }

        byStatus.Should().Equal("h1");
    }

    /// <summary>An update applies only while the stored status is the expected one, and also moves the record's creation time.</summary>
    /// <returns>A task.</returns>
    [Fact]
    public async Task TryUpdateAsync_ExpectedStatus_ReplacesTheRecordOnce()
    {
        var store = CreateStore();
        var held = Dispatch("h1", T0) with { Status = DispatchStatus.Held, HeldAt = T0, ReleaseAt = T0.AddHours(9), ExpiresAt = T0.AddDays(2) };
        await store.TryBeginAsync(held);
        var released = held with { Status = DispatchStatus.Pending, CreatedAt = T0.AddHours(9) };

        (await store.TryUpdateAsync(released, DispatchStatus.Held)).Should().BeTrue();
        (await store.TryUpdateAsync(held with { Status = DispatchStatus.Cancelled, Error = "expired" }, DispatchStatus.Held)).Should().BeFalse("it is no longer held");
        (await store.TryUpdateAsync(Dispatch("missing", T0), DispatchStatus.Held)).Should().BeFalse();
        (await store.TryUpdateAsync(released with { CustomerId = new CustomerId("c2") }, DispatchStatus.Pending)).Should().BeFalse("another customer's update never applies");

        (await store.ListAsync(new CustomerId("c1"), T0.AddHours(1))).Should().ContainSingle().Which.Should().Be(released);
        (await store.ListAsync(new CustomerId("c1"), T0.AddHours(10))).Should().BeEmpty("the listing follows the new creation time");
    }

    /// <summary>Of many concurrent updates expecting one status, exactly one applies.</summary>
    /// <returns>A task.</returns>
    [Fact]
    public async Task TryUpdateAsync_ConcurrentReleasesOfOneHeldDispatch_ExactlyOneSucceeds()
    {
        var store = CreateStore();
        var held = Dispatch("h1", T0) with { Status = DispatchStatus.Held, ReleaseAt = T0.AddHours(1) };
        await store.TryBeginAsync(held);

        var results = await Task.WhenAll(Enumerable.Range(0, 50).Select(i => Task.Run(async () =>
            await store.TryUpdateAsync(held with { Status = DispatchStatus.Pending, Attempts = i }, DispatchStatus.Held))));

        results.Count(r => r).Should().Be(1);
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
public abstract class SuppressionStoreConformanceTests
{
    /// <summary>Creates a fresh, empty store for one test.</summary>
    /// <returns>The store.</returns>
    protected abstract ISuppressionStore CreateStore();

    /// <summary>Suppressions come back by hash, oldest first, once each, with their offset.</summary>
    /// <returns>A task.</returns>
    [Fact]
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
