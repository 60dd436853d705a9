using System.Collections.Immutable;
using Engagement.Sdk.Channels;
using Engagement.Sdk.Journeys;
using Engagement.Sdk.Profiles;
using Engagement.Sdk.Storage;

namespace Engagement.Sdk.Testing.Conformance;

/// <summary>What every <see cref="IProfileStore"/> must do. Inherit it in the adapter's tests and return a fresh, empty store.</summary>
public abstract class ProfileStoreConformanceTests : ConformanceSuite
{
    /// <summary>Gets the names of this suite's checks, one row each, for a test framework's data-driven test.</summary>
    /// <value>One row per check.</value>
    public static IEnumerable<object[]> Checks => CheckRowsOf(typeof(ProfileStoreConformanceTests));

    /// <summary>Creates a fresh, empty store for one test.</summary>
    /// <returns>The store.</returns>
    protected abstract IProfileStore CreateStore();

    /// <summary>A new profile is saved at version 1 and read back equal, with unicode intact.</summary>
    /// <returns>A task.</returns>
    [ConformanceCheck]
    public async Task SaveAsync_NewProfile_IsStoredAtVersionOneAndRoundTrips()
    {
        var store = CreateStore();
        var profile = CustomerProfile.New(new CustomerId("ünïcode-客户-😀"))
            .WithIdentifier(Identifier.Email("Zoë@Example.COM"))
            .WithIdentifier(Identifier.Phone("+44 20 7946 0018"))
            .WithTrait("name", TraitValue.Of("Zoë 👩‍👩‍👧 שלום e\u0301"))
            .WithTrait("vip", TraitValue.Of(true))
            .WithTrait("score", TraitValue.Of(0.1 + 0.2))
            .WithTrait("birthday", TraitValue.Of(new DateOnly(1990, 2, 28)))
            .WithTrait("tags", TraitValue.Of(ImmutableArray.Create("a", "ب")))
            .WithChannelPreference("shipping", Channel.Sms) with
        {
            TimeZone = "Europe/Kyiv",
            Locale = "uk-UA",
            Journeys = KeyedValues<JourneyPosition>.Empty.SetItem("lifecycle", new JourneyPosition("lifecycle", [new StageVisit("attraction", new DateTimeOffset(2026, 1, 1, 10, 0, 0, TimeSpan.FromHours(2)), "seen")])),
        };

        var saved = await store.SaveAsync(profile);
        var read = await store.GetAsync(profile.Id);

        saved.Version.Should().Be(1);
        read.Should().NotBeNull();
        read!.Version.Should().Be(1);
        read.Identifiers.Should().Equal(profile.Identifiers);
        read.Traits.Should().BeEquivalentTo(profile.Traits);
        read.Traits["name"].AsString().Should().Be("Zoë 👩‍👩‍👧 שלום e\u0301");
        read.ChannelPreferences.Should().BeEquivalentTo(profile.ChannelPreferences);
        read.TimeZone.Should().Be("Europe/Kyiv");
        read.Journeys["lifecycle"].StageId.Should().Be("attraction");
        read.Journeys["lifecycle"].EnteredAt.Offset.Should().Be(TimeSpan.FromHours(2));
    }

    /// <summary>An unknown customer reads as null.</summary>
    /// <returns>A task.</returns>
    [ConformanceCheck]
    public async Task GetAsync_UnknownCustomer_ReturnsNull()
        => (await CreateStore().GetAsync(new CustomerId("nobody"))).Should().BeNull();

    /// <summary>Each save increments the version.</summary>
    /// <returns>A task.</returns>
    [ConformanceCheck]
    public async Task SaveAsync_CurrentVersion_Increments()
    {
        var store = CreateStore();
        var v1 = await store.SaveAsync(CustomerProfile.New(new CustomerId("c1")));
        var v2 = await store.SaveAsync(v1.WithTrait("a", TraitValue.Of("b")));

        v2.Version.Should().Be(2);
        (await store.GetAsync(v1.Id))!.Traits.Should().ContainKey("a");
    }

    /// <summary>A save from a stale read is a conflict and does not overwrite the newer data.</summary>
    /// <returns>A task.</returns>
    [ConformanceCheck]
    public async Task SaveAsync_StaleVersion_ThrowsConflictAndLosesNoUpdate()
    {
        var store = CreateStore();
        var v1 = await store.SaveAsync(CustomerProfile.New(new CustomerId("c1")));
        await store.SaveAsync(v1.WithTrait("first", TraitValue.Of("kept")));

        var act = async () => await store.SaveAsync(v1.WithTrait("second", TraitValue.Of("lost")));

        var conflict = (await act.Should().ThrowAsync<ConcurrencyConflictException>()).Which;
        conflict.ExpectedVersion.Should().Be(1);
        conflict.ActualVersion.Should().Be(2);
        var stored = await store.GetAsync(v1.Id);
        stored!.Traits.Should().ContainKey("first").And.NotContainKey("second");
    }

    /// <summary>Two new profiles for one customer: the second is a conflict.</summary>
    /// <returns>A task.</returns>
    [ConformanceCheck]
    public async Task SaveAsync_NewProfileTwice_SecondIsAConflict()
    {
        var store = CreateStore();
        await store.SaveAsync(CustomerProfile.New(new CustomerId("c1")));

        var act = async () => await store.SaveAsync(CustomerProfile.New(new CustomerId("c1")));

        await act.Should().ThrowAsync<ConcurrencyConflictException>();
    }

    /// <summary>Of many concurrent writers from one version exactly one wins.</summary>
    /// <returns>A task.</returns>
    [ConformanceCheck]
    public async Task SaveAsync_ConcurrentWritersFromOneVersion_ExactlyOneWins()
    {
        var store = CreateStore();
        var v1 = await store.SaveAsync(CustomerProfile.New(new CustomerId("c1")));

        var outcomes = await Task.WhenAll(Enumerable.Range(0, 20).Select(i => Task.Run(async () =>
        {
            try
            {
                await store.SaveAsync(v1.WithTrait("writer", TraitValue.Of(i)));
                return true;
            }
            catch (ConcurrencyConflictException)
            {
                return false;
            }
        })));

        outcomes.Count(won => won).Should().Be(1);
        (await store.GetAsync(v1.Id))!.Version.Should().Be(2);
    }

    /// <summary>Lookup by any identifier, in its normalised form.</summary>
    /// <returns>A task.</returns>
    [ConformanceCheck]
    public async Task FindByIdentifierAsync_DifferentSpellingOfTheSameAddress_FindsTheProfile()
    {
        var store = CreateStore();
        await store.SaveAsync(CustomerProfile.New(new CustomerId("c1")).WithIdentifier(Identifier.Email("Ann@Example.COM")).WithIdentifier(Identifier.Phone("+44 (20) 7946-0018")));

        (await store.FindByIdentifierAsync(Identifier.Email("Ann@example.com")))!.Id.Value.Should().Be("c1");
        (await store.FindByIdentifierAsync(Identifier.Phone("0044 20 7946 0018")))!.Id.Value.Should().Be("c1");
        (await store.FindByIdentifierAsync(Identifier.Email("ANN@example.com")))!.Id.Value.Should().Be("c1", "an e-mail address is compared without regard to case");
        (await store.GetAsync(new CustomerId("c1")))!.Identifiers[0].Value.Should().Be("Ann@example.com", "the spelling is kept for sending");
    }

    /// <summary>An identifier compared by a rule other than its kind's default (an e-mail compared exactly, a user name without regard to case) is indexed and read back by that rule.</summary>
    /// <returns>A task.</returns>
    [ConformanceCheck]
    public async Task FindByIdentifierAsync_IdentifierUnderANonDefaultCaseRule_IsFoundByThatRule()
    {
        var store = CreateStore();
        var exact = Identifier.Email("Ann@example.com").WithCaseRule(ignoreCase: false);
        var user = new Identifier(new IdentifierKind("username"), "Ann").WithCaseRule(ignoreCase: true);
        await store.SaveAsync(CustomerProfile.New(new CustomerId("c1")).WithIdentifier(exact).WithIdentifier(user));

        (await store.FindByIdentifierAsync(Identifier.Email("ann@example.com").WithCaseRule(ignoreCase: false))).Should().BeNull();
        (await store.FindByIdentifierAsync(exact))!.Id.Value.Should().Be("c1");
        (await store.FindByIdentifierAsync(new Identifier(new IdentifierKind("username"), "ANN").WithCaseRule(ignoreCase: true)))!.Id.Value.Should().Be("c1");
        var read = await store.GetAsync(new CustomerId("c1"));
        read!.Identifiers.Should().Equal(exact, user);
        read.Identifiers[0].Key.Should().Be("Ann@example.com");
        read.Identifiers[1].Key.Should().Be("ann");
    }

    /// <summary>The first profile saved with an identifier keeps it.</summary>
    /// <returns>A task.</returns>
    [ConformanceCheck]
    public async Task FindByIdentifierAsync_IdentifierSavedOnTwoProfiles_BelongsToTheFirst()
    {
        var store = CreateStore();
        var shared = Identifier.Email("family@example.com");
        await store.SaveAsync(CustomerProfile.New(new CustomerId("c1")).WithIdentifier(shared));
        await store.SaveAsync(CustomerProfile.New(new CustomerId("c2")).WithIdentifier(shared));

        (await store.FindByIdentifierAsync(shared))!.Id.Value.Should().Be("c1");
    }

    /// <summary>A profile saved without an identifier it held releases it, and the next profile saved with it owns it (merges move identifiers this way).</summary>
    /// <returns>A task.</returns>
    [ConformanceCheck]
    public async Task SaveAsync_ProfileDropsAnIdentifier_ReleasesItToTheNextHolder()
    {
        var store = CreateStore();
        var cookie = Identifier.Anonymous("cookie-1");
        var anonymous = await store.SaveAsync(CustomerProfile.New(new CustomerId("anon-1")).WithIdentifier(cookie).WithIdentifier(Identifier.Device("d-1")));
        var known = await store.SaveAsync(CustomerProfile.New(new CustomerId("ann")).WithIdentifier(cookie));
        (await store.FindByIdentifierAsync(cookie))!.Id.Should().Be(anonymous.Id, "the first holder keeps an identifier while it holds it");

        await store.SaveAsync(anonymous with { Identifiers = [Identifier.Device("d-1")] });
        (await store.FindByIdentifierAsync(cookie)).Should().BeNull("a dropped identifier is released");
        (await store.FindByIdentifierAsync(Identifier.Device("d-1")))!.Id.Should().Be(anonymous.Id);

        await store.SaveAsync(known);
        (await store.FindByIdentifierAsync(cookie))!.Id.Should().Be(new CustomerId("ann"));
    }

    /// <summary>A merged profile's redirect and a survivor's merge history round-trip through the store.</summary>
    /// <returns>A task.</returns>
    [ConformanceCheck]
    public async Task SaveAsync_MergeRecordsAndRedirects_RoundTrip()
    {
        var store = CreateStore();
        var at = new DateTimeOffset(2026, 3, 29, 2, 30, 0, TimeSpan.FromHours(1));
        var before = CustomerProfile.New(new CustomerId("anon-1")).WithIdentifier(Identifier.Anonymous("c-1")).WithTrait("name", TraitValue.Of("Zoë"));
        var survivorBefore = CustomerProfile.New(new CustomerId("ann")).WithIdentifier(Identifier.Email("ann@example.com"));
        var merge = new ProfileMerge
        {
            MergeId = "merge-1", SurvivorId = survivorBefore.Id, MergedId = before.Id, At = at, Reason = MergeReason.SharedIdentifier,
            MatchedOn = Identifier.Anonymous("c-1"), SurvivorBefore = survivorBefore, CarriedConsentRecordIds = ["carried-1"],
        };

        await store.SaveAsync(new CustomerProfile { Id = before.Id, MergedInto = new ProfileRedirect(survivorBefore.Id, "merge-1", at, before) });
        await store.SaveAsync(survivorBefore.WithIdentifier(Identifier.Anonymous("c-1")) with { Merges = [merge] });

        var stub = await store.GetAsync(before.Id);
        stub!.IsMerged.Should().BeTrue();
        stub.MergedInto!.SurvivorId.Should().Be(survivorBefore.Id);
        stub.MergedInto.At.Should().Be(at);
        stub.MergedInto.At.Offset.Should().Be(TimeSpan.FromHours(1));
        stub.MergedInto.Before.Traits["name"].AsString().Should().Be("Zoë");
        var survivor = await store.GetAsync(survivorBefore.Id);
        survivor!.Merges.Should().ContainSingle().Which.Should().BeEquivalentTo(merge);
        (await store.FindByIdentifierAsync(Identifier.Anonymous("c-1")))!.Id.Should().Be(survivorBefore.Id);
    }

    /// <summary>Listing returns every profile ordered by customer id.</summary>
    /// <returns>A task.</returns>
    [ConformanceCheck]
    public async Task ListAsync_ManyProfiles_ReturnsAllOrderedById()
    {
        var store = CreateStore();
        var ids = Enumerable.Range(0, 1200).Select(i => $"c{(i * 7919) % 1200:0000}").ToList();
        foreach (var id in ids)
        {
            await store.SaveAsync(CustomerProfile.New(new CustomerId(id)));
        }

        var listed = new List<string>();
        await foreach (var profile in store.ListAsync())
        {
            listed.Add(profile.Id.Value);
        }

        listed.Should().Equal(ids.Order(StringComparer.Ordinal));
    }

    /// <summary>Erasure removes the profile and its identifiers.</summary>
    /// <returns>A task.</returns>
    [ConformanceCheck]
    public async Task EraseSubjectAsync_Profile_RemovesItAndItsIdentifiers()
    {
        var store = CreateStore();
        var email = Identifier.Email("ann@example.com");
        await store.SaveAsync(CustomerProfile.New(new CustomerId("c1")).WithIdentifier(email));
        var erasure = store.Should().BeAssignableTo<ISubjectErasure>("every store that holds personal data must support erasure").Subject;

        (await erasure.EraseSubjectAsync(new CustomerId("c1"))).Should().Be(1);

        (await store.GetAsync(new CustomerId("c1"))).Should().BeNull();
        (await store.FindByIdentifierAsync(email)).Should().BeNull();
    }
}
