using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace Engagement.Sdk.Profiles;

/// <summary>
/// One way of recognising a customer: an email address, a phone number, a device, an anonymous cookie, a loyalty card.
/// The value is normalised on creation, so two spellings of one address are one identifier: every value is trimmed and put
/// in Unicode normalisation form C (composed characters); emails keep their local part and lower-case their domain; phone
/// numbers become E.164 (<c>+</c> and 8 to 15 digits); other kinds are kept as given. Control characters (CR, LF, tab, NUL
/// and the other C0 and C1 controls) are refused in every kind.
/// </summary>
/// <remarks>
/// Two identifiers are equal when their kinds and their <see cref="Key"/>s are: the key is the value compared
/// case-insensitively for kinds that ignore case (e-mail by default, since practically every mailbox provider treats the
/// local part so; see <see cref="IdentifierRule.IgnoreCase"/>), and the value itself for the others. <see cref="Value"/>
/// keeps the spelling the customer gave, for sending.
/// </remarks>
[JsonConverter(typeof(IdentifierJsonConverter))]
public sealed record Identifier
{
    /// <summary>Creates an identifier, normalising and validating its value.</summary>
    /// <param name="kind">What kind of identifier it is.</param>
    /// <param name="value">The value as received.</param>
    /// <exception cref="EngagementValidationException">The value is not a valid identifier of that kind.</exception>
    public Identifier(IdentifierKind kind, string value)
    {
        if (kind.IsEmpty)
        {
            throw new EngagementValidationException("identifier.kind", null, "an identifier needs a kind");
        }

        Kind = kind;
        Value = Normalise(kind, value);
        Key = KeyOf(Value, IgnoresCaseByDefault(kind));
    }

    // A normalised value with the key a rule other than the kind's default gives it.
    private Identifier(IdentifierKind kind, string value, string key)
    {
        Kind = kind;
        Value = value;
        Key = key;
    }

    /// <summary>The kind of identifier.</summary>
    public IdentifierKind Kind { get; }

    /// <summary>The normalised value, in the spelling the customer gave (an e-mail keeps the case of its local part): what messages are sent to.</summary>
    [PersonalData]
    public string Value { get; }

    /// <summary>
    /// The form identifiers of this kind are compared, indexed and hashed in: <see cref="Value"/> lower-cased (invariant
    /// culture) for a kind that ignores case, else <see cref="Value"/> itself. Stores look identifiers up by it.
    /// </summary>
    public string Key { get; }

    /// <summary>Whether identifiers of a kind ignore case unless <see cref="IdentifierRule.IgnoreCase"/> says otherwise: only e-mail addresses do.</summary>
    /// <param name="kind">The kind.</param>
    /// <returns><see langword="true"/> for <see cref="IdentifierKind.Email"/>.</returns>
    public static bool IgnoresCaseByDefault(IdentifierKind kind) => kind == IdentifierKind.Email;

    /// <summary>This identifier compared with or without regard to case, as a rule other than its kind's default says (the same instance when nothing changes).</summary>
    /// <param name="ignoreCase">Whether to ignore case.</param>
    /// <returns>The identifier with the key that rule gives.</returns>
    public Identifier WithCaseRule(bool ignoreCase)
    {
        var key = KeyOf(Value, ignoreCase);
        return string.Equals(key, Key, StringComparison.Ordinal) ? this : new Identifier(Kind, Value, key);
    }

    /// <summary>Whether <see cref="Key"/> is what the kind's default rule gives (so that it need not be written down).</summary>
    /// <remarks>
    /// Without allocating: a key that is not the value itself was lower-cased, which is the default only for a kind that
    /// ignores case; a key that is the value itself is the default for a kind that does not, and for one that does only if
    /// lower-casing changes nothing.
    /// </remarks>
    internal bool HasDefaultKey
    {
        get
        {
            var byDefault = IgnoresCaseByDefault(Kind);
            if (!ReferenceEquals(Key, Value))
            {
                return byDefault;
            }

            if (!byDefault)
            {
                return true;
            }

            Span<char> lower = Value.Length <= 512 ? stackalloc char[512] : new char[Value.Length];
            var written = Value.AsSpan().ToLowerInvariant(lower);
            return written == Value.Length && lower[..written].SequenceEqual(Value);
        }
    }

    /// <summary>Reads an identifier as written (its key given when a rule other than the kind's default made it).</summary>
    internal static Identifier Read(IdentifierKind kind, string value, string? key)
    {
        var identifier = new Identifier(kind, value);
        if (key is null || string.Equals(key, identifier.Key, StringComparison.Ordinal))
        {
            return identifier;
        }

        // Only the two keys a rule can give are accepted: the value itself, or the value lower-cased.
        if (string.Equals(key, identifier.Value, StringComparison.Ordinal))
        {
            return new Identifier(kind, identifier.Value, identifier.Value); // the key is the value itself (see HasDefaultKey)
        }

        return string.Equals(key, identifier.Value.ToLowerInvariant(), StringComparison.Ordinal)
            ? new Identifier(kind, identifier.Value, key)
            : throw new EngagementValidationException("identifier.key", key, "must be the identifier's value, or its value lower-cased");
    }

    /// <inheritdoc />
    public bool Equals(Identifier? other)
        => ReferenceEquals(this, other) || (other is not null && Kind == other.Kind && string.Equals(Key, other.Key, StringComparison.Ordinal));

    /// <inheritdoc />
    public override int GetHashCode() => HashCode.Combine(Kind, string.GetHashCode(Key, StringComparison.Ordinal));

    // The value itself when nothing changes, so that most identifiers hold one string.
    private static string KeyOf(string value, bool ignoreCase)
    {
        if (!ignoreCase)
        {
            return value;
        }

        var lower = value.ToLowerInvariant();
        return string.Equals(lower, value, StringComparison.Ordinal) ? value : lower;
    }

    /// <summary>An email address.</summary>
    /// <param name="address">The address.</param>
    /// <returns>The identifier.</returns>
    public static Identifier Email(string address) => new(IdentifierKind.Email, address);

    /// <summary>A phone number in international format.</summary>
    /// <param name="number">The number, such as <c>+44 20 7946 0018</c>.</param>
    /// <returns>The identifier.</returns>
    public static Identifier Phone(string number) => new(IdentifierKind.Phone, number);

    /// <summary>A device or push token.</summary>
    /// <param name="deviceId">The device id.</param>
    /// <returns>The identifier.</returns>
    public static Identifier Device(string deviceId) => new(IdentifierKind.Device, deviceId);

    /// <summary>An anonymous cookie or visitor id.</summary>
    /// <param name="anonymousId">The anonymous id.</param>
    /// <returns>The identifier.</returns>
    public static Identifier Anonymous(string anonymousId) => new(IdentifierKind.Anonymous, anonymousId);

    /// <inheritdoc />
    public override string ToString() => Kind.Name + ":" + Value;

    private static string Normalise(IdentifierKind kind, string? value)
    {
        var field = "identifier." + kind.Name;
        if (string.IsNullOrWhiteSpace(value))
        {
            throw new EngagementValidationException(field, value, "must not be empty");
        }

        Text.RequireCleanText(field, value);
        var trimmed = value.Trim();

        // One text, one identifier: a decomposed "a\u0301" and the precomposed "\u00E1" are the same character (Unicode NFC).
        if (!trimmed.IsNormalized(NormalizationForm.FormC))
        {
            trimmed = trimmed.Normalize(NormalizationForm.FormC);
        }

        if (kind == IdentifierKind.Email)
        {
            return NormaliseEmail(field, trimmed);
        }

        if (kind == IdentifierKind.Phone)
        {
            return NormalisePhone(field, trimmed);
        }

        if (trimmed.Length > 256)
        {
            throw new EngagementValidationException(field, value, "must be at most 256 characters");
        }

        return trimmed;
    }

    private static string NormaliseEmail(string field, string value)
    {
        var at = value.LastIndexOf('@');
        if (value.Length > 254 || at <= 0 || at == value.Length - 1 || value.IndexOf('@') != at
            || value.AsSpan().ContainsAny(" \t\r\n<>,;\"") || !value.AsSpan(at + 1).Contains('.'))
        {
            throw new EngagementValidationException(field, value, "must be one email address of the form local@domain.tld");
        }

        return string.Concat(value.AsSpan(0, at + 1), value[(at + 1)..].ToLowerInvariant());
    }

    private static string NormalisePhone(string field, string value)
    {
        var builder = new StringBuilder(16);
        var span = value.AsSpan();
        if (span.StartsWith("00"))
        {
            span = span[2..];
            builder.Append('+');
        }
        else if (span.StartsWith("+"))
        {
            span = span[1..];
            builder.Append('+');
        }
        else
        {
            throw new EngagementValidationException(field, value, "must be in international format, starting with + or 00 and the country code");
        }

        foreach (var c in span)
        {
            if (c is >= '0' and <= '9')
            {
                builder.Append(c);
            }
            else if (c is not (' ' or '-' or '.' or '(' or ')'))
            {
                throw new EngagementValidationException(field, value, "may hold only digits, spaces, '-', '.', '(' and ')' after the country code");
            }
        }

        var digits = builder.Length - 1;
        if (digits is < 8 or > 15 || builder[1] == '0')
        {
            throw new EngagementValidationException(field, value, "must have 8 to 15 digits in E.164 with a country code that does not start with 0");
        }

        return builder.ToString();
    }
}

/// <summary>
/// Reads and writes an <see cref="Identifier"/> as <c>{"kind": …, "value": …}</c>, with <c>"key"</c> only when a rule other
/// than the kind's default made it (so that such an identifier reads back equal). Unknown and repeated properties are refused.
/// </summary>
internal sealed class IdentifierJsonConverter : JsonConverter<Identifier>
{
    public override Identifier Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
    {
        if (reader.TokenType != JsonTokenType.StartObject)
        {
            throw new JsonException("An identifier must be a JSON object.");
        }

        string? kind = null;
        string? value = null;
        string? key = null;
        while (reader.Read() && reader.TokenType != JsonTokenType.EndObject)
        {
            if (reader.TokenType != JsonTokenType.PropertyName)
            {
                throw new JsonException("An identifier must be a JSON object.");
            }

            var name = reader.GetString();
            if (!reader.Read() || reader.TokenType != JsonTokenType.String)
            {
                throw new JsonException($"The identifier's '{name}' must be a JSON string.");
            }

            var text = reader.GetString();
            switch (name)
            {
                case "kind" when kind is null:
                    kind = text;
                    break;
                case "value" when value is null:
                    value = text;
                    break;
                case "key" when key is null:
                    key = text;
                    break;
                case "kind" or "value" or "key":
                    throw new JsonException($"Duplicate property '{name}' in an identifier.");
                default:
                    throw new JsonException($"The JSON property '{name}' could not be mapped to any .NET member contained in type 'Engagement.Sdk.Profiles.Identifier'.");
            }
        }

        if (kind is null || value is null)
        {
            throw new JsonException($"JSON deserialization for type 'Engagement.Sdk.Profiles.Identifier' was missing required properties including: {(kind is null ? "'kind'" : "'value'")}.");
        }

        return Identifier.Read(new IdentifierKind(kind), value, key);
    }

    public override void Write(Utf8JsonWriter writer, Identifier value, JsonSerializerOptions options)
    {
        writer.WriteStartObject();
        writer.WriteString("kind", value.Kind.Name);
        writer.WriteString("value", value.Value);
        if (!value.HasDefaultKey)
        {
            writer.WriteString("key", value.Key);
        }

        writer.WriteEndObject();
    }
}
