using System.Text.Json.Serialization;

namespace Engagement.Sdk.Channels.Webhook;

/// <summary>The JSON body of one post (its shape is documented in docs/channel-adapters.md).</summary>
internal sealed record WebhookPayload(
    string DispatchId,
    string CustomerId,
    string Channel,
    string Purpose,
    string ActionId,
    string? Locale,
    WebhookAddress? Address)
{
    public static WebhookPayload From(OutboundMessage message) => new(
        message.DispatchId,
        message.CustomerId.Value,
        message.Channel.Name,
        message.Purpose.Name,
        message.ActionId,
        message.Locale,
        message.Address is { } address ? new WebhookAddress(address.Kind.Name, address.Value) : null);
}

/// <summary>The recipient's address in a post.</summary>
internal sealed record WebhookAddress(string Kind, string Value);

[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase)]
[JsonSerializable(typeof(WebhookPayload))]
internal sealed partial class WebhookJsonContext : JsonSerializerContext;
