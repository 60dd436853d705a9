using System.Net;
using Microsoft.Extensions.Options;

namespace Engagement.Sdk.Channels.Smtp;

/// <summary>
/// Validates <see cref="SmtpChannelOptions"/> at start-up: a host without spaces or control characters, a port from 1 to
/// 65535, a user name and password given together (and not in plain text to a host other than a loopback one), a time-out
/// between 100 milliseconds and 10 minutes, and a Message-ID domain that looks like a host name.
/// </summary>
public sealed class SmtpChannelOptionsValidator : IValidateOptions<SmtpChannelOptions>
{
    /// <inheritdoc />
    public ValidateOptionsResult Validate(string? name, SmtpChannelOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var failures = new List<string>();
        if (string.IsNullOrWhiteSpace(options.Host))
        {
            failures.Add("SmtpChannelOptions.Host is empty: give the SMTP server's host name, such as 'smtp.example.com'.");
        }
        else if (options.Host.Any(static c => char.IsWhiteSpace(c) || char.IsControl(c)) || Uri.CheckHostName(options.Host) == UriHostNameType.Unknown)
        {
            failures.Add($"SmtpChannelOptions.Host '{options.Host}' is not a host name or IP address.");
        }

        if (options.Port is < 1 or > 65535)
        {
            failures.Add($"SmtpChannelOptions.Port {options.Port} must be from 1 to 65535.");
        }

        if (!Enum.IsDefined(options.Tls))
        {
            failures.Add($"SmtpChannelOptions.Tls {options.Tls} is not a TLS mode.");
        }

        if (string.IsNullOrEmpty(options.UserName) != string.IsNullOrEmpty(options.Password))
        {
            failures.Add("SmtpChannelOptions.UserName and SmtpChannelOptions.Password must be set together, or neither.");
        }
        else if (!string.IsNullOrEmpty(options.UserName) && options.Tls == SmtpTlsMode.None && !IsLoopback(options.Host))
        {
            failures.Add($"SmtpChannelOptions.Tls is None with credentials for '{options.Host}': the password would cross the network in plain text; use StartTls or Implicit.");
        }

        if (options.Timeout < TimeSpan.FromMilliseconds(100) || options.Timeout > TimeSpan.FromMinutes(10))
        {
            failures.Add($"SmtpChannelOptions.Timeout {options.Timeout} must be between 100 milliseconds and 10 minutes.");
        }

        if (options.MessageIdDomain is { } domain && !SmtpChannelSender.IsDomain(domain))
        {
            failures.Add($"SmtpChannelOptions.MessageIdDomain '{domain}' must be a domain name: letters, digits, hyphens and dots.");
        }

        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }

    private static bool IsLoopback(string host)
        => string.Equals(host, "localhost", StringComparison.OrdinalIgnoreCase) || (IPAddress.TryParse(host, out var address) && IPAddress.IsLoopback(address));
}
