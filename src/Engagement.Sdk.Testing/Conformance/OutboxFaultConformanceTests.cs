using Engagement.Sdk.Channels;
using Engagement.Sdk.Consent;
using Engagement.Sdk.Decisioning;
using Engagement.Sdk.Events;
using Engagement.Sdk.Profiles;
using Engagement.Sdk.Storage;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;

namespace Engagement.Sdk.Testing.Conformance;

/// <summary>
/// The outbox's guarantees on a store, under faults: a provider that fails transiently 30 % of the time, accepts and then times
/// out 5 % of the time, and refuses 1 % of addresses for good; two workers (in two "processes" where the store is shared) that
/// are killed at random points (after a claim, after the provider accepted, before they settle); and consent withdrawn after
/// the decision. Every message ends settled; none is lost; none reaches a customer who withdrew; with a provider that honours
/// idempotency keys none is delivered twice, and with one that does not, every possible duplicate is an unknown outcome that was
/// dead-lettered, never sent again.
/// </summary>
public abstract class OutboxFaultConformanceTests : ConformanceSuite
{
    /// <summary>Gets the names of this suite's checks, one row each, for a test framework's data-driven test.</summary>
    /// <value>One row per check.</value>
    public static IEnumerable<object[]> Checks => CheckRowsOf(typeof(OutboxFaultConformanceTests));

    /// <summary>The instant the simulated run starts.</summary>
    protected static readonly DateTimeOffset T0 = new(2026, 3, 2, 10, 0, 0, TimeSpan.Zero);

    /// <summary>How many messages a run decides (the environment variable <c>ENGAGEMENT_SDK_SOAK_MESSAGES</c> sets a longer soak).</summary>
    protected virtual int Messages => int.TryParse(Environment.GetEnvironmentVariable("ENGAGEMENT_SDK_SOAK_MESSAGES"), out var n) && n > 0 ? n : 300;

    /// <summary>
    /// Builds <paramref name="count"/> service providers ("processes") on one store: call <see cref="AddShop"/> on each
    /// collection and add the store under test. In-memory stores cannot be shared by two providers: return one provider.
    /// </summary>
    /// <param name="clock">The clock every process uses.</param>
    /// <param name="sender">The channel every process sends through.</param>
    /// <param name="count">How many processes.</param>
    /// <returns>The providers (the caller disposes them).</returns>
    protected abstract IReadOnlyList<IServiceProvider> CreateProcesses(TimeProvider clock, IChannelSender sender, int count);

    /// <summary>Writes a line of the run's figures (messages, kills, calls, outcomes); by default nowhere.</summary>
    /// <param name="line">The line.</param>
    protected virtual void Report(string line)
    {
    }

    /// <summary>Registers the engine as the test needs it: one email action, the default contact policy, fast retries.</summary>
    /// <param name="services">The services.</param>
    /// <param name="clock">The clock.</param>
    /// <param name="sender">The channel.</param>
    /// <returns>The builder, to add the store with.</returns>
    protected static EngagementBuilder AddShop(IServiceCollection services, TimeProvider clock, IChannelSender sender)
    {
        ArgumentNullException.ThrowIfNull(services);
        services.AddSingleton(clock);
        services.Configure<DispatchOptions>(o =>
        {
            o.BatchSize = 25;
            o.MaxAttempts = 12;
            o.RetryBaseDelay = TimeSpan.FromSeconds(10);
            o.RetryMaxDelay = TimeSpan.FromMinutes(5);
            o.LeaseDuration = TimeSpan.FromMinutes(2);
            o.AttemptTimeout = TimeSpan.FromSeconds(30);
            o.DefaultChannel = new ChannelResilienceOptions { BreakerMinimumThroughput = 10_000 };
        });
        return services.AddEngagement(o => o.DecideOnStageChange = false).AddChannel(sender)
            .ConfigureDecisions(static o => o.Exploration = ExplorationMode.Greedy) // every first cart queues the offer
            .UseActions(ActionCatalog.Create([
            new ActionDefinition { Id = "offer", Name = "Offer", Channels = [Channel.Email], Value = 10m, BasePropensity = 0.5 },
        ]));
    }

    /// <summary>With a provider that honours idempotency keys: every message is delivered exactly once or settled without delivery.</summary>
    /// <returns>A task.</returns>
    [ConformanceCheck]
    public Task Faults_IdempotentProvider_NoneLostNoneTwiceNoneWithoutPermission() => RunAsync(idempotent: true, seed: 7);

    /// <summary>With a provider that does not deduplicate: nothing is delivered twice; each possible duplicate was dead-lettered.</summary>
    /// <returns>A task.</returns>
    [ConformanceCheck]
    public Task Faults_ProviderWithoutIdempotency_EveryPossibleDuplicateIsDeadLetteredNeverResent() => RunAsync(idempotent: false, seed: 11);

    private async Task RunAsync(bool idempotent, int seed)
    {
        var clock = new FakeTimeProvider(T0);
        var random = new Random(seed);
        var provider = new FlakyProvider(new Random(seed + 1), idempotent);
        var processes = CreateProcesses(clock, provider, 2);
        try
        {
            var engine = processes[0].GetRequiredService<IEngagementEngine>();
            var store = processes[0].GetRequiredService<IDispatchStore>();
            var workers = Enumerable.Range(0, 2)
                .Select(i => ActivatorUtilities.CreateInstance<DispatchWorker>(processes[i % processes.Count], $"worker-{i}"))
                .ToArray();

            var customers = Enumerable.Range(0, Messages).Select(i => new CustomerId($"c{i:D6}")).ToList();
            var withdrawn = new HashSet<CustomerId>();
            var dispatchOf = new Dictionary<string, CustomerId>(StringComparer.Ordinal);
            foreach (var customer in customers)
            {
                var email = Identifier.Email(customer.Value + "@example.com");
                await engine.RecordConsentAsync(Grant(customer, email, ConsentStatus.Granted, T0.AddDays(-1)));
                await engine.TrackAsync(new ProfileUpdated { EventId = "tz-" + customer.Value, CustomerId = customer, Timestamp = T0.AddDays(-1), TimeZone = "Etc/UTC", Identifiers = [email] });
                var result = await engine.TrackAsync(new AddedToCart { EventId = "cart-" + customer.Value, CustomerId = customer, Timestamp = T0, ProductId = "boots" });
                result.Dispatch.Should().NotBeNull("every customer's first cart queues the offer");
                dispatchOf[result.Dispatch!.Result.DispatchId] = customer;
                if (random.NextDouble() < 0.1)
                {
                    // Withdrawn between the decision and the hand-off.
                    await engine.RecordConsentAsync(Grant(customer, email, ConsentStatus.Withdrawn, T0.AddSeconds(1)) with { RecordId = "w-" + customer.Value, Evidence = null });
                    withdrawn.Add(customer);
                }
            }

            clock.SetUtcNow(T0.AddSeconds(2));
            var crashes = 0;
            var idle = 0;
            for (var pass = 0; pass < 50 * Messages; pass++)
            {
                var now = clock.GetUtcNow();
                if (random.NextDouble() < 0.05)
                {
                    // A worker is killed: it claimed a batch; the provider accepted some of what the worker would have sent (a queued
                    // message whose gate allows it; an uncertain one it would have reconciled first); nothing was settled.
                    crashes++;
                    foreach (var claimed in await store.ClaimAsync(now, $"killed-{crashes}", now.AddMinutes(2), 1 + random.Next(10)))
                    {
                        if (claimed.Status == DispatchStatus.Queued && !withdrawn.Contains(claimed.CustomerId) && random.NextDouble() < 0.5)
                        {
                            provider.Accept(claimed.DispatchId);
                        }
                    }

                    continue;
                }

                if ((await workers[random.Next(workers.Length)].RunOnceAsync()).Claimed > 0)
                {
                    continue;
                }

                // Nothing due now: move the clock on by a few seconds; every eighth time, look at what is open instead (to stop
                // when nothing is, or to jump to the next due time), so that a long soak does not list the outbox every pass.
                if (++idle % 8 != 0)
                {
                    clock.SetUtcNow(now.AddSeconds(5));
                    continue;
                }

                var open = await OpenAsync(store);
                if (open.Count == 0)
                {
                    break;
                }

                var next = open.Min(d => DispatchRecords.DueOf(d));
                clock.SetUtcNow(next > now ? next : now.AddSeconds(1));
            }

            var final = new List<DispatchRecord>();
            foreach (var id in dispatchOf.Keys)
            {
                final.Add((await store.GetAsync(id))!);
            }

            final.Should().OnlyContain(d => d.Status != DispatchStatus.Queued && d.Status != DispatchStatus.Sending && d.Status != DispatchStatus.Unknown, "every message ends settled");
            final.Where(d => d.Status == DispatchStatus.Sent).Should().OnlyContain(d => provider.Deliveries(d.DispatchId) == 1, "a sent message was delivered, once");
            final.Should().OnlyContain(d => provider.Deliveries(d.DispatchId) <= 1, "no message is delivered twice");
            final.Where(d => withdrawn.Contains(d.CustomerId)).Should().OnlyContain(d => d.Status == DispatchStatus.Cancelled && d.Reason == PermissionReasons.Withdrawn && provider.Deliveries(d.DispatchId) == 0, "nothing is sent without permission");
            if (idempotent)
            {
                final.Where(d => d.Status != DispatchStatus.Sent).Should().OnlyContain(d => provider.Deliveries(d.DispatchId) == 0, "nothing delivered is left unaccounted for");
                final.Where(d => !withdrawn.Contains(d.CustomerId)).Should().OnlyContain(d => d.Status == DispatchStatus.Sent || d.Status == DispatchStatus.Undeliverable, "none is lost");
            }
            else
            {
                final.Where(d => d.Status != DispatchStatus.Sent && provider.Deliveries(d.DispatchId) == 1).Should().OnlyContain(d => d.Status == DispatchStatus.DeadLettered && d.Reason == DispatchReasons.Unreconcilable, "a possible duplicate is an unknown outcome set aside for a person");
            }

            Report($"{(idempotent ? "idempotent" : "non-idempotent")} provider: {Messages} messages ({withdrawn.Count} withdrawn), {crashes} workers killed, "
                + $"{final.Sum(d => d.Attempts)} channel calls; sent {final.Count(d => d.Status == DispatchStatus.Sent)}, undeliverable {final.Count(d => d.Status == DispatchStatus.Undeliverable)}, "
                + $"dead-lettered {final.Count(d => d.Status == DispatchStatus.DeadLettered)} (unreconcilable {final.Count(d => d.Reason == DispatchReasons.Unreconcilable)}), cancelled {final.Count(d => d.Status == DispatchStatus.Cancelled)}; "
                + $"delivered by the provider {final.Count(d => provider.Deliveries(d.DispatchId) > 0)}, twice {final.Count(d => provider.Deliveries(d.DispatchId) > 1)}; simulated {clock.GetUtcNow() - T0}");
            crashes.Should().BePositive("the run must have killed workers to prove anything");
            final.Should().Contain(d => d.Attempts > 1, "the run must have retried");
        }
        finally
        {
            foreach (var process in processes)
            {
                if (process is IAsyncDisposable disposable)
                {
                    await disposable.DisposeAsync();
                }
            }
        }
    }

    private static async Task<List<DispatchRecord>> OpenAsync(IDispatchStore store)
    {
        var open = new List<DispatchRecord>();
        foreach (var status in new[] { DispatchStatus.Queued, DispatchStatus.Sending, DispatchStatus.Unknown })
        {
            await foreach (var record in store.ListByStatusAsync(status))
            {
                open.Add(record);
            }
        }

        return open;
    }

    private static ConsentRecord Grant(CustomerId customer, Identifier email, ConsentStatus status, DateTimeOffset at) => new()
    {
        RecordId = "g-" + customer.Value,
        CustomerId = customer,
        Channel = Channel.Email,
        Identifier = email,
        Purpose = Purpose.Marketing,
        Status = status,
        Source = "form",
        Evidence = new ConsentEvidence("v1", "form"),
        EffectiveAt = at,
    };

    /// <summary>A provider that fails as a real one does; with idempotency keys it delivers an id at most once.</summary>
    private sealed class FlakyProvider(Random random, bool idempotent) : IChannelSender
    {
        private readonly Dictionary<string, int> _deliveries = new(StringComparer.Ordinal);
        private readonly Lock _lock = new();

        public Channel Channel => Channel.Email;

        public ChannelCapabilities Capabilities => idempotent ? ChannelCapabilities.IdempotencyKeys : ChannelCapabilities.None;

        public int Deliveries(string dispatchId)
        {
            lock (_lock)
            {
                return _deliveries.GetValueOrDefault(dispatchId);
            }
        }

        public void Accept(string dispatchId)
        {
            lock (_lock)
            {
                if (!idempotent || !_deliveries.ContainsKey(dispatchId))
                {
                    _deliveries[dispatchId] = _deliveries.GetValueOrDefault(dispatchId) + 1;
                }
            }
        }

        public ValueTask<SendResult> SendAsync(OutboundMessage message, CancellationToken cancellationToken = default)
        {
            double roll;
            bool known;
            lock (_lock)
            {
                roll = random.NextDouble();
                known = _deliveries.ContainsKey(message.DispatchId);
            }

            if (idempotent && known)
            {
                return ValueTask.FromResult(SendResult.Accepted); // the key was seen: accepted, not delivered again
            }

            if (roll < 0.30)
            {
                return ValueTask.FromResult(SendResult.Transient("503 try later"));
            }

            if (roll < 0.35)
            {
                Accept(message.DispatchId);
                return ValueTask.FromResult(SendResult.Unknown("timed out after the request was sent"));
            }

            if (roll < 0.36)
            {
                return ValueTask.FromResult(SendResult.Permanent(PermanentFailureKind.AddressInvalid, "550 no such mailbox"));
            }

            Accept(message.DispatchId);
            return ValueTask.FromResult(SendResult.Accepted);
        }
    }
}
