using System.Collections;
using System.Diagnostics.CodeAnalysis;
using System.Text.Json;
using System.Text.Json.Serialization;
using System.Text.Json.Serialization.Metadata;

namespace Engagement.Sdk.Profiles;

/// <summary>
/// An immutable map from strings (ordinal comparison) to values, kept as one array of entries sorted by key: one entry per
/// key, where a hash map or tree keeps an object per key (and a map of one key as that entry alone, 8 bytes less than an
/// array of one). Made for the small maps of a profile (views per category, what is left to refund of each order); each
/// change copies the array, so it suits maps of up to a few thousand keys. The empty map allocates nothing. Two maps are
/// equal when they hold the same keys with equal values. Enumerates in ordinal key order; serialized as a JSON object.
/// </summary>
/// <typeparam name="TValue">The value type.</typeparam>
public readonly struct KeyedValues<TValue> : IReadOnlyDictionary<string, TValue>, IEquatable<KeyedValues<TValue>>
{
    // null when empty; a One for a single entry; else an array of two or more entries sorted by key (ordinal), distinct keys.
    private readonly object? _entries;

    private KeyedValues(KeyValuePair<string, TValue>[] entries)
        => _entries = entries.Length switch
        {
            0 => null,
            1 => new One(entries[0]),
            _ => entries,
        };

    private KeyedValues(One entry) => _entries = entry;

    /// <summary>The empty map.</summary>
    public static KeyedValues<TValue> Empty => default;

    /// <summary>The number of keys.</summary>
    public int Count => _entries switch
    {
        null => 0,
        One => 1,
        _ => ((KeyValuePair<string, TValue>[])_entries).Length,
    };

    /// <summary>Whether the map is empty.</summary>
    public bool IsEmpty => _entries is null;

    /// <summary>The keys, in ordinal order.</summary>
    public IEnumerable<string> Keys => this.Select(e => e.Key);

    /// <summary>The values, in the order of their keys.</summary>
    public IEnumerable<TValue> Values => this.Select(e => e.Value);

    // The entries in key order, whatever their form.
    private ReadOnlySpan<KeyValuePair<string, TValue>> Entries => _entries switch
    {
        null => default,
        One one => new ReadOnlySpan<KeyValuePair<string, TValue>>(in one.Entry),
        _ => (KeyValuePair<string, TValue>[])_entries,
    };

    /// <summary>The value of <paramref name="key"/>.</summary>
    /// <param name="key">The key.</param>
    /// <returns>The value.</returns>
    /// <exception cref="KeyNotFoundException">The key is not in the map.</exception>
    public TValue this[string key] => TryGetValue(key, out var value) ? value : throw new KeyNotFoundException($"The key '{key}' is not in the map.");

    /// <summary>Whether two maps hold the same entries.</summary>
    /// <param name="left">One map.</param>
    /// <param name="right">The other.</param>
    /// <returns>Whether they are equal.</returns>
    public static bool operator ==(KeyedValues<TValue> left, KeyedValues<TValue> right) => left.Equals(right);

    /// <summary>Whether two maps differ.</summary>
    /// <param name="left">One map.</param>
    /// <param name="right">The other.</param>
    /// <returns>Whether they differ.</returns>
    public static bool operator !=(KeyedValues<TValue> left, KeyedValues<TValue> right) => !left.Equals(right);

    /// <summary>A map of the given entries.</summary>
    /// <param name="entries">The entries; keys must not be <see langword="null"/> or repeated.</param>
    /// <returns>The map.</returns>
    /// <exception cref="ArgumentException">A key is repeated.</exception>
    public static KeyedValues<TValue> Create(IEnumerable<KeyValuePair<string, TValue>> entries)
    {
        ArgumentNullException.ThrowIfNull(entries);
        if (entries.TryGetNonEnumeratedCount(out var count) && count == 1)
        {
            // One entry (as most maps read from a document): kept as it is, without an array of one on the way.
            var only = entries.First();
            ArgumentNullException.ThrowIfNull(only.Key, nameof(entries));
            return new KeyedValues<TValue>(new One(only));
        }

        var array = entries.ToArray();
        foreach (var entry in array)
        {
            ArgumentNullException.ThrowIfNull(entry.Key, nameof(entries));
        }

        Array.Sort(array, static (x, y) => string.CompareOrdinal(x.Key, y.Key));
        for (var i = 1; i < array.Length; i++)
        {
            if (string.Equals(array[i - 1].Key, array[i].Key, StringComparison.Ordinal))
            {
                throw new ArgumentException($"The key '{array[i].Key}' is repeated.", nameof(entries));
            }
        }

        return new KeyedValues<TValue>(array);
    }

    /// <summary>Whether the map holds <paramref name="key"/>.</summary>
    /// <param name="key">The key.</param>
    /// <returns>Whether it is there.</returns>
    public bool ContainsKey(string key) => key is not null && IndexOf(key) >= 0;

    /// <summary>Gets the value of <paramref name="key"/>.</summary>
    /// <param name="key">The key.</param>
    /// <param name="value">The value, or the default when the key is not there.</param>
    /// <returns>Whether the key is there.</returns>
    public bool TryGetValue(string key, [MaybeNullWhen(false)] out TValue value)
    {
        var at = key is null ? -1 : IndexOf(key);
        value = at >= 0 ? Entries[at].Value : default;
        return at >= 0;
    }

    /// <summary>The value of <paramref name="key"/>, or <paramref name="fallback"/> when it is not there.</summary>
    /// <param name="key">The key.</param>
    /// <param name="fallback">The value to return otherwise.</param>
    /// <returns>The value.</returns>
    public TValue GetValueOrDefault(string key, TValue fallback) => TryGetValue(key, out var value) ? value : fallback;

    /// <summary>The map with <paramref name="key"/> set to <paramref name="value"/> (added or replaced).</summary>
    /// <param name="key">The key.</param>
    /// <param name="value">The value.</param>
    /// <returns>The new map.</returns>
    public KeyedValues<TValue> SetItem(string key, TValue value)
    {
        ArgumentNullException.ThrowIfNull(key);
        return SetFound(IndexOf(key), key, value);
    }

    /// <summary>Where <paramref name="key"/> is: its index, or the complement of the index it would be inserted at.</summary>
    internal int Find(string key) => IndexOf(key);

    /// <summary>The key at an index (0 to <see cref="Count"/> - 1, in ordinal order).</summary>
    internal string KeyAt(int index) => Entries[index].Key;

    /// <summary>The value at an index <see cref="Find"/> returned.</summary>
    internal TValue ValueAt(int index) => Entries[index].Value;

    /// <summary>As <see cref="SetItem"/>, with the key already found (<paramref name="at"/> from <see cref="Find"/>).</summary>
    internal KeyedValues<TValue> SetFound(int at, string key, TValue value)
    {
        var entries = Entries;
        if (entries.Length == (at >= 0 ? 1 : 0))
        {
            // A map of one key after the change: the entry alone.
            return new KeyedValues<TValue>(new One(new(at >= 0 ? entries[0].Key : key, value)));
        }

        if (at >= 0)
        {
            // A new array and a copy, not Clone(): cloning takes the runtime's slow allocation path.
            var replaced = new KeyValuePair<string, TValue>[entries.Length];
            entries.CopyTo(replaced);
            replaced[at] = new(entries[at].Key, value);
            return new KeyedValues<TValue>(replaced);
        }

        at = ~at;
        var added = new KeyValuePair<string, TValue>[entries.Length + 1];
        entries[..at].CopyTo(added);
        added[at] = new(key, value);
        entries[at..].CopyTo(added.AsSpan(at + 1));
        return new KeyedValues<TValue>(added);
    }

    /// <summary>The map without <paramref name="key"/> (this map when it is not there).</summary>
    /// <param name="key">The key.</param>
    /// <returns>The new map.</returns>
    public KeyedValues<TValue> Remove(string key)
    {
        var at = key is null ? -1 : IndexOf(key);
        if (at < 0)
        {
            return this;
        }

        var entries = Entries;
        var removed = new KeyValuePair<string, TValue>[entries.Length - 1];
        entries[..at].CopyTo(removed);
        entries[(at + 1)..].CopyTo(removed.AsSpan(at));
        return new KeyedValues<TValue>(removed);
    }

    /// <summary>
    /// Both maps' entries; where both hold a key, <paramref name="combine"/> decides its value (called with this map's
    /// value first).
    /// </summary>
    /// <param name="other">The other map.</param>
    /// <param name="combine">Combines two values of one key.</param>
    /// <returns>The combined map.</returns>
    public KeyedValues<TValue> Combine(KeyedValues<TValue> other, Func<TValue, TValue, TValue> combine)
    {
        ArgumentNullException.ThrowIfNull(combine);
        if (other.IsEmpty)
        {
            return this;
        }

        if (IsEmpty)
        {
            return other;
        }

        var a = Entries;
        var b = other.Entries;
        var merged = new KeyValuePair<string, TValue>[a.Length + b.Length];
        int i = 0, j = 0, n = 0;
        while (i < a.Length || j < b.Length)
        {
            var order = i == a.Length ? 1 : j == b.Length ? -1 : string.CompareOrdinal(a[i].Key, b[j].Key);
            merged[n++] = order < 0 ? a[i] : order > 0 ? b[j] : new(a[i].Key, combine(a[i].Value, b[j].Value));
            i += order <= 0 ? 1 : 0;
            j += order >= 0 ? 1 : 0;
        }

        return new KeyedValues<TValue>(n == merged.Length ? merged : merged[..n]);
    }

    /// <summary>An enumerator over the entries in ordinal key order (no allocation).</summary>
    /// <returns>The enumerator.</returns>
    public Enumerator GetEnumerator() => new(_entries);

    IEnumerator<KeyValuePair<string, TValue>> IEnumerable<KeyValuePair<string, TValue>>.GetEnumerator() => GetEnumerator();

    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();

    /// <inheritdoc/>
    public bool Equals(KeyedValues<TValue> other)
    {
        var a = Entries;
        var b = other.Entries;
        if (a.Length != b.Length)
        {
            return false;
        }

        for (var i = 0; i < a.Length; i++)
        {
            if (!string.Equals(a[i].Key, b[i].Key, StringComparison.Ordinal) || !EqualityComparer<TValue>.Default.Equals(a[i].Value, b[i].Value))
            {
                return false;
            }
        }

        return true;
    }

    /// <inheritdoc/>
    public override bool Equals(object? obj) => obj is KeyedValues<TValue> other && Equals(other);

    /// <inheritdoc/>
    public override int GetHashCode()
    {
        var hash = default(HashCode);
        foreach (var (key, value) in Entries)
        {
            hash.Add(key, StringComparer.Ordinal);
            hash.Add(value);
        }

        return hash.ToHashCode();
    }

    /// <inheritdoc/>
    public override string ToString() => "{" + string.Join(", ", this.Select(e => $"{e.Key}: {e.Value}")) + "}";

    private int IndexOf(string key) => _entries switch
    {
        null => ~0,
        One one => string.CompareOrdinal(key, one.Entry.Key) is var order && order == 0 ? 0 : order < 0 ? ~0 : ~1,
        _ => ((KeyValuePair<string, TValue>[])_entries).AsSpan().BinarySearch(new EntryKey(key)),
    };

    /// <summary>Enumerates a <see cref="KeyedValues{TValue}"/> in ordinal key order.</summary>
    public struct Enumerator : IEnumerator<KeyValuePair<string, TValue>>
    {
        private readonly object? _entries;
        private int _index;

        internal Enumerator(object? entries)
        {
            _entries = entries;
            _index = -1;
        }

        /// <summary>The current entry.</summary>
        public readonly KeyValuePair<string, TValue> Current => _entries is One one ? one.Entry : ((KeyValuePair<string, TValue>[])_entries!)[_index];

        readonly object IEnumerator.Current => Current;

        /// <summary>Moves to the next entry.</summary>
        /// <returns>Whether there is one.</returns>
        public bool MoveNext() => _entries switch
        {
            null => false,
            One => ++_index == 0,
            _ => ++_index < ((KeyValuePair<string, TValue>[])_entries).Length,
        };

        /// <summary>Starts again.</summary>
        public void Reset() => _index = -1;

        /// <summary>Does nothing: the enumerator holds no resources.</summary>
        public readonly void Dispose()
        {
        }
    }

    // A map of one key: the entry, in an object of its own.
    private sealed class One(KeyValuePair<string, TValue> entry)
    {
        public readonly KeyValuePair<string, TValue> Entry = entry;
    }

    // Orders a key against an entry by the entry's key, in ordinal order.
    private readonly struct EntryKey(string key) : IComparable<KeyValuePair<string, TValue>>
    {
        public int CompareTo(KeyValuePair<string, TValue> other) => string.CompareOrdinal(key, other.Key);
    }
}

/// <summary>
/// Reads and writes a <see cref="KeyedValues{TValue}"/> as a JSON object (key → value), the values through the options'
/// metadata for <typeparamref name="TValue"/> (so it works with source-generated contexts). A repeated key is an error.
/// </summary>
/// <typeparam name="TValue">The value type.</typeparam>
public sealed class KeyedValuesJsonConverter<TValue> : JsonConverter<KeyedValues<TValue>>
{
    /// <inheritdoc/>
    public override KeyedValues<TValue> Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (reader.TokenType != JsonTokenType.StartObject)
        {
            throw new JsonException("A map must be a JSON object.");
        }

        var valueInfo = (JsonTypeInfo<TValue>)options.GetTypeInfo(typeof(TValue));
        var entries = new List<KeyValuePair<string, TValue>>();
        var keys = new HashSet<string>(StringComparer.Ordinal);
        while (reader.Read() && reader.TokenType != JsonTokenType.EndObject)
        {
            var key = reader.GetString()!;
            if (!keys.Add(key))
            {
                throw new JsonException($"The key '{key}' is repeated.");
            }

            reader.Read();
            var value = JsonSerializer.Deserialize(ref reader, valueInfo);
            entries.Add(new(key, value!));
        }

        return KeyedValues<TValue>.Create(entries);
    }

    /// <inheritdoc/>
    public override void Write(Utf8JsonWriter writer, KeyedValues<TValue> value, JsonSerializerOptions options)
    {
        ArgumentNullException.ThrowIfNull(writer);
        ArgumentNullException.ThrowIfNull(options);
        var valueInfo = (JsonTypeInfo<TValue>)options.GetTypeInfo(typeof(TValue));
        writer.WriteStartObject();
        foreach (var (key, item) in value)
        {
            writer.WritePropertyName(key);
            JsonSerializer.Serialize(writer, item, valueInfo);
        }

        writer.WriteEndObject();
    }
}
