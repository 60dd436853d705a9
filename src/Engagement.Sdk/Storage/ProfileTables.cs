using System.Numerics;
using Engagement.Sdk.Profiles;

namespace Engagement.Sdk.Storage;

/// <summary>
/// The in-memory profile store's table of profiles by customer id: the profiles in one array of entries (8 bytes each), found
/// by an open-addressed index of entry numbers (4 bytes a slot, linear probing, at most 3/4 full, grown by half or a third
/// at a time: see <see cref="Slots"/>), where a dictionary keeps a 24-byte entry and a 4-byte bucket. An entry keeps its number while its profile is in the table (a save replaces the profile
/// in place), so the identifier index can name a profile by it; the entry of a removed profile is reused. Not thread-safe:
/// the store calls it under its lock.
/// </summary>
internal sealed class ProfileTable
{
    private CustomerProfile?[] _entries = new CustomerProfile?[8];
    private int _used; // entries handed out so far (the free ones among them are on _free)
    private int[] _free = [];
    private int _freeCount;
    private int[] _buckets = new int[16]; // entry number + 1; 0 for an empty slot
    private int _count;

    /// <summary>The number of profiles.</summary>
    public int Count => _count;

    /// <summary>The entry of <paramref name="id"/>'s profile, or -1.</summary>
    public int Find(CustomerId id)
    {
        var length = _buckets.Length;
        for (var i = Home(id, length); ; i = Slots.Next(i, length))
        {
            var entry = _buckets[i] - 1;
            if (entry < 0)
            {
                return -1;
            }

            if (_entries[entry]!.Id == id)
            {
                return entry;
            }
        }
    }

    /// <summary>The profile of <paramref name="id"/>, or <see langword="null"/>.</summary>
    public CustomerProfile? Get(CustomerId id) => Find(id) is var entry and >= 0 ? _entries[entry] : null;

    /// <summary>The profile in an entry that holds one.</summary>
    public CustomerProfile At(int entry) => _entries[entry]!;

    /// <summary>Replaces the profile in an entry with a profile of the same customer.</summary>
    public void Replace(int entry, CustomerProfile profile) => _entries[entry] = profile;

    /// <summary>Adds the profile of a customer not in the table; returns its entry.</summary>
    public int Add(CustomerProfile profile)
    {
        if (Slots.Full(_count + 1, _buckets.Length))
        {
            Rehash(Slots.Grown(_buckets.Length));
        }

        int entry;
        if (_freeCount > 0)
        {
            entry = _free[--_freeCount];
        }
        else
        {
            if (_used == _entries.Length)
            {
                Array.Resize(ref _entries, _entries.Length * 2);
            }

            entry = _used++;
        }

        _entries[entry] = profile;
        var length = _buckets.Length;
        var i = Home(profile.Id, length);
        while (_buckets[i] != 0)
        {
            i = Slots.Next(i, length);
        }

        _buckets[i] = entry + 1;
        _count++;
        return entry;
    }

    /// <summary>Removes the profile of <paramref name="id"/>; returns it, or <see langword="null"/>. Its entry is reused later.</summary>
    public CustomerProfile? Remove(CustomerId id)
    {
        var length = _buckets.Length;
        var at = Home(id, length);
        while (_buckets[at] != 0 && _entries[_buckets[at] - 1]!.Id != id)
        {
            at = Slots.Next(at, length);
        }

        if (_buckets[at] == 0)
        {
            return null;
        }

        var entry = _buckets[at] - 1;
        var removed = _entries[entry];

        // Backward-shift deletion: later slots of the probe run move up into the hole, so no tombstones are needed.
        var hole = at;
        for (var i = Slots.Next(at, length); _buckets[i] != 0; i = Slots.Next(i, length))
        {
            var home = Home(_entries[_buckets[i] - 1]!.Id, length);
            if (Slots.Distance(home, i, length) >= Slots.Distance(hole, i, length))
            {
                _buckets[hole] = _buckets[i];
                hole = i;
            }
        }

        _buckets[hole] = 0;
        _entries[entry] = null;
        if (_freeCount == _free.Length)
        {
            Array.Resize(ref _free, Math.Max(4, _free.Length * 2));
        }

        _free[_freeCount++] = entry;
        _count--;
        return removed;
    }

    /// <summary>Every profile, in no particular order.</summary>
    public CustomerProfile[] ToArray()
    {
        var all = new CustomerProfile[_count];
        var n = 0;
        foreach (var profile in _entries.AsSpan(0, _used))
        {
            if (profile is not null)
            {
                all[n++] = profile;
            }
        }

        return all;
    }

    private static int Home(CustomerId id, int length) => Slots.Home(Slots.Spread(id.GetHashCode()), length);

    private void Rehash(int length)
    {
        _buckets = new int[length];
        for (var entry = 0; entry < _used; entry++)
        {
            if (_entries[entry] is { } profile)
            {
                var i = Home(profile.Id, length);
                while (_buckets[i] != 0)
                {
                    i = Slots.Next(i, length);
                }

                _buckets[i] = entry + 1;
            }
        }
    }
}

/// <summary>
/// The in-memory profile store's index of identifiers: for each identifier, the entry (in the <see cref="ProfileTable"/>) of
/// the profile that holds it — the first saved with it, when several do (a household's shared address). Open addressing with
/// linear probing over one array of 8-byte slots, the identifier's hash and the entry, at most 3/4 full (see <see cref="Slots"/>). The identifier itself
/// is not kept: a slot of the right hash is confirmed by its profile holding the identifier. One slot serves every identifier
/// of one profile that has its hash, so a profile that keeps one of them keeps the slot. Not thread-safe: the store calls it
/// under its lock.
/// </summary>
internal sealed class IdentifierIndex
{
    // (uint)hash << 32 | (entry + 1); 0 for an empty slot.
    private ulong[] _slots = new ulong[16];
    private int _count;

    /// <summary>The number of slots in use.</summary>
    public int Count => _count;

    /// <summary>
    /// How many slots were removed since the index was made: while none was, every identifier a saved profile holds is served
    /// by a slot (its own, or another holder's), so a save that keeps the same identifiers has nothing to claim.
    /// </summary>
    public long Releases { get; private set; }

    /// <summary>The profile that holds <paramref name="identifier"/> (the one recorded first), or <see langword="null"/>.</summary>
    public CustomerProfile? Find(Identifier identifier, ProfileTable profiles)
    {
        var hash = HashOf(identifier);
        var length = _slots.Length;
        for (var i = Slots.Home(hash, length); _slots[i] != 0; i = Slots.Next(i, length))
        {
            if ((uint)(_slots[i] >> 32) == hash && profiles.At(EntryOf(_slots[i])) is var holder && holder.Identifiers.Contains(identifier))
            {
                return holder;
            }
        }

        return null;
    }

    /// <summary>
    /// Records the profile in <paramref name="entry"/>, which holds <paramref name="identifier"/>, as its holder, unless a
    /// profile is recorded for it already.
    /// </summary>
    public void TryAdd(Identifier identifier, int entry, ProfileTable profiles)
    {
        var hash = HashOf(identifier);
        var length = _slots.Length;
        var i = Slots.Home(hash, length);
        for (; _slots[i] != 0; i = Slots.Next(i, length))
        {
            if ((uint)(_slots[i] >> 32) == hash)
            {
                var other = EntryOf(_slots[i]);
                if (other == entry || profiles.At(other).Identifiers.Contains(identifier))
                {
                    return; // this profile's slot of the hash serves it, or another profile holds it
                }
            }
        }

        if (Slots.Full(_count + 1, length))
        {
            Grow();
            length = _slots.Length;
            i = Slots.Home(hash, length);
            while (_slots[i] != 0)
            {
                i = Slots.Next(i, length);
            }
        }

        _slots[i] = ((ulong)hash << 32) | (uint)(entry + 1);
        _count++;
    }

    /// <summary>
    /// Forgets the profile in <paramref name="entry"/> as the holder of <paramref name="identifier"/>, which it no longer holds
    /// (when it was recorded), unless the slot still serves another identifier of the same hash that it keeps.
    /// </summary>
    /// <param name="identifier">The identifier released.</param>
    /// <param name="entry">The profile's entry.</param>
    /// <param name="kept">The profile as it is now, or <see langword="null"/> when it is being removed.</param>
    public void Remove(Identifier identifier, int entry, CustomerProfile? kept)
    {
        var hash = HashOf(identifier);
        foreach (var other in kept?.Identifiers ?? [])
        {
            if (HashOf(other) == hash)
            {
                return;
            }
        }

        var length = _slots.Length;
        var target = ((ulong)hash << 32) | (uint)(entry + 1);
        for (var i = Slots.Home(hash, length); _slots[i] != 0; i = Slots.Next(i, length))
        {
            if (_slots[i] == target)
            {
                RemoveAt(i);
                return;
            }
        }
    }

    private static uint HashOf(Identifier identifier) => Slots.Spread(identifier.GetHashCode());

    private static int EntryOf(ulong slot) => (int)(uint)slot - 1;

    private void RemoveAt(int at)
    {
        _count--;
        Releases++;
        Slots.RemoveHashed(_slots, at);
    }

    private void Grow() => _slots = Slots.Rehashed(_slots, Slots.Grown(_slots.Length));
}

/// <summary>
/// The arithmetic of the profile store's open-addressed tables. A hash picks its home slot by its high bits (the hash times
/// the length, shifted down), so a table may have any length: lengths alternate between powers of two and one and a half
/// times them (16, 24, 32, 48, …), so that a table grows by half or by a third rather than doubling, and sits between 3/8
/// and 3/4 full — about 40 % fuller on average than doubling tables.
/// </summary>
internal static class Slots
{
    /// <summary>A hash mixed over all 32 bits (so that its high bits, which pick the slot, depend on all of them).</summary>
    public static uint Spread(int hash) => BitOperations.RotateLeft((uint)hash * 0x9E3779B1u, 16) * 0x85EBCA6Bu;

    /// <summary>The home slot of a spread hash in a table of <paramref name="length"/> slots.</summary>
    public static int Home(uint hash, int length) => (int)(((ulong)hash * (uint)length) >> 32);

    /// <summary>The slot after <paramref name="slot"/>, wrapping around.</summary>
    public static int Next(int slot, int length) => slot + 1 == length ? 0 : slot + 1;

    /// <summary>How many steps of probing lead from <paramref name="from"/> to <paramref name="to"/>.</summary>
    public static int Distance(int from, int to, int length) => to >= from ? to - from : to - from + length;

    /// <summary>Whether a table of <paramref name="length"/> slots is too full for <paramref name="count"/> keys (over 3/4).</summary>
    public static bool Full(int count, int length) => (long)count * 4 > (long)length * 3;

    /// <summary>The next length: half as much again after a power of two, else up to the next power of two.</summary>
    public static int Grown(int length) => BitOperations.IsPow2(length) ? length + (length / 2) : length + (length / 3);

    /// <summary>
    /// Empties slot <paramref name="at"/> of a table of 8-byte slots (the key's spread hash in the high 32 bits, 0 for an
    /// empty slot) by backward-shift deletion: later slots of the probe run move up into the hole, so no tombstones are needed.
    /// </summary>
    public static void RemoveHashed(ulong[] slots, int at)
    {
        var length = slots.Length;
        var hole = at;
        for (var i = Next(at, length); slots[i] != 0; i = Next(i, length))
        {
            var home = Home((uint)(slots[i] >> 32), length);
            if (Distance(home, i, length) >= Distance(hole, i, length))
            {
                slots[hole] = slots[i];
                hole = i;
            }
        }

        slots[hole] = 0;
    }

    /// <summary>The slots of such a table placed in a new one of <paramref name="length"/> slots.</summary>
    public static ulong[] Rehashed(ulong[] old, int length)
    {
        var slots = new ulong[length];
        foreach (var slot in old)
        {
            if (slot != 0)
            {
                var i = Home((uint)(slot >> 32), length);
                while (slots[i] != 0)
                {
                    i = Next(i, length);
                }

                slots[i] = slot;
            }
        }

        return slots;
    }
}
