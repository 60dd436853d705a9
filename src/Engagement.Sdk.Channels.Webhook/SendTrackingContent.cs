using System.Net;

namespace Engagement.Sdk.Channels.Webhook;

/// <summary>
/// A byte-array body that records when the handler starts writing it to the connection. Until then the endpoint cannot
/// have the message, so a failure is safe to retry; after it, the outcome of a failure is unknown.
/// </summary>
internal sealed class SendTrackingContent : ByteArrayContent
{
    private volatile bool _started;

    public SendTrackingContent(byte[] body)
        : base(body)
    {
    }

    /// <summary>Whether any of the body was handed to the connection.</summary>
    public bool Started => _started;

    protected override Task SerializeToStreamAsync(Stream stream, TransportContext? context, CancellationToken cancellationToken)
    {
        _started = true;
        return base.SerializeToStreamAsync(stream, context, cancellationToken);
    }

    protected override Task SerializeToStreamAsync(Stream stream, TransportContext? context)
    {
        _started = true;
        return base.SerializeToStreamAsync(stream, context);
    }

    protected override void SerializeToStream(Stream stream, TransportContext? context, CancellationToken cancellationToken)
    {
        _started = true;
        base.SerializeToStream(stream, context, cancellationToken);
    }
}
