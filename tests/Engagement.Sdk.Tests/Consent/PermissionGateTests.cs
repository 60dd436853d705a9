using Engagement.Sdk.Channels;
using Engagement.Sdk.Consent;
using Engagement.Sdk.Profiles;
using Engagement.Sdk.Storage;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace Engagement.Sdk.Tests.Consent;

public sealed class PermissionGateTests
{
    private static readonly DateTimeOffset Now = new(2026, 6, 1, 12, 0, 0, TimeSpan.Zero);

    [Fact]
    public async Task CheckAsync_LedgerCannotBeRead_DeniesFailClosed()
    {
        var gate = new PermissionGate(new BrokenConsentStore(), new InMemoryDispatchStore(), Options.Create(new ContactPolicyOptions()));
        var email = Identifier.Email("ann@example.com");

        var decision = await gate.CheckAsync(new PermissionRequest(CustomerProfile.New(new CustomerId("ann")).WithIdentifier(email), Channel.Email, Purpose.Marketing, email, Now));

        decision.Verdict.Should().Be(PermissionVerdict.Deny);
        decision.Code.Should().Be(PermissionReasons.StoreUnavailable);
    }

    [Fact]
    public async Task CheckAsync_NoRecords_DeniesMarketingAndAllowsTransactional()
    {
        var gate = new PermissionGate(new InMemoryConsentStore(), new InMemoryDispatchStore(), Options.Create(new ContactPolicyOptions()));
        var email = Identifier.Email("ann@example.com");
        var profile = CustomerProfile.New(new CustomerId("ann")).WithIdentifier(email);

        (await gate.CheckAsync(new PermissionRequest(profile, Channel.Email, Purpose.Marketing, email, Now))).Code.Should().Be(PermissionReasons.NoConsent);
        (await gate.CheckAsync(new PermissionRequest(profile, Channel.Email, Purpose.Transactional, email, Now))).IsAllowed.Should().BeTrue();
    }

    [Theory]
    [InlineData("zero-limit", "Limit is 0")]
    [InlineData("zero-window", "Caps[0].Window is 00:00:00: it must be from 1 minute to 366 days")]
    [InlineData("one-tick-window", "Caps[0].Window is 00:00:00.0000001: it must be from 1 minute to 366 days")]
    [InlineData("endless-window", "Caps[3].Window is 10675199.02:48:05.4775807: it must be from 1 minute to 366 days")]
    [InlineData("inverted", "end must be later")]
    [InlineData("no-queue", "MaxHeldPerCustomer is 0")]
    public async Task StartUp_InvalidContactPolicy_Fails(string problem, string message)
    {
        var services = new ServiceCollection();
        services.AddEngagement();
        services.Configure<ContactPolicyOptions>(p =>
        {
            switch (problem)
            {
                case "zero-limit": p.Caps[0].Limit = 0; break;
                case "zero-window": p.Caps[0].Window = TimeSpan.Zero; break;
                case "one-tick-window": p.Caps[0].Window = TimeSpan.FromTicks(1); break;
                case "endless-window": p.Caps[3].Window = TimeSpan.MaxValue; break;
                case "no-queue": p.MaxHeldPerCustomer = 0; break;
                default: p.QuietHours[0].End = new TimeOnly(7, 0); break;
            }
        });
        await using var provider = services.BuildServiceProvider();

        var act = () => provider.GetRequiredService<IStartupValidator>().Validate();

        act.Should().Throw<OptionsValidationException>().WithMessage($"*{message}*");
    }

    [Fact]
    public async Task StartUp_UnknownDecisionJourney_Fails()
    {
        var services = new ServiceCollection();
        services.AddEngagement(o => o.DecisionJourneyId = "nope");
        await using var provider = services.BuildServiceProvider();

        var act = () => provider.GetRequiredService<IStartupValidator>().Validate();

        act.Should().Throw<OptionsValidationException>().WithMessage("*DecisionJourneyId*nope*");
    }

    private sealed class BrokenConsentStore : IConsentStore
    {
        public ValueTask<AppendOutcome> AppendAsync(ConsentRecord record, CancellationToken cancellationToken = default) => throw new IOException("disk gone");

        public ValueTask<IReadOnlyList<ConsentRecord>> ReadAsync(CustomerId customerId, CancellationToken cancellationToken = default) => throw new IOException("disk gone");
    }
}
