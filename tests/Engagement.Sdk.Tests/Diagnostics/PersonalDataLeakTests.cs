using System.Collections.Concurrent;
using System.Runtime.ExceptionServices;
using Engagement.Sdk.Channels;
using Engagement.Sdk.Consent;
using Engagement.Sdk.Decisioning;
using Engagement.Sdk.Events;
using Engagement.Sdk.Profiles;
using Engagement.Sdk.Sqlite;
using Engagement.Sdk.Storage;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Time.Testing;

namespace Engagement.Sdk.Tests.Diagnostics;

/// <summary>
/// Drives the engine, the consent ledger, the delivery worker, erasure and export through every path that logs or fails —
/// stage changes, decisions, suppressions, held messages, merges, duplicates, channel failures and exceptions, bad input — with
/// a logger that keeps every entry at every level and a hook that sees every exception thrown, and then looks for the test
/// data's e-mail addresses and phone numbers in all of it and in the errors stored with dispatches.
/// </summary>
public sealed class PersonalDataLeakTests
{
    private const string AnnAddress = "Ann.Lee@Example.com";
    private const string AnnPhoneNumber = "+380 67 123 4567";
    private const string BobAddress = "bob.smith@example.org";
    private const string BobPhoneNumber = "+44 20 7946 0018";
    private static readonly DateTimeOffset T0 = new(2026, 3, 2, 9, 0, 0, TimeSpan.Zero);
    private static readonly AsyncLocal<bool> Watching = new();

    // Customer ids that are themselves an address and a phone number, as hosts sometimes choose.
    private static readonly CustomerId Ann = new(AnnAddress.ToLowerInvariant());
    private static readonly CustomerId Bob = new("+447946000111");

    private static readonly ActionDefinition Welcome = new() { Id = "welcome", Name = "Welcome", Channels = [Channel.Email, Channel.Sms], Value = 50m, BasePropensity = 0.1, Priority = 5 };
    private static readonly ActionDefinition Promo = new() { Id = "promo", Name = "Promo", Channels = [Channel.Email, Channel.Sms], Value = 5m, BasePropensity = 0.1, Priority = 1, HoldFor = TimeSpan.FromDays(3) };

    public static TheoryData<string> Stores => new() { "memory", "sqlite" };

    [Theory]
    [MemberData(nameof(Stores))]
    public async Task EveryPath_LogsExceptionsAndStoredErrors_HoldNoEmailAddressOrPhoneNumber(string store)
    {
        var logs = new CapturingLoggerProvider();
        var thrown = new ConcurrentQueue<string>();
        void Capture(object? sender, FirstChanceExceptionEventArgs e)
        {
            // What the channel itself throws is the provider's text, not the SDK's: it is left out, but anything that carries
            // it on (a wrapping exception, a log entry, a stored error) is scanned.
            if (Watching.Value && !FailingSender.Thrown.Contains(e.Exception))
            {
                thrown.Enqueue(e.Exception.ToString());
            }
        }

        var folder = Directory.CreateTempSubdirectory("engagement-leak-");
        AppDomain.CurrentDomain.FirstChanceException += Capture;
        Watching.Value = true;
        IReadOnlyList<DispatchRecord> stored;
        try
        {
            stored = await RunEveryPathAsync(store, folder.FullName, logs);
        }
        finally
        {
            Watching.Value = false;
            AppDomain.CurrentDomain.FirstChanceException -= Capture;
            Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
            folder.Delete(recursive: true);
        }

        // The run went through the paths it claims to (a scan of nothing would pass trivially).
        var ids = logs.Entries.Select(e => e.EventId).ToHashSet();
        ids.Should().Contain([1001, 1004, 2001, 3001, 3002, 3003, 4001], "duplicates, stage changes, merges, decisions, suppressions, failed dispatches and held messages were logged");
        thrown.Should().Contain(t => t.Contains(nameof(EngagementValidationException), StringComparison.Ordinal));
        FailingSender.Thrown.Should().NotBeEmpty("the SMS channel threw, quoting the number");
        stored.Should().Contain(d => d.Status == DispatchStatus.DeadLettered).And.Contain(d => d.Error != null);

        var texts = logs.Entries.Select(e => "log: " + e.AllText)
            .Concat(thrown.Select(t => "exception: " + t))
            .Concat(stored.Select(d => $"dispatch {d.DispatchId}: {d.Reason} {d.Error}"))
            .ToList();
        foreach (var secret in Secrets())
        {
            texts.Should().NotContain(t => t.Contains(secret, StringComparison.OrdinalIgnoreCase), $"'{secret}' is personal data");
        }
    }

    private static IEnumerable<string> Secrets()
    {
        foreach (var address in new[] { AnnAddress, BobAddress, "ann.lee@example.com", "Ann.Lee@@Example.com" })
        {
            yield return address;
            yield return address.Split('@')[0] + "@"; // the local part with its @
        }

        foreach (var phone in new[] { AnnPhoneNumber, BobPhoneNumber, "+447946000111", "+38067123456x7" })
        {
            yield return phone;
            var digits = new string(phone.Where(char.IsAsciiDigit).ToArray());
            yield return digits;
            yield return "+" + digits;
        }
    }

    private static async Task<IReadOnlyList<DispatchRecord>> RunEveryPathAsync(string store, string folder, CapturingLoggerProvider logs)
    {
        var clock = new FakeTimeProvider(T0);
        var email = new FailingSender(Channel.Email);
        var sms = new FailingSender(Channel.Sms);
        var services = new ServiceCollection();
        services.AddLogging(b => b.SetMinimumLevel(LogLevel.Trace).AddProvider(logs));
        services.AddSingleton<TimeProvider>(clock);
        var builder = services.AddEngagement().AddChannel(email).AddChannel(sms).UseActions(ActionCatalog.Create([Welcome, Promo]));
        if (store == "sqlite")
        {
            builder.UseSqlite($"Data Source={Path.Combine(folder, "shop.db")}");
        }

        services.Configure<DispatchOptions>(o => (o.MaxAttempts, o.RetryBaseDelay, o.RetryMaxDelay) = (2, TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(1)));
        await using var provider = services.BuildServiceProvider();
        var engine = provider.GetRequiredService<IEngagementEngine>();
        var worker = provider.GetRequiredService<DispatchWorker>();
        var ledger = provider.GetRequiredService<ConsentLedger>();
        var annEmail = Identifier.Email(AnnAddress);
        var annPhone = Identifier.Phone(AnnPhoneNumber);
        var bobEmail = Identifier.Email(BobAddress);
        var bobPhone = Identifier.Phone(BobPhoneNumber);

        // Consent: granted outright, by double opt-in (with evidence of the visitor's address and browser), and by SMS keyword.
        await engine.RecordConsentAsync(Grant("g-ann-email", Ann, Channel.Email, annEmail));
        await engine.RecordConsentAsync(Grant("g-ann-sms", Ann, Channel.Sms, annPhone));
        var optIn = await ledger.StartDoubleOptInAsync(Bob, Channel.Email, Purpose.Marketing, bobEmail, new ConsentEvidence("v1", "signup", "203.0.113.7", "Mozilla/5.0"), TimeSpan.FromDays(1));
        await ledger.ConfirmDoubleOptInAsync(Bob, bobEmail, "not-the-token");
        await ledger.ConfirmDoubleOptInAsync(Bob, bobEmail, optIn.Token);
        await engine.RecordConsentAsync(Grant("g-bob-sms", Bob, Channel.Sms, bobPhone));

        // Profiles and journeys: every kind of event, with identifiers, so stages change and decisions are taken and sent.
        await engine.TrackAsync(new ProfileUpdated { EventId = "p1", CustomerId = Ann, Timestamp = T0, Identifiers = [annEmail, annPhone], TimeZone = "Europe/Kyiv" });
        await engine.TrackAsync(new ProductViewed { EventId = "v1", CustomerId = Ann, Timestamp = T0, ProductId = "boots" });
        await engine.TrackAsync(new AddedToCart { EventId = "c1", CustomerId = Ann, Timestamp = T0, Identifiers = [annEmail], ProductId = "boots" });
        await engine.TrackAsync(new AddedToCart { EventId = "c1", CustomerId = Ann, Timestamp = T0, Identifiers = [annEmail], ProductId = "boots" });
        await engine.TrackAsync(new Purchased { EventId = "o1", CustomerId = Ann, Timestamp = T0, OrderId = "1", Lines = [new OrderLine("boots", 1, Money.Of(120m, "EUR"))] });
        await engine.TrackAsync(new AddedToCart { EventId = "c2", CustomerId = Ann, Timestamp = T0, ProductId = "socks" });
        await engine.TrackAsync(new AddedToCart { EventId = "b1", CustomerId = Bob, Timestamp = T0, Identifiers = [bobEmail, bobPhone], ProductId = "hat" });

        // A visitor who turns out to be Ann: merged into her profile.
        await engine.TrackAsync(new PageViewed { EventId = "anon-1", CustomerId = new CustomerId("visitor-7"), Timestamp = T0, Url = "https://shop.example/boots" });
        await engine.TrackAsync(new ProfileUpdated { EventId = "anon-2", CustomerId = new CustomerId("visitor-7"), Timestamp = T0, Identifiers = [annEmail] });

        // Delivery: the email provider quotes the address in its refusals; the SMS gateway throws with the number in its message.
        for (var pass = 0; pass < 4; pass++)
        {
            await worker.DeliverDueAsync();
            clock.Advance(TimeSpan.FromMinutes(5));
        }

        // Withdrawn consent suppresses; the day's cap holds what may wait, released the next day.
        await engine.RecordConsentAsync(Grant("w-ann-sms", Ann, Channel.Sms, annPhone) with { Status = ConsentStatus.Withdrawn, Evidence = null, EffectiveAt = clock.GetUtcNow() });
        await ledger.HandleInboundSmsAsync(bobPhone, "STOP");
        await engine.TrackAsync(new AddedToCart { EventId = "c3", CustomerId = Ann, Timestamp = clock.GetUtcNow(), ProductId = "scarf" });
        await engine.TrackAsync(new AddedToCart { EventId = "c4", CustomerId = Ann, Timestamp = clock.GetUtcNow(), ProductId = "gloves" });
        clock.Advance(TimeSpan.FromDays(1));
        await engine.ReleaseHeldAsync();
        await worker.DeliverDueAsync();

        // Bad input of every kind that quotes a value.
        await Expect(() => Identifier.Email("Ann.Lee@@Example.com"));
        await Expect(() => Identifier.Phone("+38067123456x7"));
        await Expect(() => new CustomerId(AnnAddress + "\n"));
        await Expect(async () => await engine.TrackAsync(new AddedToCart { EventId = "future", CustomerId = Ann, Timestamp = clock.GetUtcNow().AddDays(30), ProductId = "x" }));
        await Expect(async () => await engine.TrackAsync(new Purchased { EventId = "usd", CustomerId = Ann, Timestamp = clock.GetUtcNow(), OrderId = "2", Lines = [new OrderLine("x", 1, Money.Of(1m, "USD"))] }));
        await Expect(async () => await engine.TrackAsync(new AddedToCart { EventId = "bad\u0001id " + BobAddress, CustomerId = Ann, Timestamp = clock.GetUtcNow(), ProductId = "x" }));
        await engine.TrackBatchAsync([new AddedToCart { EventId = "batch " + AnnAddress + "\t", CustomerId = Bob, Timestamp = clock.GetUtcNow(), ProductId = "x" }]);

        // Export and erasure.
        await provider.GetRequiredService<CustomerDataPortability>().ExportAsync(Ann);
        await provider.GetRequiredService<CustomerErasure>().EraseAsync(Bob);
        await engine.TrackAsync(new AddedToCart { EventId = "after-erasure", CustomerId = Bob, Timestamp = clock.GetUtcNow(), Identifiers = [bobEmail], ProductId = "x" });

        var dispatches = provider.GetRequiredService<IDispatchStore>();
        var all = new List<DispatchRecord>();
        all.AddRange(await dispatches.ListAsync(Ann, T0.AddDays(-1)));
        await foreach (var dead in worker.ListDeadLettersAsync())
        {
            all.Add(dead);
        }

        return all;
    }

    private static async Task Expect(Func<Task> act)
    {
        try
        {
            await act();
        }
        catch (EngagementValidationException)
        {
            return;
        }

        throw new InvalidOperationException("The input was expected to be refused.");
    }

    private static Task Expect(Func<object> act) => Expect(() =>
    {
        act();
        return Task.CompletedTask;
    });

    private static ConsentRecord Grant(string id, CustomerId customer, Channel channel, Identifier address) => new()
    {
        RecordId = id,
        CustomerId = customer,
        Channel = channel,
        Purpose = Purpose.Marketing,
        Identifier = address,
        Status = ConsentStatus.Granted,
        Source = "form",
        Evidence = new ConsentEvidence("v1", "form", "198.51.100.23", "Mozilla/5.0"),
        EffectiveAt = T0.AddDays(-1),
    };

    /// <summary>A provider that refuses in words quoting the recipient: e-mail transiently then for good; SMS by throwing.</summary>
    private sealed class FailingSender(Channel channel) : IChannelSender
    {
        private int _calls;

        public static ConcurrentBag<Exception> Thrown { get; } = [];

        public Channel Channel => channel;

        public ValueTask<SendResult> SendAsync(OutboundMessage message, CancellationToken cancellationToken = default)
        {
            if (channel == Channel.Sms)
            {
                var refused = new InvalidOperationException($"gateway refused {message.Address?.Value}");
                Thrown.Add(refused);
                throw refused;
            }

            return ValueTask.FromResult(Interlocked.Increment(ref _calls) % 2 == 1
                ? SendResult.Transient($"mailbox {message.Address?.Value} is full")
                : SendResult.Permanent(PermanentFailureKind.ContentRejected, $"content refused for <{message.Address?.Value}>"));
        }
    }
}
