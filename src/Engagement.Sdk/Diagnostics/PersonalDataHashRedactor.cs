using System.Security.Cryptography;
using System.Text;
using Microsoft.Extensions.Compliance.Redaction;

namespace Engagement.Sdk.Diagnostics;

/// <summary>
/// Replaces personal data by a short, stable hash: <c>pd:</c> and the first 16 hexadecimal digits of the SHA-256 of its UTF-8
/// text. The same customer id gives the same hash in every log line, so an operator can follow one customer (and find them by
/// hashing their id) without the id itself being written. What the SDK's log messages show in place of customer ids unless
/// the host registers its own redactor for <see cref="EngagementDataClassifications.PersonalData"/> or sets
/// <see cref="EngagementOptions.LogCustomerIdsInPlain"/>.
/// </summary>
public sealed class PersonalDataHashRedactor : Redactor
{
    private const string Prefix = "pd:";
    private const int HexDigits = 16;

    /// <summary>The shared instance (the redactor keeps no state).</summary>
    public static PersonalDataHashRedactor Instance { get; } = new();

    /// <inheritdoc />
    public override int GetRedactedLength(ReadOnlySpan<char> input) => Prefix.Length + HexDigits;

    /// <inheritdoc />
    public override int Redact(ReadOnlySpan<char> source, Span<char> destination)
    {
        var length = Prefix.Length + HexDigits;
        if (destination.Length < length)
        {
            throw new ArgumentException($"The destination must hold at least {length} characters.", nameof(destination));
        }

        var byteCount = Encoding.UTF8.GetByteCount(source);
        var bytes = byteCount <= 512 ? stackalloc byte[byteCount] : new byte[byteCount];
        Encoding.UTF8.GetBytes(source, bytes);
        Span<byte> hash = stackalloc byte[SHA256.HashSizeInBytes];
        SHA256.HashData(bytes, hash);
        Prefix.AsSpan().CopyTo(destination);
        Convert.TryToHexStringLower(hash[..(HexDigits / 2)], destination[Prefix.Length..], out _);
        return length;
    }
}
