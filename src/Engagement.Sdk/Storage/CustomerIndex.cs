namespace Engagement.Sdk.Storage;

/// <summary>
/// The shared shape of the in-memory stores: items by their unique id, and each customer's items in the order they were
/// added. Thread-safe: everything under one lock.
/// </summary>
/// <remarks>
/// Items sit in chunks of 1,024 references, numbered by entry (a freed entry is reused), so that growing never copies them and
/// no chunk is large enough for the large object heap. The ids are found through an open-addressed table of 8-byte slots (the
/// id's 32-bit hash and the entry number), compared with the item's own id only where the hashes match, and each customer
/// keeps the entry numbers of their items: about 27 bytes an item, where a dictionary by id and a list of ids per customer
/// took about 54, and every doubling of the dictionary copied its 24-byte entries into a new array on the large object heap.
/// </remarks>
/// <typeparam name="T">The item type.</typeparam>
internal sealed class CustomerIndex<T>
    where T : class
{
    private const int ChunkShift = 10;
    private const int ChunkSize = 1 << ChunkShift;

    private readonly Lock _lock = new();
    private readonly Func<T, string> _idOf;
    private readonly Dictionary<CustomerId, List<int>> _byCustomer = [];
    private T?[][] _chunks = [];
    private int _used; // entries handed out so far (the freed ones among them are on _free)
    private int[] _free = [];
    private int _freeCount;
    private ulong[] _slots = new ulong[16]; // (uint)hash << 32 | (entry + 1); 0 for an empty slot
    private int _count;

    /// <summary>An empty index.</summary>
    /// <param name="idOf">An item's unique id (what <see cref="TryAdd"/> is given for it).</param>
    public CustomerIndex(Func<T, string> idOf) => _idOf = idOf;

    /// <summary>All items, in no particular order (a snapshot).</summary>
    public T[] All
    {
        get
        {
            lock (_lock)
            {
                var all = new T[_count];
                var n = 0;
                for (var entry = 0; entry < _used; entry++)
                {
                    if (At(entry) is { } item)
                    {
                        all[n++] = item;
                    }
                }

                return all;
            }
        }
    }

    /// <summary>Adds an item unless its id is taken; returns the stored item either way.</summary>
    public bool TryAdd(string id, CustomerId customer, T item, out T stored)
    {
        var hash = HashOf(id);
        lock (_lock)
        {
            var slot = FindSlot(id, hash);
            if (slot >= 0)
            {
                stored = At(EntryOf(_slots[slot]))!;
                return false;
            }

            var entry = NewEntry(item);
            Insert(hash, entry);
            if (!_byCustomer.TryGetValue(customer, out var entries))
            {
                _byCustomer[customer] = entries = [];
            }

            entries.Add(entry);
        }

        stored = item;
        return true;
    }

    /// <summary>Finds an item by id.</summary>
    public bool TryGet(string id, out T item)
    {
        var hash = HashOf(id);
        lock (_lock)
        {
            var slot = FindSlot(id, hash);
            item = slot >= 0 ? At(EntryOf(_slots[slot]))! : null!;
            return slot >= 0;
        }
    }

    /// <summary>Replaces a stored item (for records whose state moves on, such as dispatches); does nothing if the id is not stored.</summary>
    public void Replace(string id, T item)
    {
        var hash = HashOf(id);
        lock (_lock)
        {
            var slot = FindSlot(id, hash);
            if (slot >= 0)
            {
                SetAt(EntryOf(_slots[slot]), item);
            }
        }
    }

    /// <summary>Removes the item stored under <paramref name="id"/> if it is still <paramref name="expected"/> (the same instance).</summary>
    public bool TryRemove(string id, CustomerId customer, T expected)
    {
        var hash = HashOf(id);
        lock (_lock)
        {
            var slot = FindSlot(id, hash);
            if (slot < 0 || !ReferenceEquals(At(EntryOf(_slots[slot])), expected))
            {
                return false;
            }

            var entry = EntryOf(_slots[slot]);
            RemoveSlot(slot);
            FreeEntry(entry);
            if (_byCustomer.TryGetValue(customer, out var entries))
            {
                // Appends are undone newest first: the entry is at the end, or near it.
                var at = entries.LastIndexOf(entry);
                if (at >= 0)
                {
                    entries.RemoveAt(at);
                }

                if (entries.Count == 0)
                {
                    _byCustomer.Remove(customer);
                }
            }

            return true;
        }
    }

    /// <summary>One customer's items, in the order they were added.</summary>
    public T[] ForCustomer(CustomerId customer)
    {
        lock (_lock)
        {
            if (!_byCustomer.TryGetValue(customer, out var entries))
            {
                return [];
            }

            var items = new T[entries.Count];
            for (var i = 0; i < items.Length; i++)
            {
                items[i] = At(entries[i])!;
            }

            return items;
        }
    }

    /// <summary>Removes the items that match <paramref name="predicate"/>; returns how many.</summary>
    public int RemoveWhere(Func<T, bool> predicate)
    {
        lock (_lock)
        {
            var removed = 0;
            List<CustomerId>? emptied = null;
            foreach (var (customer, entries) in _byCustomer)
            {
                removed += entries.RemoveAll(entry => predicate(At(entry)!) && Remove(entry));
                if (entries.Count == 0)
                {
                    (emptied ??= []).Add(customer);
                }
            }

            foreach (var customer in emptied ?? [])
            {
                _byCustomer.Remove(customer);
            }

            return removed;
        }
    }

    /// <summary>Removes one customer's items; returns how many.</summary>
    public int Erase(CustomerId customer)
    {
        lock (_lock)
        {
            if (!_byCustomer.Remove(customer, out var entries))
            {
                return 0;
            }

            foreach (var entry in entries)
            {
                Remove(entry);
            }

            return entries.Count;
        }
    }

    private static uint HashOf(string id) => Slots.Spread(id.GetHashCode());

    private static int EntryOf(ulong slot) => (int)(uint)slot - 1;

    private T? At(int entry) => _chunks[entry >> ChunkShift][entry & (ChunkSize - 1)];

    private void SetAt(int entry, T? item) => _chunks[entry >> ChunkShift][entry & (ChunkSize - 1)] = item;

    // The slot holding `id`, or -1.
    private int FindSlot(string id, uint hash)
    {
        var length = _slots.Length;
        for (var i = Slots.Home(hash, length); _slots[i] != 0; i = Slots.Next(i, length))
        {
            if ((uint)(_slots[i] >> 32) == hash && string.Equals(_idOf(At(EntryOf(_slots[i]))!), id, StringComparison.Ordinal))
            {
                return i;
            }
        }

        return -1;
    }

    private int NewEntry(T item)
    {
        int entry;
        if (_freeCount > 0)
        {
            entry = _free[--_freeCount];
        }
        else
        {
            entry = _used++;
            var chunk = entry >> ChunkShift;
            if (chunk == _chunks.Length)
            {
                Array.Resize(ref _chunks, Math.Max(4, _chunks.Length * 2));
            }

            _chunks[chunk] ??= new T?[ChunkSize];
        }

        SetAt(entry, item);
        return entry;
    }

    private void FreeEntry(int entry)
    {
        SetAt(entry, null);
        if (_freeCount == _free.Length)
        {
            Array.Resize(ref _free, Math.Max(16, _free.Length * 2));
        }

        _free[_freeCount++] = entry;
    }

    private void Insert(uint hash, int entry)
    {
        if (Slots.Full(_count + 1, _slots.Length))
        {
            Grow();
        }

        var length = _slots.Length;
        var i = Slots.Home(hash, length);
        while (_slots[i] != 0)
        {
            i = Slots.Next(i, length);
        }

        _slots[i] = ((ulong)hash << 32) | (uint)(entry + 1);
        _count++;
    }

    // Removes the item of `entry` from the id table and frees the entry (the customer's list is the caller's).
    private bool Remove(int entry)
    {
        var hash = HashOf(_idOf(At(entry)!));
        var target = ((ulong)hash << 32) | (uint)(entry + 1);
        var length = _slots.Length;
        for (var i = Slots.Home(hash, length); _slots[i] != 0; i = Slots.Next(i, length))
        {
            if (_slots[i] == target)
            {
                RemoveSlot(i);
                break;
            }
        }

        FreeEntry(entry);
        return true;
    }

    private void RemoveSlot(int at)
    {
        _count--;
        Slots.RemoveHashed(_slots, at);
    }

    // Doubled (the profile tables grow by half): an index of events grows for as long as the process runs, and each larger
    // table past 85 KB is a new object on the large object heap.
    private void Grow() => _slots = Slots.Rehashed(_slots, _slots.Length * 2);
}
