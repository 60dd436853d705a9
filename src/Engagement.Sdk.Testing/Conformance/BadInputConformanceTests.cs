using Engagement.Sdk.Channels;
using Engagement.Sdk.Consent;
using Engagement.Sdk.Events;
using Engagement.Sdk.Profiles;
using Engagement.Sdk.Storage;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;

namespace Engagement.Sdk.Testing.Conformance;

/// <summary>
/// The items of the reliability requirements' list of bad inputs that concern storage, through the engine on the store under
/// test: the same event twice (item 23), an id reused for another payload (24), Unicode round trips (27), NUL bytes (28),
/// injection attempts stored as plain data (29) and two writers on one profile (42). Inherit it in the adapter's tests.
/// </summary>
public abstract class BadInputConformanceTests : ConformanceSuite
{
    /// <summary>Gets the names of this suite's checks, one row each, for a test framework's data-driven test.</summary>
    /// <value>One row per check.</value>
    public static IEnumerable<object[]> Checks => CheckRowsOf(typeof(BadInputConformanceTests));

    /// <summary>The instant the tests run at.</summary>
    protected static readonly DateTimeOffset T0 = new(2026, 6, 1, 12, 0, 0, TimeSpan.Zero);

    private static readonly CustomerId Ann = new("ann");

    /// <summary>Adds the store under test (nothing for the in-memory stores).</summary>
    /// <param name="builder">The builder.</param>
    protected abstract void AddStore(EngagementBuilder builder);

    /// <summary>Item 23: the same event delivered twice, also concurrently, has one effect.</summary>
    /// <returns>A task.</returns>
    [ConformanceCheck]
    public async Task Item23_SameEventTwiceConcurrently_HasOneEffect()
    {
        await using var provider = Build();
        var engine = provider.GetRequiredService<IEngagementEngine>();

        var results = await Task.WhenAll(Enumerable.Range(0, 6).Select(_ => Task.Run(async () => await engine.TrackAsync(View("e1")))));

        results.Count(r => !r.IsDuplicate).Should().Be(1);
        (await provider.GetRequiredService<IEventStore>().ReadAsync(Ann).ToListAsync()).Should().ContainSingle();
        (await provider.GetRequiredService<IProfileStore>().GetAsync(Ann))!.Behaviour.ProductViews.Should().Be(1);
    }

    /// <summary>Item 24: an event id or consent record id reused for another payload is a conflict, and nothing of it is written.</summary>
    /// <returns>A task.</returns>
    [ConformanceCheck]
    public async Task Item24_SameIdDifferentPayload_IsAConflictAndWritesNothing()
    {
        await using var provider = Build();
        var engine = provider.GetRequiredService<IEngagementEngine>();
        await engine.TrackAsync(View("e1"));

        var act = async () => await engine.TrackAsync(View("e1") with { ProductId = "hat" });
        await act.Should().ThrowAsync<EventConflictException>();
        var grant = new ConsentRecord
        {
            RecordId = "g1", CustomerId = Ann, Channel = Channel.Email, Purpose = Purpose.Marketing, Identifier = Identifier.Email("ann@example.com"),
            Status = ConsentStatus.Granted, Source = "form", Evidence = new ConsentEvidence("v1", "form"), EffectiveAt = T0,
        };
        await engine.RecordConsentAsync(grant);
        var conflict = async () => await engine.RecordConsentAsync(grant with { Purpose = Purpose.Analytics });
        await conflict.Should().ThrowAsync<ConsentConflictException>();

        (await provider.GetRequiredService<IEventStore>().ReadAsync(Ann).ToListAsync()).Should().ContainSingle().Which.Should().BeOfType<ProductViewed>().Which.ProductId.Should().Be("boots");
        (await provider.GetRequiredService<IProfileStore>().GetAsync(Ann))!.Behaviour.ProductViews.Should().Be(1);
        (await provider.GetRequiredService<IConsentStore>().ReadAsync(Ann)).Should().ContainSingle().Which.Purpose.Should().Be(Purpose.Marketing);
    }

    /// <summary>Item 27 and 29: emoji, ZWJ sequences, combining marks, RTL overrides and injection attempts round-trip exactly, as data.</summary>
    /// <param name="text">The text.</param>
    /// <returns>A task.</returns>
    [ConformanceCheck("Zoë 👩‍👩‍👧 e\u0301 \u202Eevil")]
    [ConformanceCheck("'; DROP TABLE events; --")]
    [ConformanceCheck("{{7*7}} ../../etc/passwd %s $1 \\")]
    public async Task Item27And29_TextRoundTripsExactlyAsData(string text)
    {
        await using var provider = Build();
        var e = View("e1") with { Category = text, ProductId = text };

        await provider.GetRequiredService<IEngagementEngine>().TrackAsync(e);

        var stored = (await provider.GetRequiredService<IEventStore>().ReadAsync(Ann).ToListAsync()).Should().ContainSingle().Which.Should().BeOfType<ProductViewed>().Subject;
        stored.ProductId.Should().Be(text);
        stored.Category.Should().Be(text);
        EventJson.Serialize(stored).Should().Equal(EventJson.Serialize(e));
    }

    /// <summary>Item 28: a NUL byte or a lone surrogate is rejected before any store sees it (PostgreSQL could not store it).</summary>
    /// <param name="kind">Which bad character.</param>
    /// <returns>A task.</returns>
    [ConformanceCheck("nul")]
    [ConformanceCheck("lone surrogate")]
    public async Task Item28_NulOrLoneSurrogate_IsRejectedOnEveryStore(string kind)
    {
        // Made here: a lone surrogate would not survive the test runner's serialisation of the theory's data.
        var value = kind == "nul" ? "boots\u0000" : "boots\uD800";
        await using var provider = Build();

        var act = async () => await provider.GetRequiredService<IEngagementEngine>().TrackAsync(View("e1") with { ProductId = value });

        (await act.Should().ThrowAsync<EngagementValidationException>()).Which.Field.Should().Be("productId");
        (await provider.GetRequiredService<IEventStore>().ReadAsync(Ann).ToListAsync()).Should().BeEmpty();
        (await provider.GetRequiredService<IProfileStore>().GetAsync(Ann)).Should().BeNull();
    }

    /// <summary>Item 42: of two writers that loaded one profile, the second gets a conflict and the first write stays.</summary>
    /// <returns>A task.</returns>
    [ConformanceCheck]
    public async Task Item42_TwoWritersOnOneProfile_TheSecondGetsAConflict()
    {
        await using var provider = Build();
        var store = provider.GetRequiredService<IProfileStore>();
        var loaded = await store.SaveAsync(CustomerProfile.New(Ann));
        await store.SaveAsync(loaded with { TimeZone = "Europe/Paris" });

        var act = async () => await store.SaveAsync(loaded with { TimeZone = "Europe/Rome" });

        await act.Should().ThrowAsync<ConcurrencyConflictException>();
        (await store.GetAsync(Ann))!.TimeZone.Should().Be("Europe/Paris");
    }

    private ServiceProvider Build()
    {
        var services = new ServiceCollection();
        services.AddSingleton<TimeProvider>(new FakeTimeProvider(T0));
        AddStore(services.AddEngagement());
        return services.BuildServiceProvider();
    }

    private static ProductViewed View(string id) => new() { EventId = id, CustomerId = Ann, Timestamp = T0.AddMinutes(-1), ProductId = "boots", Category = "shoes" };
}
