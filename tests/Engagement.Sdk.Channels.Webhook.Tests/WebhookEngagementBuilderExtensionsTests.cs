using Engagement.Sdk.Consent;
using Engagement.Sdk.Profiles;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace Engagement.Sdk.Channels.Webhook.Tests;

public sealed class WebhookEngagementBuilderExtensionsTests
{
    [Fact]
    public async Task AddWebhookChannel_Registered_SendsThroughTheFactoryClientWithoutFollowingRedirects()
    {
        using var endpoint = WebhookEndpoint.Replying(307, static r => r.AddHeader("Location", "/elsewhere"));
        var services = new ServiceCollection();
        services.AddEngagement().AddWebhookChannel(o => o.Endpoint = endpoint.Uri);
        await using var provider = services.BuildServiceProvider();

        var sender = provider.GetServices<IChannelSender>().Should().ContainSingle().Which;
        sender.Should().BeOfType<WebhookChannelSender>();
        sender.Channel.Should().Be(Channel.Webhook);
        var result = await sender.SendAsync(new OutboundMessage("d-1", new CustomerId("c-1"), Channel.Webhook, Purpose.Transactional, Identifier.Email("a@example.com"), "receipt", null));

        result.FailureKind.Should().Be(PermanentFailureKind.Other);
        endpoint.Requests.Should().ContainSingle();
    }

    [Fact]
    public async Task AddWebhookChannel_TwoChannels_EachWithItsOwnOptions()
    {
        using var sms = WebhookEndpoint.Replying(200);
        using var push = WebhookEndpoint.Replying(200);
        var services = new ServiceCollection();
        services.AddEngagement()
            .AddWebhookChannel(Channel.Sms, o => o.Endpoint = sms.Uri)
            .AddWebhookChannel(Channel.Push, o => o.Endpoint = push.Uri);
        await using var provider = services.BuildServiceProvider();

        var senders = provider.GetServices<IChannelSender>().ToList();
        senders.Select(static s => s.Channel).Should().BeEquivalentTo([Channel.Sms, Channel.Push]);
        await senders.Single(static s => s.Channel == Channel.Sms).SendAsync(new OutboundMessage("d-2", new CustomerId("c-1"), Channel.Sms, Purpose.Transactional, Identifier.Phone("+447700900123"), "receipt", null));

        sms.Requests.Should().ContainSingle();
        push.Requests.Should().BeEmpty();
    }

    [Fact]
    public async Task AddWebhookChannel_NoEndpoint_FailsAtStartUp()
    {
        var services = new ServiceCollection();
        services.AddEngagement().AddWebhookChannel(static _ => { });
        await using var provider = services.BuildServiceProvider();

        var act = () => provider.GetRequiredService<IStartupValidator>().Validate();

        act.Should().Throw<OptionsValidationException>().Which.Message.Should().Contain("WebhookChannelOptions.Endpoint");
    }
}
