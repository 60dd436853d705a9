using System.Collections.Concurrent;

namespace Engagement.Sdk.Storage;

/// <summary>
/// The shared shape of the in-memory stores: items by their unique id, and each customer's item ids in the order they were
/// added. Thread-safe.
/// </summary>
/// <typeparam name="T">The item type.</typeparam>
internal sealed class CustomerIndex<T>
    where T : class
{
    private readonly ConcurrentDictionary<string, T> _byId = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<CustomerId, List<string>> _byCustomer = new();

    /// <summary>All items, in no particular order.</summary>
    public ICollection<T> All => _byId.Values;

    /// <summary>Adds an item unless its id is taken; returns the stored item either way.</summary>
    public bool TryAdd(string id, CustomerId customer, T item, out T stored)
    {
        if (!_byId.TryAdd(id, item))
        {
            stored = _byId[id];
            return false;
        }

        var ids = _byCustomer.GetOrAdd(customer, static _ => []);
        lock (ids)
        {
            ids.Add(id);
        }

        stored = item;
        return true;
    }

    /// <summary>Finds an item by id.</summary>
    public bool TryGet(string id, out T item) => _byId.TryGetValue(id, out item!);

    /// <summary>Replaces a stored item (for records whose state moves on, such as dispatches).</summary>
    public void Replace(string id, T item) => _byId[id] = item;

    /// <summary>Replaces the item stored under <paramref name="id"/> with <paramref name="item"/> if it is still <paramref name="expected"/>.</summary>
    public bool TryReplace(string id, T expected, T item) => _byId.TryUpdate(id, item, expected);

    /// <summary>One customer's items, in the order they were added.</summary>
    public T[] ForCustomer(CustomerId customer)
    {
        if (!_byCustomer.TryGetValue(customer, out var ids))
        {
            return [];
        }

        string[] snapshot;
        lock (ids)
        {
            snapshot = [.. ids];
        }

        var items = new List<T>(snapshot.Length);
        foreach (var id in snapshot)
        {
            if (_byId.TryGetValue(id, out var item))
            {
                items.Add(item);
            }
        }

        return [.. items];
    }

    /// <summary>Removes one customer's items; returns how many.</summary>
    public int RemoveWhere(Func<T, bool> predicate)
    {
        var removed = 0;
        foreach (var (customer, ids) in _byCustomer)
        {
            lock (ids)
            {
                removed += ids.RemoveAll(id => _byId.TryGetValue(id, out var item) && predicate(item) && _byId.TryRemove(id, out _));
                if (ids.Count == 0)
                {
                    _byCustomer.TryRemove(new KeyValuePair<CustomerId, List<string>>(customer, ids));
                }
            }
        }

        return removed;
    }

    public int Erase(CustomerId customer)
    {
        if (!_byCustomer.TryRemove(customer, out var ids))
        {
            return 0;
        }

        lock (ids)
        {
            foreach (var id in ids)
            {
                _byId.TryRemove(id, out _);
            }

            return ids.Count;
        }
    }
}
