namespace Engagement.Sdk.Storage;

/// <summary>
/// The shared shape of the in-memory stores: items by their unique id, and each customer's item ids in the order they were
/// added. Thread-safe: two plain dictionaries under one lock (a concurrent dictionary would keep a node object per item,
/// and the two maps could not change together).
/// </summary>
/// <typeparam name="T">The item type.</typeparam>
internal sealed class CustomerIndex<T>
    where T : class
{
    private readonly Lock _lock = new();
    private readonly Dictionary<string, T> _byId = new(StringComparer.Ordinal);
    private readonly Dictionary<CustomerId, List<string>> _byCustomer = [];

    /// <summary>All items, in no particular order (a snapshot).</summary>
    public T[] All
    {
        get
        {
            lock (_lock)
            {
                return [.. _byId.Values];
            }
        }
    }

    /// <summary>Adds an item unless its id is taken; returns the stored item either way.</summary>
    public bool TryAdd(string id, CustomerId customer, T item, out T stored)
    {
        lock (_lock)
        {
            if (!_byId.TryAdd(id, item))
            {
                stored = _byId[id];
                return false;
            }

            if (!_byCustomer.TryGetValue(customer, out var ids))
            {
                _byCustomer[customer] = ids = [];
            }

            ids.Add(id);
        }

        stored = item;
        return true;
    }

    /// <summary>Finds an item by id.</summary>
    public bool TryGet(string id, out T item)
    {
        lock (_lock)
        {
            return _byId.TryGetValue(id, out item!);
        }
    }

    /// <summary>Replaces a stored item (for records whose state moves on, such as dispatches).</summary>
    public void Replace(string id, T item)
    {
        lock (_lock)
        {
            _byId[id] = item;
        }
    }

    /// <summary>Replaces the item stored under <paramref name="id"/> with <paramref name="item"/> if it is still <paramref name="expected"/>.</summary>
    public bool TryReplace(string id, T expected, T item)
    {
        lock (_lock)
        {
            if (!_byId.TryGetValue(id, out var current) || !EqualityComparer<T>.Default.Equals(current, expected))
            {
                return false;
            }

            _byId[id] = item;
            return true;
        }
    }

    /// <summary>Removes the item stored under <paramref name="id"/> if it is still <paramref name="expected"/> (the same instance).</summary>
    public bool TryRemove(string id, CustomerId customer, T expected)
    {
        lock (_lock)
        {
            if (!_byId.TryGetValue(id, out var current) || !ReferenceEquals(current, expected))
            {
                return false;
            }

            _byId.Remove(id);
            if (_byCustomer.TryGetValue(customer, out var ids))
            {
                // Appends are undone newest first: the id is at the end, or near it.
                var at = ids.LastIndexOf(id);
                if (at >= 0)
                {
                    ids.RemoveAt(at);
                }

                if (ids.Count == 0)
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
            if (!_byCustomer.TryGetValue(customer, out var ids))
            {
                return [];
            }

            var items = new List<T>(ids.Count);
            foreach (var id in ids)
            {
                if (_byId.TryGetValue(id, out var item))
                {
                    items.Add(item);
                }
            }

            return [.. items];
        }
    }

    /// <summary>Removes the items that match <paramref name="predicate"/>; returns how many.</summary>
    public int RemoveWhere(Func<T, bool> predicate)
    {
        lock (_lock)
        {
            var removed = 0;
            List<CustomerId>? emptied = null;
            foreach (var (customer, ids) in _byCustomer)
            {
                removed += ids.RemoveAll(id => _byId.TryGetValue(id, out var item) && predicate(item) && _byId.Remove(id));
                if (ids.Count == 0)
                {
                    (emptied ??= []).Add(customer);
                }
            }

            if (emptied is not null)
            {
                foreach (var customer in emptied)
                {
                    _byCustomer.Remove(customer);
                }
            }

            return removed;
        }
    }

    /// <summary>Removes one customer's items; returns how many.</summary>
    public int Erase(CustomerId customer)
    {
        lock (_lock)
        {
            if (!_byCustomer.Remove(customer, out var ids))
            {
                return 0;
            }

            foreach (var id in ids)
            {
                _byId.Remove(id);
            }

            return ids.Count;
        }
    }
}
