namespace Engagement.Sdk.Channels.Smtp;

/// <summary>How the connection to the SMTP server is secured.</summary>
public enum SmtpTlsMode
{
    /// <summary>Connect in plain text, then upgrade with <c>STARTTLS</c>; a server that does not offer it fails the send (usually port 587).</summary>
    StartTls,

    /// <summary>TLS from the first byte (usually port 465).</summary>
    Implicit,

    /// <summary>No TLS: for a relay on the same machine or a test server. Credentials are then allowed only for a loopback host.</summary>
    None,
}

/// <summary>Which SMTP server the email channel hands its messages to, and how.</summary>
public sealed class SmtpChannelOptions
{
    /// <summary>The server's host name or IP address. Required.</summary>
    /// <value>Defaults to empty, which fails validation at start-up.</value>
    public string Host { get; set; } = string.Empty;

    /// <summary>The server's port, 1 to 65535.</summary>
    /// <value>Defaults to 587 (message submission).</value>
    public int Port { get; set; } = 587;

    /// <summary>How the connection is secured.</summary>
    /// <value>Defaults to <see cref="SmtpTlsMode.StartTls"/>.</value>
    public SmtpTlsMode Tls { get; set; } = SmtpTlsMode.StartTls;

    /// <summary>The user name to authenticate with; set together with <see cref="Password"/>, or neither.</summary>
    /// <value>Defaults to <see langword="null"/> (no authentication).</value>
    public string? UserName { get; set; }

    /// <summary>The password to authenticate with; set together with <see cref="UserName"/>, or neither.</summary>
    /// <value>Defaults to <see langword="null"/> (no authentication).</value>
    public string? Password { get; set; }

    /// <summary>
    /// How long one send may take in all (connect, authenticate, hand over the message). A send that runs out of time after the
    /// server accepted the recipient is an <see cref="SendOutcome.Unknown"/> outcome. Keep it below the outbox's
    /// <c>DispatchOptions.AttemptTimeout</c>, or that one ends the attempt first.
    /// </summary>
    /// <value>Defaults to 20 seconds; at least 100 milliseconds and at most 10 minutes.</value>
    public TimeSpan Timeout { get; set; } = TimeSpan.FromSeconds(20);

    /// <summary>
    /// The domain on the right of each <c>Message-ID</c> (<c>&lt;{dispatch id}@{domain}&gt;</c>): letters, digits, hyphens and
    /// dots, as in a host name.
    /// </summary>
    /// <value>Defaults to <see langword="null"/>: the domain of the message's From address.</value>
    public string? MessageIdDomain { get; set; }

    /// <summary>
    /// Whether the relay drops a message whose <c>Message-ID</c> it has already accepted. Plain SMTP does neither that nor
    /// answer questions about past messages, so by default the channel declares no capabilities and the outbox dead-letters a
    /// message whose outcome is unknown (a person decides whether to send it again). Turn this on only when the relay
    /// really deduplicates by <c>Message-ID</c>: the channel then declares <see cref="ChannelCapabilities.IdempotencyKeys"/>
    /// and the outbox sends again after an unknown outcome.
    /// </summary>
    /// <value>Defaults to <see langword="false"/>.</value>
    public bool RelayDeduplicatesByMessageId { get; set; }
}
