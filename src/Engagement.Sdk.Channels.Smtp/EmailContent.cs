namespace Engagement.Sdk.Channels.Smtp;

/// <summary>
/// What an email says, supplied by the host for each message (the SDK keeps no templates). The sender refuses, as
/// <see cref="PermanentFailureKind.ContentRejected"/>, a From address that is not one mailbox, or a From name or subject with a
/// control character (a line break in a header value could add headers).
/// </summary>
public sealed record EmailContent
{
    /// <summary>Creates the content of one email.</summary>
    /// <param name="fromAddress">The sender's address, such as <c>news@shop.example</c>; also the envelope sender.</param>
    /// <param name="subject">The subject.</param>
    /// <param name="textBody">The plain-text body.</param>
    /// <param name="htmlBody">The HTML body, if any.</param>
    /// <exception cref="ArgumentNullException">The address or subject is <see langword="null"/>.</exception>
    /// <exception cref="ArgumentException">Neither body is given.</exception>
    public EmailContent(string fromAddress, string subject, string? textBody, string? htmlBody = null)
    {
        ArgumentNullException.ThrowIfNull(fromAddress);
        ArgumentNullException.ThrowIfNull(subject);
        if (textBody is null && htmlBody is null)
        {
            throw new ArgumentException("An email needs a plain-text body, an HTML body, or both.", nameof(textBody));
        }

        FromAddress = fromAddress;
        Subject = subject;
        TextBody = textBody;
        HtmlBody = htmlBody;
    }

    /// <summary>The sender's address; also the envelope sender.</summary>
    public string FromAddress { get; init; }

    /// <summary>The sender's display name, if any.</summary>
    public string? FromName { get; init; }

    /// <summary>The subject.</summary>
    public string Subject { get; init; }

    /// <summary>The plain-text body.</summary>
    public string? TextBody { get; init; }

    /// <summary>The HTML body.</summary>
    public string? HtmlBody { get; init; }
}
