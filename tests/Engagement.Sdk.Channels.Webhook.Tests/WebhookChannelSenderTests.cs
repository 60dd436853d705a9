using System.Net.Sockets;
using System.Net;
using System.Text.Json;
using Engagement.Sdk.Consent;
using Engagement.Sdk.Profiles;
using Engagement.Sdk.Testing;
using Microsoft.Extensions.Time.Testing;

namespace Engagement.Sdk.Channels.Webhook.Tests;

public sealed class WebhookChannelSenderTests : IDisposable
{
    private const string Secret = "a-shared-secret-of-some-length";
    private readonly HttpClient _http = new(new SocketsHttpHandler { AllowAutoRedirect = false });

    public void Dispose() => _http.Dispose();

    private static OutboundMessage Message(string dispatchId = "d-0123456789abcdef") => new(
        dispatchId,
        new CustomerId("c-42"),
        Channel.Webhook,
        Purpose.Marketing,
        Identifier.Email("ada@example.com"),
        "spring-sale",
        "en-GB");

    private WebhookChannelSender Sender(Uri endpoint, Action<WebhookChannelOptions>? configure = null, TimeProvider? time = null)
    {
        var options = new WebhookChannelOptions { Endpoint = endpoint, Timeout = TimeSpan.FromSeconds(5) };
        configure?.Invoke(options);
        return new WebhookChannelSender(_http, options, time);
    }

    [Fact]
    public async Task SendAsync_EndpointAnswers2xx_AcceptedAndPostsTheMessageAsJsonWithItsIdempotencyKey()
    {
        using var endpoint = WebhookEndpoint.Replying(202);

        var result = await Sender(endpoint.Uri).SendAsync(Message());

        result.Should().Be(SendResult.Accepted);
        endpoint.Requests.Should().ContainSingle();
        var request = endpoint.Requests.Single();
        request.Method.Should().Be("POST");
        request.Path.Should().Be("/hooks/engagement");
        request.ContentType.Should().Be("application/json; charset=utf-8");
        request.Headers[WebhookChannelSender.IdempotencyKeyHeader].Should().Be("d-0123456789abcdef");
        request.Headers.Should().NotContainKey(WebhookChannelSender.SignatureHeader);
        using var json = JsonDocument.Parse(request.Body);
        var root = json.RootElement;
        root.GetProperty("dispatchId").GetString().Should().Be("d-0123456789abcdef");
        root.GetProperty("customerId").GetString().Should().Be("c-42");
        root.GetProperty("channel").GetString().Should().Be("webhook");
        root.GetProperty("purpose").GetString().Should().Be("marketing");
        root.GetProperty("actionId").GetString().Should().Be("spring-sale");
        root.GetProperty("locale").GetString().Should().Be("en-GB");
        root.GetProperty("address").GetProperty("kind").GetString().Should().Be("email");
        root.GetProperty("address").GetProperty("value").GetString().Should().Be("ada@example.com");
    }

    [Fact]
    public async Task SendAsync_SameDispatchSentTwice_CarriesTheSameIdempotencyKeyBothTimes()
    {
        using var endpoint = WebhookEndpoint.Replying(200);
        var sender = Sender(endpoint.Uri);

        await sender.SendAsync(Message());
        await sender.SendAsync(Message());

        endpoint.Requests.Select(static r => r.Headers[WebhookChannelSender.IdempotencyKeyHeader]).Should().Equal("d-0123456789abcdef", "d-0123456789abcdef");
    }

    [Fact]
    public async Task SendAsync_WithSigningSecret_SignsTheExactBodyWithHmacSha256()
    {
        using var endpoint = WebhookEndpoint.Replying(200);

        await Sender(endpoint.Uri, o => o.SigningSecret = Secret).SendAsync(Message());

        var request = endpoint.Requests.Single();
        var signature = request.Headers[WebhookChannelSender.SignatureHeader];
        signature.Should().StartWith("sha256=").And.HaveLength(7 + 64);
        var expected = Convert.ToHexStringLower(System.Security.Cryptography.HMACSHA256.HashData(System.Text.Encoding.UTF8.GetBytes(Secret), request.Body));
        signature.Should().Be("sha256=" + expected);
        WebhookSignature.Verify(Secret, request.Body, signature).Should().BeTrue();
        WebhookSignature.Verify("another-secret-of-some-length", request.Body, signature).Should().BeFalse();
        var tampered = request.Body.ToArray();
        tampered[^2] ^= 1;
        WebhookSignature.Verify(Secret, tampered, signature).Should().BeFalse();
    }

    [Theory]
    [InlineData(408)]
    [InlineData(429)]
    [InlineData(500)]
    [InlineData(502)]
    [InlineData(503)]
    public async Task SendAsync_ThrottledOrServerError_Transient(int status)
    {
        using var endpoint = WebhookEndpoint.Replying(status);

        var result = await Sender(endpoint.Uri).SendAsync(Message());

        result.Outcome.Should().Be(SendOutcome.TransientFailure);
        result.RetryAfter.Should().BeNull();
        result.Detail.Should().StartWith($"HTTP {status}");
    }

    [Fact]
    public async Task SendAsync_RetryAfterInSeconds_Honoured()
    {
        using var endpoint = WebhookEndpoint.Replying(429, static r => r.AddHeader("Retry-After", "120"));

        var result = await Sender(endpoint.Uri).SendAsync(Message());

        result.Outcome.Should().Be(SendOutcome.TransientFailure);
        result.RetryAfter.Should().Be(TimeSpan.FromSeconds(120));
    }

    [Fact]
    public async Task SendAsync_RetryAfterAsHttpDate_HonouredAgainstTheInjectedClock()
    {
        var retryAt = new DateTimeOffset(2030, 3, 1, 12, 0, 0, TimeSpan.Zero);
        var time = new FakeTimeProvider(retryAt - TimeSpan.FromSeconds(90));
        using var endpoint = WebhookEndpoint.Replying(503, r => r.AddHeader("Retry-After", retryAt.ToString("R", System.Globalization.CultureInfo.InvariantCulture)));

        var result = await Sender(endpoint.Uri, time: time).SendAsync(Message());

        result.Outcome.Should().Be(SendOutcome.TransientFailure);
        result.RetryAfter.Should().Be(TimeSpan.FromSeconds(90));
    }

    [Theory]
    [InlineData(404)]
    [InlineData(410)]
    [InlineData(422)]
    public async Task SendAsync_StatusMarkedAddressInvalid_PermanentAddressInvalid(int status)
    {
        using var endpoint = WebhookEndpoint.Replying(status, static r => r.AddHeader(WebhookChannelSender.FailureHeader, WebhookChannelSender.AddressInvalidMarker));

        var result = await Sender(endpoint.Uri).SendAsync(Message());

        result.Outcome.Should().Be(SendOutcome.PermanentFailure);
        result.FailureKind.Should().Be(PermanentFailureKind.AddressInvalid);
    }

    [Theory]
    [InlineData(404, PermanentFailureKind.Other)]
    [InlineData(410, PermanentFailureKind.Other)]
    [InlineData(422, PermanentFailureKind.ContentRejected)]
    [InlineData(400, PermanentFailureKind.Other)]
    [InlineData(401, PermanentFailureKind.Other)]
    [InlineData(403, PermanentFailureKind.Other)]
    [InlineData(409, PermanentFailureKind.Other)]
    [InlineData(302, PermanentFailureKind.Other)]
    public async Task SendAsync_OtherRefusals_PermanentOfTheirKind(int status, PermanentFailureKind kind)
    {
        using var endpoint = WebhookEndpoint.Replying(status, static r => r.AddHeader("Location", "http://127.0.0.1:1/elsewhere"));

        var result = await Sender(endpoint.Uri).SendAsync(Message());

        result.Outcome.Should().Be(SendOutcome.PermanentFailure);
        result.FailureKind.Should().Be(kind);
        endpoint.Requests.Should().ContainSingle("a redirect is not followed");
    }

    [Fact]
    public async Task SendAsync_ConnectionRefused_TransientBecauseNothingWasSent()
    {
        var nobody = new Uri($"http://127.0.0.1:{WebhookEndpoint.FreePort()}/hooks");

        var result = await Sender(nobody).SendAsync(Message());

        result.Outcome.Should().Be(SendOutcome.TransientFailure);
        result.Detail.Should().Contain("not sent");
    }

    [Fact]
    public async Task SendAsync_NoReplyWithinTheTimeout_UnknownBecauseTheRequestWentOut()
    {
        var never = new TaskCompletionSource();
        using var endpoint = new WebhookEndpoint((_, _) => never.Task);

        var result = await Sender(endpoint.Uri, static o => o.Timeout = TimeSpan.FromMilliseconds(300)).SendAsync(Message());
        never.TrySetResult();

        result.Outcome.Should().Be(SendOutcome.Unknown);
        endpoint.Requests.Should().ContainSingle("the endpoint had the request when the sender gave up");
    }

    [Theory]
    [InlineData("")]
    [InlineData("HTTP/1.1 20")]
    public async Task SendAsync_ConnectionResetAfterTheRequestArrived_Unknown(string partialReply)
    {
        // A raw socket, to lose the connection after the whole request arrived: before any byte of a reply, or mid-way
        // through its status line.
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;
        var server = Task.Run(async () =>
        {
            using var socket = await listener.AcceptSocketAsync();
            var buffer = new byte[8192];
            var received = 0;
            while (!System.Text.Encoding.ASCII.GetString(buffer, 0, received).Contains("\"address\"", StringComparison.Ordinal))
            {
                received += await socket.ReceiveAsync(buffer.AsMemory(received), SocketFlags.None);
            }

            await socket.SendAsync(System.Text.Encoding.ASCII.GetBytes(partialReply), SocketFlags.None);
            socket.LingerState = new LingerOption(true, 0);
            socket.Close();
        });

        var result = await Sender(new Uri($"http://127.0.0.1:{port}/hooks")).SendAsync(Message());
        await server;

        result.Outcome.Should().Be(SendOutcome.Unknown);
    }

    [Fact]
    public async Task SendAsync_StoppedBeforeTheRequestWentOut_TransientNotUnknown()
    {
        using var endpoint = WebhookEndpoint.Replying(200);
        using var stopped = new CancellationTokenSource();
        await stopped.CancelAsync();

        var result = await Sender(endpoint.Uri).SendAsync(Message(), stopped.Token);

        result.Outcome.Should().Be(SendOutcome.TransientFailure);
        endpoint.Requests.Should().BeEmpty();
    }

    [Fact]
    public async Task SendAsync_MessageForAnotherChannel_PermanentWithoutARequest()
    {
        using var endpoint = WebhookEndpoint.Replying(200);

        var result = await Sender(endpoint.Uri).SendAsync(Message() with { Channel = Channel.Sms });

        result.Outcome.Should().Be(SendOutcome.PermanentFailure);
        endpoint.Requests.Should().BeEmpty();
    }

    [Fact]
    public void Capabilities_ByDefault_IdempotencyKeysOnly()
    {
        Sender(new Uri("http://127.0.0.1/")).Capabilities.Should().Be(ChannelCapabilities.IdempotencyKeys);
        Sender(new Uri("http://127.0.0.1/"), static o => o.StatusQuery = true).Capabilities.Should().Be(ChannelCapabilities.IdempotencyKeys | ChannelCapabilities.StatusQuery);
    }

    [Theory]
    [InlineData(200, DeliveryStatus.Accepted)]
    [InlineData(204, DeliveryStatus.Accepted)]
    [InlineData(404, DeliveryStatus.NotFound)]
    [InlineData(410, DeliveryStatus.NotFound)]
    [InlineData(500, DeliveryStatus.Unavailable)]
    [InlineData(401, DeliveryStatus.Unavailable)]
    public async Task QueryAsync_EndpointAnswers_MapsTheStatus(int status, DeliveryStatus expected)
    {
        using var endpoint = WebhookEndpoint.Replying(status);

        var answer = await Sender(endpoint.Uri, static o => { o.StatusQuery = true; o.SigningSecret = Secret; }).QueryAsync("d-0123456789abcdef");

        answer.Should().Be(expected);
        var request = endpoint.Requests.Single();
        request.Method.Should().Be("GET");
        request.Path.Should().Be("/hooks/engagement/d-0123456789abcdef");
        request.Headers[WebhookChannelSender.SignatureHeader].Should().Be(WebhookSignature.Compute(Secret, "d-0123456789abcdef"u8));
    }

    [Fact]
    public async Task QueryAsync_ConnectionRefused_Unavailable()
    {
        var sender = Sender(new Uri($"http://127.0.0.1:{WebhookEndpoint.FreePort()}/hooks"), static o => o.StatusQuery = true);

        (await sender.QueryAsync("d-1")).Should().Be(DeliveryStatus.Unavailable);
    }

    [Fact]
    public async Task QueryAsync_StatusQueryOff_Throws()
    {
        var act = async () => await Sender(new Uri("http://127.0.0.1/")).QueryAsync("d-1");

        await act.Should().ThrowAsync<InvalidOperationException>();
    }
}
