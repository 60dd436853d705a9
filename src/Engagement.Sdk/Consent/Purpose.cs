using System.Text.Json;
using System.Text.Json.Serialization;

namespace Engagement.Sdk.Consent;

/// <summary>
/// Why the SDK contacts a customer or processes their data. Consent is recorded and checked per purpose; granting one purpose
/// never grants another. An extensible enumeration: the well-known purposes are static properties, and a host may define
/// its own (lower-case letters, digits, '_' or '-').
/// </summary>
[JsonConverter(typeof(PurposeJsonConverter))]
public readonly struct Purpose : IEquatable<Purpose>
{
    private readonly string? _name;

    /// <summary>Creates a purpose from its name.</summary>
    /// <param name="name">The name, such as <c>marketing</c> or a host-defined <c>surveys</c>.</param>
    /// <exception cref="EngagementValidationException">The name breaks the naming rule.</exception>
    public Purpose(string name)
    {
        _name = Names.Require("purpose", name);
    }

    /// <summary>The purpose's name; empty for <c>default(Purpose)</c>.</summary>
    public string Name => _name ?? string.Empty;

    /// <summary>Whether this is <c>default(Purpose)</c>.</summary>
    public bool IsEmpty => _name is null;

    /// <summary>
    /// Transactional and service messages the customer needs to complete what they asked for (order confirmations, shipping
    /// notices, password resets). They rest on the contract, need no marketing consent, and must carry no marketing content.
    /// </summary>
    public static Purpose Transactional { get; } = new("transactional");

    /// <summary>Direct marketing: offers, newsletters, recommendations sent to the customer.</summary>
    public static Purpose Marketing { get; } = new("marketing");

    /// <summary>Profiling and personalisation: building a portrait of the customer to tailor what they see.</summary>
    public static Purpose Profiling { get; } = new("profiling");

    /// <summary>Analytics and measurement.</summary>
    public static Purpose Analytics { get; } = new("analytics");

    /// <summary>Selling or sharing personal data with third parties (what a Global Privacy Control signal objects to).</summary>
    public static Purpose SaleSharing { get; } = new("sale_sharing");

    /// <summary>
    /// The one message a pending double opt-in permits: the request to confirm. Permitted only while a confirmation is
    /// pending for the channel and address.
    /// </summary>
    public static Purpose ConsentConfirmation { get; } = new("consent_confirmation");

    /// <summary>The well-known purposes.</summary>
    public static IReadOnlyList<Purpose> WellKnown { get; } = [Transactional, Marketing, Profiling, Analytics, SaleSharing, ConsentConfirmation];

    /// <summary>Whether the purpose rests on the contract rather than on consent (only <see cref="Transactional"/>).</summary>
    public bool IsTransactional => Equals(Transactional);

    /// <inheritdoc />
    public bool Equals(Purpose other) => string.Equals(_name, other._name, StringComparison.Ordinal);

    /// <inheritdoc />
    public override bool Equals(object? obj) => obj is Purpose other && Equals(other);

    /// <inheritdoc />
    public override int GetHashCode() => _name is null ? 0 : StringComparer.Ordinal.GetHashCode(_name);

    /// <summary>Returns the name.</summary>
    /// <returns>The name.</returns>
    public override string ToString() => Name;

    /// <summary>Equality.</summary>
    /// <param name="left">The left purpose.</param>
    /// <param name="right">The right purpose.</param>
    /// <returns>Whether they are the same purpose.</returns>
    public static bool operator ==(Purpose left, Purpose right) => left.Equals(right);

    /// <summary>Inequality.</summary>
    /// <param name="left">The left purpose.</param>
    /// <param name="right">The right purpose.</param>
    /// <returns>Whether they differ.</returns>
    public static bool operator !=(Purpose left, Purpose right) => !left.Equals(right);
}

internal sealed class PurposeJsonConverter : JsonConverter<Purpose>
{
    public override Purpose Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
        => reader.TokenType == JsonTokenType.String ? new Purpose(reader.GetString()!) : throw new JsonException("A purpose must be a JSON string.");

    public override void Write(Utf8JsonWriter writer, Purpose value, JsonSerializerOptions options) => writer.WriteStringValue(value.Name);
}
