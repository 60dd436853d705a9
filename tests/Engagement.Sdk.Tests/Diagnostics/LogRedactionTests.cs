using Engagement.Sdk.Channels;
using Engagement.Sdk.Decisioning;
using Engagement.Sdk.Diagnostics;
using Engagement.Sdk.Events;
using Engagement.Sdk.Profiles;
using Microsoft.Extensions.Compliance.Classification;
using Microsoft.Extensions.Compliance.Redaction;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Engagement.Sdk.Tests.Diagnostics;

/// <summary>How customer ids appear in log messages: hashed by default, the host's redactor where it has one, plain on request.</summary>
public sealed class LogRedactionTests
{
    private static readonly CustomerId Ann = new("ann@example.com");

    [Fact]
    public async Task StageChange_ByDefault_LogsTheHashOfTheCustomerId()
    {
        var logs = await TrackAsync(_ => { });

        var expected = PersonalDataHashRedactor.Instance.Redact("ann@example.com");
        expected.Should().MatchRegex("^pd:[0-9a-f]{16}$");
        logs.Should().Contain(l => l.EventId == 4001 && l.Message.Contains(expected, StringComparison.Ordinal));
        logs.Should().NotContain(l => l.AllText.Contains("ann@example.com", StringComparison.Ordinal));
    }

    [Fact]
    public async Task StageChange_HostRegisteredARedactorForPersonalData_LogsWhatItMakesOfTheId()
    {
        var logs = await TrackAsync(s => s.AddRedaction(r => r.SetRedactor<FixedRedactor>(EngagementDataClassifications.PersonalData)));

        logs.Should().Contain(l => l.EventId == 4001 && l.Message.StartsWith("Customer <customer> moved", StringComparison.Ordinal));
    }

    [Fact]
    public async Task StageChange_HostOptedInToPlainIds_LogsTheId()
    {
        var logs = await TrackAsync(s => s.Configure<EngagementOptions>(o => o.LogCustomerIdsInPlain = true));

        logs.Should().Contain(l => l.EventId == 4001 && l.Message.StartsWith("Customer ann@example.com moved", StringComparison.Ordinal));
    }

    [Fact]
    public void HashRedactor_SameInput_SameShortHash()
    {
        var redactor = PersonalDataHashRedactor.Instance;

        redactor.Redact("ann@example.com").Should().Be(redactor.Redact("ann@example.com")).And.NotBe(redactor.Redact("bob@example.com"));
        redactor.Redact(new string('x', 2000)).Should().HaveLength(19, "long input is hashed like short");
    }

    [Fact]
    public void PersonalDataInventory_EveryMarkedProperty_IsClassifiedAsPersonalData()
    {
        var marked = PersonalDataInventory.ModelTypes.SelectMany(t => t.GetProperties()).Where(p => p.IsDefined(typeof(PersonalDataAttribute), true)).ToList();

        marked.Should().NotBeEmpty();
        marked.Should().OnlyContain(p => p.GetCustomAttributes(typeof(DataClassificationAttribute), true).Cast<DataClassificationAttribute>()
            .Any(a => a.Classification == EngagementDataClassifications.PersonalData));
    }

    [Theory]
    [InlineData("identifier.email", "ann@@example.com", "[redacted, 16 characters]")]
    [InlineData("identifier.phone", "+38067123456x7", "[redacted, 14 characters]")]
    [InlineData("customerId", "call +380 67 123 4567 now", "call [phone] now")]
    [InlineData("eventId", "ann@example.com is taken", "[email] is taken")]
    public void ValidationError_PersonalDataInTheValue_IsNotShown(string field, string value, string shown)
    {
        var error = new EngagementValidationException(field, value, "a rule");

        error.Value.Should().Be(shown);
        error.Message.Should().NotContain(value).And.Contain($"'{shown}': a rule");
    }

    [Fact]
    public void ValidationError_NumberInAFieldThatNamesNoPerson_IsShownAsItIs()
    {
        new EngagementValidationException("amount", "123456789.50", "a rule").Value.Should().Be("123456789.50");
    }

    private static async Task<List<CapturedLog>> TrackAsync(Action<IServiceCollection> configure)
    {
        var capture = new CapturingLoggerProvider();
        var services = new ServiceCollection();
        services.AddLogging(b => b.SetMinimumLevel(LogLevel.Trace).AddProvider(capture));
        services.AddEngagement().AddChannel(new InMemoryChannelSender(Channel.Email)).UseActions(ActionCatalog.Empty);
        configure(services);
        await using var provider = services.BuildServiceProvider();
        var now = provider.GetRequiredService<TimeProvider>().GetUtcNow();

        await provider.GetRequiredService<IEngagementEngine>().TrackAsync(new AddedToCart { EventId = "c1", CustomerId = Ann, Timestamp = now, ProductId = "boots" });

        return [.. capture.Entries];
    }

    private sealed class FixedRedactor : Redactor
    {
        private const string Shown = "<customer>";

        public override int GetRedactedLength(ReadOnlySpan<char> input) => Shown.Length;

        public override int Redact(ReadOnlySpan<char> source, Span<char> destination)
        {
            Shown.AsSpan().CopyTo(destination);
            return Shown.Length;
        }
    }
}
