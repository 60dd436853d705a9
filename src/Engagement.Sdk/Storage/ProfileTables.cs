using System.Numerics;
using Engagement.Sdk.Profiles;

namespace Engagement.Sdk.Storage;

/// <summary>
/// The in-memory profile store's table of profiles by customer id: open addressing with linear probing over one array of
/// profile references (8 bytes a slot, where a dictionary keeps a 24-byte entry and a 4-byte bucket), kept between 3/8 and
/// 3/4 full. Not thread-safe: the store calls it under its lock.
/// </summary>
internal sealed class ProfileTable
{
    private CustomerProfile?[] _slots = new CustomerProfile?[16];
    private int _count;

    public int Count => _count;

    /// <summary>The slot of <paramref name="id"/>, or the complement of the empty slot where it would go.</summary>
    public int Find(CustomerId id)
    {
        var mask = _slots.Length - 1;
        for (var i = Home(id, mask); ; i = (i + 1) & mask)
        {
            var profile = _slots[i];
            if (profile is null)
            {
                return ~i;
            }

            if (profile.Id == id)
            {
                return i;
            }
        }
    }

    public CustomerProfile? Get(CustomerId id)
    {
        var at = Find(id);
        return at >= 0 ? _slots[at] : null;
    }

    public CustomerProfile At(int slot) => _slots[slot]!;

    /// <summary>Replaces the profile in a slot <see cref="Find"/> returned (a found one).</summary>
    public void Replace(int slot, CustomerProfile profile) => _slots[slot] = profile;

    /// <summary>Adds a profile whose id is not in the table, at the complement <see cref="Find"/> returned (or anywhere, when -1).</summary>
    public void Add(int notFound, CustomerProfile profile)
    {
        if ((_count + 1) * 4 > _slots.Length * 3)
        {
            Grow();
            notFound = Find(profile.Id);
        }

        _slots[~notFound] = profile;
        _count++;
    }

    /// <summary>Removes the profile of <paramref name="id"/>; returns it, or <see langword="null"/>.</summary>
    public CustomerProfile? Remove(CustomerId id)
    {
        var at = Find(id);
        if (at < 0)
        {
            return null;
        }

        var removed = _slots[at];
        _count--;

        // Backward-shift deletion: later entries of the probe run move up into the hole, so no tombstones are needed.
        var mask = _slots.Length - 1;
        var hole = at;
        for (var i = (at + 1) & mask; _slots[i] is { } next; i = (i + 1) & mask)
        {
            var home = Home(next.Id, mask);
            if (((i - home) & mask) >= ((i - hole) & mask))
            {
                _slots[hole] = next;
                hole = i;
            }
        }

        _slots[hole] = null;
        return removed;
    }

    /// <summary>Every profile, in no particular order.</summary>
    public CustomerProfile[] ToArray()
    {
        var all = new CustomerProfile[_count];
        var n = 0;
        foreach (var profile in _slots)
        {
            if (profile is not null)
            {
                all[n++] = profile;
            }
        }

        return all;
    }

    private static int Home(CustomerId id, int mask) => Spread(id.GetHashCode()) & mask;

    internal static int Spread(int hash) => (int)BitOperations.RotateLeft((uint)hash * 0x9E3779B1u, 16);

    private void Grow()
    {
        var old = _slots;
        _slots = new CustomerProfile?[old.Length * 2];
        var mask = _slots.Length - 1;
        foreach (var profile in old)
        {
            if (profile is not null)
            {
                var i = Home(profile.Id, mask);
                while (_slots[i] is not null)
                {
                    i = (i + 1) & mask;
                }

                _slots[i] = profile;
            }
        }
    }
}

/// <summary>
/// The in-memory profile store's index of identifiers: for each identifier the customer who holds it (the first saved with
/// it), in open addressing over two arrays — the owner's id and the identifier's hash, 12 bytes a slot. The identifier itself
/// is not kept: a candidate slot is confirmed by the owner's profile holding the identifier. Not thread-safe: the store calls
/// it under its lock.
/// </summary>
internal sealed class IdentifierIndex
{
    private CustomerId[] _owners = new CustomerId[16];
    private int[] _hashes = new int[16];
    private int _count;

    /// <summary>The holder of <paramref name="identifier"/>, looked up in <paramref name="profiles"/>.</summary>
    public CustomerId? Find(Identifier identifier, ProfileTable profiles) => FindSlot(identifier, profiles) is var at and >= 0 ? _owners[at] : null;

    /// <summary>Records <paramref name="owner"/> as the holder of <paramref name="identifier"/> unless someone holds it already.</summary>
    public void TryAdd(Identifier identifier, CustomerId owner, ProfileTable profiles)
    {
        if (FindSlot(identifier, profiles) >= 0)
        {
            return;
        }

        if ((_count + 1) * 4 > _owners.Length * 3)
        {
            Grow();
        }

        var hash = ProfileTable.Spread(identifier.GetHashCode());
        var mask = _owners.Length - 1;
        var i = hash & mask;
        while (!_owners[i].IsEmpty)
        {
            i = (i + 1) & mask;
        }

        _owners[i] = owner;
        _hashes[i] = hash;
        _count++;
    }

    /// <summary>Forgets <paramref name="owner"/> as the holder of <paramref name="identifier"/> (when it is).</summary>
    /// <param name="identifier">The identifier.</param>
    /// <param name="owner">The customer who held it.</param>
    public void Remove(Identifier identifier, CustomerId owner)
    {
        var hash = ProfileTable.Spread(identifier.GetHashCode());
        var mask = _owners.Length - 1;
        for (var i = hash & mask; !_owners[i].IsEmpty; i = (i + 1) & mask)
        {
            if (_hashes[i] == hash && _owners[i] == owner)
            {
                RemoveAt(i);
                return;
            }
        }
    }

    // The slot whose owner holds the identifier, or -1. Slots of the identifier's hash whose owner no longer holds it (their
    // profile dropped it, or another identifier of the same hash) are passed over.
    private int FindSlot(Identifier identifier, ProfileTable profiles)
    {
        var hash = ProfileTable.Spread(identifier.GetHashCode());
        var mask = _owners.Length - 1;
        for (var i = hash & mask; !_owners[i].IsEmpty; i = (i + 1) & mask)
        {
            if (_hashes[i] == hash && profiles.Get(_owners[i]) is { } profile && profile.Identifiers.Contains(identifier))
            {
                return i;
            }
        }

        return -1;
    }

    private void RemoveAt(int at)
    {
        _count--;
        var mask = _owners.Length - 1;
        var hole = at;
        for (var i = (at + 1) & mask; !_owners[i].IsEmpty; i = (i + 1) & mask)
        {
            var home = _hashes[i] & mask;
            if (((i - home) & mask) >= ((i - hole) & mask))
            {
                _owners[hole] = _owners[i];
                _hashes[hole] = _hashes[i];
                hole = i;
            }
        }

        _owners[hole] = default;
        _hashes[hole] = 0;
    }

    private void Grow()
    {
        var (owners, hashes) = (_owners, _hashes);
        _owners = new CustomerId[owners.Length * 2];
        _hashes = new int[owners.Length * 2];
        var mask = _owners.Length - 1;
        for (var j = 0; j < owners.Length; j++)
        {
            if (!owners[j].IsEmpty)
            {
                var i = hashes[j] & mask;
                while (!_owners[i].IsEmpty)
                {
                    i = (i + 1) & mask;
                }

                _owners[i] = owners[j];
                _hashes[i] = hashes[j];
            }
        }
    }
}
