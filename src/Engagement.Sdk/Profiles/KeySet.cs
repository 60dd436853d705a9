using System.Collections;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace Engagement.Sdk.Profiles;

/// <summary>
/// An immutable set of strings (ordinal comparison) kept as one sorted array: a reference per item, where a hash set or
/// tree keeps an object per item. Made for the small sets of a profile (products viewed, bought, in the cart); each change
/// copies the array, so it suits sets of up to a few thousand items. The empty set allocates nothing. Two sets are equal
/// when they hold the same items. Enumerates in ordinal order; serialized as a JSON array of strings.
/// </summary>
[JsonConverter(typeof(KeySetJsonConverter))]
[System.Runtime.CompilerServices.CollectionBuilder(typeof(KeySet), nameof(Create))]
public readonly struct KeySet : IReadOnlyCollection<string>, IEquatable<KeySet>
{
    private readonly string[]? _items; // sorted (ordinal), distinct; null when empty

    private KeySet(string[]? items) => _items = items is { Length: > 0 } ? items : null;

    /// <summary>The empty set.</summary>
    public static KeySet Empty => default;

    /// <summary>The number of items.</summary>
    public int Count => _items?.Length ?? 0;

    /// <summary>Whether the set is empty.</summary>
    public bool IsEmpty => _items is null;

    /// <summary>Whether two sets hold the same items.</summary>
    /// <param name="left">One set.</param>
    /// <param name="right">The other.</param>
    /// <returns>Whether they are equal.</returns>
    public static bool operator ==(KeySet left, KeySet right) => left.Equals(right);

    /// <summary>Whether two sets differ.</summary>
    /// <param name="left">One set.</param>
    /// <param name="right">The other.</param>
    /// <returns>Whether they differ.</returns>
    public static bool operator !=(KeySet left, KeySet right) => !left.Equals(right);

    /// <summary>A set of the given items (duplicates collapse).</summary>
    /// <param name="items">The items; none may be <see langword="null"/>.</param>
    /// <returns>The set.</returns>
    public static KeySet Create(IEnumerable<string> items)
    {
        ArgumentNullException.ThrowIfNull(items);
        return FromOwnedArray(items.ToArray());
    }

    /// <summary>A set of the given items (duplicates collapse); also what a collection expression such as <c>["p1", "p2"]</c> calls.</summary>
    /// <param name="items">The items; none may be <see langword="null"/>.</param>
    /// <returns>The set.</returns>
    public static KeySet Create(ReadOnlySpan<string> items) => FromOwnedArray(items.ToArray());

    // Sorts and de-duplicates an array no one else holds, and keeps it.
    private static KeySet FromOwnedArray(string[] array)
    {
        foreach (var item in array)
        {
            ArgumentNullException.ThrowIfNull(item, "items");
        }

        Array.Sort(array, StringComparer.Ordinal);
        var distinct = 0;
        for (var i = 0; i < array.Length; i++)
        {
            if (distinct == 0 || !string.Equals(array[distinct - 1], array[i], StringComparison.Ordinal))
            {
                array[distinct++] = array[i];
            }
        }

        return new KeySet(distinct == array.Length ? array : array[..distinct]);
    }

    /// <summary>Whether the set holds <paramref name="item"/>.</summary>
    /// <param name="item">The item.</param>
    /// <returns>Whether it is in the set.</returns>
    public bool Contains(string item) => item is not null && IndexOf(item) >= 0;

    /// <summary>The set with <paramref name="item"/> added (this set when it is already there).</summary>
    /// <param name="item">The item.</param>
    /// <returns>The new set.</returns>
    public KeySet Add(string item)
    {
        ArgumentNullException.ThrowIfNull(item);
        var at = IndexOf(item);
        if (at >= 0)
        {
            return this;
        }

        at = ~at;
        var items = _items ?? [];
        var added = new string[items.Length + 1];
        items.AsSpan(0, at).CopyTo(added);
        added[at] = item;
        items.AsSpan(at).CopyTo(added.AsSpan(at + 1));
        return new KeySet(added);
    }

    /// <summary>The set without <paramref name="item"/> (this set when it is not there).</summary>
    /// <param name="item">The item.</param>
    /// <returns>The new set.</returns>
    public KeySet Remove(string item)
    {
        var at = item is null ? -1 : IndexOf(item);
        if (at < 0)
        {
            return this;
        }

        var items = _items!;
        var removed = new string[items.Length - 1];
        items.AsSpan(0, at).CopyTo(removed);
        items.AsSpan(at + 1).CopyTo(removed.AsSpan(at));
        return new KeySet(removed);
    }

    /// <summary>The items of both sets.</summary>
    /// <param name="other">The other set.</param>
    /// <returns>The union.</returns>
    public KeySet Union(KeySet other)
    {
        if (other.IsEmpty)
        {
            return this;
        }

        if (IsEmpty)
        {
            return other;
        }

        var (a, b) = (_items!, other._items!);
        var merged = new string[a.Length + b.Length];
        int i = 0, j = 0, n = 0;
        while (i < a.Length || j < b.Length)
        {
            var order = i == a.Length ? 1 : j == b.Length ? -1 : string.CompareOrdinal(a[i], b[j]);
            merged[n++] = order <= 0 ? a[i] : b[j];
            i += order <= 0 ? 1 : 0;
            j += order >= 0 ? 1 : 0;
        }

        return n == a.Length ? this : new KeySet(n == merged.Length ? merged : merged[..n]);
    }

    /// <summary>An enumerator over the items in ordinal order (no allocation).</summary>
    /// <returns>The enumerator.</returns>
    public ArraySegment<string>.Enumerator GetEnumerator() => new ArraySegment<string>(_items ?? []).GetEnumerator();

    IEnumerator<string> IEnumerable<string>.GetEnumerator() => ((IEnumerable<string>)(_items ?? [])).GetEnumerator();

    IEnumerator IEnumerable.GetEnumerator() => (_items ?? []).GetEnumerator();

    /// <inheritdoc/>
    public bool Equals(KeySet other) => (_items ?? []).AsSpan().SequenceEqual(other._items ?? []);

    /// <inheritdoc/>
    public override bool Equals(object? obj) => obj is KeySet other && Equals(other);

    /// <inheritdoc/>
    public override int GetHashCode()
    {
        var hash = default(HashCode);
        foreach (var item in _items ?? [])
        {
            hash.Add(item, StringComparer.Ordinal);
        }

        return hash.ToHashCode();
    }

    /// <inheritdoc/>
    public override string ToString() => "[" + string.Join(", ", _items ?? []) + "]";

    // The span search with a struct comparand is specialised and inlined (the array search with a comparer object calls it
    // through an interface for every step).
    private int IndexOf(string item) => _items is null ? ~0 : _items.AsSpan().BinarySearch(new OrdinalKey(item));
}

/// <summary>Reads and writes a <see cref="KeySet"/> as a JSON array of strings.</summary>
public sealed class KeySetJsonConverter : JsonConverter<KeySet>
{
    /// <inheritdoc/>
    public override KeySet Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
    {
        if (reader.TokenType != JsonTokenType.StartArray)
        {
            throw new JsonException("A set of strings must be a JSON array.");
        }

        var items = new List<string>();
        while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
        {
            items.Add(reader.TokenType == JsonTokenType.String ? reader.GetString()! : throw new JsonException("A set of strings may hold only strings."));
        }

        return KeySet.Create(items);
    }

    /// <inheritdoc/>
    public override void Write(Utf8JsonWriter writer, KeySet value, JsonSerializerOptions options)
    {
        ArgumentNullException.ThrowIfNull(writer);
        writer.WriteStartArray();
        foreach (var item in value)
        {
            writer.WriteStringValue(item);
        }

        writer.WriteEndArray();
    }
}

/// <summary>A key to find in a sorted span of strings, compared in ordinal order (for the span's binary search).</summary>
/// <param name="key">The key.</param>
internal readonly struct OrdinalKey(string key) : IComparable<string>
{
    /// <inheritdoc />
    public int CompareTo(string? other) => string.CompareOrdinal(key, other);
}
