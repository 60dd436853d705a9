using Microsoft.Extensions.Options;

namespace Engagement.Sdk.Channels.Smtp.Tests;

public sealed class SmtpChannelOptionsValidatorTests
{
    private static ValidateOptionsResult Validate(Action<SmtpChannelOptions> configure)
    {
        var options = new SmtpChannelOptions { Host = "smtp.example.com" };
        configure(options);
        return new SmtpChannelOptionsValidator().Validate(null, options);
    }

    [Fact]
    public void Validate_Defaults_WithAHost_Succeed()
    {
        Validate(static _ => { }).Succeeded.Should().BeTrue();
        Validate(static o => { o.UserName = "shop"; o.Password = "secret"; o.MessageIdDomain = "mail.shop.example"; }).Succeeded.Should().BeTrue();
        Validate(static o => { o.Host = "127.0.0.1"; o.Tls = SmtpTlsMode.None; o.UserName = "shop"; o.Password = "secret"; }).Succeeded.Should().BeTrue();
    }

    [Theory]
    [InlineData("", "SmtpChannelOptions.Host is empty")]
    [InlineData("smtp example.com", "SmtpChannelOptions.Host")]
    [InlineData("smtp.example.com\r\n", "SmtpChannelOptions.Host")]
    public void Validate_BadHost_Fails(string host, string message)
    {
        Validate(o => o.Host = host).FailureMessage.Should().Contain(message);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(65536)]
    public void Validate_PortOutOfRange_Fails(int port)
    {
        Validate(o => o.Port = port).FailureMessage.Should().Contain("SmtpChannelOptions.Port");
    }

    [Fact]
    public void Validate_UserNameWithoutPassword_Fails()
    {
        Validate(static o => o.UserName = "shop").FailureMessage.Should().Contain("set together");
    }

    [Fact]
    public void Validate_CredentialsInPlainTextToARemoteHost_Fails()
    {
        Validate(static o => { o.Tls = SmtpTlsMode.None; o.UserName = "shop"; o.Password = "secret"; }).FailureMessage.Should().Contain("plain text").And.NotContain("secret'");
    }

    [Theory]
    [InlineData(50)]
    [InlineData(600_001)]
    public void Validate_TimeoutOutOfRange_Fails(int milliseconds)
    {
        Validate(o => o.Timeout = TimeSpan.FromMilliseconds(milliseconds)).FailureMessage.Should().Contain("SmtpChannelOptions.Timeout");
    }

    [Theory]
    [InlineData("shop example")]
    [InlineData("-shop.example")]
    [InlineData("shop..example")]
    [InlineData("shop.example>")]
    public void Validate_BadMessageIdDomain_Fails(string domain)
    {
        Validate(o => o.MessageIdDomain = domain).FailureMessage.Should().Contain("SmtpChannelOptions.MessageIdDomain");
    }

    [Fact]
    public void Validate_UndefinedTlsMode_Fails()
    {
        Validate(static o => o.Tls = (SmtpTlsMode)42).FailureMessage.Should().Contain("SmtpChannelOptions.Tls");
    }

    [Fact]
    public void Constructor_InvalidOptions_Throws()
    {
        var act = () => new SmtpChannelSender(new SmtpChannelOptions(), static _ => new EmailContent("a@b.example", "s", "b"));

        act.Should().Throw<OptionsValidationException>().Which.Message.Should().Contain("Host");
    }
}
