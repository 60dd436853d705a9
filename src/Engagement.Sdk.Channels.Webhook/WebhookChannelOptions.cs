namespace Engagement.Sdk.Channels.Webhook;

/// <summary>Where and how the webhook channel posts its messages.</summary>
public sealed class WebhookChannelOptions
{
    /// <summary>
    /// The absolute <c>http</c> or <c>https</c> URI each message is posted to, without user information or a fragment.
    /// Required. Redirects are not followed: give the final URI.
    /// </summary>
    /// <value>Defaults to <see langword="null"/>, which fails validation at start-up.</value>
    public Uri? Endpoint { get; set; }

    /// <summary>
    /// How long one post may take, from sending the request to reading the reply's status line and headers. A post that
    /// runs out of time after its body went out is an <see cref="SendOutcome.Unknown"/> outcome. Keep it below the outbox's
    /// <c>DispatchOptions.AttemptTimeout</c>, or that one ends the attempt first (with the same outcome).
    /// </summary>
    /// <value>Defaults to 10 seconds; at least 100 milliseconds and at most 10 minutes.</value>
    public TimeSpan Timeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>
    /// A secret shared with the receiving endpoint. When set, every request carries an
    /// <see cref="WebhookChannelSender.SignatureHeader"/> header: <c>sha256=</c> and the lower-case hexadecimal HMAC-SHA256
    /// of the request body keyed with the secret's UTF-8 bytes (<see cref="WebhookSignature"/> computes and checks it).
    /// </summary>
    /// <value>Defaults to <see langword="null"/> (requests are not signed); when set, at least 16 characters.</value>
    public string? SigningSecret { get; set; }

    /// <summary>
    /// Whether the endpoint answers <c>GET {Endpoint}/{dispatchId}</c> about a dispatch it was sent: <c>200</c> or
    /// <c>204</c> if it accepted it, <c>404</c> or <c>410</c> if it never had it. When on, the sender declares
    /// <see cref="ChannelCapabilities.StatusQuery"/> and the outbox asks before sending again after an unknown outcome.
    /// </summary>
    /// <value>Defaults to <see langword="false"/>.</value>
    public bool StatusQuery { get; set; }
}
