using System.Collections;
using System.Collections.Immutable;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace Engagement.Sdk.Profiles;

/// <summary>
/// An immutable set of strings (ordinal comparison), sized for the small sets of a profile (products viewed, bought, in the
/// cart): one item is kept as the string itself, a few as one sorted array (a reference per item, where a hash set or tree
/// keeps an object per item), and more than 256 as a balanced tree (an immutable sorted set), so that adding to a large set (a
/// bot that views a whole catalogue) costs O(log n) rather than a copy of the set. The empty set allocates nothing. Two
/// sets are equal when they hold the same items. Enumerates in ordinal order; serialized as a JSON array of strings.
/// </summary>
[JsonConverter(typeof(KeySetJsonConverter))]
[System.Runtime.CompilerServices.CollectionBuilder(typeof(KeySet), nameof(Create))]
public readonly struct KeySet : IReadOnlyCollection<string>, IEquatable<KeySet>
{
    // The most items kept in one sorted array; a larger set is kept as a tree (and goes back to an array at half of it).
    internal const int ArrayLimit = 256;

    // null when empty; the item itself when there is one; a sorted array of distinct items (2 to ArrayLimit); or a tree.
    private readonly object? _items;

    private KeySet(object? items) => _items = items;

    /// <summary>The empty set.</summary>
    public static KeySet Empty => default;

    /// <summary>The number of items.</summary>
    public int Count => _items switch
    {
        null => 0,
        string => 1,
        string[] array => array.Length,
        _ => ((ImmutableSortedSet<string>)_items).Count,
    };

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

    // Sorts and de-duplicates an array no one else holds, and keeps it in the form its size calls for.
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

        return FromSorted(distinct == array.Length ? array : array[..distinct]);
    }

    /// <summary>The keys of a map, as a set (no allocation for a map of one key).</summary>
    internal static KeySet FromKeys<TValue>(KeyedValues<TValue> map)
    {
        switch (map.Count)
        {
            case 0:
                return default;
            case 1:
                return new KeySet(map.KeyAt(0));
            default:
                var keys = new string[map.Count];
                for (var i = 0; i < keys.Length; i++)
                {
                    keys[i] = map.KeyAt(i);
                }

                return FromSorted(keys);
        }
    }

    /// <summary>This set without the keys of <paramref name="map"/> (this set when it holds none of them).</summary>
    internal KeySet ExceptKeys<TValue>(KeyedValues<TValue> map)
    {
        if (IsEmpty || map.IsEmpty)
        {
            return this;
        }

        var count = 0;
        foreach (var item in this)
        {
            count += map.ContainsKey(item) ? 0 : 1;
        }

        if (count == Count || count == 0)
        {
            return count == 0 ? default : this;
        }

        var kept = new string[count];
        var n = 0;
        foreach (var item in this)
        {
            if (!map.ContainsKey(item))
            {
                kept[n++] = item;
            }
        }

        return FromSorted(kept);
    }

    // A sorted array of distinct items, kept in the form its size calls for.
    private static KeySet FromSorted(string[] sorted) => sorted.Length switch
    {
        0 => default,
        1 => new KeySet(sorted[0]),
        <= ArrayLimit => new KeySet(sorted),
        _ => new KeySet(ImmutableSortedSet.Create(StringComparer.Ordinal, sorted)),
    };

    /// <summary>Whether the set holds <paramref name="item"/>.</summary>
    /// <param name="item">The item.</param>
    /// <returns>Whether it is in the set.</returns>
    public bool Contains(string item) => item is not null && _items switch
    {
        null => false,
        string one => string.Equals(one, item, StringComparison.Ordinal),
        string[] array => array.AsSpan().BinarySearch(new OrdinalKey(item)) >= 0,
        _ => ((ImmutableSortedSet<string>)_items).Contains(item),
    };

    /// <summary>The set with <paramref name="item"/> added (this set when it is already there).</summary>
    /// <param name="item">The item.</param>
    /// <returns>The new set.</returns>
    public KeySet Add(string item)
    {
        ArgumentNullException.ThrowIfNull(item);
        switch (_items)
        {
            case null:
                return new KeySet(item);
            case string one:
                var order = string.CompareOrdinal(one, item);
                return order == 0 ? this : new KeySet(order < 0 ? new[] { one, item } : new[] { item, one });
            case string[] items:
                var at = items.AsSpan().BinarySearch(new OrdinalKey(item));
                if (at >= 0)
                {
                    return this;
                }

                if (items.Length == ArrayLimit)
                {
                    return new KeySet(ImmutableSortedSet.Create(StringComparer.Ordinal, items).Add(item));
                }

                at = ~at;
                var added = new string[items.Length + 1];
                items.AsSpan(0, at).CopyTo(added);
                added[at] = item;
                items.AsSpan(at).CopyTo(added.AsSpan(at + 1));
                return new KeySet(added);
            default:
                var tree = (ImmutableSortedSet<string>)_items;
                var grown = tree.Add(item);
                return ReferenceEquals(grown, tree) ? this : new KeySet(grown);
        }
    }

    /// <summary>The set without <paramref name="item"/> (this set when it is not there).</summary>
    /// <param name="item">The item.</param>
    /// <returns>The new set.</returns>
    public KeySet Remove(string item)
    {
        if (item is null)
        {
            return this;
        }

        switch (_items)
        {
            case null:
                return this;
            case string one:
                return string.Equals(one, item, StringComparison.Ordinal) ? default : this;
            case string[] items:
                var at = items.AsSpan().BinarySearch(new OrdinalKey(item));
                if (at < 0)
                {
                    return this;
                }

                if (items.Length == 2)
                {
                    return new KeySet(items[1 - at]);
                }

                var removed = new string[items.Length - 1];
                items.AsSpan(0, at).CopyTo(removed);
                items.AsSpan(at + 1).CopyTo(removed.AsSpan(at));
                return new KeySet(removed);
            default:
                var tree = (ImmutableSortedSet<string>)_items;
                var shrunk = tree.Remove(item);
                return ReferenceEquals(shrunk, tree) ? this : shrunk.Count <= ArrayLimit / 2 ? FromSorted([.. shrunk]) : new KeySet(shrunk);
        }
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

        if (_items is ImmutableSortedSet<string> || other._items is ImmutableSortedSet<string>)
        {
            var (large, small) = Count >= other.Count ? (this, other) : (other, this);
            var union = large._items is ImmutableSortedSet<string> tree ? tree : ImmutableSortedSet.Create(StringComparer.Ordinal, [.. large]);
            foreach (var item in small)
            {
                union = union.Add(item);
            }

            return union.Count == Count ? this : new KeySet(union);
        }

        var (a, b) = (ToArray(), other.ToArray());
        var merged = new string[a.Length + b.Length];
        int i = 0, j = 0, n = 0;
        while (i < a.Length || j < b.Length)
        {
            var order = i == a.Length ? 1 : j == b.Length ? -1 : string.CompareOrdinal(a[i], b[j]);
            merged[n++] = order <= 0 ? a[i] : b[j];
            i += order <= 0 ? 1 : 0;
            j += order >= 0 ? 1 : 0;
        }

        return n == a.Length ? this : FromSorted(n == merged.Length ? merged : merged[..n]);
    }

    /// <summary>An enumerator over the items in ordinal order (no allocation for the array forms).</summary>
    /// <returns>The enumerator.</returns>
    public Enumerator GetEnumerator() => new(_items);

    IEnumerator<string> IEnumerable<string>.GetEnumerator() => GetEnumerator();

    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();

    /// <inheritdoc/>
    public bool Equals(KeySet other)
    {
        if (ReferenceEquals(_items, other._items))
        {
            return true;
        }

        if (Count != other.Count)
        {
            return false;
        }

        using var mine = GetEnumerator();
        using var theirs = other.GetEnumerator();
        while (mine.MoveNext() && theirs.MoveNext())
        {
            if (!string.Equals(mine.Current, theirs.Current, StringComparison.Ordinal))
            {
                return false;
            }
        }

        return true;
    }

    /// <inheritdoc/>
    public override bool Equals(object? obj) => obj is KeySet other && Equals(other);

    /// <inheritdoc/>
    public override int GetHashCode()
    {
        var hash = default(HashCode);
        foreach (var item in this)
        {
            hash.Add(item, StringComparer.Ordinal);
        }

        return hash.ToHashCode();
    }

    /// <inheritdoc/>
    public override string ToString() => "[" + string.Join(", ", this) + "]";

    // The items as a sorted array (the array itself for the array form).
    private string[] ToArray() => _items switch
    {
        null => [],
        string one => [one],
        string[] array => array,
        _ => [.. (ImmutableSortedSet<string>)_items],
    };

    /// <summary>Enumerates a <see cref="KeySet"/> in ordinal order.</summary>
    public struct Enumerator : IEnumerator<string>
    {
        private readonly object? _items;
        private ImmutableSortedSet<string>.Enumerator _tree;
        private int _index;

        internal Enumerator(object? items)
        {
            _items = items;
            _index = -1;
            _tree = items is ImmutableSortedSet<string> tree ? tree.GetEnumerator() : default;
        }

        /// <summary>The current item.</summary>
        public string Current => _items switch
        {
            string one => one,
            string[] array => array[_index],
            _ => _tree.Current,
        };

        object IEnumerator.Current => Current;

        /// <summary>Moves to the next item.</summary>
        /// <returns>Whether there is one.</returns>
        public bool MoveNext() => _items switch
        {
            null => false,
            string => ++_index == 0,
            string[] array => ++_index < array.Length,
            _ => _tree.MoveNext(),
        };

        /// <summary>Starts again.</summary>
        public void Reset()
        {
            _index = -1;
            if (_items is ImmutableSortedSet<string>)
            {
                _tree.Reset();
            }
        }

        /// <summary>Releases the tree enumerator's resources, if any.</summary>
        public void Dispose()
        {
            if (_items is ImmutableSortedSet<string>)
            {
                _tree.Dispose();
            }
        }
    }
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
