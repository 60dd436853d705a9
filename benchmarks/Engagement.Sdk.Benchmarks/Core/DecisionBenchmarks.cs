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

/// <summary>
/// Next-best-action decisions: the original ten-action decision (baseline), the full pipeline over 100 and 10 actions × 4 channels
/// into a reused buffer (allocation-free), with Thompson sampling, and tracking events end to end.
/// </summary>
[MemoryDiagnoser]
public class DecisionBenchmarks
{
    private static readonly DateTimeOffset Now = new(2026, 3, 1, 12, 0, 0, TimeSpan.Zero);
    private NextBestActionDecider _decider = null!;
    private CustomerProfile _profile = null!;
    private IEngagementEngine _engine = null!;
    private int _next;
    private DecisionWorkload _hundred = null!;
    private DecisionWorkload _ten = null!;
    private DecisionWorkload _thompson = null!;
    private readonly DecisionBuffer _buffer = DecisionBuffer.Create();

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

        _hundred = DecisionWorkload.Create(100);
        _ten = DecisionWorkload.Create(10);
        _thompson = DecisionWorkload.Create(10, new DecisioningOptions { Exploration = ExplorationMode.Thompson });
        foreach (var (name, workload) in new[] { ("hundred", _hundred), ("ten", _ten), ("thompson", _thompson) })
        {
            var decision = workload.Decider.DecideAsync(workload.Request).AsTask().GetAwaiter().GetResult();
            var survivors = decision.Candidates.Count(c => c.Status != CandidateStatus.Rejected && c.ActionId != ActionCatalog.NoActionId);
            Console.WriteLine($"// {name}: {decision.Candidates.Length} candidate evaluations, {survivors} survivors, chose {decision.Action.Id} on {decision.Channel} with probability {decision.ChoiceProbability:0.####}");
            if (decision.IsNoAction || survivors < 10)
            {
                throw new InvalidOperationException($"The {name} workload decided nothing or weighed too few candidates: the benchmark would not measure the pipeline.");
            }
        }
    }

    /// <summary>One decision: ten candidates, consent checked per channel, ranked, explained.</summary>
    [Benchmark(Baseline = true)]
    public ValueTask<Decision> Decide() => _decider.DecideAsync(_profile, Now);

    /// <summary>
    /// One decision over 100 actions × 4 channels (the whole pipeline of <see cref="DecisionWorkload"/>: consent, caps, stock,
    /// per-action contact policy, budgets, scoring and ε-greedy exploration with its logged probability), into a reused buffer.
    /// </summary>
    /// <returns>The buffer.</returns>
    [Benchmark]
    public DecisionBuffer DecideHundredActions() => _hundred.Decider.DecideAsync(_hundred.Request, _buffer).GetAwaiter().GetResult();

    /// <summary>The same pipeline over 10 actions × 4 channels, into a reused buffer.</summary>
    /// <returns>The buffer.</returns>
    [Benchmark]
    public DecisionBuffer DecideTenActions() => _ten.Decider.DecideAsync(_ten.Request, _buffer).GetAwaiter().GetResult();

    /// <summary>10 actions × 4 channels with Thompson sampling: the draws and the choice probability (quadrature or Monte Carlo) dominate.</summary>
    /// <returns>The buffer.</returns>
    [Benchmark]
    public DecisionBuffer DecideTenActionsThompson() => _thompson.Decider.DecideAsync(_thompson.Request, _buffer).GetAwaiter().GetResult();

    /// <summary>The 100-action decision made into an immutable <see cref="Decision"/> (the engine's path; its explanations are still written only when read).</summary>
    /// <returns>The decision.</returns>
    [Benchmark]
    public ValueTask<Decision> DecideHundredActionsToDecision() => _hundred.Decider.DecideAsync(_hundred.Request);

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
