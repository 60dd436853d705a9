using BenchmarkDotNet.Attributes;
using Engagement.Sdk;
using Engagement.Sdk.Channels;
using Engagement.Sdk.Consent;
using Engagement.Sdk.Decisioning;
using Engagement.Sdk.Events;
using Engagement.Sdk.Profiles;
using Engagement.Sdk.Storage;
using Microsoft.Extensions.Options;

namespace Engagement.Sdk.Benchmarks.Core;

/// <summary>A next-best-action decision over a ten-action catalogue with in-memory consent, and tracking events end to end.</summary>
[MemoryDiagnoser]
public class DecisionBenchmarks
{
    private static readonly DateTimeOffset Now = new(2026, 3, 1, 12, 0, 0, TimeSpan.Zero);
    private NextBestActionDecider _decider = null!;
    private CustomerProfile _profile = null!;
    private IEngagementEngine _engine = null!;
    private int _next;

    [GlobalSetup]
    public void Setup()
    {
        var customer = new CustomerId("c1");
        var consents = new InMemoryConsentStore();
        consents.AppendAsync(new ConsentRecord
        {
            RecordId = "g1", CustomerId = customer, Channel = Channel.Email, Purpose = Purpose.Marketing, Status = ConsentStatus.Granted,
            Source = "form", Evidence = new ConsentEvidence("v1", "form"), EffectiveAt = Now.AddDays(-10),
        }).AsTask().GetAwaiter().GetResult();
        var gate = new PermissionGate(consents, new InMemoryDispatchStore(), Options.Create(new ContactPolicyOptions()));
        var actions = Enumerable.Range(1, 10).Select(i => new ActionDefinition
        {
            Id = "a" + i, Name = "Action " + i, Channels = [Channel.Email, Channel.Sms], Value = i, BasePropensity = 0.05, ProductId = i % 3 == 0 ? "p" + i : null,
        });
        var catalog = ActionCatalog.Create(actions);
        _decider = new NextBestActionDecider(catalog, gate, new AdaptivePropensities(new InMemoryPropensityStore(), catalog), new UnlimitedStockProvider(), _ => true, "lifecycle");
        _profile = CustomerProfile.New(customer).WithIdentifier(Identifier.Email("ann@example.com"));

        var services = new Microsoft.Extensions.DependencyInjection.ServiceCollection();
        Microsoft.Extensions.DependencyInjection.EngagementServiceCollectionExtensions.AddEngagement(services);
        _engine = Microsoft.Extensions.DependencyInjection.ServiceProviderServiceExtensions.GetRequiredService<IEngagementEngine>(
            Microsoft.Extensions.DependencyInjection.ServiceCollectionContainerBuilderExtensions.BuildServiceProvider(services));
    }

    /// <summary>One decision: ten candidates, consent checked per channel, ranked, explained.</summary>
    [Benchmark(Baseline = true)]
    public ValueTask<Decision> Decide() => _decider.DecideAsync(_profile, Now);

    /// <summary>Tracking one product view through the engine (validate, append, profile update, journey, save) on the in-memory stores.</summary>
    [Benchmark]
    public ValueTask<TrackResult> TrackProductView()
    {
        var n = Interlocked.Increment(ref _next);
        return _engine.TrackAsync(new ProductViewed
        {
            EventId = "e" + n.ToString(System.Globalization.CultureInfo.InvariantCulture),
            CustomerId = new CustomerId("c" + (n % 10_000).ToString(System.Globalization.CultureInfo.InvariantCulture)),
            Timestamp = DateTimeOffset.UtcNow.AddMinutes(-1),
            ProductId = "p1",
        });
    }
}
