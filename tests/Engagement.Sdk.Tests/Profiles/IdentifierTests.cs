using Engagement.Sdk.Events;
using Engagement.Sdk.Profiles;
using Engagement.Sdk.Storage;
using Engagement.Sdk.Testing;
using FsCheck.Fluent;
using FsCheck;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;

namespace Engagement.Sdk.Tests.Profiles;

public sealed class IdentifierTests
{
    [Fact]
    public void Email_DecomposedAndPrecomposedSpellings_AreOneIdentifier()
    {
        var decomposed = Identifier.Email("ann@exa\u0301mple.com");
        var precomposed = Identifier.Email("ann@ex\u00E1mple.com");

        decomposed.Should().Be(precomposed);
        decomposed.Value.Should().Be("ann@ex\u00E1mple.com");
    }

    [Theory]
    [InlineData("Zoe\u0308@example.com", "Zo\u00EB@example.com")]
    [InlineData("ann@EXA\u0301MPLE.com", "ann@ex\u00E1mple.com")]
    public void Email_LocalPartAndDomain_AreNfcNormalised(string given, string expected)
        => Identifier.Email(given).Value.Should().Be(expected);

    [Fact]
    public void Device_DecomposedAndPrecomposedSpellings_AreOneIdentifier()
        => Identifier.Device("re\u0301sume\u0301-phone").Should().Be(Identifier.Device("r\u00E9sum\u00E9-phone"));

    [Fact]
    public void AnyIdentifier_IsInNormalisationFormC()
    {
        var letters = Gen.Elements('a', 'e', 'o', 'A', '\u0301', '\u0308', '\u00E1', '\u00EB', 'k', '\u212B', '\u0041', '\u030A');
        var values = Gen.NonEmptyListOf(letters).Select(list => "d-" + new string([.. list]) + "-1").ToArbitrary();

        Check.One(Config.QuickThrowOnFailure.WithMaxTest(500), Prop.ForAll(values, value =>
        {
            var identifier = Identifier.Device(value);
            identifier.Value.IsNormalized(System.Text.NormalizationForm.FormC).Should().BeTrue();
            identifier.Should().Be(Identifier.Device(value.Normalize(System.Text.NormalizationForm.FormD)));
        }));
    }

    [Fact]
    public async Task Track_TheSameAddressSpelledTwoWays_FindsOneProfile()
    {
        var now = new DateTimeOffset(2026, 6, 1, 12, 0, 0, TimeSpan.Zero);
        var services = new ServiceCollection();
        services.AddSingleton<TimeProvider>(new FakeTimeProvider(now));
        services.AddEngagement();
        await using var provider = services.BuildServiceProvider();
        var engine = provider.GetRequiredService<IEngagementEngine>();

        await engine.TrackAsync(new ProductViewed { EventId = "v1", CustomerId = new("ann"), Timestamp = now, ProductId = "boots", Identifiers = [Identifier.Email("ann@exa\u0301mple.com")] });
        var second = await engine.TrackAsync(new ProductViewed { EventId = "v2", CustomerId = new("anon-7"), Timestamp = now, ProductId = "boots", Identifiers = [Identifier.Email("ann@ex\u00E1mple.com")] });

        second.Profile!.Id.Should().Be(new CustomerId("ann"), "the precomposed spelling is the address Ann already holds");
        second.Profile.Identifiers.Should().ContainSingle();
        (await provider.GetRequiredService<IProfileStore>().FindByIdentifierAsync(Identifier.Email("ann@ex\u00E1mple.com")))!.Id.Should().Be(new CustomerId("ann"));
    }
}
