using Engagement.Sdk.Channels;
using Engagement.Sdk.Consent;
using Engagement.Sdk.Storage;
using Microsoft.Extensions.Options;

namespace Engagement.Sdk.Tests.Channels;

public sealed class ChannelDispatcherTests
{
    private static readonly DateTimeOffset Now = new(2026, 6, 1, 12, 0, 0, TimeSpan.Zero);
    private readonly InMemoryDispatchStore _store = new();

    [Fact]
    public async Task DispatchAsync_SameDispatchIdTwice_SendsOnce()
    {
        var sender = new ScriptedSender(SendOutcome.Accepted);
        var dispatcher = Dispatcher(sender);

        var first = await dispatcher.DispatchAsync(Message("d1"));
        var second = await dispatcher.DispatchAsync(Message("d1"));

        first.Status.Should().Be(DispatchStatus.Sent);
        second.WasReplay.Should().BeTrue();
        sender.Calls.Should().Be(1);
    }

    [Fact]
    public async Task DispatchAsync_TransientFailuresThenSuccess_RetriesAndSends()
    {
        var sender = new ScriptedSender(SendOutcome.TransientFailure, SendOutcome.TransientFailure, SendOutcome.Accepted);

        var result = await Dispatcher(sender).DispatchAsync(Message("d1"));

        result.Status.Should().Be(DispatchStatus.Sent);
        result.Attempts.Should().Be(3);
        (await _store.ListAsync(new CustomerId("ann"), Now.AddDays(-1))).Single().Status.Should().Be(DispatchStatus.Sent);
    }

    [Fact]
    public async Task DispatchAsync_PermanentFailure_IsUndeliverableWithoutRetry()
    {
        var sender = new ScriptedSender(SendOutcome.PermanentFailure);

        var result = await Dispatcher(sender).DispatchAsync(Message("d1"));

        result.Status.Should().Be(DispatchStatus.Undeliverable);
        sender.Calls.Should().Be(1);
    }

    [Fact]
    public async Task DispatchAsync_SenderKeepsThrowing_IsFailedAfterEveryRetryAndKeptInTheLog()
    {
        var sender = new ScriptedSender { Throws = true };

        var result = await Dispatcher(sender).DispatchAsync(Message("d1"));

        result.Status.Should().Be(DispatchStatus.Failed);
        sender.Calls.Should().Be(4, "one attempt and three retries");
        result.Error.Should().Contain("provider down");
        var logged = (await _store.ListAsync(new CustomerId("ann"), Now.AddDays(-1))).Single();
        logged.Status.Should().Be(DispatchStatus.Failed);
        logged.Attempts.Should().Be(4);
    }

    [Fact]
    public async Task DispatchAsync_NoSenderForTheChannel_NamesTheChannel()
    {
        var act = async () => await Dispatcher(new ScriptedSender(SendOutcome.Accepted)).DispatchAsync(Message("d1") with { Channel = Channel.Push });

        (await act.Should().ThrowAsync<EngagementValidationException>()).Which.Value.Should().Be("push");
    }

    private ChannelDispatcher Dispatcher(IChannelSender sender)
        => new([sender], _store, new Testing.ManualTimeProvider(Now), Options.Create(new DispatchOptions { RetryDelay = TimeSpan.Zero }));

    private static OutboundMessage Message(string id) => new(id, new CustomerId("ann"), Channel.Email, Purpose.Marketing, Engagement.Sdk.Profiles.Identifier.Email("ann@example.com"), "offer", null);

    private sealed class ScriptedSender(params SendOutcome[] outcomes) : IChannelSender
    {
        public int Calls { get; private set; }

        public bool Throws { get; init; }

        public Channel Channel => Channel.Email;

        public ValueTask<SendResult> SendAsync(OutboundMessage message, CancellationToken cancellationToken = default)
        {
            Calls++;
            if (Throws)
            {
                throw new HttpRequestException("provider down");
            }

            return ValueTask.FromResult(new SendResult(outcomes[Math.Min(Calls - 1, outcomes.Length - 1)]));
        }
    }
}
