using System.Collections.Concurrent;
using Engagement.Sdk.Consent;
using Engagement.Sdk.Profiles;

namespace Engagement.Sdk.Channels;

/// <summary>A message the SDK hands to a channel.</summary>
/// <param name="DispatchId">The dispatch's id: providers that support idempotency keys should use it, so a retry is never delivered twice.</param>
/// <param name="CustomerId">The recipient.</param>
/// <param name="Channel">The channel.</param>
/// <param name="Purpose">The purpose (transactional messages must carry no marketing content).</param>
/// <param name="Address">The recipient's address on the channel, or <see langword="null"/> for on-site channels.</param>
/// <param name="ActionId">The action whose content the message carries.</param>
/// <param name="Locale">The recipient's locale, when known.</param>
public sealed record OutboundMessage(string DispatchId, CustomerId CustomerId, Channel Channel, Purpose Purpose, Identifier? Address, string ActionId, string? Locale);

/// <summary>How a send ended.</summary>
public enum SendOutcome
{
    /// <summary>The provider accepted the message.</summary>
    Accepted,

    /// <summary>A failure that may pass (a timeout, a throttle): the dispatcher retries.</summary>
    TransientFailure,

    /// <summary>A failure that will not pass (an invalid address): no retry.</summary>
    PermanentFailure,
}

/// <summary>The result of one send attempt.</summary>
/// <param name="Outcome">How it ended.</param>
/// <param name="Detail">The provider's message, when it failed.</param>
public readonly record struct SendResult(SendOutcome Outcome, string? Detail = null)
{
    /// <summary>An accepted send.</summary>
    public static SendResult Accepted { get; } = new(SendOutcome.Accepted);
}

/// <summary>
/// The host's provider for one channel (an email service, an SMS gateway, a push service). Keep it small: the SDK wraps it
/// with retries, timeouts and the dispatch log.
/// </summary>
public interface IChannelSender
{
    /// <summary>The channel this sender serves.</summary>
    Channel Channel { get; }

    /// <summary>Sends one message.</summary>
    /// <param name="message">The message.</param>
    /// <param name="cancellationToken">Cancels the send.</param>
    /// <returns>How it ended. Throwing counts as a transient failure.</returns>
    ValueTask<SendResult> SendAsync(OutboundMessage message, CancellationToken cancellationToken = default);
}

/// <summary>
/// A channel that keeps what it is sent in memory instead of delivering it: for development, samples and tests. Like a real
/// provider with idempotency keys, it accepts a dispatch id once.
/// </summary>
/// <param name="channel">The channel it stands for.</param>
public sealed class InMemoryChannelSender(Channel channel) : IChannelSender
{
    private readonly ConcurrentDictionary<string, OutboundMessage> _messages = new(StringComparer.Ordinal);
    private readonly ConcurrentQueue<OutboundMessage> _inOrder = new();

    /// <inheritdoc />
    public Channel Channel { get; } = channel;

    /// <summary>The messages accepted, in the order they arrived.</summary>
    public IReadOnlyCollection<OutboundMessage> Messages => _inOrder;

    /// <inheritdoc />
    public ValueTask<SendResult> SendAsync(OutboundMessage message, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(message);
        cancellationToken.ThrowIfCancellationRequested();
        if (message.Channel != Channel)
        {
            return ValueTask.FromResult(new SendResult(SendOutcome.PermanentFailure, $"This sender serves {Channel}, not {message.Channel}."));
        }

        if (_messages.TryAdd(message.DispatchId, message))
        {
            _inOrder.Enqueue(message);
        }

        return ValueTask.FromResult(SendResult.Accepted);
    }
}
