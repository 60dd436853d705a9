using System.Text.Json;

namespace Engagement.Sdk.Conditions;

/// <summary>
/// Reads one JSON object of a definition strictly, naming the JSON path of every problem: the value must be an object,
/// property names may not repeat, each property has the JSON type asked for, and <see cref="Done"/> rejects properties
/// nobody asked for.
/// </summary>
internal sealed class JsonObjectReader
{
    private readonly JsonElement _element;
    private readonly HashSet<string> _read = new(StringComparer.Ordinal);

    private JsonObjectReader(JsonElement element, string path)
    {
        _element = element;
        Path = path;
    }

    /// <summary>The object's JSON path.</summary>
    public string Path { get; }

    /// <summary>Opens <paramref name="element"/> as an object.</summary>
    public static JsonObjectReader Open(JsonElement element, string path)
    {
        if (element.ValueKind != JsonValueKind.Object)
        {
            throw new EngagementValidationException(path, Shown(element), "must be a JSON object");
        }

        var names = new HashSet<string>(StringComparer.Ordinal);
        foreach (var property in element.EnumerateObject())
        {
            if (!names.Add(property.Name))
            {
                throw new EngagementValidationException(At(path, property.Name), Shown(property.Value), "a property may appear only once");
            }
        }

        return new JsonObjectReader(element, path);
    }

    /// <summary>The path of a property of this object.</summary>
    public string PathOf(string name) => At(Path, name);

    /// <summary>The path of a property of an object at <paramref name="path"/>.</summary>
    public static string At(string path, string name)
        => IsPlain(name) ? path + "." + name : path + "['" + name.Replace("'", "\\'", StringComparison.Ordinal) + "']";

    /// <summary>Whether the object has the property (it counts as read).</summary>
    public bool Has(string name)
    {
        if (_element.TryGetProperty(name, out _))
        {
            _read.Add(name);
            return true;
        }

        return false;
    }

    /// <summary>The property, if present.</summary>
    public JsonElement? Optional(string name)
    {
        if (_element.TryGetProperty(name, out var value) && value.ValueKind != JsonValueKind.Null)
        {
            _read.Add(name);
            return value;
        }

        if (_element.TryGetProperty(name, out _))
        {
            _read.Add(name);
        }

        return null;
    }

    /// <summary>The property, which must be present and not null.</summary>
    public JsonElement Require(string name)
        => Optional(name) ?? throw new EngagementValidationException(PathOf(name), null, "is required");

    /// <summary>A text property, which must be present.</summary>
    public string RequireString(string name) => OptionalString(name) ?? throw new EngagementValidationException(PathOf(name), null, "is required");

    /// <summary>A text property, if present.</summary>
    public string? OptionalString(string name)
    {
        if (Optional(name) is not { } value)
        {
            return null;
        }

        return value.ValueKind == JsonValueKind.String ? value.GetString() : throw new EngagementValidationException(PathOf(name), Shown(value), "must be a JSON string");
    }

    /// <summary>A whole-number property, if present.</summary>
    public int? OptionalInt(string name)
    {
        if (Optional(name) is not { } value)
        {
            return null;
        }

        return value.ValueKind == JsonValueKind.Number && value.TryGetInt32(out var number)
            ? number
            : throw new EngagementValidationException(PathOf(name), Shown(value), "must be a whole number");
    }

    /// <summary>A number property, if present.</summary>
    public decimal? OptionalDecimal(string name)
    {
        if (Optional(name) is not { } value)
        {
            return null;
        }

        return ReadDecimal(value, PathOf(name));
    }

    /// <summary>A boolean property, if present.</summary>
    public bool? OptionalBool(string name)
    {
        if (Optional(name) is not { } value)
        {
            return null;
        }

        return value.ValueKind switch
        {
            JsonValueKind.True => true,
            JsonValueKind.False => false,
            _ => throw new EngagementValidationException(PathOf(name), Shown(value), "must be true or false"),
        };
    }

    /// <summary>A duration property (ISO 8601 text), if present.</summary>
    public TimeSpan? OptionalDuration(string name)
        => OptionalString(name) is { } text ? IsoDuration.Parse(text, PathOf(name)) : null;

    /// <summary>A property holding one text or an array of texts.</summary>
    public List<string>? OptionalStrings(string name)
    {
        if (Optional(name) is not { } value)
        {
            return null;
        }

        return ReadStrings(value, PathOf(name));
    }

    /// <summary>Rejects any property that was not read.</summary>
    public void Done()
    {
        foreach (var property in _element.EnumerateObject())
        {
            if (!_read.Contains(property.Name))
            {
                throw new EngagementValidationException(PathOf(property.Name), Shown(property.Value), "is not a known property here");
            }
        }
    }

    /// <summary>One text or an array of texts.</summary>
    public static List<string> ReadStrings(JsonElement value, string path)
    {
        var list = new List<string>();
        if (value.ValueKind == JsonValueKind.String)
        {
            list.Add(value.GetString()!);
            return list;
        }

        if (value.ValueKind != JsonValueKind.Array)
        {
            throw new EngagementValidationException(path, Shown(value), "must be a JSON string or an array of strings");
        }

        var i = 0;
        foreach (var item in value.EnumerateArray())
        {
            list.Add(item.ValueKind == JsonValueKind.String ? item.GetString()! : throw new EngagementValidationException($"{path}[{i}]", Shown(item), "must be a JSON string"));
            i++;
        }

        return list;
    }

    /// <summary>A JSON number as a decimal.</summary>
    public static decimal ReadDecimal(JsonElement value, string path)
        => value.ValueKind == JsonValueKind.Number && value.TryGetDecimal(out var number)
            ? number
            : throw new EngagementValidationException(path, Shown(value), "must be a number");

    /// <summary>The array at <paramref name="path"/>.</summary>
    public static JsonElement RequireArray(JsonElement value, string path)
        => value.ValueKind == JsonValueKind.Array ? value : throw new EngagementValidationException(path, Shown(value), "must be a JSON array");

    /// <summary>A JSON value as shown in an error.</summary>
    public static string Shown(JsonElement value) => value.ValueKind switch
    {
        JsonValueKind.String => value.GetString()!,
        JsonValueKind.Undefined => string.Empty,
        _ => value.GetRawText(),
    };

    /// <summary>Parses a definition's JSON text with the strict options (no comments, no trailing commas, bounded depth).</summary>
    public static JsonDocument Parse(string json)
    {
        ArgumentNullException.ThrowIfNull(json);
        try
        {
            return JsonDocument.Parse(json, new JsonDocumentOptions { MaxDepth = 64, CommentHandling = JsonCommentHandling.Disallow, AllowTrailingCommas = false });
        }
        catch (JsonException ex)
        {
            throw new EngagementValidationException("$", ex.Path ?? $"line {ex.LineNumber + 1}, byte {ex.BytePositionInLine}", "must be well-formed JSON (" + ex.Message + ")");
        }
    }

    private static bool IsPlain(string name)
    {
        if (name.Length == 0)
        {
            return false;
        }

        foreach (var c in name)
        {
            if (!(char.IsAsciiLetterOrDigit(c) || c is '_' or '-'))
            {
                return false;
            }
        }

        return true;
    }
}
