using Engagement.Sdk.Channels;
using Engagement.Sdk.Consent;
using Engagement.Sdk.Decisioning;
using Engagement.Sdk.Events;
using Engagement.Sdk.Profiles;
using Engagement.Sdk.Storage;
using Engagement.Sdk.Testing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;

namespace Engagement.Sdk.Sqlite.Tests;

/// <summary>A message held back by a cap lives in the database: a restarted process releases it, once.</summary>
public sealed class HeldMessageTests : IDisposable
{
    private static readonly DateTimeOffset T0 = new(2026, 6, 1, 9, 0, 0, TimeSpan.Zero);
    private static readonly Identifier AnnEmail = Identifier.Email("ann@example.com");
    private readonly string _path = Path.Combine(Path.GetTempPath(), "engagement-held-" + Guid.NewGuid().ToString("N") + ".db");

    public void Dispose()
    {
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        File.Delete(_path);
    }

    [Fact]
    public async Task ReleaseHeldAsync_AfterARestart_SendsTheMessageHeldBeforeItOnce()
    {
        var clock = new FakeTimeProvider(T0);
        var before = new InMemoryChannelSender(Channel.Email);
        await using (var provider = Provider(clock, before))
        {
            var engine = DeliveringEngine.From(provider);
            await engine.RecordConsentAsync(new ConsentRecord
            {
                RecordId = "g1", CustomerId = new CustomerId("ann"), Channel = Channel.Email, Identifier = AnnEmail, Purpose = Purpose.Marketing,
                Status = ConsentStatus.Granted, Source = "form", Evidence = new ConsentEvidence("v1", "form"), EffectiveAt = T0.AddDays(-1),
            });
            await engine.TrackAsync(Cart("c1"));
            clock.Advance(TimeSpan.FromHours(1));
            (await engine.TrackAsync(Cart("c2"))).HeldMessages.Should().ContainSingle(h => h.Status == HeldMessageStatus.Held);
        }

        clock.SetUtcNow(T0.AddDays(1).AddMinutes(1));
        var after = new InMemoryChannelSender(Channel.Email);
        await using (var provider = Provider(clock, after))
        {
            var engine = DeliveringEngine.From(provider);

            var first = await engine.ReleaseHeldAsync();
            var second = await engine.ReleaseHeldAsync();

            first.Should().ContainSingle().Which.Dispatch!.Status.Should().Be(DispatchStatus.Queued);
            second.Should().BeEmpty();
            after.Messages.Should().ContainSingle().Which.ActionId.Should().Be("urgent");
            var log = await provider.GetRequiredService<IDispatchStore>().ListAsync(new CustomerId("ann"), T0);
            log.Select(d => (d.ActionId, d.Status)).Should().BeEquivalentTo([("offer", DispatchStatus.Sent), ("urgent", DispatchStatus.Sent)]);
        }

        before.Messages.Select(m => m.ActionId).Should().Equal("offer");
    }

    private ServiceProvider Provider(TimeProvider clock, InMemoryChannelSender email)
    {
        var services = new ServiceCollection();
        services.AddSingleton(clock);
        services.AddEngagement().AddChannel(email).UseSqlite($"Data Source={_path}").UseActions(ActionCatalog.Create([
            new ActionDefinition { Id = "offer", Name = "Offer", Channels = [Channel.Email], Value = 50m, BasePropensity = 0.1 },
            new ActionDefinition { Id = "urgent", Name = "Urgent", Channels = [Channel.Email], Value = 1m, BasePropensity = 0.1, Priority = 10, HoldFor = TimeSpan.FromDays(3) },
        ]));
        return services.BuildServiceProvider();
    }

    private static AddedToCart Cart(string id)
        => new() { EventId = id, CustomerId = new CustomerId("ann"), Timestamp = T0, Identifiers = [AnnEmail], ProductId = "sku-" + id };
}
