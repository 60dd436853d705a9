using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.Options;

namespace Engagement.Sdk.Channels.Webhook;

/// <summary>
/// Delivers messages by posting them as JSON to a host's HTTP endpoint. Each post carries the dispatch id in an
/// <see cref="IdempotencyKeyHeader"/> header, and, when a signing secret is set, an HMAC-SHA256 signature of its body in
/// <see cref="SignatureHeader"/>.
/// </summary>
/// <remarks>
/// <para>
/// The sender declares <see cref="ChannelCapabilities.IdempotencyKeys"/>: the receiving endpoint is expected to
/// deduplicate on the <c>Idempotency-Key</c> header, answering a post whose key it has already accepted with a 2xx and
/// delivering nothing more. After an unknown outcome the outbox sends the same message again with the same key, so an
/// endpoint that does not deduplicate may deliver it twice.
/// </para>
/// <para>The reply maps to an outcome as follows:</para>
/// <list type="bullet">
/// <item><description>2xx: accepted.</description></item>
/// <item><description>408, 429 and 5xx: a transient failure, retried after the reply's <c>Retry-After</c> (seconds or an HTTP date) when it has one.</description></item>
/// <item><description>
/// 404, 410 or 422 with an <see cref="FailureHeader"/> header of <see cref="AddressInvalidMarker"/>: a permanent failure of
/// kind <see cref="PermanentFailureKind.AddressInvalid"/> (the outbox suppresses the address). A 404 or 410 without the marker
/// is <see cref="PermanentFailureKind.Other"/>: an endpoint that moved must not suppress every address it is sent.
/// </description></item>
/// <item><description>422 without the marker: <see cref="PermanentFailureKind.ContentRejected"/>.</description></item>
/// <item><description>Any other status (other 4xx, an unfollowed 3xx): <see cref="PermanentFailureKind.Other"/>.</description></item>
/// <item><description>No connection, or a failure before any of the body was written (connection refused, a name that does not resolve, a TLS failure): a transient failure.</description></item>
/// <item><description>A time-out or a lost connection after the body was written, before the reply's status line: <see cref="SendOutcome.Unknown"/>.</description></item>
/// </list>
/// </remarks>
public sealed class WebhookChannelSender : ChannelSender, IChannelStatusQuery
{
    /// <summary>The request header that carries <see cref="OutboundMessage.DispatchId"/>, on which the endpoint deduplicates.</summary>
    public const string IdempotencyKeyHeader = "Idempotency-Key";

    /// <summary>The request header that carries the body's signature when a signing secret is set (see <see cref="WebhookSignature"/>).</summary>
    public const string SignatureHeader = "Engagement-Signature";

    /// <summary>The response header with which an endpoint marks a 404, 410 or 422 as an address that cannot receive.</summary>
    public const string FailureHeader = "Engagement-Failure";

    /// <summary>The value of <see cref="FailureHeader"/> that means the recipient's address is invalid.</summary>
    public const string AddressInvalidMarker = "address-invalid";

    private readonly Func<HttpClient> _client;
    private readonly Uri _endpoint;
    private readonly TimeSpan _timeout;
    private readonly string? _secret;
    private readonly bool _statusQuery;
    private readonly TimeProvider _time;

    /// <summary>Creates a sender for <see cref="Channel.Webhook"/> that posts through the given client.</summary>
    /// <param name="httpClient">
    /// The client, owned by the caller. Turn off its handler's automatic redirects (<c>AllowAutoRedirect = false</c>) and
    /// leave its own <see cref="HttpClient.Timeout"/> longer than <see cref="WebhookChannelOptions.Timeout"/>.
    /// </param>
    /// <param name="options">The options, validated here and copied.</param>
    /// <param name="timeProvider">The clock for time-outs and <c>Retry-After</c> dates; the system clock when <see langword="null"/>.</param>
    /// <exception cref="OptionsValidationException">The options are not valid.</exception>
    public WebhookChannelSender(HttpClient httpClient, WebhookChannelOptions options, TimeProvider? timeProvider = null)
        : this(Channel.Webhook, httpClient, options, timeProvider)
    {
    }

    /// <summary>Creates a sender that serves <paramref name="channel"/> and posts through the given client.</summary>
    /// <param name="channel">The channel it serves (a host may deliver SMS or push through its own webhook).</param>
    /// <param name="httpClient">The client, owned by the caller (see <see cref="WebhookChannelSender(HttpClient, WebhookChannelOptions, TimeProvider?)"/>).</param>
    /// <param name="options">The options, validated here and copied.</param>
    /// <param name="timeProvider">The clock for time-outs and <c>Retry-After</c> dates; the system clock when <see langword="null"/>.</param>
    /// <exception cref="OptionsValidationException">The options are not valid.</exception>
    public WebhookChannelSender(Channel channel, HttpClient httpClient, WebhookChannelOptions options, TimeProvider? timeProvider = null)
        : this(channel, Client(httpClient), options, timeProvider ?? TimeProvider.System)
    {
    }

    internal WebhookChannelSender(Channel channel, Func<HttpClient> client, WebhookChannelOptions options, TimeProvider timeProvider)
        : base(channel)
    {
        ArgumentNullException.ThrowIfNull(options);
        var validation = new WebhookChannelOptionsValidator().Validate(null, options);
        if (validation.Failed)
        {
            throw new OptionsValidationException(Options.DefaultName, typeof(WebhookChannelOptions), validation.Failures);
        }

        _client = client;
        _endpoint = options.Endpoint!;
        _timeout = options.Timeout;
        _secret = options.SigningSecret;
        _statusQuery = options.StatusQuery;
        _time = timeProvider;
    }

    /// <summary>
    /// <see cref="ChannelCapabilities.IdempotencyKeys"/>, and <see cref="ChannelCapabilities.StatusQuery"/> when
    /// <see cref="WebhookChannelOptions.StatusQuery"/> is on.
    /// </summary>
    public override ChannelCapabilities Capabilities
        => ChannelCapabilities.IdempotencyKeys | (_statusQuery ? ChannelCapabilities.StatusQuery : ChannelCapabilities.None);

    /// <summary>
    /// Asks the endpoint about a dispatch with <c>GET {Endpoint}/{dispatchId}</c> (signed over the dispatch id's UTF-8 bytes
    /// when a secret is set): 2xx is <see cref="DeliveryStatus.Accepted"/>, 404 or 410 <see cref="DeliveryStatus.NotFound"/>,
    /// anything else, a time-out or a failed connection <see cref="DeliveryStatus.Unavailable"/>.
    /// </summary>
    /// <param name="dispatchId">The dispatch id.</param>
    /// <param name="cancellationToken">Cancels the query.</param>
    /// <returns>What the endpoint knows of it.</returns>
    /// <exception cref="InvalidOperationException"><see cref="WebhookChannelOptions.StatusQuery"/> is off.</exception>
    public async ValueTask<DeliveryStatus> QueryAsync(string dispatchId, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(dispatchId);
        if (!_statusQuery)
        {
            throw new InvalidOperationException("The webhook's status query is off: set WebhookChannelOptions.StatusQuery.");
        }

        if (HasControl(dispatchId))
        {
            return DeliveryStatus.Unavailable;
        }

        using var request = new HttpRequestMessage(HttpMethod.Get, StatusUri(dispatchId));
        request.Headers.TryAddWithoutValidation(IdempotencyKeyHeader, dispatchId);
        if (_secret is not null)
        {
            request.Headers.TryAddWithoutValidation(SignatureHeader, WebhookSignature.Compute(_secret, Encoding.UTF8.GetBytes(dispatchId)));
        }

        using var timeout = new CancellationTokenSource(_timeout, _time);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, timeout.Token);
        try
        {
            using var response = await _client().SendAsync(request, HttpCompletionOption.ResponseHeadersRead, linked.Token).ConfigureAwait(false);
            return (int)response.StatusCode switch
            {
                >= 200 and < 300 => DeliveryStatus.Accepted,
                404 or 410 => DeliveryStatus.NotFound,
                _ => DeliveryStatus.Unavailable,
            };
        }
        catch (Exception ex) when (ex is HttpRequestException || (ex is OperationCanceledException && !cancellationToken.IsCancellationRequested))
        {
            return DeliveryStatus.Unavailable;
        }
    }

    /// <inheritdoc />
    protected override async ValueTask<SendResult> SendCoreAsync(OutboundMessage message, CancellationToken cancellationToken)
    {
        var body = JsonSerializer.SerializeToUtf8Bytes(WebhookPayload.From(message), WebhookJsonContext.Default.WebhookPayload);
        using var content = new SendTrackingContent(body);
        content.Headers.ContentType = new MediaTypeHeaderValue("application/json") { CharSet = "utf-8" };
        using var request = new HttpRequestMessage(HttpMethod.Post, _endpoint) { Content = content };

        // ChannelSender has refused ids with control characters, so the key cannot split the header.
        request.Headers.TryAddWithoutValidation(IdempotencyKeyHeader, message.DispatchId);
        if (_secret is not null)
        {
            request.Headers.TryAddWithoutValidation(SignatureHeader, WebhookSignature.Compute(_secret, body));
        }

        using var timeout = new CancellationTokenSource(_timeout, _time);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, timeout.Token);
        try
        {
            using var response = await _client().SendAsync(request, HttpCompletionOption.ResponseHeadersRead, linked.Token).ConfigureAwait(false);
            return Map(response);
        }
        catch (OperationCanceledException) when (timeout.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
        {
            return content.Started
                ? SendResult.Unknown($"No reply within {_timeout} after the request was sent.")
                : SendResult.Transient($"The request could not be sent within {_timeout}.");
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested && !content.Started)
        {
            // Stopped before any of the body went out: the endpoint cannot have it.
            return SendResult.Transient("The send was stopped before the request was sent.");
        }
        catch (HttpRequestException ex) when (!content.Started)
        {
            return SendResult.Transient($"The request was not sent: {Describe(ex)}.");
        }
    }

    /// <summary>
    /// What escapes the send happened after some of the body was written (a failure before that is caught as transient), so
    /// the endpoint may have the message: an unknown outcome, described by the request error's kind and the exception types.
    /// </summary>
    /// <param name="exception">The exception.</param>
    /// <returns>The outcome.</returns>
    protected override SendResult Classify(Exception exception)
    {
        ArgumentNullException.ThrowIfNull(exception);
        return SendResult.Unknown(exception is HttpRequestException http ? $"The request may have been sent: {Describe(http)}." : exception.GetType().Name);
    }

    private SendResult Map(HttpResponseMessage response)
    {
        var code = (int)response.StatusCode;
        var detail = $"HTTP {code} ({response.StatusCode})";
        switch (code)
        {
            case >= 200 and < 300:
                return SendResult.Accepted;
            case 408 or 429 or (>= 500 and < 600):
                return SendResult.Transient(detail, RetryAfter(response));
            case 404 or 410 or 422 when MarkedAddressInvalid(response):
                return SendResult.Permanent(PermanentFailureKind.AddressInvalid, detail + ": the endpoint marked the address invalid");
            case 422:
                return SendResult.Permanent(PermanentFailureKind.ContentRejected, detail);
            case >= 300 and < 400:
                return SendResult.Permanent(PermanentFailureKind.Other, detail + ": redirects are not followed; configure the final endpoint");
            default:
                return SendResult.Permanent(PermanentFailureKind.Other, detail);
        }
    }

    private static bool MarkedAddressInvalid(HttpResponseMessage response)
        => response.Headers.TryGetValues(FailureHeader, out var values)
           && values.Any(static v => string.Equals(v.Trim(), AddressInvalidMarker, StringComparison.OrdinalIgnoreCase));

    private TimeSpan? RetryAfter(HttpResponseMessage response)
    {
        var header = response.Headers.RetryAfter;
        if (header?.Delta is { } delta)
        {
            return delta < TimeSpan.Zero ? TimeSpan.Zero : delta;
        }

        if (header?.Date is { } date)
        {
            var wait = date - _time.GetUtcNow();
            return wait < TimeSpan.Zero ? TimeSpan.Zero : wait;
        }

        return null;
    }

    private Uri StatusUri(string dispatchId)
    {
        var builder = new UriBuilder(_endpoint);
        builder.Path = builder.Path.TrimEnd('/') + "/" + Uri.EscapeDataString(dispatchId);
        return builder.Uri;
    }

    // The error's kind and the exception types, never the message (it may carry the endpoint's host or more).
    private static string Describe(HttpRequestException exception)
        => exception.InnerException is { } inner ? $"{exception.HttpRequestError} ({inner.GetType().Name})" : exception.HttpRequestError.ToString();

    private static Func<HttpClient> Client(HttpClient httpClient)
    {
        ArgumentNullException.ThrowIfNull(httpClient);
        return () => httpClient;
    }
}
