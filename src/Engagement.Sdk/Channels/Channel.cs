using System.Text.Json;
using System.Text.Json.Serialization;

namespace Engagement.Sdk.Channels;

/// <summary>
/// A way of reaching a customer: email, SMS, push, and so on. An extensible enumeration: the well-known channels are static
/// properties, and a host may name its own (lower-case letters, digits, '_' or '-', at most 32 characters).
/// </summary>
[JsonConverter(typeof(ChannelJsonConverter))]
public readonly struct Channel : IEquatable<Channel>
{
    private readonly string? _name;

    /// <summary>Creates a channel from its name.</summary>
    /// <param name="name">The name, such as <c>email</c> or a host-defined <c>whatsapp</c>.</param>
    /// <exception cref="EngagementValidationException">The name is empty, too long, or not lower-case letters, digits, '_' or '-'.</exception>
    public Channel(string name)
    {
        _name = Names.Require("channel", name);
    }

    /// <summary>The channel's name; empty for <c>default(Channel)</c>.</summary>
    public string Name => _name ?? string.Empty;

    /// <summary>Whether this is <c>default(Channel)</c>, which is no channel.</summary>
    public bool IsEmpty => _name is null;

    /// <summary>Email.</summary>
    public static Channel Email { get; } = new("email");

    /// <summary>SMS text messages.</summary>
    public static Channel Sms { get; } = new("sms");

    /// <summary>Mobile push notifications.</summary>
    public static Channel Push { get; } = new("push");

    /// <summary>Social networks and messengers.</summary>
    public static Channel Social { get; } = new("social");

    /// <summary>The web shop itself (on-site content, banners).</summary>
    public static Channel Web { get; } = new("web");

    /// <summary>In-app messages.</summary>
    public static Channel InApp { get; } = new("in_app");

    /// <summary>Telephone calls.</summary>
    public static Channel Phone { get; } = new("phone");

    /// <summary>A host's webhook.</summary>
    public static Channel Webhook { get; } = new("webhook");

    /// <summary>The well-known channels.</summary>
    public static IReadOnlyList<Channel> WellKnown { get; } = [Email, Sms, Push, Social, Web, InApp, Phone, Webhook];

    /// <inheritdoc />
    public bool Equals(Channel other) => string.Equals(_name, other._name, StringComparison.Ordinal);

    /// <inheritdoc />
    public override bool Equals(object? obj) => obj is Channel other && Equals(other);

    /// <inheritdoc />
    public override int GetHashCode() => _name is null ? 0 : StringComparer.Ordinal.GetHashCode(_name);

    /// <summary>Returns the name.</summary>
    /// <returns>The name.</returns>
    public override string ToString() => Name;

    /// <summary>Equality.</summary>
    /// <param name="left">The left channel.</param>
    /// <param name="right">The right channel.</param>
    /// <returns>Whether they are the same channel.</returns>
    public static bool operator ==(Channel left, Channel right) => left.Equals(right);

    /// <summary>Inequality.</summary>
    /// <param name="left">The left channel.</param>
    /// <param name="right">The right channel.</param>
    /// <returns>Whether they differ.</returns>
    public static bool operator !=(Channel left, Channel right) => !left.Equals(right);
}

internal sealed class ChannelJsonConverter : JsonConverter<Channel>
{
    public override Channel Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
        => reader.TokenType == JsonTokenType.String ? new Channel(reader.GetString()!) : throw new JsonException("A channel must be a JSON string.");

    public override void Write(Utf8JsonWriter writer, Channel value, JsonSerializerOptions options) => writer.WriteStringValue(value.Name);

    public override Channel ReadAsPropertyName(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options) => new(reader.GetString()!);

    public override void WriteAsPropertyName(Utf8JsonWriter writer, Channel value, JsonSerializerOptions options) => writer.WritePropertyName(value.Name);
}
