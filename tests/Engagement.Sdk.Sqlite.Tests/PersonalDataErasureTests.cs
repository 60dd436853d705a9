using System.Collections.Immutable;
using System.Text;
using Engagement.Sdk.Channels;
using Engagement.Sdk.Consent;
using Engagement.Sdk.Events;
using Engagement.Sdk.Profiles;
using Engagement.Sdk.Testing;
using Microsoft.Extensions.DependencyInjection;

namespace Engagement.Sdk.Sqlite.Tests;

/// <summary>
/// Every field marked as personal data is planted with a recognisable value, exported, erased, and then looked for in the
/// bytes of the database file: an erasure must leave no trace of it, not even in freed pages.
/// </summary>
public sealed class PersonalDataErasureTests : IDisposable
{
    private static readonly DateTimeOffset Now = new(2026, 6, 1, 12, 0, 0, TimeSpan.Zero);
    private readonly string _directory = Directory.CreateTempSubdirectory("engagement-erasure-").FullName;

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    [Fact]
    public async Task Erase_EveryPersonalDataField_IsExportedThenLeavesNoTraceInTheDatabaseFile()
    {
        var path = Path.Combine(_directory, "shop.db");
        var ann = new CustomerId("customer-7781");
        var planted = new Dictionary<string, string>(StringComparer.Ordinal)
        {
            ["CustomerProfile.Identifiers"] = "zoe.sentinel@example.com",
            ["CustomerProfile.Traits"] = "Sentinel-Surname-Quill",
            ["CustomerProfile.TimeZone"] = "Pacific/Chatham",
            ["CustomerProfile.Locale"] = "uk-UA-x-sentinel",
            ["Identifier.Value"] = "+64 3 555 0199",
            ["EngagementEvent.Identifiers"] = "device-sentinel-4411",
            ["ProfileUpdated.Traits"] = "Sentinel-Surname-Quill",
            ["ProfileUpdated.TimeZone"] = "Pacific/Chatham",
            ["ProfileUpdated.Locale"] = "uk-UA-x-sentinel",
            ["CustomEvent.Properties"] = "Sentinel-Gift-Note",
            ["ConsentRecord.Identifier"] = "zoe.sentinel@example.com",
            ["ConsentEvidence.IpAddress"] = "127.0.0.1",
            ["ConsentEvidence.UserAgent"] = "SentinelBrowser/9.9",
        };
        planted.Keys.Should().BeEquivalentTo(PersonalDataInventory.Fields, "every marked field is planted here, so a newly marked field must be added to this test");

        var services = new ServiceCollection();
        services.AddSingleton<TimeProvider>(new ManualTimeProvider(Now));
        services.AddEngagement().UseSqlite($"Data Source={path}");
        await using (var provider = services.BuildServiceProvider())
        {
            var engine = provider.GetRequiredService<IEngagementEngine>();
            var email = Identifier.Email("zoe.sentinel@example.com");
            var phone = Identifier.Phone("+64 3 555 0199");
            await engine.TrackAsync(new ProfileUpdated
            {
                EventId = "e1", CustomerId = ann, Timestamp = Now.AddHours(-3), Identifiers = [email, phone, Identifier.Device("device-sentinel-4411")],
                Traits = ImmutableDictionary<string, TraitValue>.Empty.Add("surname", TraitValue.Of("Sentinel-Surname-Quill")),
                TimeZone = "Pacific/Chatham", Locale = "uk-UA-x-sentinel",
            });
            await engine.TrackAsync(new CustomEvent
            {
                EventId = "e2", CustomerId = ann, Timestamp = Now.AddHours(-2), Name = "gift_note",
                Properties = ImmutableDictionary<string, TraitValue>.Empty.Add("note", TraitValue.Of("Sentinel-Gift-Note")),
            });
            await engine.RecordConsentAsync(new ConsentRecord
            {
                RecordId = "c1", CustomerId = ann, Channel = Channel.Email, Identifier = email, Purpose = Purpose.Marketing,
                Status = ConsentStatus.Granted, Source = "signup-form", EffectiveAt = Now.AddHours(-1),
                Evidence = new ConsentEvidence("notice-v1", "signup-form", "127.0.0.1", "SentinelBrowser/9.9"),
            });

            var export = Encoding.UTF8.GetString(CustomerDataPortability.ToJson(await provider.GetRequiredService<CustomerDataPortability>().ExportAsync(ann)));
            foreach (var (field, value) in planted)
            {
                var stored = field == "Identifier.Value" ? "6435550199" : value;
                export.Should().Contain(stored, $"the export holds {field}");
            }

            await provider.GetRequiredService<CustomerErasure>().EraseAsync(ann);
        }

        var bytes = await File.ReadAllBytesAsync(path);
        foreach (var (field, value) in planted)
        {
            var stored = field == "Identifier.Value" ? "6435550199" : value;
            bytes.AsSpan().IndexOf(Encoding.UTF8.GetBytes(stored)).Should().Be(-1, $"{field} ('{stored}') must leave no trace in the database file after erasure");
        }

        File.Exists(path + "-wal").Should().BeFalse("the write-ahead log is checkpointed and removed when the database closes");
    }

    [Fact]
    public async Task Erase_WhileTheConnectionIsOpen_LeavesNoEmailSurnameOrPhoneInTheDatabaseWalOrShmFile()
    {
        var path = Path.Combine(_directory, "live.db");
        var ann = new CustomerId("customer-9120");
        string[] secrets = ["quill.livewire@example.com", "Livewire-Surname-Oddfellow", "6435550177"];
        var services = new ServiceCollection();
        services.AddSingleton<TimeProvider>(new ManualTimeProvider(Now));
        services.AddEngagement().UseSqlite($"Data Source={path}");
        await using var provider = services.BuildServiceProvider();
        var engine = provider.GetRequiredService<IEngagementEngine>();
        await engine.TrackAsync(new ProfileUpdated
        {
            EventId = "e1", CustomerId = ann, Timestamp = Now.AddHours(-1), Identifiers = [Identifier.Email(secrets[0]), Identifier.Phone("+64 3 555 0177")],
            Traits = ImmutableDictionary<string, TraitValue>.Empty.Add("surname", TraitValue.Of(secrets[1])),
        });
        await engine.TrackAsync(new PageViewed { EventId = "e2", CustomerId = new("bob"), Timestamp = Now, Url = "/after" });
        var before = AllFileBytes(path);
        before.AsSpan().IndexOf(Encoding.UTF8.GetBytes(secrets[0])).Should().BeGreaterThanOrEqualTo(0, "the scan must see the data before the erasure, or it proves nothing");

        await provider.GetRequiredService<CustomerErasure>().EraseAsync(ann);

        // The engine (and its open connection) is still alive: the files are read as they are now.
        var after = AllFileBytes(path);
        foreach (var secret in secrets)
        {
            after.AsSpan().IndexOf(Encoding.UTF8.GetBytes(secret)).Should().Be(-1, $"'{secret}' must be in none of the database, -wal and -shm files after the erasure");
        }

        (await engine.TrackAsync(new PageViewed { EventId = "e3", CustomerId = new("bob"), Timestamp = Now, Url = "/still-works" })).Profile!.Behaviour.PageViews.Should().Be(2);
    }

    [Fact]
    public async Task Anonymise_WhileTheConnectionIsOpen_LeavesNoPersonalDataInTheFilesButKeepsTheAggregates()
    {
        var path = Path.Combine(_directory, "anonymise.db");
        var ann = new CustomerId("customer-5521");
        string[] secrets = ["customer-5521", "mira.anonymous@example.com", "Anonymous-Surname-Pelt", "6435550166", "mira-cookie-8812", "secret-query-token"];
        var services = new ServiceCollection();
        services.AddSingleton<TimeProvider>(new ManualTimeProvider(Now));
        services.AddEngagement().UseSqlite($"Data Source={path}");
        await using var provider = services.BuildServiceProvider();
        var engine = provider.GetRequiredService<IEngagementEngine>();
        await engine.TrackAsync(new ProfileUpdated
        {
            EventId = "e1", CustomerId = ann, Timestamp = Now.AddHours(-1), Identifiers = [Identifier.Email(secrets[1]), Identifier.Phone("+64 3 555 0166"), Identifier.Anonymous(secrets[4])],
            Traits = ImmutableDictionary<string, TraitValue>.Empty.Add("surname", TraitValue.Of(secrets[2])),
        });
        await engine.TrackAsync(new PageViewed { EventId = "e2", CustomerId = ann, Timestamp = Now, Url = "/boots?token=" + secrets[5], Identifiers = [Identifier.Anonymous(secrets[4])] });
        await engine.TrackAsync(new Purchased { EventId = "e3", CustomerId = ann, Timestamp = Now, OrderId = "o-1", Lines = [new OrderLine("boots", 1, Money.Of(80m, "EUR"))] });
        AllFileBytes(path).AsSpan().IndexOf(Encoding.UTF8.GetBytes(secrets[1])).Should().BeGreaterThanOrEqualTo(0, "the scan must see the data before, or it proves nothing");

        var report = await provider.GetRequiredService<CustomerErasure>().AnonymiseAsync(ann);

        var after = AllFileBytes(path);
        foreach (var secret in secrets)
        {
            after.AsSpan().IndexOf(Encoding.UTF8.GetBytes(secret)).Should().Be(-1, $"'{secret}' must be in none of the database, -wal and -shm files after the anonymisation");
        }

        var kept = await provider.GetRequiredService<Engagement.Sdk.Storage.IProfileStore>().GetAsync(report.AnonymousKey);
        kept!.Behaviour.Orders.Should().Be(1);
        kept.Behaviour.PageViews.Should().Be(1);
        report.EventsKept.Should().Be(2, "the page view and the order, without the profile update");
    }

    // Reads each file with sharing, as another process would while the database is open.
    private static byte[] AllFileBytes(string path)
    {
        using var all = new MemoryStream();
        foreach (var file in new[] { path, path + "-wal", path + "-shm" })
        {
            if (File.Exists(file))
            {
                using var stream = new FileStream(file, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
                stream.CopyTo(all);
            }
        }

        return all.ToArray();
    }
}
