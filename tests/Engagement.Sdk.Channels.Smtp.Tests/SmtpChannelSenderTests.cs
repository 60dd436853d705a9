using Engagement.Sdk.Consent;
using Engagement.Sdk.Profiles;
using Engagement.Sdk.Testing;
using Microsoft.Extensions.Time.Testing;
using SmtpServer.Protocol;

namespace Engagement.Sdk.Channels.Smtp.Tests;

public sealed class SmtpChannelSenderTests
{
    private static readonly DateTimeOffset Now = new(2030, 3, 1, 9, 30, 0, TimeSpan.Zero);

    private static OutboundMessage Message(string dispatchId = "d-0123456789abcdef", string address = "ada@example.com") => new(
        dispatchId,
        new CustomerId("c-42"),
        Channel.Email,
        Purpose.Marketing,
        Identifier.Email(address),
        "spring-sale",
        "en-GB");

    private static EmailContent Content(OutboundMessage message)
        => new("news@shop.example", "Spring sale: " + message.ActionId, "Hello,\r\nthe sale starts today.", "<p>The sale starts today.</p>") { FromName = "Shop News" };

    private static SmtpChannelSender Sender(SmtpChannelOptions options, Func<OutboundMessage, EmailContent>? content = null)
        => new(options, content ?? Content, new FakeTimeProvider(Now));

    private static Func<T, Task> Reply<T>(int code, string text)
        => _ => throw new SmtpResponseException(new SmtpResponse((SmtpReplyCode)code, text));

    [Fact]
    public async Task SendAsync_ServerAccepts_MessageArrivesWithTheDispatchMessageIdAndHeaders()
    {
        await using var server = new TestSmtpServer();

        var result = await Sender(server.Options()).SendAsync(Message());

        result.Should().Be(SendResult.Accepted);
        server.Recipients.Should().Equal("ada@example.com");
        var received = server.Messages.Should().ContainSingle().Which;
        received.MessageId.Should().Be("d-0123456789abcdef@shop.example");
        received.Headers[MimeKit.HeaderId.MessageId].Should().Be("<d-0123456789abcdef@shop.example>");
        received.From.Mailboxes.Should().ContainSingle().Which.Should().Match<MimeKit.MailboxAddress>(m => m.Address == "news@shop.example" && m.Name == "Shop News");
        received.To.Mailboxes.Should().ContainSingle().Which.Address.Should().Be("ada@example.com");
        received.Subject.Should().Be("Spring sale: spring-sale");
        received.Date.Should().Be(Now);
        received.TextBody.Should().Contain("the sale starts today.");
        received.HtmlBody.Should().Contain("<p>The sale starts today.</p>");
    }

    [Fact]
    public async Task SendAsync_MessageIdDomainSet_UsesIt()
    {
        await using var server = new TestSmtpServer();

        await Sender(server.Options(static o => o.MessageIdDomain = "mail.shop.example")).SendAsync(Message());

        server.Messages.Single().MessageId.Should().Be("d-0123456789abcdef@mail.shop.example");
    }

    [Fact]
    public async Task SendAsync_SameDispatchTwice_SameMessageIdSoTheReceiverCanDeduplicate()
    {
        await using var server = new TestSmtpServer();
        var sender = Sender(server.Options());

        await sender.SendAsync(Message());
        await sender.SendAsync(Message());

        server.Messages.Select(static m => m.MessageId).Distinct().Should().ContainSingle();
    }

    [Theory]
    [InlineData("550", "5.1.1 Mailbox does not exist")]
    [InlineData("551", "User not local")]
    [InlineData("553", "5.1.3 Bad destination mailbox address syntax")]
    [InlineData("550", "5.2.1 Mailbox disabled")]
    public async Task SendAsync_RecipientRefusedAsUnknown_PermanentAddressInvalid(string code, string text)
    {
        await using var server = new TestSmtpServer(onRecipient: Reply<SmtpServer.Mail.IMailbox>(int.Parse(code, System.Globalization.CultureInfo.InvariantCulture), text));

        var result = await Sender(server.Options()).SendAsync(Message());

        result.Outcome.Should().Be(SendOutcome.PermanentFailure);
        result.FailureKind.Should().Be(PermanentFailureKind.AddressInvalid);
        result.Detail.Should().StartWith("SMTP " + code).And.NotContain("ada@example.com");
        server.Messages.Should().BeEmpty();
    }

    [Theory]
    [InlineData(550, "5.7.1 Relaying denied")]
    [InlineData(554, "5.7.1 Relay access denied")]
    public async Task SendAsync_RecipientRefusedByPolicy_PermanentOtherSoTheAddressIsNotSuppressed(int code, string text)
    {
        await using var server = new TestSmtpServer(onRecipient: Reply<SmtpServer.Mail.IMailbox>(code, text));

        var result = await Sender(server.Options()).SendAsync(Message());

        result.FailureKind.Should().Be(PermanentFailureKind.Other);
        result.Outcome.Should().Be(SendOutcome.PermanentFailure);
    }

    [Fact]
    public async Task SendAsync_SenderRefused_PermanentOther()
    {
        await using var server = new TestSmtpServer(onSender: Reply<SmtpServer.Mail.IMailbox>(550, "5.7.1 Sender not allowed"));

        var result = await Sender(server.Options()).SendAsync(Message());

        result.Outcome.Should().Be(SendOutcome.PermanentFailure);
        result.FailureKind.Should().Be(PermanentFailureKind.Other);
    }

    [Theory]
    [InlineData(451)]
    [InlineData(450)]
    [InlineData(452)]
    public async Task SendAsync_RecipientDeferred_Transient(int code)
    {
        await using var server = new TestSmtpServer(onRecipient: Reply<SmtpServer.Mail.IMailbox>(code, "4.3.0 Try again later"));

        var result = await Sender(server.Options()).SendAsync(Message());

        result.Outcome.Should().Be(SendOutcome.TransientFailure);
        result.Detail.Should().StartWith($"SMTP {code} 4.3.0");
    }

    [Fact]
    public async Task SendAsync_MessageDeferredAfterData_Transient()
    {
        await using var server = new TestSmtpServer(onMessage: static _ => Task.FromResult(new SmtpResponse((SmtpReplyCode)451, "4.3.0 Queue full")));

        var result = await Sender(server.Options()).SendAsync(Message());

        result.Outcome.Should().Be(SendOutcome.TransientFailure);
    }

    [Theory]
    [InlineData(554, "5.7.1 Message rejected as spam")]
    [InlineData(552, "5.3.4 Message too big")]
    [InlineData(550, "5.7.1 Content refused")]
    public async Task SendAsync_MessageRefusedAfterData_PermanentContentRejected(int code, string text)
    {
        await using var server = new TestSmtpServer(onMessage: _ => Task.FromResult(new SmtpResponse((SmtpReplyCode)code, text)));

        var result = await Sender(server.Options()).SendAsync(Message());

        result.Outcome.Should().Be(SendOutcome.PermanentFailure);
        result.FailureKind.Should().Be(PermanentFailureKind.ContentRejected);
    }

    [Fact]
    public async Task SendAsync_ConnectionRefused_TransientBecauseNothingWasHandedOver()
    {
        var options = new SmtpChannelOptions { Host = "127.0.0.1", Port = TestSmtpServer.FreePort(), Tls = SmtpTlsMode.None, Timeout = TimeSpan.FromSeconds(5) };

        var result = await Sender(options).SendAsync(Message());

        result.Outcome.Should().Be(SendOutcome.TransientFailure);
        result.Detail.Should().Contain("not handed over");
    }

    [Fact]
    public async Task SendAsync_StartTlsRequiredButNotOffered_Transient()
    {
        await using var server = new TestSmtpServer();

        var result = await Sender(server.Options(static o => o.Tls = SmtpTlsMode.StartTls)).SendAsync(Message());

        result.Outcome.Should().Be(SendOutcome.TransientFailure);
        server.Messages.Should().BeEmpty();
    }

    [Fact]
    public async Task SendAsync_ServerAcceptsDataThenDropsTheConnectionBeforeReplying_Unknown()
    {
        await using var server = new TestSmtpServer(dropAfterData: true);

        var result = await Sender(server.Options()).SendAsync(Message());

        result.Outcome.Should().Be(SendOutcome.Unknown);
        server.Dropped.Should().ContainSingle("the server had the whole message").Which.MessageId.Should().Be("d-0123456789abcdef@shop.example");
    }

    [Fact]
    public async Task SendAsync_NoReplyToTheMessageWithinTheTimeout_Unknown()
    {
        var release = new TaskCompletionSource<SmtpResponse>(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var server = new TestSmtpServer(onMessage: _ => release.Task);

        var result = await new SmtpChannelSender(server.Options(static o => o.Timeout = TimeSpan.FromMilliseconds(500)), Content).SendAsync(Message());
        release.TrySetResult(SmtpResponse.Ok);

        result.Outcome.Should().Be(SendOutcome.Unknown);
    }

    [Theory]
    [InlineData("Sale\r\nBcc: everyone@example.com", null)]
    [InlineData("Sale", "Shop\nNews")]
    [InlineData("Sale\u0085", null)]
    public async Task SendAsync_ControlCharacterInAHeaderValue_ContentRejectedWithoutConnecting(string subject, string? fromName)
    {
        await using var server = new TestSmtpServer();

        var result = await Sender(server.Options(), _ => new EmailContent("news@shop.example", subject, "body") { FromName = fromName }).SendAsync(Message());

        result.Outcome.Should().Be(SendOutcome.PermanentFailure);
        result.FailureKind.Should().Be(PermanentFailureKind.ContentRejected);
        server.Recipients.Should().BeEmpty();
    }

    [Theory]
    [InlineData("Shop <news@shop.example>")]
    [InlineData("news@shop.example, spy@example.com")]
    [InlineData("not an address")]
    public async Task SendAsync_FromIsNotOneBareMailbox_ContentRejected(string from)
    {
        await using var server = new TestSmtpServer();

        var result = await Sender(server.Options(), _ => new EmailContent(from, "Sale", "body")).SendAsync(Message());

        result.FailureKind.Should().Be(PermanentFailureKind.ContentRejected);
        server.Recipients.Should().BeEmpty();
    }

    [Fact]
    public async Task SendAsync_ContentFunctionThrows_ContentRejected()
    {
        var result = await Sender(new SmtpChannelOptions { Host = "127.0.0.1", Tls = SmtpTlsMode.None }, static _ => throw new KeyNotFoundException("no template"))
            .SendAsync(Message());

        result.Outcome.Should().Be(SendOutcome.PermanentFailure);
        result.FailureKind.Should().Be(PermanentFailureKind.ContentRejected);
        result.Detail.Should().Contain(nameof(KeyNotFoundException)).And.NotContain("no template");
    }

    [Fact]
    public async Task SendAsync_NoEmailAddress_PermanentOther()
    {
        var sender = Sender(new SmtpChannelOptions { Host = "127.0.0.1", Tls = SmtpTlsMode.None });

        var result = await sender.SendAsync(Message() with { Address = Identifier.Phone("+447700900123") });

        result.Outcome.Should().Be(SendOutcome.PermanentFailure);
        result.FailureKind.Should().Be(PermanentFailureKind.Other);
    }

    [Fact]
    public void Capabilities_ByDefault_NoneUnlessTheRelayDeduplicates()
    {
        Sender(new SmtpChannelOptions { Host = "smtp.example.com" }).Capabilities.Should().Be(ChannelCapabilities.None);
        Sender(new SmtpChannelOptions { Host = "smtp.example.com", RelayDeduplicatesByMessageId = true }).Capabilities.Should().Be(ChannelCapabilities.IdempotencyKeys);
    }

    [Theory]
    [InlineData("d-0123", "d-0123@shop.example")]
    [InlineData("order.42", "order.42@shop.example")]
    public void MessageIdFor_DotAtomDispatchId_UsedAsIs(string dispatchId, string expected)
    {
        SmtpChannelSender.MessageIdFor(dispatchId, "shop.example").Should().Be(expected);
    }

    [Theory]
    [InlineData("has space")]
    [InlineData("a..b")]
    [InlineData(".lead")]
    [InlineData("ümlaut")]
    [InlineData("<angle>")]
    public void MessageIdFor_OtherDispatchIds_AStableHash(string dispatchId)
    {
        var id = SmtpChannelSender.MessageIdFor(dispatchId, "shop.example");

        id.Should().MatchRegex("^h-[0-9a-f]{32}@shop\\.example$");
        SmtpChannelSender.MessageIdFor(dispatchId, "shop.example").Should().Be(id);
        SmtpChannelSender.MessageIdFor(dispatchId + "x", "shop.example").Should().NotBe(id);
    }
}
