using Microsoft.Extensions.Options;

namespace Engagement.Sdk.Channels.Webhook.Tests;

public sealed class WebhookChannelOptionsValidatorTests
{
    private static ValidateOptionsResult Validate(Action<WebhookChannelOptions> configure)
    {
        var options = new WebhookChannelOptions { Endpoint = new Uri("https://hooks.example.com/engagement") };
        configure(options);
        return new WebhookChannelOptionsValidator().Validate(null, options);
    }

    [Fact]
    public void Validate_GoodOptions_Succeeds()
    {
        Validate(static o => o.SigningSecret = "0123456789abcdef").Succeeded.Should().BeTrue();
    }

    [Theory]
    [InlineData(null, "Endpoint is not set")]
    [InlineData("ftp://hooks.example.com/", "absolute http or https")]
    [InlineData("https://user:pw@hooks.example.com/", "no user information")]
    [InlineData("https://hooks.example.com/#part", "no fragment")]
    public void Validate_BadEndpoint_FailsNamingTheField(string? endpoint, string rule)
    {
        var result = Validate(o => o.Endpoint = endpoint is null ? null : new Uri(endpoint));

        result.Failed.Should().BeTrue();
        result.FailureMessage.Should().Contain("WebhookChannelOptions.Endpoint").And.Contain(rule);
    }

    [Fact]
    public void Validate_RelativeEndpoint_Fails()
    {
        Validate(static o => o.Endpoint = new Uri("/hooks", UriKind.Relative)).Failed.Should().BeTrue();
    }

    [Theory]
    [InlineData(0)]
    [InlineData(99)]
    [InlineData(600_001)]
    public void Validate_TimeoutOutOfRange_Fails(int milliseconds)
    {
        Validate(o => o.Timeout = TimeSpan.FromMilliseconds(milliseconds)).FailureMessage.Should().Contain("WebhookChannelOptions.Timeout");
    }

    [Theory]
    [InlineData("short")]
    [InlineData("sixteen-chars-\r\n")]
    public void Validate_WeakOrBrokenSecret_FailsWithoutShowingIt(string secret)
    {
        var result = Validate(o => o.SigningSecret = secret);

        result.FailureMessage.Should().Contain("WebhookChannelOptions.SigningSecret").And.NotContain(secret);
    }

    [Fact]
    public void Constructor_InvalidOptions_Throws()
    {
        using var http = new HttpClient();

        var act = () => new WebhookChannelSender(http, new WebhookChannelOptions());

        act.Should().Throw<OptionsValidationException>().Which.Message.Should().Contain("Endpoint");
    }
}
