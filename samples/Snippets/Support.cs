using Engagement.Sdk.Channels;
using Microsoft.Extensions.Compliance.Classification;
using Microsoft.Extensions.Compliance.Redaction;

namespace Snippets;

// Stand-ins for what the snippets take from the reader's application (a sender, a gateway client, a redactor).

/// <summary>An e-mail sender as an application would write one; here it accepts every message.</summary>
public sealed class MyEmailSender() : ChannelSender(Channel.Email)
{
    protected override ValueTask<SendResult> SendCoreAsync(OutboundMessage message, CancellationToken cancellationToken)
        => ValueTask.FromResult(SendResult.Accepted);
}

/// <summary>An SMS sender as an application would write one; here it accepts every message.</summary>
public sealed class MySmsSender() : ChannelSender(Channel.Sms)
{
    protected override ValueTask<SendResult> SendCoreAsync(OutboundMessage message, CancellationToken cancellationToken)
        => ValueTask.FromResult(SendResult.Accepted);
}

/// <summary>What an SMS gateway answers.</summary>
public enum GatewayStatus
{
    /// <summary>Accepted.</summary>
    Accepted,

    /// <summary>Not a valid number.</summary>
    InvalidNumber,

    /// <summary>No such number.</summary>
    UnknownNumber,

    /// <summary>Too many requests.</summary>
    Throttled,

    /// <summary>Something else.</summary>
    Other,
}

/// <summary>A gateway's reply.</summary>
/// <param name="Status">The status.</param>
/// <param name="RetryAfter">When to try again, for a throttled request.</param>
public sealed record GatewayReply(GatewayStatus Status, TimeSpan? RetryAfter = null);

/// <summary>The gateway could not be reached; nothing was sent.</summary>
public sealed class GatewayConnectException : Exception
{
}

/// <summary>An SMS gateway's client, as a vendor's library would offer one; here it accepts every message.</summary>
public class GatewayClient
{
    /// <summary>Sends a text.</summary>
    /// <param name="number">The number.</param>
    /// <param name="text">The text.</param>
    /// <param name="idempotencyKey">The key by which the gateway drops repeats.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>The reply.</returns>
    public virtual Task<GatewayReply> SendAsync(string number, string text, string idempotencyKey, CancellationToken cancellationToken)
        => Task.FromResult(new GatewayReply(GatewayStatus.Accepted));
}

/// <summary>The same client under the name one document gives it.</summary>
public sealed class MyGatewayClient : GatewayClient
{
}

/// <summary>A redactor of the host's own.</summary>
public sealed class MyRedactor : Redactor
{
    public override int GetRedactedLength(ReadOnlySpan<char> input) => 3;

    public override int Redact(ReadOnlySpan<char> source, Span<char> destination)
    {
        "***".AsSpan().CopyTo(destination);
        return 3;
    }
}
