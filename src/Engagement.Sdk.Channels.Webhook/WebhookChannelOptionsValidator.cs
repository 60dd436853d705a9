using Microsoft.Extensions.Options;

namespace Engagement.Sdk.Channels.Webhook;

/// <summary>
/// Validates <see cref="WebhookChannelOptions"/> at start-up: the endpoint must be an absolute <c>http</c> or <c>https</c>
/// URI without user information or a fragment, the time-out between 100 milliseconds and 10 minutes, and a signing secret,
/// when given, at least 16 characters without control characters.
/// </summary>
public sealed class WebhookChannelOptionsValidator : IValidateOptions<WebhookChannelOptions>
{
    /// <summary>The shortest signing secret accepted.</summary>
    public const int MinimumSecretLength = 16;

    /// <inheritdoc />
    public ValidateOptionsResult Validate(string? name, WebhookChannelOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var failures = new List<string>();
        var endpoint = options.Endpoint;
        if (endpoint is null)
        {
            failures.Add("WebhookChannelOptions.Endpoint is not set: give the absolute URI messages are posted to, such as 'https://hooks.example.com/engagement'.");
        }
        else if (!endpoint.IsAbsoluteUri || (endpoint.Scheme != Uri.UriSchemeHttp && endpoint.Scheme != Uri.UriSchemeHttps))
        {
            failures.Add($"WebhookChannelOptions.Endpoint '{endpoint.OriginalString}' must be an absolute http or https URI.");
        }
        else if (endpoint.UserInfo.Length > 0 || endpoint.Fragment.Length > 0)
        {
            failures.Add("WebhookChannelOptions.Endpoint must carry no user information and no fragment: put credentials in the signing secret.");
        }

        if (options.Timeout < TimeSpan.FromMilliseconds(100) || options.Timeout > TimeSpan.FromMinutes(10))
        {
            failures.Add($"WebhookChannelOptions.Timeout {options.Timeout} must be between 100 milliseconds and 10 minutes.");
        }

        if (options.SigningSecret is { } secret && (secret.Length < MinimumSecretLength || secret.Any(char.IsControl)))
        {
            failures.Add($"WebhookChannelOptions.SigningSecret must be at least {MinimumSecretLength} characters without control characters (its value is not shown).");
        }

        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }
}
