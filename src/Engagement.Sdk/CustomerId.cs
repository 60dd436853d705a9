using System.Diagnostics.CodeAnalysis;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace Engagement.Sdk;

/// <summary>
/// The identity of one customer inside the SDK: an opaque, case-sensitive string chosen by the host (for example the
/// primary key of its own customer table). At most 128 characters, with no control characters and no surrounding white space.
/// </summary>
[JsonConverter(typeof(CustomerIdJsonConverter))]
public readonly struct CustomerId : IEquatable<CustomerId>, IComparable<CustomerId>
{
    /// <summary>The longest id accepted, in UTF-16 code units.</summary>
    public const int MaxLength = 128;

    private readonly string? _value;

    /// <summary>Creates a customer id, validating <paramref name="value"/>.</summary>
    /// <param name="value">The id text.</param>
    /// <exception cref="EngagementValidationException">The value is empty, too long, padded or holds a control character.</exception>
    public CustomerId(string value)
    {
        Validate("customerId", value);
        _value = value;
    }

    /// <summary>The id text; empty for <c>default(CustomerId)</c>.</summary>
    public string Value => _value ?? string.Empty;

    /// <summary>Whether this is <c>default(CustomerId)</c>, which names no customer.</summary>
    public bool IsEmpty => _value is null;

    /// <summary>Parses <paramref name="value"/> into a customer id, or returns <see langword="false"/> when it breaks a rule.</summary>
    /// <param name="value">The id text.</param>
    /// <param name="id">The id, when valid.</param>
    /// <returns>Whether the value is a valid id.</returns>
    public static bool TryCreate([NotNullWhen(true)] string? value, out CustomerId id)
    {
        if (Check(value) is null)
        {
            id = new CustomerId(value!, trusted: true);
            return true;
        }

        id = default;
        return false;
    }

    private CustomerId(string value, bool trusted)
    {
        _ = trusted;
        _value = value;
    }

    internal static void Validate(string field, string? value)
    {
        if (Check(value) is { } rule)
        {
            throw new EngagementValidationException(field, value, rule);
        }
    }

    private static string? Check(string? value)
    {
        if (string.IsNullOrEmpty(value))
        {
            return "a customer id must not be empty";
        }

        if (value.Length > MaxLength)
        {
            return $"a customer id must be at most {MaxLength} characters";
        }

        if (char.IsWhiteSpace(value[0]) || char.IsWhiteSpace(value[^1]))
        {
            return "a customer id must not start or end with white space";
        }

        foreach (var c in value)
        {
            if (char.IsControl(c))
            {
                return "a customer id must not contain control characters";
            }
        }

        return Text.HasLoneSurrogate(value) ? "a customer id must be valid UTF-16 (no lone surrogates)" : null;
    }

    /// <inheritdoc />
    public bool Equals(CustomerId other) => string.Equals(_value, other._value, StringComparison.Ordinal);

    /// <inheritdoc />
    public override bool Equals(object? obj) => obj is CustomerId other && Equals(other);

    /// <inheritdoc />
    public override int GetHashCode() => _value is null ? 0 : StringComparer.Ordinal.GetHashCode(_value);

    /// <inheritdoc />
    public int CompareTo(CustomerId other) => string.CompareOrdinal(_value, other._value);

    /// <summary>Returns the id text.</summary>
    /// <returns>The id text.</returns>
    public override string ToString() => Value;

    /// <summary>Equality.</summary>
    /// <param name="left">The left id.</param>
    /// <param name="right">The right id.</param>
    /// <returns>Whether both name the same customer.</returns>
    public static bool operator ==(CustomerId left, CustomerId right) => left.Equals(right);

    /// <summary>Inequality.</summary>
    /// <param name="left">The left id.</param>
    /// <param name="right">The right id.</param>
    /// <returns>Whether they name different customers.</returns>
    public static bool operator !=(CustomerId left, CustomerId right) => !left.Equals(right);

    /// <summary>Ordinal ordering.</summary>
    /// <param name="left">The left id.</param>
    /// <param name="right">The right id.</param>
    /// <returns>Whether <paramref name="left"/> sorts before <paramref name="right"/>.</returns>
    public static bool operator <(CustomerId left, CustomerId right) => left.CompareTo(right) < 0;

    /// <summary>Ordinal ordering.</summary>
    /// <param name="left">The left id.</param>
    /// <param name="right">The right id.</param>
    /// <returns>Whether <paramref name="left"/> sorts after <paramref name="right"/>.</returns>
    public static bool operator >(CustomerId left, CustomerId right) => left.CompareTo(right) > 0;

    /// <summary>Ordinal ordering.</summary>
    /// <param name="left">The left id.</param>
    /// <param name="right">The right id.</param>
    /// <returns>Whether <paramref name="left"/> sorts before or equal to <paramref name="right"/>.</returns>
    public static bool operator <=(CustomerId left, CustomerId right) => left.CompareTo(right) <= 0;

    /// <summary>Ordinal ordering.</summary>
    /// <param name="left">The left id.</param>
    /// <param name="right">The right id.</param>
    /// <returns>Whether <paramref name="left"/> sorts after or equal to <paramref name="right"/>.</returns>
    public static bool operator >=(CustomerId left, CustomerId right) => left.CompareTo(right) >= 0;
}

internal sealed class CustomerIdJsonConverter : JsonConverter<CustomerId>
{
    public override CustomerId Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
    {
        if (reader.TokenType != JsonTokenType.String)
        {
            throw new JsonException("A customer id must be a JSON string.");
        }

        return new CustomerId(reader.GetString()!);
    }

    public override void Write(Utf8JsonWriter writer, CustomerId value, JsonSerializerOptions options) => writer.WriteStringValue(value.Value);
}
