using System.Security.Cryptography;
using System.Text;

namespace Engagement.Sdk.Channels.Webhook;

/// <summary>
/// The signature the webhook channel puts in its <see cref="WebhookChannelSender.SignatureHeader"/> header:
/// <c>sha256=</c> followed by the lower-case hexadecimal HMAC-SHA256 of the exact request body, keyed with the UTF-8 bytes
/// of the shared secret. A receiver checks it with <see cref="Verify"/> before it trusts the body.
/// </summary>
public static class WebhookSignature
{
    private const string Prefix = "sha256=";

    /// <summary>Computes the header value for a body.</summary>
    /// <param name="secret">The shared secret.</param>
    /// <param name="body">The request body, byte for byte.</param>
    /// <returns>The header value, <c>sha256=</c> and 64 hexadecimal digits.</returns>
    public static string Compute(string secret, ReadOnlySpan<byte> body)
    {
        ArgumentException.ThrowIfNullOrEmpty(secret);
        Span<byte> mac = stackalloc byte[HMACSHA256.HashSizeInBytes];
        HMACSHA256.HashData(Encoding.UTF8.GetBytes(secret), body, mac);
        return Prefix + Convert.ToHexStringLower(mac);
    }

    /// <summary>Checks a header value against a body, in time that does not depend on where they differ.</summary>
    /// <param name="secret">The shared secret.</param>
    /// <param name="body">The request body as received, byte for byte.</param>
    /// <param name="headerValue">The header's value, or <see langword="null"/> when the request had none.</param>
    /// <returns><see langword="true"/> when the signature is the body's.</returns>
    public static bool Verify(string secret, ReadOnlySpan<byte> body, string? headerValue)
    {
        ArgumentException.ThrowIfNullOrEmpty(secret);
        if (headerValue is null || headerValue.Length != Prefix.Length + (2 * HMACSHA256.HashSizeInBytes) || !headerValue.StartsWith(Prefix, StringComparison.Ordinal))
        {
            return false;
        }

        var expected = Compute(secret, body);
        return CryptographicOperations.FixedTimeEquals(Encoding.ASCII.GetBytes(expected), Encoding.ASCII.GetBytes(headerValue.ToLowerInvariant()));
    }
}
