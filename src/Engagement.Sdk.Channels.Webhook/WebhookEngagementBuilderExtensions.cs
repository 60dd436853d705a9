using Engagement.Sdk.Channels;
using Engagement.Sdk.Channels.Webhook;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Delivers a channel's messages by posting them to a webhook.</summary>
public static class WebhookEngagementBuilderExtensions
{
    /// <summary>Adds <see cref="Channel.Webhook"/>, delivered by <see cref="WebhookChannelSender"/>.</summary>
    /// <param name="builder">The builder.</param>
    /// <param name="configure">Configures the endpoint; validated when the host starts.</param>
    /// <returns>The builder.</returns>
    public static EngagementBuilder AddWebhookChannel(this EngagementBuilder builder, Action<WebhookChannelOptions> configure)
        => builder.AddWebhookChannel(Channel.Webhook, configure);

    /// <summary>
    /// Adds a channel delivered by <see cref="WebhookChannelSender"/>, with its own options (named after the channel) and its
    /// own named <see cref="HttpClient"/> from <see cref="IHttpClientFactory"/> (<c>Engagement.Sdk.Channels.Webhook.{channel}</c>),
    /// whose handler follows no redirects and sends no cookies. No retry or hedging handler is added: the outbox retries
    /// durably, and a hedged post would be a duplicate. A host may add its own handlers to the named client.
    /// </summary>
    /// <param name="builder">The builder.</param>
    /// <param name="channel">The channel the webhook serves.</param>
    /// <param name="configure">Configures the endpoint; validated when the host starts.</param>
    /// <returns>The builder.</returns>
    public static EngagementBuilder AddWebhookChannel(this EngagementBuilder builder, Channel channel, Action<WebhookChannelOptions> configure)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(configure);
        if (channel.IsEmpty)
        {
            throw new Engagement.Sdk.EngagementValidationException("channel", null, "a webhook serves one named channel");
        }

        var name = HttpClientName(channel);
        builder.Services.AddOptions<WebhookChannelOptions>(name)
            .Configure(configure)
            .ValidateOnStart();
        builder.Services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<WebhookChannelOptions>, WebhookChannelOptionsValidator>());
        builder.Services.AddHttpClient(name, static client => client.Timeout = Timeout.InfiniteTimeSpan)
            .ConfigurePrimaryHttpMessageHandler(static () => new SocketsHttpHandler { AllowAutoRedirect = false, UseCookies = false });
        builder.Services.AddSingleton<IChannelSender>(sp =>
        {
            var factory = sp.GetRequiredService<IHttpClientFactory>();
            return new WebhookChannelSender(
                channel,
                () => factory.CreateClient(name),
                sp.GetRequiredService<IOptionsMonitor<WebhookChannelOptions>>().Get(name),
                sp.GetService<TimeProvider>() ?? TimeProvider.System);
        });
        return builder;
    }

    /// <summary>The name of the options and the <see cref="HttpClient"/> of a channel's webhook.</summary>
    /// <param name="channel">The channel.</param>
    /// <returns>The name, <c>Engagement.Sdk.Channels.Webhook.{channel}</c>.</returns>
    public static string HttpClientName(Channel channel) => "Engagement.Sdk.Channels.Webhook." + channel.Name;
}
