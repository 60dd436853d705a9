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

    /// <summary>A failure that may pass (a throttle, a provider outage, a connection refused before the request went out): tried again later.</summary>
    TransientFailure,

    /// <summary>A failure that will not pass; <see cref="SendResult.FailureKind"/> says what to do about it.</summary>
    PermanentFailure,

    /// <summary>
    /// The provider may or may not have accepted it (a time-out after the request went out, a connection lost mid-reply).
    /// Never sent again blindly: reconciled through <see cref="IChannelStatusQuery"/> or idempotency keys, else dead-lettered.
    /// </summary>
    Unknown,
}

/// <summary>What a permanent failure means for the message and the address.</summary>
public enum PermanentFailureKind
{
    /// <summary>Refused for another reason: the message is dead-lettered for a person to look at.</summary>
    Other,

    /// <summary>The address does not exist or cannot receive (an SMTP 550, an unassigned number): the address is suppressed.</summary>
    AddressInvalid,

    /// <summary>The provider refused the content (a template error, a policy rejection): the message is dead-lettered.</summary>
    ContentRejected,
}

/// <summary>What a channel adapter can do beyond sending, which decides how an unknown outcome is reconciled.</summary>
[Flags]
public enum ChannelCapabilities
{
    /// <summary>Nothing beyond sending: an unknown outcome is dead-lettered for a person to decide.</summary>
    None = 0,

    /// <summary>The provider deduplicates by <see cref="OutboundMessage.DispatchId"/>: sending again after an unknown outcome delivers at most once.</summary>
    IdempotencyKeys = 1,

    /// <summary>The adapter implements <see cref="IChannelStatusQuery"/>: it can tell whether a dispatch id was accepted.</summary>
    StatusQuery = 2,
}

/// <summary>The result of one send attempt.</summary>
/// <param name="Outcome">How it ended.</param>
/// <param name="Detail">The provider's message, when it failed (no address or content: it is stored).</param>
public readonly record struct SendResult(SendOutcome Outcome, string? Detail = null)
{
    /// <summary>An accepted send.</summary>
    public static SendResult Accepted { get; } = new(SendOutcome.Accepted);

    /// <summary>For a transient failure: how long the provider asked to wait (a <c>Retry-After</c>), if it said.</summary>
    public TimeSpan? RetryAfter { get; init; }

    /// <summary>For a permanent failure: what it means.</summary>
    public PermanentFailureKind FailureKind { get; init; }

    /// <summary>A transient failure.</summary>
    /// <param name="detail">The provider's message.</param>
    /// <param name="retryAfter">How long the provider asked to wait, if it said.</param>
    /// <returns>The result.</returns>
    public static SendResult Transient(string? detail, TimeSpan? retryAfter = null) => new(SendOutcome.TransientFailure, detail) { RetryAfter = retryAfter };

    /// <summary>A permanent failure.</summary>
    /// <param name="kind">What it means.</param>
    /// <param name="detail">The provider's message.</param>
    /// <returns>The result.</returns>
    public static SendResult Permanent(PermanentFailureKind kind, string? detail) => new(SendOutcome.PermanentFailure, detail) { FailureKind = kind };

    /// <summary>An unknown outcome.</summary>
    /// <param name="detail">What happened.</param>
    /// <returns>The result.</returns>
    public static SendResult Unknown(string? detail) => new(SendOutcome.Unknown, detail);
}

/// <summary>
/// The host's provider for one channel (an email service, an SMS gateway, a push service). Keep it small: the SDK wraps it
/// with the outbox, leases, back-off, a circuit breaker, a rate limiter and time-outs. Derive from <see cref="ChannelSender"/>
/// to have exceptions classified and messages checked for you.
/// </summary>
public interface IChannelSender
{
    /// <summary>The channel this sender serves.</summary>
    Channel Channel { get; }

    /// <summary>What the adapter can do beyond sending; by default nothing.</summary>
    ChannelCapabilities Capabilities => ChannelCapabilities.None;

    /// <summary>Sends one message, passing <see cref="OutboundMessage.DispatchId"/> to the provider as its idempotency key where it has one.</summary>
    /// <param name="message">The message.</param>
    /// <param name="cancellationToken">Cancels the send.</param>
    /// <returns>How it ended. An exception counts as an <see cref="SendOutcome.Unknown"/> outcome (the request may have gone out).</returns>
    ValueTask<SendResult> SendAsync(OutboundMessage message, CancellationToken cancellationToken = default);
}

/// <summary>What a provider knows of one dispatch id.</summary>
public enum DeliveryStatus
{
    /// <summary>The provider never accepted a message with this id: sending it is safe.</summary>
    NotFound,

    /// <summary>The provider accepted it.</summary>
    Accepted,

    /// <summary>The provider cannot say now: ask again later.</summary>
    Unavailable,
}

/// <summary>Implemented by channel adapters whose provider can be asked about a dispatch id (<see cref="ChannelCapabilities.StatusQuery"/>).</summary>
public interface IChannelStatusQuery
{
    /// <summary>Asks the provider what became of a dispatch id.</summary>
    /// <param name="dispatchId">The dispatch id that was the idempotency key.</param>
    /// <param name="cancellationToken">Cancels the query.</param>
    /// <returns>What the provider knows.</returns>
    ValueTask<DeliveryStatus> QueryAsync(string dispatchId, CancellationToken cancellationToken = default);
}

/// <summary>
/// A base for channel adapters (a template method): the public <see cref="SendAsync"/> checks the message, calls
/// <see cref="SendCoreAsync"/> and turns what it throws into an outcome through <see cref="Classify"/>, so an adapter writes
/// only the provider call and its status mapping.
/// </summary>
public abstract class ChannelSender : IChannelSender
{
    /// <summary>Creates the adapter.</summary>
    /// <param name="channel">The channel it serves.</param>
    protected ChannelSender(Channel channel)
    {
        if (channel.IsEmpty)
        {
            throw new EngagementValidationException("channel", null, "an adapter serves one named channel");
        }

        Channel = channel;
    }

    /// <inheritdoc />
    public Channel Channel { get; }

    /// <inheritdoc />
    public virtual ChannelCapabilities Capabilities => ChannelCapabilities.None;

    /// <inheritdoc />
    public async ValueTask<SendResult> SendAsync(OutboundMessage message, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(message);
        if (message.Channel != Channel)
        {
            return SendResult.Permanent(PermanentFailureKind.Other, $"This sender serves {Channel}, not {message.Channel}.");
        }

        if (HasControl(message.DispatchId) || HasControl(message.ActionId) || HasControl(message.Locale) || HasControl(message.Address?.Value))
        {
            // Nothing with a line break or another control character reaches a header or a request line.
            return SendResult.Permanent(PermanentFailureKind.ContentRejected, "The message carries a control character in its id, action, locale or address.");
        }

        try
        {
            return await SendCoreAsync(message, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            return Classify(ex);
        }
    }

    /// <summary>Whether <paramref name="value"/> holds a C0 or C1 control character (CR and LF among them).</summary>
    /// <param name="value">The value.</param>
    /// <returns><see langword="true"/> when it does.</returns>
    protected static bool HasControl(string? value)
        => value is not null && (value.AsSpan().IndexOfAnyInRange('\u0000', '\u001F') >= 0 || value.AsSpan().IndexOfAnyInRange('\u007F', '\u009F') >= 0);

    /// <summary>Sends the message to the provider.</summary>
    /// <param name="message">The checked message.</param>
    /// <param name="cancellationToken">Cancels the send.</param>
    /// <returns>How it ended.</returns>
    protected abstract ValueTask<SendResult> SendCoreAsync(OutboundMessage message, CancellationToken cancellationToken);

    /// <summary>
    /// Turns an exception from <see cref="SendCoreAsync"/> into an outcome. By default an exception is an unknown outcome (the
    /// request may have gone out); override to say which of your provider's errors are transient or permanent.
    /// </summary>
    /// <param name="exception">The exception.</param>
    /// <returns>The outcome.</returns>
    protected virtual SendResult Classify(Exception exception)
    {
        ArgumentNullException.ThrowIfNull(exception);
        return SendResult.Unknown(exception.GetType().Name);
    }
}

/// <summary>
/// A channel that keeps what it is sent in memory instead of delivering it: for development, samples and tests. Like a real
/// provider with idempotency keys, it accepts a dispatch id once.
/// </summary>
/// <param name="channel">The channel it stands for.</param>
public sealed class InMemoryChannelSender(Channel channel) : IChannelSender, IChannelStatusQuery
{
    private readonly ConcurrentDictionary<string, OutboundMessage> _messages = new(StringComparer.Ordinal);
    private readonly ConcurrentQueue<OutboundMessage> _inOrder = new();

    /// <inheritdoc />
    public Channel Channel { get; } = channel;

    /// <summary>The messages accepted, in the order they arrived.</summary>
    public IReadOnlyCollection<OutboundMessage> Messages => _inOrder;

    /// <inheritdoc />
    public ChannelCapabilities Capabilities => ChannelCapabilities.IdempotencyKeys | ChannelCapabilities.StatusQuery;

    /// <inheritdoc />
    public ValueTask<DeliveryStatus> QueryAsync(string dispatchId, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(dispatchId);
        cancellationToken.ThrowIfCancellationRequested();
        return ValueTask.FromResult(_messages.ContainsKey(dispatchId) ? DeliveryStatus.Accepted : DeliveryStatus.NotFound);
    }

    /// <inheritdoc />
    public ValueTask<SendResult> SendAsync(OutboundMessage message, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(message);
        cancellationToken.ThrowIfCancellationRequested();
        if (message.Channel != Channel)
        {
            return ValueTask.FromResult(SendResult.Permanent(PermanentFailureKind.Other, $"This sender serves {Channel}, not {message.Channel}."));
        }

        if (_messages.TryAdd(message.DispatchId, message))
        {
            _inOrder.Enqueue(message);
        }

        return ValueTask.FromResult(SendResult.Accepted);
    }
}
