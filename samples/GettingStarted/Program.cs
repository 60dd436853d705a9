#region getting-started-program
using Engagement.Sdk;
using Engagement.Sdk.Channels;
using Engagement.Sdk.Consent;
using Engagement.Sdk.Decisioning;
using Engagement.Sdk.Events;
using Engagement.Sdk.Profiles;
using Microsoft.Extensions.DependencyInjection;

// A SQLite file in a new temporary folder; use your own path in an application.
var databasePath = Path.Combine(Directory.CreateTempSubdirectory("engagement-getting-started-").FullName, "shop.db");
var email = new InMemoryChannelSender(Channel.Email); // your email provider's IChannelSender in an application

var services = new ServiceCollection();
services.AddEngagement(o => o.Currency = Currency.EUR) // the shop's currency; options are validated when resolved
    .UseSqlite($"Data Source={databasePath}")          // or leave it out for the in-memory stores
    .AddChannel(email)
    .UseActions(ActionCatalog.Create([                 // what decisions may choose from
        new ActionDefinition { Id = "welcome", Name = "Welcome offer", Channels = [Channel.Email],
                               Stages = ["relationship"], Value = 10m, BasePropensity = 0.1 },
    ]));
await using var provider = services.BuildServiceProvider();
var engine = provider.GetRequiredService<IEngagementEngine>();

var ann = new CustomerId("ann");
var annEmail = Identifier.Email("ann@example.com");
await engine.RecordConsentAsync(new ConsentRecord
{
    RecordId = "consent-1", CustomerId = ann, Channel = Channel.Email, Identifier = annEmail, Purpose = Purpose.Marketing,
    Status = ConsentStatus.Granted, Source = "signup-form", Evidence = new ConsentEvidence("notice-v3", "signup-form"),
    EffectiveAt = DateTimeOffset.UtcNow.AddMinutes(-1),
});
var result = await engine.TrackAsync(new AddedToCart
{
    EventId = "cart-1", CustomerId = ann, Timestamp = DateTimeOffset.UtcNow, Identifiers = [annEmail], ProductId = "sku-1",
});
Console.WriteLine($"Decision: {result.Decision?.Explain()}");

// Tracking only queued the message; the delivery worker hands it to the channel.
await provider.GetRequiredService<DispatchWorker>().DeliverDueAsync();
Console.WriteLine($"Messages sent by email: {email.Messages.Count}");
#endregion
