using Engagement.Sdk;
using Engagement.Sdk.Channels;
using Engagement.Sdk.Channels.Smtp;
using Engagement.Sdk.Consent;
using Engagement.Sdk.Storage;
using Engagement.Sdk.Testing.Conformance;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using static Snippets.SnippetTemplates;

namespace Snippets;

#region adapters-conformance
public sealed class MyProfileStoreConformance : ProfileStoreConformanceTests
{
    protected override IProfileStore CreateStore() => new MyProfileStore(/* a fresh, empty database */);
}

// xUnit (2 or v3): one test per check of the suite.
// public sealed class MyProfileStoreTests : MyProfileStoreConformance
// {
//     [Theory]
//     [MemberData(nameof(Checks))]
//     public Task Conforms(string check) => RunAsync(check);
// }
#endregion

/// <summary>The store of the conformance snippet: here the in-memory one under another name.</summary>
public sealed class MyProfileStore : IProfileStore, ISubjectErasure
{
    private readonly InMemoryProfileStore _inner = new();

    public ValueTask<Engagement.Sdk.Profiles.CustomerProfile?> GetAsync(CustomerId customerId, CancellationToken cancellationToken = default) => _inner.GetAsync(customerId, cancellationToken);

    public ValueTask<Engagement.Sdk.Profiles.CustomerProfile?> FindByIdentifierAsync(Engagement.Sdk.Profiles.Identifier identifier, CancellationToken cancellationToken = default) => _inner.FindByIdentifierAsync(identifier, cancellationToken);

    public ValueTask<Engagement.Sdk.Profiles.CustomerProfile> SaveAsync(Engagement.Sdk.Profiles.CustomerProfile profile, CancellationToken cancellationToken = default) => _inner.SaveAsync(profile, cancellationToken);

    public ValueTask<int> EraseSubjectAsync(CustomerId customerId, CancellationToken cancellationToken = default) => _inner.EraseSubjectAsync(customerId, cancellationToken);

    public IAsyncEnumerable<Engagement.Sdk.Profiles.CustomerProfile> ListAsync(CancellationToken cancellationToken = default) => _inner.ListAsync(cancellationToken);
}

/// <summary>The snippets of docs/adapters.md and docs/channel-adapters.md.</summary>
public static class AdapterSnippets
{
    public static async Task ConformanceAsync()
    {
        var results = await ConformanceSuite.RunAllAsync(() => new MyProfileStoreConformance());
        var failed = results.FirstOrDefault(r => !r.Passed);
        if (failed is not null)
        {
            throw new InvalidOperationException($"{failed.Check} failed", failed.Failure);
        }
    }

    public static async Task SqliteOptionsAsync()
    {
        var services = new ServiceCollection();
        #region adapters-sqlite-options
        services.AddEngagement()
            .UseSqlite(o =>
            {
                o.ConnectionString = "Data Source=shop.db";
                o.BusyTimeout = TimeSpan.FromSeconds(5);  // the default
                o.WalAutoCheckpointPages = 8192;          // the default (32 MiB of write-ahead log)
                o.BackgroundCheckpoints = true;           // the default: the log is copied on a thread of its own
            });
        #endregion
        await using var provider = services.BuildServiceProvider();
        _ = provider.GetRequiredService<IEngagementEngine>();
    }

    /// <summary>Wiring only: resolving the stores would connect to the server.</summary>
    public static void PostgreSqlOptions()
    {
        var services = new ServiceCollection();
        #region adapters-postgresql-options
        services.AddEngagement()
            .UsePostgreSql(o =>
            {
                o.ConnectionString = "Host=127.0.0.1;Database=shop;Username=shop;Password=…";
                o.Schema = "engagement";                  // the default
                o.CommandTimeout = TimeSpan.FromSeconds(30); // the default
            });
        #endregion
    }

    public static async Task WebhookAsync()
    {
        IConfiguration configuration = new ConfigurationBuilder().AddInMemoryCollection([new("Engagement:WebhookSecret", "a-secret-of-32-characters-or-more!!")]).Build();
        var services = new ServiceCollection();
        #region channel-adapters-webhook
        services.AddEngagement()
            .AddWebhookChannel(o =>
            {
                o.Endpoint = new Uri("https://hooks.example.com/engagement");
                o.SigningSecret = configuration["Engagement:WebhookSecret"];
            });

        // Or for another channel, with its own options and HttpClient:
        //  .AddWebhookChannel(Channel.Sms, o => o.Endpoint = new Uri("https://sms-bridge.internal/send"));
        #endregion
        await using var provider = services.BuildServiceProvider();
        _ = provider.GetServices<IChannelSender>().ToList();
    }

    public static async Task SmtpAsync()
    {
        IConfiguration configuration = new ConfigurationBuilder().AddInMemoryCollection([new("Engagement:SmtpPassword", "secret")]).Build();
        static string SubjectFor(OutboundMessage message) => "News: " + message.ActionId;
        static string TextFor(OutboundMessage message) => "Hello";
        static string HtmlFor(OutboundMessage message) => "<p>Hello</p>";
        var services = new ServiceCollection();
        #region channel-adapters-smtp
        services.AddEngagement()
            .AddSmtpChannel(
                message => new EmailContent("news@shop.example", SubjectFor(message), TextFor(message), HtmlFor(message))
                {
                    FromName = "Shop News",
                },
                o =>
                {
                    o.Host = "smtp.example.com";
                    o.Port = 587;
                    o.Tls = SmtpTlsMode.StartTls;
                    o.UserName = "shop";
                    o.Password = configuration["Engagement:SmtpPassword"];
                });
        #endregion
        await using var provider = services.BuildServiceProvider();
        _ = provider.GetServices<IChannelSender>().ToList();
    }

    public static async Task SendersAsync()
    {
        var message = new OutboundMessage("d-1", new CustomerId("ann"), Channel.Sms, Purpose.Marketing, Engagement.Sdk.Profiles.Identifier.Phone("+447700900123"), "welcome", null);
        var first = await new MySmsSenderOfTheDocs(new MyGatewayClient()).SendAsync(message);
        var second = await new GatewaySmsSender(new GatewayClient()).SendAsync(message);
        if (first.Outcome != SendOutcome.Accepted || second.Outcome != SendOutcome.Accepted)
        {
            throw new InvalidOperationException("the senders did not accept the message");
        }
    }
}

#region adapters-sms-sender
public sealed class MySmsSenderOfTheDocs(MyGatewayClient client) : ChannelSender(Channel.Sms)
{
    public override ChannelCapabilities Capabilities => ChannelCapabilities.IdempotencyKeys; // the gateway dedupes by key

    protected override async ValueTask<SendResult> SendCoreAsync(OutboundMessage message, CancellationToken cancellationToken)
    {
        var response = await client.SendAsync(message.Address!.Value, TemplateFor(message.ActionId),
            idempotencyKey: message.DispatchId, cancellationToken);
        return response.Status switch
        {
            GatewayStatus.Accepted => SendResult.Accepted,
            GatewayStatus.InvalidNumber => SendResult.Permanent(PermanentFailureKind.AddressInvalid, "invalid number"),
            GatewayStatus.Throttled => SendResult.Transient("throttled", response.RetryAfter),
            _ => SendResult.Unknown(response.Status.ToString()),
        };
    }
}
#endregion

#region channel-adapters-sms-sender
public sealed class GatewaySmsSender(GatewayClient client) : ChannelSender(Channel.Sms)
{
    public override ChannelCapabilities Capabilities => ChannelCapabilities.IdempotencyKeys;

    protected override async ValueTask<SendResult> SendCoreAsync(OutboundMessage message, CancellationToken cancellationToken)
    {
        var reply = await client.SendAsync(message.Address!.Value, TemplateFor(message),
            idempotencyKey: message.DispatchId, cancellationToken);
        return reply.Status switch
        {
            GatewayStatus.Accepted => SendResult.Accepted,
            GatewayStatus.Throttled => SendResult.Transient("throttled", reply.RetryAfter),
            GatewayStatus.UnknownNumber => SendResult.Permanent(PermanentFailureKind.AddressInvalid, "unknown number"),
            _ => SendResult.Permanent(PermanentFailureKind.Other, reply.Status.ToString()),
        };
    }

    protected override SendResult Classify(Exception exception) => exception switch
    {
        GatewayConnectException => SendResult.Transient("connection refused"), // nothing was sent
        _ => base.Classify(exception),                                          // Unknown
    };
}
#endregion

/// <summary>The message texts of the sender snippets.</summary>
internal static class SnippetTemplates
{
    public static string TemplateFor(string actionId) => "Your offer: " + actionId;

    public static string TemplateFor(OutboundMessage message) => "Your offer: " + message.ActionId;
}
