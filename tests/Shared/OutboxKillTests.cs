using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text.Json;
using Engagement.Sdk.Channels;
using Engagement.Sdk.Channels.Webhook;
using Engagement.Sdk.Consent;
using Engagement.Sdk.Events;
using Engagement.Sdk.OutboxWorkerHost;
using Engagement.Sdk.Profiles;
using Engagement.Sdk.Storage;
using Microsoft.Extensions.DependencyInjection;
using Xunit.Abstractions;
using Xunit.Sdk;

namespace Engagement.Sdk.SharedTests;

/// <summary>
/// The outbox under real crashes: delivery worker processes (<c>Engagement.Sdk.OutboxWorkerHost</c>) on one store, posting
/// through the webhook channel to a provider on 127.0.0.1 that honours idempotency keys, are killed with kill -9 at random
/// points and replaced. The provider fails transiently 30 % of the time, accepts and answers too late 5 % of the time (an
/// unknown outcome, reconciled by sending again under the same key), and refuses 1 % of addresses for good; 10 % of the
/// customers withdraw consent after the decision. Two workers run; every 150 to 600 ms one of them, chosen at random, is killed
/// and replaced, until nothing is open or for 45 s at most; then one last worker finishes and is stopped. Every message ends
/// settled; a sent message was delivered exactly once; nothing is delivered twice; nothing reaches a customer who withdrew.
/// This file is shared by the SQLite and PostgreSQL tests.
/// </summary>
/// <param name="output">Where the run's figures and the workers' standard error go.</param>
public abstract class OutboxKillTests(ITestOutputHelper output)
{
    /// <summary>How long the workers are killed and replaced, at most, before one last worker is left to finish.</summary>
    private static readonly TimeSpan KillingFor = TimeSpan.FromSeconds(45);

    /// <summary>
    /// How long the workers may take to settle every message, from the first worker's start: one worker alone settles 1,000 in
    /// about 45 s on two cores; the margin is for a machine that runs other tests at the same time.
    /// </summary>
    private static readonly TimeSpan SettleWithin = TimeSpan.FromSeconds(180);

    /// <summary>How many messages the run queues.</summary>
    protected abstract int Messages { get; }

    /// <summary>The store's name, in the run's figures.</summary>
    protected abstract string StoreName { get; }

    /// <summary>Adds the store under test to the test's own engine.</summary>
    /// <param name="builder">The builder.</param>
    protected abstract void UseStore(EngagementBuilder builder);

    /// <summary>The command line of a worker process on the same store.</summary>
    /// <param name="endpoint">The provider's webhook.</param>
    /// <param name="workerId">The worker's id.</param>
    /// <returns>The arguments.</returns>
    protected abstract WorkerArguments WorkerOn(Uri endpoint, string workerId);

    [Fact]
    public async Task KillNine_WorkersKilledWhileDelivering_EverySettledNoneTwiceNoneWithoutPermission()
    {
        var seed = Environment.TickCount;
        var random = new Random(seed);
        using var provider = new IdempotentProvider(new Random(seed + 1));
        var services = new ServiceCollection();
        UseStore(OutboxWorkerSetup.AddShop(services, provider.Endpoint));
        await using var engineServices = services.BuildServiceProvider();
        var engine = engineServices.GetRequiredService<IEngagementEngine>();
        var store = engineServices.GetRequiredService<IDispatchStore>();

        // The test queues; only the worker processes deliver.
        var queueing = Stopwatch.StartNew();
        var now = TimeProvider.System.GetUtcNow();
        var dispatchOf = new Dictionary<string, CustomerId>(StringComparer.Ordinal);
        var customers = Enumerable.Range(0, Messages).Select(i => new CustomerId($"c{i:D6}")).ToList();
        foreach (var customer in customers)
        {
            var email = Email(customer);
            await engine.RecordConsentAsync(Consent(customer, ConsentStatus.Granted, now.AddDays(-1)));
            await engine.TrackAsync(new ProfileUpdated { EventId = "tz-" + customer.Value, CustomerId = customer, Timestamp = now.AddDays(-1), TimeZone = "Etc/UTC", Identifiers = [email] });
            var result = await engine.TrackAsync(new AddedToCart { EventId = "cart-" + customer.Value, CustomerId = customer, Timestamp = now, ProductId = "boots" });
            result.Dispatch.Should().NotBeNull("every customer's first cart queues the offer");
            dispatchOf[result.Dispatch!.Result.DispatchId] = customer;
        }

        // Withdrawn after the decision, before any worker runs: these must never reach the provider.
        var withdrawn = customers.Where((_, i) => i % 10 == 3).ToHashSet();
        foreach (var customer in withdrawn)
        {
            await engine.RecordConsentAsync(Consent(customer, ConsentStatus.Withdrawn, TimeProvider.System.GetUtcNow()) with { RecordId = "w-" + customer.Value, Evidence = null });
        }

        queueing.Stop();
        (await OpenAsync(store)).Should().Be(Messages, "every message waits in the outbox before a worker starts");

        var run = Stopwatch.StartNew();
        await using var workers = new WorkerProcesses(id => WorkerOn(provider.Endpoint, id));
        int open;
        var killing = TimeSpan.Zero;
        var openAfterKilling = 0;
        try
        {
            workers.Start();
            workers.Start();
            while ((open = await OpenAsync(store)) > 0 && run.Elapsed < KillingFor)
            {
                await Task.Delay(random.Next(150, 601));
                workers.ThrowIfOneExitedOnItsOwn();
                await workers.KillAsync(random.Next(workers.Running));
                workers.Start();
            }

            killing = run.Elapsed;
            openAfterKilling = open;

            // One last worker finishes what is left (what the killed ones held comes back when their leases run out).
            while (workers.Running > 1)
            {
                await workers.KillAsync(0);
            }

            while ((open = await OpenAsync(store)) > 0 && run.Elapsed < SettleWithin)
            {
                await Task.Delay(100);
                workers.ThrowIfOneExitedOnItsOwn();
            }

            run.Stop();
            if (open > 0)
            {
                throw new XunitException(
                    $"{open} of {Messages} messages were still queued, sending or unknown {SettleWithin.TotalSeconds:F0} s after the first worker started " +
                    $"({workers.Kills} kills, {provider.Requests} requests, {provider.Delivered} delivered; seed {seed}).{Environment.NewLine}{workers.StandardErrorTail(60)}");
            }

            (await workers.StopLastAsync()).Should().Be(0, "the last worker stops cleanly when its standard input closes; its standard error: {0}", workers.StandardErrorTail(20));
        }
        finally
        {
            output.WriteLine(workers.StandardErrorTail(200));
        }

        var final = new List<DispatchRecord>();
        foreach (var id in dispatchOf.Keys)
        {
            final.Add((await store.GetAsync(id))!);
        }

        output.WriteLine(
            $"{StoreName}: {Messages} messages ({withdrawn.Count} withdrawn), {workers.Kills} kills of {workers.Started} worker processes, " +
            $"{provider.Requests} requests, {provider.Delivered} delivered, {provider.ResentAfterAcceptance} keys sent again after the provider had accepted them; " +
            $"{final.Count(d => d.Status == DispatchStatus.Sent)} sent, {final.Count(d => d.Status == DispatchStatus.Undeliverable)} undeliverable, " +
            $"{final.Count(d => d.Status == DispatchStatus.Cancelled)} cancelled, {final.Count(d => d.Status == DispatchStatus.DeadLettered)} dead-lettered; " +
            $"queued in {queueing.Elapsed.TotalSeconds:F1} s; killing for {killing.TotalSeconds:F1} s left {openAfterKilling} open; settled in {run.Elapsed.TotalSeconds:F1} s; seed {seed}.");

        final.Should().OnlyContain(d => d.Status != DispatchStatus.Queued && d.Status != DispatchStatus.Sending && d.Status != DispatchStatus.Unknown, "every message ends settled");
        final.Where(d => d.Status == DispatchStatus.Sent).Should().OnlyContain(d => provider.Deliveries(d.DispatchId) == 1, "a sent message was delivered, once");
        final.Should().OnlyContain(d => provider.Deliveries(d.DispatchId) <= 1, "no message is delivered twice");
        provider.CustomersDeliveredTwice.Should().BeEmpty("each customer was queued one message, so none receives two");
        final.Where(d => d.Status != DispatchStatus.Sent).Should().OnlyContain(d => provider.Deliveries(d.DispatchId) == 0, "nothing the provider delivered is left unaccounted for");
        final.Where(d => !withdrawn.Contains(d.CustomerId)).Should().OnlyContain(d => d.Status == DispatchStatus.Sent || d.Status == DispatchStatus.Undeliverable, "none is lost");
        final.Where(d => withdrawn.Contains(d.CustomerId)).Should().OnlyContain(
            d => d.Status == DispatchStatus.Cancelled && d.Reason == PermissionReasons.Withdrawn && provider.RequestsFor(d.DispatchId) == 0,
            "nothing is handed to the provider without permission");
        provider.Malformed.Should().Be(0, "every post carries its dispatch id as the idempotency key");
        workers.Kills.Should().BeGreaterThanOrEqualTo(5, "the run must have killed workers to prove anything");
        provider.ResentAfterAcceptance.Should().BePositive("the run must have sent some message again under a key the provider had accepted");
    }

    private static Identifier Email(CustomerId customer) => Identifier.Email(customer.Value + "@example.com");

    private static ConsentRecord Consent(CustomerId customer, ConsentStatus status, DateTimeOffset at) => new()
    {
        RecordId = "g-" + customer.Value,
        CustomerId = customer,
        Channel = Channel.Email,
        Identifier = Email(customer),
        Purpose = Purpose.Marketing,
        Status = status,
        Source = "form",
        Evidence = new ConsentEvidence("v1", "form"),
        EffectiveAt = at,
    };

    private static async Task<int> OpenAsync(IDispatchStore store)
    {
        var open = 0;
        foreach (var status in new[] { DispatchStatus.Queued, DispatchStatus.Sending, DispatchStatus.Unknown })
        {
            await foreach (var _ in store.ListByStatusAsync(status))
            {
                open++;
            }
        }

        return open;
    }

    /// <summary>
    /// A provider on 127.0.0.1 that deduplicates by <c>Idempotency-Key</c> (a key it has accepted is answered 200 and not delivered
    /// again) and otherwise answers at random: 30 % 503, 5 % delivered but answered only after 2 seconds, 1 % 422 with
    /// <c>Engagement-Failure: address-invalid</c>, else 200 and delivered.
    /// </summary>
    private sealed class IdempotentProvider : IDisposable
    {
        private static readonly TimeSpan SlowReply = TimeSpan.FromSeconds(2);
        private readonly HttpListener _listener = new();
        private readonly Random _random;
        private readonly Lock _lock = new();
        private readonly Dictionary<string, int> _requests = new(StringComparer.Ordinal);
        private readonly Dictionary<string, int> _deliveries = new(StringComparer.Ordinal);
        private readonly Dictionary<string, int> _deliveriesPerCustomer = new(StringComparer.Ordinal);
        private readonly HashSet<string> _resentAfterAcceptance = new(StringComparer.Ordinal);
        private readonly Task _loop;
        private int _malformed;

        public IdempotentProvider(Random random)
        {
            _random = random;
            var port = FreePort();
            _listener.Prefixes.Add($"http://127.0.0.1:{port}/");
            _listener.Start();
            Endpoint = new Uri($"http://127.0.0.1:{port}/hooks/engagement");
            _loop = Task.Run(LoopAsync);
        }

        private enum Reply
        {
            Accepted,
            AcceptedLate,
            Busy,
            AddressInvalid,
            Malformed,
        }

        public Uri Endpoint { get; }

        public int Requests
        {
            get
            {
                lock (_lock)
                {
                    return _requests.Values.Sum();
                }
            }
        }

        public int Delivered
        {
            get
            {
                lock (_lock)
                {
                    return _deliveries.Values.Sum();
                }
            }
        }

        public int ResentAfterAcceptance
        {
            get
            {
                lock (_lock)
                {
                    return _resentAfterAcceptance.Count;
                }
            }
        }

        public int Malformed => Volatile.Read(ref _malformed);

        public IReadOnlyList<string> CustomersDeliveredTwice
        {
            get
            {
                lock (_lock)
                {
                    return [.. _deliveriesPerCustomer.Where(static p => p.Value > 1).Select(static p => p.Key)];
                }
            }
        }

        public int Deliveries(string key)
        {
            lock (_lock)
            {
                return _deliveries.GetValueOrDefault(key);
            }
        }

        public int RequestsFor(string key)
        {
            lock (_lock)
            {
                return _requests.GetValueOrDefault(key);
            }
        }

        public void Dispose()
        {
            _listener.Close();
            try
            {
                _loop.Wait(TimeSpan.FromSeconds(5));
            }
            catch (AggregateException)
            {
            }
        }

        private static int FreePort()
        {
            using var probe = new TcpListener(IPAddress.Loopback, 0);
            probe.Start();
            var port = ((IPEndPoint)probe.LocalEndpoint).Port;
            probe.Stop();
            return port;
        }

        private async Task LoopAsync()
        {
            while (_listener.IsListening)
            {
                HttpListenerContext context;
                try
                {
                    context = await _listener.GetContextAsync();
                }
                catch (Exception ex) when (ex is HttpListenerException or ObjectDisposedException or InvalidOperationException)
                {
                    return;
                }

                _ = Task.Run(() => AnswerAsync(context));
            }
        }

        private async Task AnswerAsync(HttpListenerContext context)
        {
            try
            {
                using var body = new MemoryStream();
                await context.Request.InputStream.CopyToAsync(body);
                var reply = Decide(context.Request.Headers[WebhookChannelSender.IdempotencyKeyHeader], body.ToArray());
                var response = context.Response;
                switch (reply)
                {
                    case Reply.AcceptedLate:
                        await Task.Delay(SlowReply);
                        response.StatusCode = 200;
                        break;
                    case Reply.Busy:
                        response.StatusCode = 503;
                        break;
                    case Reply.AddressInvalid:
                        response.StatusCode = 422;
                        response.Headers[WebhookChannelSender.FailureHeader] = WebhookChannelSender.AddressInvalidMarker;
                        break;
                    case Reply.Malformed:
                        response.StatusCode = 400;
                        break;
                    default:
                        response.StatusCode = 200;
                        break;
                }

                response.Close();
            }
            catch (Exception ex) when (ex is HttpListenerException or ObjectDisposedException or InvalidOperationException or IOException)
            {
                // The worker is gone (killed, or it stopped waiting): the outcome is its to reconcile.
            }
        }

        private Reply Decide(string? key, byte[] body)
        {
            string? dispatchId = null;
            string? customerId = null;
            try
            {
                using var json = JsonDocument.Parse(body);
                dispatchId = json.RootElement.GetProperty("dispatchId").GetString();
                customerId = json.RootElement.GetProperty("customerId").GetString();
            }
            catch (Exception ex) when (ex is JsonException or KeyNotFoundException or InvalidOperationException)
            {
            }

            if (string.IsNullOrEmpty(key) || key != dispatchId || customerId is null)
            {
                Interlocked.Increment(ref _malformed);
                return Reply.Malformed;
            }

            lock (_lock)
            {
                _requests[key] = _requests.GetValueOrDefault(key) + 1;
                if (_deliveries.ContainsKey(key))
                {
                    _resentAfterAcceptance.Add(key);
                    return Reply.Accepted;
                }

                var roll = _random.NextDouble();
                if (roll < 0.30)
                {
                    return Reply.Busy;
                }

                if (roll >= 0.35 && roll < 0.36)
                {
                    return Reply.AddressInvalid;
                }

                _deliveries[key] = 1;
                _deliveriesPerCustomer[customerId] = _deliveriesPerCustomer.GetValueOrDefault(customerId) + 1;
                return roll < 0.35 ? Reply.AcceptedLate : Reply.Accepted;
            }
        }
    }

    /// <summary>The worker processes of a run: started, killed with kill -9, their standard error kept.</summary>
    /// <param name="arguments">The command line of a worker with the given id.</param>
    private sealed class WorkerProcesses(Func<string, WorkerArguments> arguments) : IAsyncDisposable
    {
        private const string HostAssembly = "Engagement.Sdk.OutboxWorkerHost.dll";
        private readonly List<(Process Process, string Id)> _running = [];
        private readonly ConcurrentQueue<string> _standardError = new();

        public int Running => _running.Count;

        public int Started { get; private set; }

        public int Kills { get; private set; }

        public void Start()
        {
            var host = Path.Combine(AppContext.BaseDirectory, HostAssembly);
            if (!File.Exists(host))
            {
                throw new XunitException($"The worker host {host} is missing: the test project must reference Engagement.Sdk.OutboxWorkerHost.");
            }

            var id = $"worker-{++Started}";
            var start = new ProcessStartInfo(DotNet())
            {
                RedirectStandardInput = true,
                RedirectStandardOutput = true,
                RedirectStandardError = true,
                UseShellExecute = false,
            };
            start.ArgumentList.Add(host);
            foreach (var argument in arguments(id).ToArguments())
            {
                start.ArgumentList.Add(argument);
            }

            var process = new Process { StartInfo = start };
            process.ErrorDataReceived += (_, e) =>
            {
                if (e.Data is not null)
                {
                    _standardError.Enqueue($"[{id}] {e.Data}");
                }
            };
            process.OutputDataReceived += static (_, _) => { };
            process.Start();
            process.BeginErrorReadLine();
            process.BeginOutputReadLine();
            _running.Add((process, id));
        }

        public async Task KillAsync(int index)
        {
            var (process, _) = _running[index];
            _running.RemoveAt(index);
            process.Kill(entireProcessTree: true);
            Kills++;
            await process.WaitForExitAsync();
            process.Dispose();
        }

        public void ThrowIfOneExitedOnItsOwn()
        {
            foreach (var (process, id) in _running)
            {
                if (process.HasExited)
                {
                    process.WaitForExit(); // drains the redirected standard error
                    throw new XunitException($"Worker {id} exited on its own with code {process.ExitCode}.{Environment.NewLine}{StandardErrorTail(60)}");
                }
            }
        }

        /// <summary>Closes the last worker's standard input, which stops it, and waits for it to exit.</summary>
        /// <returns>Its exit code.</returns>
        public async Task<int> StopLastAsync()
        {
            var (process, _) = _running.Single();
            _running.Clear();
            process.StandardInput.Close();
            using var patience = new CancellationTokenSource(TimeSpan.FromSeconds(15));
            try
            {
                await process.WaitForExitAsync(patience.Token);
                return process.ExitCode;
            }
            catch (OperationCanceledException)
            {
                process.Kill(entireProcessTree: true);
                throw new XunitException($"The last worker did not stop within 15 s of its standard input closing.{Environment.NewLine}{StandardErrorTail(20)}");
            }
            finally
            {
                process.Dispose();
            }
        }

        public string StandardErrorTail(int lines)
        {
            var all = _standardError.ToArray();
            return all.Length == 0
                ? "The workers wrote nothing to standard error."
                : $"The workers' standard error ({all.Length} lines, the last {Math.Min(lines, all.Length)}):{Environment.NewLine}{string.Join(Environment.NewLine, all.TakeLast(lines))}";
        }

        public async ValueTask DisposeAsync()
        {
            while (_running.Count > 0)
            {
                await KillAsync(0);
            }
        }

        // The muxer that runs the tests (dotnet test sets DOTNET_HOST_PATH), else the one on the path.
        private static string DotNet()
            => Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") is { Length: > 0 } path && File.Exists(path) ? path : "dotnet";
    }
}
