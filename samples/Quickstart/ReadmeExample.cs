using Engagement.Sdk;
using Engagement.Sdk.Channels;
using Engagement.Sdk.Consent;
using Engagement.Sdk.Decisioning;
using Engagement.Sdk.Events;
using Engagement.Sdk.Profiles;
using Microsoft.Extensions.DependencyInjection;

namespace Quickstart;

/// <summary>The example in the README, kept here so that it compiles and its test runs it.</summary>
public static class ReadmeExample
{
    /// <summary>Wires the SDK on a SQLite file, records a consent, tracks an event and returns the decision's explanation.</summary>
    /// <param name="databasePath">The SQLite file.</param>
    /// <returns>The explanation of the decision the event triggered.</returns>
    public static async Task<string?> RunAsync(string databasePath)
    {
        #region readme-example
        var services = new ServiceCollection();
        services.AddEngagement(o => o.Currency = Currency.EUR)
            .UseSqlite($"Data Source={databasePath}")
            .AddChannel(new InMemoryChannelSender(Channel.Email)) // your email provider's IChannelSender here
            .UseActions(ActionCatalog.Create([
                new ActionDefinition { Id = "welcome", Name = "Welcome offer", Channels = [Channel.Email],
                                       Stages = ["relationship"], Value = 10m, BasePropensity = 0.1 },
            ]));
        await using var provider = services.BuildServiceProvider();
        var engine = provider.GetRequiredService<IEngagementEngine>();

        var (ann, email) = (new CustomerId("ann"), Identifier.Email("ann@example.com"));
        await engine.RecordConsentAsync(new ConsentRecord { RecordId = "consent-1", CustomerId = ann, Channel = Channel.Email,
            Identifier = email, Purpose = Purpose.Marketing, Status = ConsentStatus.Granted, Source = "signup-form",
            Evidence = new ConsentEvidence("notice-v3", "signup-form"), EffectiveAt = DateTimeOffset.UtcNow.AddMinutes(-1) });
        var result = await engine.TrackAsync(new AddedToCart { EventId = "evt-1", CustomerId = ann, Timestamp = DateTimeOffset.UtcNow,
            Identifiers = [email], ProductId = "sku-1" });
        Console.WriteLine(result.Decision?.Explain()); // welcome on email: C 1 × L 1 × (P 0.100 × V 10 − cost 0) = 1.000; chosen as …
        // Tracking only queued the message; the delivery worker hands it to the channel (a host runs worker.RunAsync in the background).
        await provider.GetRequiredService<DispatchWorker>().DeliverDueAsync();
        #endregion
        return result.Decision?.Explain();
    }
}
