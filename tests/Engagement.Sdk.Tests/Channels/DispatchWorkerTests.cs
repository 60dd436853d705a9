using System.Collections.Concurrent;
using Engagement.Sdk.Channels;
using Engagement.Sdk.Consent;
using Engagement.Sdk.Decisioning;
using Engagement.Sdk.Events;
using Engagement.Sdk.Profiles;
using Engagement.Sdk.Storage;
using Engagement.Sdk.Testing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;

namespace Engagement.Sdk.Tests.Channels;

/// <summary>The outbox and its worker: tracking queues, the worker delivers, and every outcome is settled as documented.</summary>
public sealed class DispatchWorkerTests
{
    private static readonly DateTimeOffset T0 = new(2026, 6, 1, 12, 0, 0, TimeSpan.Zero);
    private static readonly CustomerId Ann = new("ann");
    private static readonly Identifier AnnEmail = Identifier.Email("ann@example.com");

    [Fact]
    public async Task TrackAsync_DecisionToSend_QueuesWithoutCallingTheChannel()
    {
        await using var shop = await Shop.CreateAsync(new ScriptedSender());

        var result = await shop.CartAsync("c1");

        result.Dispatch!.Result.Status.Should().Be(DispatchStatus.Queued);
        shop.Sender.Calls.Should().Be(0, "tracking never waits on a provider");
        (await shop.DispatchAsync()).Should().Match<DispatchRecord>(d => d.Status == DispatchStatus.Queued && d.DueAt == T0);
    }

    [Fact]
    public async Task RunOnceAsync_Accepted_IsSentWithItsReceiptAndCountedOnce()
    {
        await using var shop = await Shop.CreateAsync(new ScriptedSender());
        await shop.CartAsync("c1");

        var report = await shop.Worker.RunOnceAsync();

        report.Claimed.Should().Be(1);
        var sent = report.Settled.Should().ContainSingle().Subject;
        sent.Should().Match<DispatchRecord>(d => d.Status == DispatchStatus.Sent && d.Attempts == 1 && d.Reason == DispatchReasons.Accepted && d.LeaseOwner == null);
        shop.Sender.Delivered.Should().Equal([sent.DispatchId]);
        var receipts = await shop.Services.GetRequiredService<IEventStore>().ReadAsync(Ann).OfType<MessageSent>().ToListAsync();
        receipts.Should().ContainSingle().Which.DispatchId.Should().Be(sent.DispatchId);
        (await shop.ProfileAsync()).Behaviour.MessagesSent[Channel.Email].Should().Be(1);
        (await shop.Worker.RunOnceAsync()).Claimed.Should().Be(0, "a settled dispatch is never claimed again");
    }

    [Fact]
    public async Task RunOnceAsync_TransientFailure_IsQueuedAgainAfterABackOffAndSentWhenDue()
    {
        await using var shop = await Shop.CreateAsync(new ScriptedSender(SendResult.Transient("throttled")));
        await shop.CartAsync("c1");

        var first = (await shop.Worker.RunOnceAsync()).Settled.Single();

        first.Status.Should().Be(DispatchStatus.Queued);
        first.Reason.Should().Be(DispatchReasons.Transient);
        first.Attempts.Should().Be(1);
        first.DueAt.Should().BeOnOrAfter(T0 + (Shop.BaseDelay / 2)).And.BeOnOrBefore(T0 + Shop.BaseDelay);
        (await shop.Worker.RunOnceAsync()).Claimed.Should().Be(0, "the retry is a durable schedule, not an immediate loop");

        shop.Clock.SetUtcNow(first.DueAt!.Value);
        var second = (await shop.Worker.RunOnceAsync()).Settled.Single();

        second.Should().Match<DispatchRecord>(d => d.Status == DispatchStatus.Sent && d.Attempts == 2);
        shop.Sender.Calls.Should().Be(2);
    }

    [Fact]
    public async Task RunOnceAsync_RetryAfterLongerThanTheBackOff_IsHonoured()
    {
        await using var shop = await Shop.CreateAsync(new ScriptedSender(SendResult.Transient("429", TimeSpan.FromMinutes(20))));
        await shop.CartAsync("c1");

        var retry = (await shop.Worker.RunOnceAsync()).Settled.Single();

        retry.DueAt.Should().BeOnOrAfter(T0.AddMinutes(20));
    }

    [Fact]
    public async Task RunOnceAsync_TransientUntilTheAttemptsRunOut_IsDeadLetteredAndReplayedOnRequest()
    {
        var sender = new ScriptedSender { Default = SendResult.Transient("provider down") };
        await using var shop = await Shop.CreateAsync(sender, o => o.MaxAttempts = 3);
        await shop.CartAsync("c1");

        var last = await shop.DeliverUntilSettledAsync();

        last.Should().Match<DispatchRecord>(d => d.Status == DispatchStatus.DeadLettered && d.Reason == DispatchReasons.RetriesExhausted && d.Attempts == 3);
        sender.Calls.Should().Be(3);
        (await shop.Worker.ListDeadLettersAsync().ToListAsync()).Should().ContainSingle();

        sender.Default = SendResult.Accepted;
        (await shop.Worker.ReplayAsync(last.DispatchId)).Should().BeTrue();
        (await shop.Worker.ReplayAsync(last.DispatchId)).Should().BeFalse("it is no longer a dead letter");
        (await shop.Worker.RunOnceAsync()).Settled.Single().Status.Should().Be(DispatchStatus.Sent);
        sender.Delivered.Should().ContainSingle();
    }

    [Fact]
    public async Task RunOnceAsync_AddressInvalid_IsUndeliverableAndTheAddressSuppressed()
    {
        await using var shop = await Shop.CreateAsync(new ScriptedSender(SendResult.Permanent(PermanentFailureKind.AddressInvalid, "550 5.1.1 no such user")));
        await shop.CartAsync("c1");

        var settled = (await shop.Worker.RunOnceAsync()).Settled.Single();

        settled.Should().Match<DispatchRecord>(d => d.Status == DispatchStatus.Undeliverable && d.Reason == DispatchReasons.AddressInvalid && d.Attempts == 1);
        var suppressions = await shop.Services.GetRequiredService<ISuppressionStore>().FindAsync(IdentifierHashing.Hash(AnnEmail));
        suppressions.Should().ContainSingle().Which.Reason.Should().Be(SuppressionReason.InvalidAddress);
        shop.Clock.Advance(TimeSpan.FromDays(2));
        var next = await shop.CartAsync("c2");
        next.Dispatch.Should().BeNull("the address is never tried again");
    }

    [Fact]
    public async Task RunOnceAsync_ContentRejected_IsDeadLetteredWithoutRetry()
    {
        await using var shop = await Shop.CreateAsync(new ScriptedSender(SendResult.Permanent(PermanentFailureKind.ContentRejected, "template error")));
        await shop.CartAsync("c1");

        var settled = (await shop.Worker.RunOnceAsync()).Settled.Single();

        settled.Should().Match<DispatchRecord>(d => d.Status == DispatchStatus.DeadLettered && d.Reason == DispatchReasons.ContentRejected && d.Error == "template error");
        shop.Sender.Calls.Should().Be(1);
    }

    [Fact]
    public async Task RunOnceAsync_ProviderErrorQuotingTheAddress_IsStoredWithoutIt()
    {
        await using var shop = await Shop.CreateAsync(new ScriptedSender(SendResult.Permanent(PermanentFailureKind.ContentRejected, "554 5.7.1 <ann@example.com>: rejected; call +44 20 7946 0958")));
        await shop.CartAsync("c1");

        var settled = (await shop.Worker.RunOnceAsync()).Settled.Single();

        settled.Error.Should().Be("554 5.7.1 <[email]>: rejected; call [phone]", "the reply code stays, the contact data goes");
    }

    [Fact]
    public async Task RunOnceAsync_UnknownOutcomeWithIdempotentProvider_IsSentAgainUnderTheSameKeyAndDeliveredOnce()
    {
        // The provider accepts the first call but the answer is lost.
        var sender = new ScriptedSender(SendResult.Unknown("timed out after DATA")) { AcceptsOnUnknown = true, Capabilities = ChannelCapabilities.IdempotencyKeys };
        await using var shop = await Shop.CreateAsync(sender);
        await shop.CartAsync("c1");

        var unknown = (await shop.Worker.RunOnceAsync()).Settled.Single();
        unknown.Should().Match<DispatchRecord>(d => d.Status == DispatchStatus.Unknown && d.Reason == DispatchReasons.OutcomeUnknown);
        var sent = await shop.DeliverUntilSettledAsync();

        sent.Status.Should().Be(DispatchStatus.Sent);
        sender.Calls.Should().Be(2, "it was sent again under the same idempotency key");
        sender.Delivered.Should().ContainSingle("the provider deduplicated by the dispatch id");
    }

    [Fact]
    public async Task RunOnceAsync_UnknownOutcomeWithStatusQuery_IsReconciledWithoutSendingAgain()
    {
        var sender = new ScriptedSender(SendResult.Unknown("connection reset")) { AcceptsOnUnknown = true, Capabilities = ChannelCapabilities.StatusQuery };
        await using var shop = await Shop.CreateAsync(sender);
        await shop.CartAsync("c1");
        await shop.Worker.RunOnceAsync();

        var reconciled = await shop.DeliverUntilSettledAsync();

        reconciled.Should().Match<DispatchRecord>(d => d.Status == DispatchStatus.Sent && d.Attempts == 1);
        sender.Calls.Should().Be(1);
        sender.Queries.Should().Be(1);
    }

    [Fact]
    public async Task RunOnceAsync_UnknownOutcomeStatusQueryNotFound_IsSentOnce()
    {
        var sender = new ScriptedSender(SendResult.Unknown("connection reset before the request was written")) { Capabilities = ChannelCapabilities.StatusQuery };
        await using var shop = await Shop.CreateAsync(sender);
        await shop.CartAsync("c1");
        await shop.Worker.RunOnceAsync();

        var sent = await shop.DeliverUntilSettledAsync();

        sent.Should().Match<DispatchRecord>(d => d.Status == DispatchStatus.Sent && d.Attempts == 2);
        sender.Delivered.Should().ContainSingle();
    }

    [Fact]
    public async Task RunOnceAsync_UnknownOutcomeWithAChannelThatCanNeitherBeAskedNorDeduplicate_IsDeadLetteredNeverResent()
    {
        var sender = new ScriptedSender(SendResult.Unknown("timed out")) { AcceptsOnUnknown = true };
        await using var shop = await Shop.CreateAsync(sender);
        await shop.CartAsync("c1");
        await shop.Worker.RunOnceAsync();

        var dead = await shop.DeliverUntilSettledAsync();

        dead.Should().Match<DispatchRecord>(d => d.Status == DispatchStatus.DeadLettered && d.Reason == DispatchReasons.Unreconcilable);
        sender.Calls.Should().Be(1, "an unknown outcome is never sent again blindly");
    }

    [Fact]
    public async Task RunOnceAsync_SenderThrows_IsAnUnknownOutcomeWithoutTheExceptionText()
    {
        var sender = new ScriptedSender { Throw = new InvalidOperationException("ann@example.com rejected") };
        await using var shop = await Shop.CreateAsync(sender);
        await shop.CartAsync("c1");

        var settled = (await shop.Worker.RunOnceAsync()).Settled.Single();

        settled.Status.Should().Be(DispatchStatus.Unknown);
        settled.Error.Should().Be(nameof(InvalidOperationException), "the provider's text may hold personal data; only its type is stored");
    }

    [Fact]
    public async Task RunOnceAsync_ConsentWithdrawnBetweenDecisionAndSend_CancelsWithTheReason()
    {
        await using var shop = await Shop.CreateAsync(new ScriptedSender());
        await shop.CartAsync("c1");
        shop.Clock.Advance(TimeSpan.FromMinutes(1));
        await shop.Engine.RecordConsentAsync(Grant("w1", shop.Clock.GetUtcNow()) with { Status = ConsentStatus.Withdrawn, Evidence = null });

        var settled = (await shop.Worker.RunOnceAsync()).Settled.Single();

        settled.Should().Match<DispatchRecord>(d => d.Status == DispatchStatus.Cancelled && d.Reason == PermissionReasons.Withdrawn);
        shop.Sender.Calls.Should().Be(0);
    }

    [Fact]
    public async Task RunOnceAsync_QuietHoursBeganSinceTheDecision_WaitsForThemToEndWithoutAnAttempt()
    {
        await using var shop = await Shop.CreateAsync(new ScriptedSender(), configurePolicy: p => p.QuietHours.Add(new QuietHours { Channel = Channel.Email, Start = new TimeOnly(9, 0), End = new TimeOnly(12, 30) }));
        await shop.CartAsync("c1"); // 12:00 UTC = 12:00 in the recipient's zone: allowed
        shop.Clock.SetUtcNow(T0.AddMinutes(45));

        var settled = (await shop.Worker.RunOnceAsync()).Settled.Single();

        settled.Should().Match<DispatchRecord>(d => d.Status == DispatchStatus.Queued && d.Reason == DispatchReasons.Deferred && d.Attempts == 0);
        settled.DueAt.Should().Be(new DateTimeOffset(2026, 6, 2, 9, 0, 0, TimeSpan.Zero));
    }

    [Fact]
    public async Task RunOnceAsync_CustomerErasedBeforeTheSend_SendsNothing()
    {
        await using var shop = await Shop.CreateAsync(new ScriptedSender());
        await shop.CartAsync("c1");
        await shop.Services.GetRequiredService<CustomerErasure>().EraseAsync(Ann);

        var report = await shop.Worker.RunOnceAsync();

        report.Claimed.Should().Be(0, "erasure removed the queued dispatch");
        shop.Sender.Calls.Should().Be(0);
    }

    [Fact]
    public async Task RunOnceAsync_CustomerErasedWhileTheMessageIsWithTheChannel_LeavesAnAuditRowWithoutPersonalData()
    {
        var sender = new ScriptedSender();
        await using var shop = await Shop.CreateAsync(sender);
        sender.During = () => shop.Services.GetRequiredService<CustomerErasure>().EraseAsync(Ann).AsTask();
        var queued = (await shop.CartAsync("c1")).Dispatch!.Result.DispatchId;

        var report = await shop.Worker.RunOnceAsync();

        report.Settled.Should().BeEmpty("the erased customer's row was gone when the worker settled");
        var audit = await shop.Services.GetRequiredService<IDispatchStore>().GetAsync(queued);
        audit.Should().NotBeNull();
        audit!.Status.Should().Be(DispatchStatus.Sent);
        audit.Reason.Should().Be(DispatchReasons.ErasedInFlight);
        audit.CustomerId.Value.Should().MatchRegex("^erased-[0-9a-f]{32}$");
        System.Text.Json.JsonSerializer.Serialize(audit, Engagement.Sdk.Serialization.EngagementJsonContext.Default.DispatchRecord).Should().NotContain("\"ann\"").And.NotContain("example.com");
        (await shop.Services.GetRequiredService<IEventStore>().ReadAsync(Ann).ToListAsync()).Should().BeEmpty("no receipt recreates the erased customer");
    }

    [Fact]
    public async Task RunOnceAsync_AWorkerStoppedMidSend_ItsDispatchIsReconciledAfterTheLeaseRunsOut()
    {
        var sender = new ScriptedSender { Capabilities = ChannelCapabilities.StatusQuery };
        await using var shop = await Shop.CreateAsync(sender);
        var id = (await shop.CartAsync("c1")).Dispatch!.Result.DispatchId;
        var store = shop.Services.GetRequiredService<IDispatchStore>();

        // A worker claims it, the provider accepts it, and the worker dies before it settles.
        await store.ClaimAsync(T0, "crashed-worker", T0.AddMinutes(5), 10);
        sender.Deliver(id);
        (await shop.Worker.RunOnceAsync()).Claimed.Should().Be(0, "the crashed worker's lease still runs");
        shop.Clock.SetUtcNow(T0.AddMinutes(5));

        var settled = (await shop.Worker.RunOnceAsync()).Settled.Single();

        settled.Status.Should().Be(DispatchStatus.Sent);
        sender.Calls.Should().Be(0, "the status query showed the provider had it");
        sender.Delivered.Should().ContainSingle();
    }

    [Fact]
    public async Task RunOnceAsync_ChannelSlowerThanTheSettleInterval_WritesWhatWasSentBeforeThePassEnds()
    {
        var sender = new ScriptedSender();
        await using var shop = await FiveQueuedAsync(sender, TimeSpan.FromSeconds(1));

        // Each call takes 400 ms: the first three take the pass past a second, so they are written before the fourth call.
        var sentBeforeEachCall = new List<int>();
        sender.During = async () =>
        {
            sentBeforeEachCall.Add(await SentCountAsync(shop));
            shop.Clock.Advance(TimeSpan.FromMilliseconds(400));
        };

        var report = await shop.Worker.RunOnceAsync();

        report.Claimed.Should().Be(5);
        report.Settled.Should().HaveCount(5).And.OnlyContain(d => d.Status == DispatchStatus.Sent);
        report.Settled.Select(d => d.DispatchId).Should().OnlyHaveUniqueItems();
        sentBeforeEachCall.Should().Equal(0, 0, 0, 3, 3);
        (await SentCountAsync(shop)).Should().Be(5);
        var events = shop.Services.GetRequiredService<IEventStore>();
        foreach (var customer in shop.Customers)
        {
            (await events.ReadAsync(customer).OfType<MessageSent>().ToListAsync()).Should().ContainSingle("each message's receipt is tracked once");
        }
    }

    [Fact]
    public async Task RunOnceAsync_StoppedAfterAPartOfThePassWasWritten_KeepsItAndHandsTheRestBack()
    {
        var sender = new ScriptedSender();
        await using var shop = await FiveQueuedAsync(sender, TimeSpan.FromSeconds(1));

        using var stop = new CancellationTokenSource();
        sender.During = async () =>
        {
            shop.Clock.Advance(TimeSpan.FromMilliseconds(400));
            if (sender.Calls == 4)
            {
                await stop.CancelAsync(); // after the fourth call: three were written, the fourth is with the channel
            }
        };

        var act = async () => await shop.Worker.RunOnceAsync(stop.Token);

        await act.Should().ThrowAsync<OperationCanceledException>();
        sender.Calls.Should().Be(4);
        (await SentCountAsync(shop)).Should().Be(4, "the three written mid-pass stay sent, and the call that was answered is written as the worker stops");
        var left = await shop.Services.GetRequiredService<IDispatchStore>().ListByStatusAsync(DispatchStatus.Queued).ToListAsync();
        left.Should().ContainSingle().Which.LeaseOwner.Should().BeNull("the dispatch never handed over goes back to the queue untouched");
        sender.Default = SendResult.Accepted;
        sender.During = null;
        (await shop.Worker.RunOnceAsync()).Settled.Should().ContainSingle().Which.Status.Should().Be(DispatchStatus.Sent);
        sender.Delivered.Should().HaveCount(5).And.OnlyHaveUniqueItems();
    }

    [Fact]
    public async Task RunOnceAsync_ACheckFailsBeforeTheHandOver_LeavesTheDispatchQueuedForTheNextPass()
    {
        // The claim and the checks are one unit of work: a check that fails undoes the leases with it, so the dispatches are not
        // left leased (and then reconciled as unknown outcomes) although no channel was called.
        var stock = new FailingStock();
        await using var shop = await Shop.CreateAsync(new ScriptedSender(), stock: stock);
        var id = (await shop.CartAsync("c1")).Dispatch!.Result.DispatchId;
        stock.Fail = true;

        var pass = async () => await shop.Worker.RunOnceAsync();

        await pass.Should().ThrowAsync<IOException>();
        var after = await shop.Services.GetRequiredService<IDispatchStore>().GetAsync(id);
        after!.Status.Should().Be(DispatchStatus.Queued, "the lease was undone with the pass's unit of work");
        after.LeaseOwner.Should().BeNull();
        shop.Sender.Calls.Should().Be(0);
        stock.Fail = false;
        (await shop.Worker.RunOnceAsync()).Settled.Should().ContainSingle().Which.Status.Should().Be(DispatchStatus.Sent, "the next pass claims it at once, without waiting for a lease to run out");
        shop.Sender.Calls.Should().Be(1);
    }

    [Fact]
    public async Task RunOnceAsync_CircuitOpen_DispatchesWaitWithoutAnAttempt()
    {
        var sender = new ScriptedSender { Default = SendResult.Transient("503") };
        await using var shop = await Shop.CreateAsync(sender, o => o.DefaultChannel = new ChannelResilienceOptions { BreakerMinimumThroughput = 2, BreakerFailureRatio = 0.5, BreakerBreakDuration = TimeSpan.FromMinutes(3) }, customers: 4);
        foreach (var customer in shop.Customers)
        {
            await shop.CartAsync("c-" + customer.Value, customer);
        }

        var settled = (await shop.Worker.RunOnceAsync()).Settled;

        sender.Calls.Should().Be(2, "the circuit opened after two failures");
        settled.Where(d => d.Reason == DispatchReasons.ChannelBusy).Should().HaveCount(2).And.OnlyContain(d => d.Status == DispatchStatus.Queued && d.Attempts == 0 && d.DueAt == T0.AddMinutes(3));
    }

    [Fact]
    public async Task RunOnceAsync_RateLimited_DispatchesOverTheLimitWaitWithoutAnAttempt()
    {
        var sender = new ScriptedSender();
        await using var shop = await Shop.CreateAsync(sender, o => o.Channels["email"] = new ChannelResilienceOptions { PermitsPerSecond = 2 }, customers: 5);
        foreach (var customer in shop.Customers)
        {
            await shop.CartAsync("c-" + customer.Value, customer);
        }

        var settled = (await shop.Worker.RunOnceAsync()).Settled;

        settled.Count(d => d.Status == DispatchStatus.Sent).Should().Be(2);
        settled.Where(d => d.Status == DispatchStatus.Queued).Should().HaveCount(3).And.OnlyContain(d => d.Reason == DispatchReasons.ChannelBusy && d.Attempts == 0);
    }

    [Fact]
    public async Task RunOnceAsync_ProviderSlowerThanTheAttemptTimeout_IsAnUnknownOutcome()
    {
        var sender = new ScriptedSender { Delay = TimeSpan.FromSeconds(30) };
        await using var shop = await Shop.CreateAsync(sender, o => o.AttemptTimeout = TimeSpan.FromMilliseconds(200), clock: TimeProvider.System);
        await shop.CartAsync("c1", at: DateTimeOffset.UtcNow);

        var settled = (await shop.Worker.RunOnceAsync()).Settled.Single();

        settled.Status.Should().Be(DispatchStatus.Unknown, "the request may have reached the provider");
        settled.Attempts.Should().Be(1);
    }

    [Fact]
    public async Task TrackAsync_ReceiptForADispatchNeverHandedOver_IsRefusedAndNothingWritten()
    {
        await using var shop = await Shop.CreateAsync(new ScriptedSender());
        var queued = (await shop.CartAsync("c1")).Dispatch!.Result.DispatchId;

        var unknownId = () => shop.Engine.TrackAsync(new MessageClicked { EventId = "k1", CustomerId = Ann, Timestamp = T0, Channel = Channel.Email, DispatchId = "d-made-up", ActionId = "offer" }).AsTask();
        var notYetSent = () => shop.Engine.TrackAsync(new MessageClicked { EventId = "k2", CustomerId = Ann, Timestamp = T0, Channel = Channel.Email, DispatchId = queued, ActionId = "offer" }).AsTask();

        (await unknownId.Should().ThrowAsync<EngagementValidationException>()).Which.Field.Should().Be("dispatchId");
        (await notYetSent.Should().ThrowAsync<EngagementValidationException>()).Which.Message.Should().Contain("never handed to a channel");
        (await shop.Services.GetRequiredService<IEventStore>().ReadAsync(Ann).OfType<MessageClicked>().ToListAsync()).Should().BeEmpty();
    }

    [Fact]
    public async Task TrackAsync_ReceiptNamingAnotherChannelActionOrCustomer_IsRefused()
    {
        await using var shop = await Shop.CreateAsync(new ScriptedSender(), customers: 2);
        await shop.CartAsync("c1");
        var sent = (await shop.Worker.RunOnceAsync()).Settled.Single();
        MessageClicked Click(string id) => new() { EventId = id, CustomerId = Ann, Timestamp = T0, Channel = Channel.Email, DispatchId = sent.DispatchId, ActionId = "offer" };

        var channel = () => shop.Engine.TrackAsync(Click("k1") with { Channel = Channel.Sms }).AsTask();
        var action = () => shop.Engine.TrackAsync(Click("k2") with { ActionId = "other" }).AsTask();
        var customer = () => shop.Engine.TrackAsync(Click("k3") with { CustomerId = shop.Customers[1] }).AsTask();

        (await channel.Should().ThrowAsync<EngagementValidationException>()).Which.Field.Should().Be("channel");
        (await action.Should().ThrowAsync<EngagementValidationException>()).Which.Field.Should().Be("actionId");
        (await customer.Should().ThrowAsync<EngagementValidationException>()).Which.Field.Should().Be("customerId");
        (await shop.Engine.TrackAsync(Click("k4"))).IsDuplicate.Should().BeFalse("the matching receipt is taken");
    }

    [Fact]
    public async Task TrackAsync_TenClicksOnOneMessage_AreOneResponse()
    {
        await using var shop = await Shop.CreateAsync(new ScriptedSender());
        await shop.CartAsync("c1");
        var sent = (await shop.Worker.RunOnceAsync()).Settled.Single();
        var model = shop.Services.GetRequiredService<AdaptivePropensities>();
        var afterSend = (await model.GetPosteriorAsync("offer", Channel.Email)).Mean;

        await shop.Engine.TrackAsync(new MessageClicked { EventId = "k0", CustomerId = Ann, Timestamp = T0, Channel = Channel.Email, DispatchId = sent.DispatchId, ActionId = "offer" });
        var afterOne = (await model.GetPosteriorAsync("offer", Channel.Email)).Mean;
        for (var i = 1; i < 10; i++)
        {
            await shop.Engine.TrackAsync(new MessageClicked { EventId = "k" + i, CustomerId = Ann, Timestamp = T0, Channel = Channel.Email, DispatchId = sent.DispatchId, ActionId = "offer" });
        }

        afterOne.Should().BeGreaterThan(afterSend);
        (await model.GetPosteriorAsync("offer", Channel.Email)).Mean.Should().Be(afterOne, "one message answered is one response, however often it is clicked");
        (await shop.DispatchAsync()).RespondedAt.Should().Be(T0);
    }

    [Fact]
    public async Task TrackAsync_Complaint_SuppressesMarketingToTheAddressButNotTransactionalMail()
    {
        await using var shop = await Shop.CreateAsync(new ScriptedSender());
        await shop.CartAsync("c1");
        var sent = (await shop.Worker.RunOnceAsync()).Settled.Single();

        await shop.Engine.TrackAsync(new MessageComplained { EventId = "fbl-1", CustomerId = Ann, Timestamp = T0, Channel = Channel.Email, DispatchId = sent.DispatchId, ActionId = "offer" });

        var suppression = (await shop.Services.GetRequiredService<ISuppressionStore>().FindAsync(IdentifierHashing.Hash(AnnEmail))).Should().ContainSingle().Subject;
        suppression.Reason.Should().Be(SuppressionReason.Complaint);
        suppression.BlocksEverything.Should().BeFalse("a complaint stops marketing, not receipts and password resets");
        shop.Clock.Advance(TimeSpan.FromDays(2));
        (await shop.CartAsync("c2")).Decision!.Candidates.Should().Contain(c => c.ChannelChecks.Any(k => k.Decision.Code == PermissionReasons.Suppressed));
    }

    [Fact]
    public async Task TrackAsync_DeliveryReportForAnUnknownOutcome_SettlesItAsSent()
    {
        var sender = new ScriptedSender(SendResult.Unknown("timed out")) { AcceptsOnUnknown = true };
        await using var shop = await Shop.CreateAsync(sender);
        await shop.CartAsync("c1");
        var unknown = (await shop.Worker.RunOnceAsync()).Settled.Single();

        await shop.Engine.TrackAsync(new MessageDelivered { EventId = "dlr-1", CustomerId = Ann, Timestamp = T0, Channel = Channel.Email, DispatchId = unknown.DispatchId, ActionId = "offer" });

        (await shop.DispatchAsync()).Should().Match<DispatchRecord>(d => d.Status == DispatchStatus.Sent && d.Reason == DispatchReasons.Accepted);
        shop.Clock.Advance(TimeSpan.FromHours(1));
        (await shop.Worker.RunOnceAsync()).Claimed.Should().Be(0, "a settled dispatch is not reconciled again");
        sender.Calls.Should().Be(1);
    }

    [Fact]
    public async Task Worker_TwoSendersForOneChannel_IsAnErrorNamingBoth()
    {
        var services = new ServiceCollection();
        services.AddEngagement().AddChannel(new ScriptedSender()).AddChannel(new InMemoryChannelSender(Channel.Email));
        await using var provider = services.BuildServiceProvider();

        var act = () => provider.GetRequiredService<DispatchWorker>();

        act.Should().Throw<OptionsValidationException>().Which.Message.Should()
            .Contain(nameof(ScriptedSender)).And.Contain(nameof(InMemoryChannelSender)).And.Contain("'email'");
    }

    [Theory]
    [InlineData("LeaseDuration")]
    [InlineData("AttemptTimeout")]
    [InlineData("GiveUpAfter")]
    [InlineData("BatchSize")]
    [InlineData("SettleInterval")]
    public void Validate_OutOfRangeSetting_NamesTheSettingAndItsRange(string setting)
    {
        var options = new DispatchOptions();
        switch (setting)
        {
            case "LeaseDuration": options.LeaseDuration = options.AttemptTimeout; break;
            case "AttemptTimeout": options.AttemptTimeout = TimeSpan.MaxValue; break;
            case "GiveUpAfter": options.GiveUpAfter = TimeSpan.FromTicks(1); break;
            case "SettleInterval": options.SettleInterval = TimeSpan.FromMilliseconds(1); break;
            default: options.BatchSize = 0; break;
        }

        var result = new DispatchOptionsValidator().Validate(null, options);

        result.Failed.Should().BeTrue();
        result.FailureMessage.Should().Contain("DispatchOptions." + setting).And.Contain("between");
    }

    [Fact]
    public void Validate_SettleIntervalNotShorterThanTheLease_NamesBoth()
    {
        var options = new DispatchOptions { LeaseDuration = TimeSpan.FromMinutes(2), SettleInterval = TimeSpan.FromMinutes(2) };

        var result = new DispatchOptionsValidator().Validate(null, options);

        result.Failed.Should().BeTrue();
        result.FailureMessage.Should().Contain("DispatchOptions.SettleInterval is 00:02:00").And.Contain("less than DispatchOptions.LeaseDuration");
    }

    [Fact]
    public void Validate_Defaults_Pass() => new DispatchOptionsValidator().Validate(null, new DispatchOptions()).Succeeded.Should().BeTrue();

    // Five customers with a dispatch queued each, for a worker that settles every settleInterval.
    private static async Task<Shop> FiveQueuedAsync(ScriptedSender sender, TimeSpan settleInterval)
    {
        var shop = await Shop.CreateAsync(sender, o => o.SettleInterval = settleInterval, customers: 5);
        foreach (var customer in shop.Customers)
        {
            (await shop.CartAsync("c-" + customer.Value, customer)).Dispatch.Should().NotBeNull();
        }

        return shop;
    }

    private static async Task<int> SentCountAsync(Shop shop)
        => (await shop.Services.GetRequiredService<IDispatchStore>().ListByStatusAsync(DispatchStatus.Sent).ToListAsync()).Count;

    private static ConsentRecord Grant(string id, DateTimeOffset at, CustomerId? customer = null, Identifier? email = null) => new()
    {
        RecordId = id,
        CustomerId = customer ?? Ann,
        Channel = Channel.Email,
        Identifier = email ?? AnnEmail,
        Purpose = Purpose.Marketing,
        Status = ConsentStatus.Granted,
        Source = "form",
        Evidence = new ConsentEvidence("v1", "form"),
        EffectiveAt = at,
    };

    /// <summary>A channel whose answers the test scripts: queued results first, then <see cref="Default"/>.</summary>
    internal sealed class ScriptedSender(params SendResult[] script) : IChannelSender, IChannelStatusQuery
    {
        private readonly Queue<SendResult> _script = new(script);
        private readonly ConcurrentDictionary<string, int> _delivered = new(StringComparer.Ordinal);

        public Channel Channel => Channel.Email;

        public ChannelCapabilities Capabilities { get; set; }

        public SendResult Default { get; set; } = SendResult.Accepted;

        /// <summary>Whether an unknown outcome is one where the provider did accept the message.</summary>
        public bool AcceptsOnUnknown { get; set; }

        public Exception? Throw { get; set; }

        public TimeSpan Delay { get; set; }

        public Func<Task>? During { get; set; }

        public int Calls { get; private set; }

        public int Queries { get; private set; }

        /// <summary>Dispatch ids the provider delivered, once each when it deduplicates (its idempotency keys), else as often as it got them.</summary>
        public List<string> Delivered { get; } = [];

        public void Deliver(string dispatchId)
        {
            if (_delivered.TryAdd(dispatchId, 1) || !Capabilities.HasFlag(ChannelCapabilities.IdempotencyKeys))
            {
                Delivered.Add(dispatchId);
            }
        }

        public async ValueTask<SendResult> SendAsync(OutboundMessage message, CancellationToken cancellationToken = default)
        {
            Calls++;
            if (Delay > TimeSpan.Zero)
            {
                await Task.Delay(Delay, cancellationToken);
            }

            if (During is { } during)
            {
                await during();
            }

            if (Throw is { } ex)
            {
                throw ex;
            }

            var result = _script.Count > 0 ? _script.Dequeue() : Default;
            if (result.Outcome == SendOutcome.Accepted || (result.Outcome == SendOutcome.Unknown && AcceptsOnUnknown))
            {
                Deliver(message.DispatchId);
            }

            return result;
        }

        public ValueTask<DeliveryStatus> QueryAsync(string dispatchId, CancellationToken cancellationToken = default)
        {
            Queries++;
            return ValueTask.FromResult(_delivered.ContainsKey(dispatchId) ? DeliveryStatus.Accepted : DeliveryStatus.NotFound);
        }
    }

    private sealed class FailingStock : IStockProvider
    {
        public bool Fail { get; set; }

        public ValueTask<bool> IsInStockAsync(string productId, CancellationToken cancellationToken = default)
            => Fail ? throw new IOException("the stock service is down") : ValueTask.FromResult(true);
    }

    private sealed class Shop : IAsyncDisposable
    {
        public static readonly TimeSpan BaseDelay = TimeSpan.FromMinutes(1);

        private Shop(ServiceProvider services, FakeTimeProvider clock, ScriptedSender sender, IReadOnlyList<CustomerId> customers)
            => (Services, Clock, Sender, Customers) = (services, clock, sender, customers);

        public ServiceProvider Services { get; }

        public FakeTimeProvider Clock { get; }

        public ScriptedSender Sender { get; }

        public IReadOnlyList<CustomerId> Customers { get; }

        public IEngagementEngine Engine => Services.GetRequiredService<IEngagementEngine>();

        public DispatchWorker Worker => Services.GetRequiredService<DispatchWorker>();

        public static async Task<Shop> CreateAsync(ScriptedSender sender, Action<DispatchOptions>? configure = null, Action<ContactPolicyOptions>? configurePolicy = null, int customers = 1, TimeProvider? clock = null, IStockProvider? stock = null)
        {
            var manual = new FakeTimeProvider(T0);
            var services = new ServiceCollection();
            services.AddSingleton(clock ?? manual);
            if (stock is not null)
            {
                services.AddSingleton(stock);
            }

            services.AddEngagement(o => o.DecideOnStageChange = false).AddChannel(sender).UseActions(ActionCatalog.Create([
                new ActionDefinition { Id = "offer", Name = "Offer", Channels = [Channel.Email], Value = 10m, BasePropensity = 0.5, ProductId = stock is null ? null : "sku-offer" },
            ]));
            services.Configure<DispatchOptions>(o =>
            {
                o.RetryBaseDelay = BaseDelay;
                o.RetryMaxDelay = TimeSpan.FromMinutes(30);
                configure?.Invoke(o);
            });
            if (configurePolicy is not null)
            {
                services.Configure(configurePolicy);
            }

            var shop = new Shop(services.BuildServiceProvider(), manual, sender, [.. Enumerable.Range(0, customers).Select(i => i == 0 ? Ann : new CustomerId("c" + i))]);
            var at = (clock ?? manual).GetUtcNow();
            foreach (var customer in shop.Customers)
            {
                await shop.Engine.RecordConsentAsync(Grant("g-" + customer.Value, at.AddDays(-1), customer, Email(customer)));
                await shop.Engine.TrackAsync(new ProfileUpdated { EventId = "tz-" + customer.Value, CustomerId = customer, Timestamp = at.AddDays(-1), TimeZone = "Etc/UTC", Identifiers = [Email(customer)] });
            }

            return shop;
        }

        public ValueTask<TrackResult> CartAsync(string id, CustomerId? customer = null, DateTimeOffset? at = null)
        {
            var who = customer ?? Ann;
            return Engine.TrackAsync(new AddedToCart { EventId = id, CustomerId = who, Timestamp = at ?? Clock.GetUtcNow(), Identifiers = [Email(who)], ProductId = "sku-" + id });
        }

        public async Task<DispatchRecord> DispatchAsync() => (await Services.GetRequiredService<IDispatchStore>().ListAsync(Ann, T0.AddDays(-1))).Single();

        public async Task<CustomerProfile> ProfileAsync() => (await Services.GetRequiredService<IProfileStore>().GetAsync(Ann))!;

        /// <summary>Runs the worker, moving the clock to each next due time, until Ann's dispatch is settled for good.</summary>
        public async Task<DispatchRecord> DeliverUntilSettledAsync()
        {
            for (var pass = 0; pass < 50; pass++)
            {
                var current = await DispatchAsync();
                if (current.Status is not (DispatchStatus.Queued or DispatchStatus.Unknown))
                {
                    return current;
                }

                if (current.DueAt is { } due && due > Clock.GetUtcNow())
                {
                    Clock.SetUtcNow(due);
                }

                await Worker.RunOnceAsync();
            }

            throw new InvalidOperationException("The dispatch never settled.");
        }

        public ValueTask DisposeAsync() => Services.DisposeAsync();

        private static Identifier Email(CustomerId customer) => Identifier.Email(customer.Value + "@example.com");
    }
}

/// <summary>The outbox's fault guarantees on the in-memory stores (two workers on one set of stores).</summary>
public sealed class InMemoryOutboxFaultTests(Xunit.Abstractions.ITestOutputHelper output) : Engagement.Sdk.Testing.Conformance.OutboxFaultConformanceTests
{
    [Theory]
    [MemberData(nameof(Checks))]
    public Task Conforms(string check) => RunAsync(check);

    protected override void Report(string line) => output.WriteLine(line);

    protected override IReadOnlyList<IServiceProvider> CreateProcesses(TimeProvider clock, IChannelSender sender, int count)
    {
        var services = new ServiceCollection();
        AddShop(services, clock, sender);
        return [services.BuildServiceProvider()];
    }
}
