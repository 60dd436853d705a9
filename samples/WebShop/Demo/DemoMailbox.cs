using System.Collections.Immutable;
using Engagement.Sdk;
using Engagement.Sdk.Channels;

namespace WebShop.Demo;

/// <summary>One message the demo shop "sent": what a customer would find in their inbox, phone or notifications.</summary>
/// <param name="At">When it was handed over.</param>
/// <param name="CustomerId">The recipient.</param>
/// <param name="Channel">The channel.</param>
/// <param name="Subject">A one-line summary.</param>
/// <param name="Link">A link the message carries (the double opt-in confirmation), or <see langword="null"/>.</param>
/// <param name="DispatchId">The outbox dispatch it came from, or <see langword="null"/> for the shop's own confirmation messages.</param>
public sealed record MailboxMessage(DateTimeOffset At, CustomerId CustomerId, Channel Channel, string Subject, string? Link, string? DispatchId);

/// <summary>
/// The demo's stand-in for real email, SMS and push providers: keeps the most recent messages in memory so that a visitor
/// can read theirs (and follow a confirmation link) on the shop's <c>/mailbox</c> page.
/// </summary>
public sealed class DemoMailbox
{
    private const int Capacity = 2000;
    private readonly Lock _lock = new();
    private readonly Queue<MailboxMessage> _messages = new();

    /// <summary>How many messages were delivered since the process started.</summary>
    public long Delivered { get; private set; }

    /// <summary>Keeps a message.</summary>
    /// <param name="message">The message.</param>
    public void Add(MailboxMessage message)
    {
        ArgumentNullException.ThrowIfNull(message);
        lock (_lock)
        {
            _messages.Enqueue(message);
            if (_messages.Count > Capacity)
            {
                _messages.Dequeue();
            }

            Delivered++;
        }
    }

    /// <summary>The messages of one customer, newest first.</summary>
    /// <param name="customerId">The customer.</param>
    /// <returns>The messages still kept.</returns>
    public ImmutableArray<MailboxMessage> For(CustomerId customerId)
    {
        lock (_lock)
        {
            return [.. _messages.Where(m => m.CustomerId == customerId).Reverse()];
        }
    }

    /// <summary>Forgets a customer's messages (after an erasure).</summary>
    /// <param name="customerId">The customer.</param>
    public void Forget(CustomerId customerId)
    {
        lock (_lock)
        {
            var kept = _messages.Where(m => m.CustomerId != customerId).ToList();
            _messages.Clear();
            foreach (var message in kept)
            {
                _messages.Enqueue(message);
            }
        }
    }

    /// <summary>The newest messages of everyone.</summary>
    /// <param name="count">How many.</param>
    /// <returns>Newest first.</returns>
    public ImmutableArray<MailboxMessage> Recent(int count)
    {
        lock (_lock)
        {
            return [.. _messages.Reverse().Take(count)];
        }
    }
}

/// <summary>A channel adapter that delivers into the <see cref="DemoMailbox"/> and logs the dispatch id (never an address).</summary>
/// <param name="channel">The channel it serves.</param>
/// <param name="mailbox">Where messages go.</param>
/// <param name="time">The clock.</param>
/// <param name="logger">The log.</param>
public sealed partial class MailboxChannelSender(Channel channel, DemoMailbox mailbox, TimeProvider time, ILogger<MailboxChannelSender> logger) : IChannelSender
{
    /// <inheritdoc />
    public Channel Channel { get; } = channel;

    /// <inheritdoc />
    public ChannelCapabilities Capabilities => ChannelCapabilities.None;

    /// <inheritdoc />
    public ValueTask<SendResult> SendAsync(OutboundMessage message, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(message);
        mailbox.Add(new MailboxMessage(time.GetUtcNow(), message.CustomerId, message.Channel, Subject(message.ActionId), null, message.DispatchId));
        LogDelivered(logger, message.DispatchId, message.Channel.Name, message.ActionId);
        return ValueTask.FromResult(SendResult.Accepted);
    }

    private static string Subject(string actionId) => actionId switch
    {
        "welcome-discount" => "Welcome: 10% off your first order",
        "cart-reminder" => "You left something in your cart",
        "loyalty-invite" => "Join our loyalty club",
        _ when actionId.StartsWith("recommend-", StringComparison.Ordinal) => "New in for you: " + actionId["recommend-".Length..],
        _ => actionId,
    };

    [LoggerMessage(EventId = 1, Level = LogLevel.Debug, Message = "Delivered dispatch {DispatchId} on {Channel} ({ActionId}) to the demo mailbox.")]
    private static partial void LogDelivered(ILogger logger, string dispatchId, string channel, string actionId);
}
