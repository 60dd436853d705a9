using System.Text.Json;
using System.Text.Json.Serialization;

namespace Engagement.Sdk.Profiles;

/// <summary>
/// The kind of an <see cref="Identifier"/>. An extensible enumeration: the well-known kinds are static properties, and a
/// host may name its own (lower-case letters, digits, '_' or '-').
/// </summary>
[JsonConverter(typeof(IdentifierKindJsonConverter))]
public readonly struct IdentifierKind : IEquatable<IdentifierKind>
{
    private readonly string? _name;

    /// <summary>Creates a kind from its name.</summary>
    /// <param name="name">The name.</param>
    public IdentifierKind(string name)
    {
        _name = Names.Require("identifier.kind", name);
    }

    /// <summary>The kind's name.</summary>
    public string Name => _name ?? string.Empty;

    /// <summary>Whether this is <c>default(IdentifierKind)</c>.</summary>
    public bool IsEmpty => _name is null;

    /// <summary>An email address.</summary>
    public static IdentifierKind Email { get; } = new("email");

    /// <summary>A phone number (E.164).</summary>
    public static IdentifierKind Phone { get; } = new("phone");

    /// <summary>A device or push token.</summary>
    public static IdentifierKind Device { get; } = new("device");

    /// <summary>An anonymous cookie or visitor id.</summary>
    public static IdentifierKind Anonymous { get; } = new("anonymous");

    /// <summary>A loyalty card or programme number.</summary>
    public static IdentifierKind Loyalty { get; } = new("loyalty");

    /// <summary>The host's CRM id.</summary>
    public static IdentifierKind Crm { get; } = new("crm");

    /// <inheritdoc />
    public bool Equals(IdentifierKind other) => string.Equals(_name, other._name, StringComparison.Ordinal);

    /// <inheritdoc />
    public override bool Equals(object? obj) => obj is IdentifierKind other && Equals(other);

    /// <inheritdoc />
    public override int GetHashCode() => _name is null ? 0 : StringComparer.Ordinal.GetHashCode(_name);

    /// <summary>Returns the name.</summary>
    /// <returns>The name.</returns>
    public override string ToString() => Name;

    /// <summary>Equality.</summary>
    /// <param name="left">The left kind.</param>
    /// <param name="right">The right kind.</param>
    /// <returns>Whether they are equal.</returns>
    public static bool operator ==(IdentifierKind left, IdentifierKind right) => left.Equals(right);

    /// <summary>Inequality.</summary>
    /// <param name="left">The left kind.</param>
    /// <param name="right">The right kind.</param>
    /// <returns>Whether they differ.</returns>
    public static bool operator !=(IdentifierKind left, IdentifierKind right) => !left.Equals(right);
}

internal sealed class IdentifierKindJsonConverter : JsonConverter<IdentifierKind>
{
    public override IdentifierKind Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
        => reader.TokenType == JsonTokenType.String ? new IdentifierKind(reader.GetString()!) : throw new JsonException("An identifier kind must be a JSON string.");

    public override void Write(Utf8JsonWriter writer, IdentifierKind value, JsonSerializerOptions options) => writer.WriteStringValue(value.Name);
}
