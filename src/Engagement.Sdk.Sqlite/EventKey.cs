namespace Engagement.Sdk.Sqlite;

/// <summary>
/// The 64-bit key under which the SQLite event store indexes an event's id (schema version 4): the id index holds these
/// integers instead of the ids' text, so it is a third or less of the size and a batch of events with random ids dirties
/// fewer of its pages. Two ids may share a key: since schema version 5 the index is unique, the first id stored holds the
/// key and a later one is stored without a key (see <see cref="SqliteEventStore"/>), so a shared key costs a look-up by the
/// id's text, never a wrong answer.
/// </summary>
/// <remarks>
/// The high 40 bits hash the id without its last three characters and the low 24 bits hash the whole id, so that ids that
/// differ only in their last characters (ids from a counter) get keys close together and a batch of them shares a few pages
/// of the index, as their text did; other ids land anywhere. The key is stored: it must never change for a given id
/// (FNV-1a over the UTF-16 code units, then a fixed mixing step).
/// </remarks>
internal static class EventKey
{
    private const int SuffixLength = 3;

    /// <summary>The key of <paramref name="eventId"/>.</summary>
    /// <param name="eventId">The event's id.</param>
    /// <returns>The key.</returns>
    public static long Of(string eventId)
    {
        ArgumentNullException.ThrowIfNull(eventId);
        var span = eventId.AsSpan();
        var prefix = Hash(span[..Math.Max(0, span.Length - SuffixLength)]);
        var whole = Hash(span);
        return (long)((prefix & ~0xFF_FFFFUL) | (whole & 0xFF_FFFFUL));
    }

    private static ulong Hash(ReadOnlySpan<char> text)
    {
        var hash = 14695981039346656037UL; // FNV-1a 64
        foreach (var c in text)
        {
            hash = (hash ^ c) * 1099511628211UL;
        }

        // A finaliser so that every bit of the result depends on every character (FNV-1a alone mixes the high bits weakly).
        hash ^= hash >> 33;
        hash *= 0xFF51AFD7ED558CCDUL;
        hash ^= hash >> 33;
        hash *= 0xC4CEB9FE1A85EC53UL;
        hash ^= hash >> 33;
        return hash;
    }
}
