using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using Engagement.Sdk.Profiles;
using MailKit;
using MailKit.Net.Smtp;
using MailKit.Security;
using Microsoft.Extensions.Options;
using MimeKit;

namespace Engagement.Sdk.Channels.Smtp;

/// <summary>
/// Delivers email through an SMTP server with MailKit, one connection per message. The host supplies each message's From
/// address, subject and body; the <c>Message-ID</c> is derived from the dispatch id (<c>&lt;{dispatch id}@{domain}&gt;</c>),
/// so every attempt at one dispatch carries the same id and a receiving side can deduplicate on it.
/// </summary>
/// <remarks>
/// <para>The server's replies and failures map to outcomes as follows:</para>
/// <list type="bullet">
/// <item><description>The message accepted after <c>DATA</c>: accepted.</description></item>
/// <item><description>Any 4xx reply, at any step: a transient failure (the server did not take the message).</description></item>
/// <item><description>
/// 550, 551 or 553 in reply to <c>RCPT TO</c>: <see cref="PermanentFailureKind.AddressInvalid"/>, and the outbox suppresses
/// the address, unless the enhanced status code is outside the addressing classes <c>5.1.x</c> and <c>5.2.x</c> (a <c>5.7.1</c>
/// relay or policy refusal says nothing about the address): then <see cref="PermanentFailureKind.Other"/>.
/// </description></item>
/// <item><description>552, or any 5xx in reply to the message itself (after <c>DATA</c>): <see cref="PermanentFailureKind.ContentRejected"/>.</description></item>
/// <item><description>Any other 5xx (a refused sender, a 554 to <c>RCPT TO</c>): <see cref="PermanentFailureKind.Other"/>.</description></item>
/// <item><description>
/// A failure before the server accepted the recipient (connection refused, TLS or authentication failure, a time-out or a
/// dropped connection while connecting): a transient failure, as the message was not handed over.
/// </description></item>
/// <item><description>
/// A protocol error, an I/O error or a time-out after the server accepted the recipient (the message may be with it):
/// <see cref="SendOutcome.Unknown"/>.
/// </description></item>
/// </list>
/// <para>
/// SMTP can neither be asked about a message nor deduplicates by itself, so by default the sender declares no capabilities,
/// and the outbox dead-letters a message whose outcome is unknown for a person to look at. A host whose relay drops repeated
/// <c>Message-ID</c>s sets <see cref="SmtpChannelOptions.RelayDeduplicatesByMessageId"/>.
/// </para>
/// </remarks>
public sealed class SmtpChannelSender : ChannelSender
{
    private readonly string _host;
    private readonly int _port;
    private readonly SecureSocketOptions _tls;
    private readonly string? _userName;
    private readonly string? _password;
    private readonly TimeSpan _timeout;
    private readonly string? _messageIdDomain;
    private readonly bool _deduplicates;
    private readonly Func<OutboundMessage, EmailContent> _content;
    private readonly TimeProvider _time;

    /// <summary>Creates a sender for <see cref="Channel.Email"/>.</summary>
    /// <param name="options">The server and how to reach it, validated here and copied.</param>
    /// <param name="content">Supplies each message's From address, subject and body; an exception it throws dead-letters the message as <see cref="PermanentFailureKind.ContentRejected"/>.</param>
    /// <param name="timeProvider">The clock for time-outs and the <c>Date</c> header; the system clock when <see langword="null"/>.</param>
    /// <exception cref="OptionsValidationException">The options are not valid.</exception>
    public SmtpChannelSender(SmtpChannelOptions options, Func<OutboundMessage, EmailContent> content, TimeProvider? timeProvider = null)
        : this(Channel.Email, options, content, timeProvider)
    {
    }

    /// <summary>Creates a sender that serves <paramref name="channel"/>.</summary>
    /// <param name="channel">The channel it serves.</param>
    /// <param name="options">The server and how to reach it, validated here and copied.</param>
    /// <param name="content">Supplies each message's From address, subject and body; an exception it throws dead-letters the message as <see cref="PermanentFailureKind.ContentRejected"/>.</param>
    /// <param name="timeProvider">The clock for time-outs and the <c>Date</c> header; the system clock when <see langword="null"/>.</param>
    /// <exception cref="OptionsValidationException">The options are not valid.</exception>
    public SmtpChannelSender(Channel channel, SmtpChannelOptions options, Func<OutboundMessage, EmailContent> content, TimeProvider? timeProvider = null)
        : base(channel)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(content);
        var validation = new SmtpChannelOptionsValidator().Validate(null, options);
        if (validation.Failed)
        {
            throw new OptionsValidationException(Options.DefaultName, typeof(SmtpChannelOptions), validation.Failures);
        }

        _host = options.Host;
        _port = options.Port;
        _tls = options.Tls switch
        {
            SmtpTlsMode.Implicit => SecureSocketOptions.SslOnConnect,
            SmtpTlsMode.None => SecureSocketOptions.None,
            _ => SecureSocketOptions.StartTls,
        };
        _userName = string.IsNullOrEmpty(options.UserName) ? null : options.UserName;
        _password = options.Password;
        _timeout = options.Timeout;
        _messageIdDomain = options.MessageIdDomain;
        _deduplicates = options.RelayDeduplicatesByMessageId;
        _content = content;
        _time = timeProvider ?? TimeProvider.System;
    }

    /// <summary>
    /// <see cref="ChannelCapabilities.None"/>, or <see cref="ChannelCapabilities.IdempotencyKeys"/> when
    /// <see cref="SmtpChannelOptions.RelayDeduplicatesByMessageId"/> says the relay deduplicates.
    /// </summary>
    public override ChannelCapabilities Capabilities => _deduplicates ? ChannelCapabilities.IdempotencyKeys : ChannelCapabilities.None;

    /// <summary>The <c>Message-ID</c> (without angle brackets) that every attempt at a dispatch carries.</summary>
    /// <param name="dispatchId">The dispatch id.</param>
    /// <param name="domain">The domain on the right.</param>
    /// <returns>
    /// <c>{dispatchId}@{domain}</c> when the dispatch id is a valid local part (letters, digits and <c>!#$%&amp;'*+-/=?^_`{|}~</c>,
    /// with single dots inside, at most 64 characters), else <c>h-</c> and 32 hexadecimal digits of its SHA-256 hash.
    /// </returns>
    public static string MessageIdFor(string dispatchId, string domain)
    {
        ArgumentException.ThrowIfNullOrEmpty(dispatchId);
        ArgumentException.ThrowIfNullOrEmpty(domain);
        var local = IsDotAtom(dispatchId) ? dispatchId : "h-" + Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(dispatchId)).AsSpan(0, 16));
        return local + "@" + domain;
    }

    /// <inheritdoc />
    protected override async ValueTask<SendResult> SendCoreAsync(OutboundMessage message, CancellationToken cancellationToken)
    {
        if (message.Address is not { } address || address.Kind != IdentifierKind.Email)
        {
            return SendResult.Permanent(PermanentFailureKind.Other, "The message has no email address.");
        }

        if (!MailboxAddress.TryParse(ParserOptions.Default, address.Value, out var recipient)
            || !string.IsNullOrEmpty(recipient.Name)
            || !string.Equals(recipient.Address, address.Value.Trim(), StringComparison.OrdinalIgnoreCase))
        {
            return SendResult.Permanent(PermanentFailureKind.AddressInvalid, "The email address is not a single mailbox.");
        }

        var built = Build(message, recipient);
        if (built.Refusal is { } refusal)
        {
            return refusal;
        }

        using var mime = built.Message!;
        using var client = new TrackingSmtpClient { Timeout = (int)_timeout.TotalMilliseconds };
        using var timeout = new CancellationTokenSource(_timeout, _time);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, timeout.Token);
        try
        {
            await client.ConnectAsync(_host, _port, _tls, linked.Token).ConfigureAwait(false);
            if (_userName is not null)
            {
                await client.AuthenticateAsync(_userName, _password!, linked.Token).ConfigureAwait(false);
            }

            await client.SendAsync(mime, linked.Token).ConfigureAwait(false);
        }
        catch (SmtpCommandException ex)
        {
            return MapReply(ex, client.RecipientAccepted);
        }
        catch (Exception ex) when (!client.RecipientAccepted)
        {
            // Nothing was handed over: connection refused, TLS, authentication, a time-out or a stop while connecting.
            return SendResult.Transient($"The message was not handed over: {Describe(ex, timeout)}.");
        }
        catch (Exception ex) when (!cancellationToken.IsCancellationRequested || ex is not OperationCanceledException)
        {
            return SendResult.Unknown($"The connection failed after the server accepted the recipient: {Describe(ex, timeout)}.");
        }

        await QuitAsync(client).ConfigureAwait(false);
        return SendResult.Accepted;
    }

    /// <summary>
    /// Exceptions that escape the send (none are expected) are unknown outcomes, as the base class has it; a
    /// <see cref="SmtpCommandException"/> is mapped by its status code.
    /// </summary>
    /// <param name="exception">The exception.</param>
    /// <returns>The outcome.</returns>
    protected override SendResult Classify(Exception exception)
    {
        ArgumentNullException.ThrowIfNull(exception);
        return exception is SmtpCommandException command ? MapReply(command, dataSent: true) : base.Classify(exception);
    }

    internal static bool IsDomain(string value)
    {
        if (value.Length is 0 or > 253)
        {
            return false;
        }

        foreach (var label in value.Split('.'))
        {
            if (label.Length is 0 or > 63 || label[0] == '-' || label[^1] == '-' || !label.All(static c => char.IsAsciiLetterOrDigit(c) || c == '-'))
            {
                return false;
            }
        }

        return true;
    }

    private static SendResult MapReply(SmtpCommandException ex, bool dataSent)
    {
        var code = (int)ex.StatusCode;
        var enhanced = EnhancedCode(ex.Message);
        var detail = $"SMTP {code.ToString(CultureInfo.InvariantCulture)}{(enhanced is null ? string.Empty : " " + enhanced)} ({ex.ErrorCode})";
        return code switch
        {
            >= 400 and < 500 => SendResult.Transient(detail),
            550 or 551 or 553 when ex.ErrorCode == SmtpErrorCode.RecipientNotAccepted && (enhanced is null || enhanced.StartsWith("5.1.", StringComparison.Ordinal) || enhanced.StartsWith("5.2.", StringComparison.Ordinal))
                => SendResult.Permanent(PermanentFailureKind.AddressInvalid, detail),
            552 => SendResult.Permanent(PermanentFailureKind.ContentRejected, detail),
            >= 500 and < 600 when ex.ErrorCode == SmtpErrorCode.MessageNotAccepted => SendResult.Permanent(PermanentFailureKind.ContentRejected, detail),
            >= 500 and < 600 => SendResult.Permanent(PermanentFailureKind.Other, detail),

            // A reply that makes no sense at this step: the exchange is broken.
            _ => dataSent ? SendResult.Unknown(detail) : SendResult.Transient(detail),
        };
    }

    // The enhanced status code at the start of a reply's text (RFC 3463), such as 5.1.1; never the rest, which may name the address.
    private static string? EnhancedCode(string text)
    {
        var span = text.AsSpan().TrimStart();
        var end = span.IndexOfAny(' ', '\t');
        var token = end < 0 ? span : span[..end];
        var parts = token.ToString().Split('.');
        return parts.Length == 3 && parts[0] is "2" or "4" or "5" && parts.Skip(1).All(static p => p.Length is > 0 and <= 3 && p.All(char.IsAsciiDigit))
            ? token.ToString()
            : null;
    }

    private (MimeMessage? Message, SendResult? Refusal) Build(OutboundMessage message, MailboxAddress recipient)
    {
        EmailContent? content;
        try
        {
            content = _content(message);
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            return (null, SendResult.Permanent(PermanentFailureKind.ContentRejected, $"The content function failed: {ex.GetType().Name}."));
        }

        if (content is null)
        {
            return (null, SendResult.Permanent(PermanentFailureKind.ContentRejected, "The content function returned no content."));
        }

        if (HasControl(content.FromAddress) || HasControl(content.FromName) || HasControl(content.Subject))
        {
            return (null, SendResult.Permanent(PermanentFailureKind.ContentRejected, "The From address, From name or subject carries a control character."));
        }

        if (content.TextBody is null && content.HtmlBody is null)
        {
            return (null, SendResult.Permanent(PermanentFailureKind.ContentRejected, "The content has no body."));
        }

        if (!MailboxAddress.TryParse(ParserOptions.Default, content.FromAddress, out var from)
            || !string.IsNullOrEmpty(from.Name)
            || !string.Equals(from.Address, content.FromAddress.Trim(), StringComparison.OrdinalIgnoreCase))
        {
            return (null, SendResult.Permanent(PermanentFailureKind.ContentRejected, "The From address is not a single mailbox."));
        }

        var domain = _messageIdDomain ?? from.Domain;
        if (!IsDomain(domain))
        {
            return (null, SendResult.Permanent(PermanentFailureKind.ContentRejected, "The From address's domain cannot name a Message-ID: set SmtpChannelOptions.MessageIdDomain."));
        }

        var mime = new MimeMessage();
        mime.From.Add(new MailboxAddress(content.FromName, from.Address));
        mime.To.Add(recipient);
        mime.Subject = content.Subject;
        mime.MessageId = MessageIdFor(message.DispatchId, domain);
        mime.Date = _time.GetUtcNow();
        mime.Body = new BodyBuilder { TextBody = content.TextBody, HtmlBody = content.HtmlBody }.ToMessageBody();
        return (mime, null);
    }

    // After the message was accepted, a failed goodbye changes nothing.
    private async ValueTask QuitAsync(SmtpClient client)
    {
        try
        {
            using var quit = new CancellationTokenSource(TimeSpan.FromSeconds(2), _time);
            await client.DisconnectAsync(true, quit.Token).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is IOException or OperationCanceledException or ProtocolException or SmtpCommandException or System.Net.Sockets.SocketException)
        {
        }
    }

    private static bool IsDotAtom(string value)
    {
        if (value.Length is 0 or > 64 || value[0] == '.' || value[^1] == '.' || value.Contains("..", StringComparison.Ordinal))
        {
            return false;
        }

        foreach (var c in value)
        {
            if (!char.IsAsciiLetterOrDigit(c) && "!#$%&'*+-/=?^_`{|}~.".IndexOf(c, StringComparison.Ordinal) < 0)
            {
                return false;
            }
        }

        return true;
    }

    // The exception's type, and that the time ran out; never its message (it may carry the server's text or an address).
    private string Describe(Exception exception, CancellationTokenSource timeout)
        => timeout.IsCancellationRequested ? $"no answer within {_timeout}" : exception.GetType().Name;

    /// <summary>An SMTP client that notes when the server accepted the recipient, after which the message may be with it.</summary>
    private sealed class TrackingSmtpClient : SmtpClient
    {
        private volatile bool _recipientAccepted;

        public bool RecipientAccepted => _recipientAccepted;

        protected override void OnRecipientAccepted(MimeMessage message, MailboxAddress mailbox, SmtpResponse response)
        {
            _recipientAccepted = true;
            base.OnRecipientAccepted(message, mailbox, response);
        }
    }
}
