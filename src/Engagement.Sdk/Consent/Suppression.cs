using System.Security.Cryptography;
using System.Text;
using Engagement.Sdk.Profiles;

namespace Engagement.Sdk.Consent;

/// <summary>Why an identifier is suppressed.</summary>
public enum SuppressionReason
{
    /// <summary>The address does not exist (a hard bounce): nothing, not even transactional mail, goes to it.</summary>
    HardBounce,

    /// <summary>The address is invalid (an unassigned number): nothing goes to it.</summary>
    InvalidAddress,

    /// <summary>The recipient marked a message as spam: no more marketing to it.</summary>
    Complaint,

    /// <summary>An opt-out keyword (STOP, …) arrived from an identifier the shop cannot tie to a customer: no more marketing to it.</summary>
    Keyword,

    /// <summary>The customer's data was erased: the identifier may not be contacted or given consent again by a re-import.</summary>
    Erasure,

    /// <summary>
    /// A holder of an identifier their household shares opted out of marketing to it and was then erased: the opt-out stays
    /// with the address for the other holders. No more marketing to it.
    /// </summary>
    OptOut,
}

/// <summary>
/// A suppression of one identifier, kept apart from the customer's own consent choices (a bounce never rewrites what the
/// customer said). The identifier is stored only as a salted-free SHA-256 hash of its normalised form, so suppressions of
/// erased customers hold no personal data yet still match the same address if it comes back.
/// </summary>
/// <param name="IdentifierHash">The identifier's hash (<see cref="IdentifierHashing.Hash"/>).</param>
/// <param name="Reason">Why.</param>
/// <param name="At">Since when.</param>
/// <param name="Source">Who reported it (the email provider, the SMS gateway, an erasure request).</param>
public sealed record Suppression(string IdentifierHash, SuppressionReason Reason, DateTimeOffset At, string Source)
{
    /// <summary>Whether the suppression blocks every purpose, transactional messages included.</summary>
    public bool BlocksEverything => Reason is SuppressionReason.HardBounce or SuppressionReason.InvalidAddress or SuppressionReason.Erasure;
}

/// <summary>Hashes identifiers for suppression lists and logs.</summary>
public static class IdentifierHashing
{
    /// <summary>
    /// The SHA-256 of the identifier's kind and <see cref="Identifier.Key"/> (its comparison form: an e-mail address
    /// lower-cased), as <c>sha256:</c> and lower-case hex, so that a suppression recorded in one spelling applies to every other.
    /// </summary>
    /// <param name="identifier">The identifier.</param>
    /// <returns>The hash.</returns>
    public static string Hash(Identifier identifier)
    {
        ArgumentNullException.ThrowIfNull(identifier);

        // Identifiers are immutable and a profile keeps its instances across versions: the permission gate hashes the same
        // address on every decision, so the hash is kept with the instance (weakly: it goes when the identifier does).
        if (Hashes.TryGetValue(identifier, out var known))
        {
            return known;
        }

        var hash = HashParts(identifier.Kind.Name, identifier.Key);
        Hashes.AddOrUpdate(identifier, hash);
        return hash;
    }

    /// <summary>
    /// The hash an identifier had before identifiers were compared by their key: of its value as spelled. Suppressions of
    /// addresses no profile holds any more (erasures, bounces of unknown addresses) recorded then are found under it, in that
    /// spelling; <see langword="null"/> when it equals <see cref="Hash"/>.
    /// </summary>
    /// <param name="identifier">The identifier.</param>
    /// <returns>The earlier hash, or <see langword="null"/>.</returns>
    public static string? SpellingHash(Identifier identifier)
    {
        ArgumentNullException.ThrowIfNull(identifier);
        return string.Equals(identifier.Key, identifier.Value, StringComparison.Ordinal) ? null : HashParts(identifier.Kind.Name, identifier.Value);
    }

    private static readonly System.Runtime.CompilerServices.ConditionalWeakTable<Identifier, string> Hashes = new();

    // SHA-256 of "kind:value" in UTF-8, without intermediate strings or arrays for ordinary lengths.
    internal static string HashParts(string kind, string value)
    {
        var max = Encoding.UTF8.GetMaxByteCount(kind.Length + 1 + value.Length);
        Span<byte> buffer = max <= 1024 ? stackalloc byte[1024] : new byte[max];
        var length = Encoding.UTF8.GetBytes(kind, buffer);
        buffer[length++] = (byte)':';
        length += Encoding.UTF8.GetBytes(value, buffer[length..]);
        Span<byte> digest = stackalloc byte[SHA256.HashSizeInBytes];
        SHA256.HashData(buffer[..length], digest);
        return string.Create(Prefix.Length + (2 * SHA256.HashSizeInBytes), digest, static (chars, hash) =>
        {
            Prefix.AsSpan().CopyTo(chars);
            Convert.TryToHexStringLower(hash, chars[Prefix.Length..], out _);
        });
    }

    private const string Prefix = "sha256:";
}
