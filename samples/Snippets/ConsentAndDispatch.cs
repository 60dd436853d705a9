using Engagement.Sdk;
using Engagement.Sdk.Channels;
using Engagement.Sdk.Consent;
using Engagement.Sdk.Decisioning;
using Engagement.Sdk.Profiles;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace Snippets;

/// <summary>The snippets of docs/consent.md and docs/channels-and-dispatch.md.</summary>
public static class ConsentSnippets
{
    public static async Task WorkerAsync()
    {
        await using var provider = new ServiceCollection().AddEngagement().Services.BuildServiceProvider();
        using var stopping = new CancellationTokenSource(TimeSpan.FromMilliseconds(200));
        var stoppingToken = stopping.Token;
        #region channels-and-dispatch-worker
        var worker = provider.GetRequiredService<DispatchWorker>();
        await worker.RunAsync(stoppingToken);          // until stopped: passes, waiting PollInterval when nothing is due
        var report = await worker.RunOnceAsync();       // one pass: claim, deliver, settle
        var settled = await worker.DeliverDueAsync();   // passes until nothing is due now (tests, samples, on-demand hosts)
        #endregion
    }

    public static void HeldAction()
    {
        var action =
        #region consent-held-action
        new ActionDefinition
        {
            Id = "back-in-stock", Name = "Back in stock", Channels = [Channel.Email], Value = 1m, ProductId = "sku-42",
            Priority = 10, HoldFor = TimeSpan.FromDays(3),
        }
        #endregion
        ;
        _ = ActionCatalog.Create([action]);
    }

    public static async Task GrantWithoutEvidenceAsync()
    {
        await using var provider = new ServiceCollection().AddEngagement().Services.BuildServiceProvider();
        var engine = provider.GetRequiredService<IEngagementEngine>();
        var ann = new CustomerId("ann");
        var now = DateTimeOffset.UtcNow;
        try
        {
            #region consent-grant-without-evidence
            await engine.RecordConsentAsync(new ConsentRecord { RecordId = "c-1", CustomerId = ann, Channel = Channel.Email,
                Purpose = Purpose.Marketing, Identifier = Identifier.Email("ann@example.com"), Status = ConsentStatus.Granted,
                Source = "checkout", EffectiveAt = now });
            // EngagementValidationException: Invalid evidence '<null>': a grant must carry evidence, or it could not be demonstrated.
            #endregion
        }
        catch (EngagementValidationException e) when (e.Field == "evidence")
        {
            return;
        }

        throw new InvalidOperationException("a grant without evidence was accepted");
    }

    public static async Task DoubleOptInAsync()
    {
        await using var provider = new ServiceCollection().AddEngagement().Services.BuildServiceProvider();
        var ledger = provider.GetRequiredService<ConsentLedger>();
        var ann = new CustomerId("ann");
        var annEmail = Identifier.Email("ann@example.com");
        string tokenFromTheLink = null!;
        #region consent-double-opt-in
        var start = await ledger.StartDoubleOptInAsync(ann, Channel.Email, Purpose.Marketing, annEmail,
            new ConsentEvidence("newsletter-v2", "footer-form"), TimeSpan.FromDays(2));
        // send start.Token in the confirmation email: the only message PendingConfirmation permits
        #endregion
        tokenFromTheLink = start.Token;
        #region consent-double-opt-in-confirm
        var outcome = await ledger.ConfirmDoubleOptInAsync(ann, annEmail, tokenFromTheLink); // Confirmed, once
        #endregion
        if (outcome != DoubleOptInOutcome.Confirmed)
        {
            throw new InvalidOperationException($"the confirmation gave {outcome}");
        }
    }

    public static async Task ConfigurationAsync()
    {
        var services = new ServiceCollection();
        #region consent-configuration
        services.AddEngagement(o =>
        {
            o.CustomPurposes.Add("surveys");        // host-defined purposes must be registered
            o.CustomChannels.Add("whatsapp");
        });
        services.Configure<ContactPolicyOptions>(p =>
        {
            p.Caps.Add(new FrequencyCap { Channel = Channel.Email, Limit = 2, Period = CapPeriod.CalendarWeek });
            p.QuietHours.Add(new QuietHours { Channel = Channel.Push, Start = new TimeOnly(9, 0), End = new TimeOnly(20, 0) });
        });
        #endregion
        await using var provider = services.BuildServiceProvider();
        _ = provider.GetRequiredService<IOptions<ContactPolicyOptions>>().Value;
        _ = provider.GetRequiredService<IEngagementEngine>();
    }
}
