using System.IO.Hashing;

namespace Engagement.Sdk.Sqlite;

/// <summary>
/// What a cache keeps of a stored document instead of its text: its length and a 128-bit hash of its UTF-8 (XXH3-128, seeded
/// at random for each process, so that no one can prepare two documents that share a stamp). A cached record is used when
/// the row's document has the same stamp; two different documents of one dispatch sharing a stamp by chance is a 2^-128 event.
/// </summary>
/// <param name="Hash">The hash.</param>
/// <param name="Length">The length in bytes.</param>
internal readonly record struct DocumentStamp(UInt128 Hash, int Length)
{
    private static readonly long Seed = Random.Shared.NextInt64();

    /// <summary>The stamp of a document.</summary>
    /// <param name="utf8">The document's UTF-8, as the table holds it.</param>
    /// <returns>The stamp.</returns>
    public static DocumentStamp Of(ReadOnlySpan<byte> utf8) => new(XxHash128.HashToUInt128(utf8, Seed), utf8.Length);
}
