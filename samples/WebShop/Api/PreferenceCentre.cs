using System.Collections.Immutable;
using System.Security.Cryptography;
using Engagement.Sdk;
using Engagement.Sdk.Channels;
using Engagement.Sdk.Consent;
using Engagement.Sdk.Events;
using Engagement.Sdk.Profiles;
using Engagement.Sdk.Storage;
using WebShop.Demo;
using WebShop.Insights;

namespace WebShop.Api;

/// <summary>
/// The preference centre: records what a customer chose per channel × message type in the consent ledger. Email and SMS
/// choices are confirmed by double opt-in (a pending record now, a single-use link sent to the address, the grant when it
/// is followed); push is granted on the device that asked; a choice switched off is withdrawn. Order updates are
/// transactional and need no consent.
/// </summary>
public sealed class PreferenceCentre(IEngagementEngine engine, ConsentLedger ledger, IProfileStore profiles, DemoMailbox mailbox, ShopInsights insights, TimeProvider time)
{
    /// <summary>The version of the wording the preference centre shows (kept with every record as evidence).</summary>
    public const string NoticeVersion = "webshop-preferences-2026-12";

    /// <summary>How long a confirmation link stays valid.</summary>
    public static readonly TimeSpan ConfirmationValidity = TimeSpan.FromDays(2);

    /// <summary>The push address of a visitor's browser.</summary>
    /// <param name="customerId">The visitor.</param>
    /// <returns>The device identifier.</returns>
    public static Identifier BrowserDevice(CustomerId customerId) => Identifier.Device("web-push-" + customerId.Value);

    /// <summary>Reads the customer's consent for every channel × marketing message type.</summary>
    /// <param name="customerId">The customer.</param>
    /// <param name="cancellationToken">Cancels the reads.</param>
    /// <returns>One cell per message type and channel.</returns>
    public async Task<ImmutableArray<PreferenceCell>> ReadAsync(CustomerId customerId, CancellationToken cancellationToken = default)
    {
        var view = await insights.GetCustomerAsync(customerId, cancellationToken).ConfigureAwait(false);
        return [.. view.Permissions.Select(p => new PreferenceCell(p.MessageType, p.Channel, p.Code, p.Allowed))];
    }

    /// <summary>Records the customer's choices.</summary>
    /// <param name="customerId">The customer.</param>
    /// <param name="request">The addresses and choices.</param>
    /// <param name="confirmationLink">Builds the confirmation link for a channel's tokens.</param>
    /// <param name="source">Where the choices were made (kept as evidence).</param>
    /// <param name="cancellationToken">Cancels the work.</param>
    /// <returns>What was recorded.</returns>
    /// <exception cref="EngagementValidationException">A choice, an address or the time zone is invalid; nothing was recorded.</exception>
    public async Task<PreferenceResponse> SaveAsync(CustomerId customerId, PreferenceRequest request, Func<CustomerId, Channel, IReadOnlyList<string>, string> confirmationLink, string source, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(confirmationLink);
        var wanted = new HashSet<(Channel, MessageType)>();
        var choices = request.Choices.IsDefault ? [] : request.Choices;
        for (var i = 0; i < choices.Length; i++)
        {
            var channel = ShopCatalogue.Channels.FirstOrDefault(c => c.Name == choices[i].Channel);
            if (channel.IsEmpty)
            {
                throw new EngagementValidationException($"choices[{i}].channel", choices[i].Channel, "must be one of " + string.Join(", ", ShopCatalogue.Channels.Select(c => c.Name)));
            }

            var type = ShopCatalogue.FindMarketing(choices[i].MessageType)
                ?? throw new EngagementValidationException($"choices[{i}].messageType", choices[i].MessageType, "must be one of " + string.Join(", ", ShopCatalogue.MarketingTypes.Select(t => t.Id)));
            wanted.Add((channel, type));
        }

        var email = string.IsNullOrWhiteSpace(request.Email) ? null : Identifier.Email(request.Email.Trim());
        var phone = string.IsNullOrWhiteSpace(request.Phone) ? null : Identifier.Phone(request.Phone.Trim());
        if (email is null && wanted.Any(w => w.Item1 == Channel.Email))
        {
            throw new EngagementValidationException("email", null, "is required to receive email");
        }

        if (phone is null && wanted.Any(w => w.Item1 == Channel.Sms))
        {
            throw new EngagementValidationException("phone", null, "is required to receive SMS");
        }

        // The addresses (and the time zone that SMS quiet hours need) go on the profile first, through the engine: a known
        // email or phone may stitch this visitor to the customer who owns it, and consent is then recorded for that customer.
        var now = time.GetUtcNow();
        var identifiers = new List<Identifier>();
        identifiers.AddRange(new[] { email, phone }.OfType<Identifier>());
        if (wanted.Any(w => w.Item1 == Channel.Push))
        {
            identifiers.Add(BrowserDevice(customerId));
        }

        var tracked = await engine.TrackAsync(
            new ProfileUpdated
            {
                EventId = "prefs-" + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(8)),
                CustomerId = customerId,
                Timestamp = now,
                Channel = Channel.Web,
                Identifiers = [.. identifiers],
                TimeZone = string.IsNullOrWhiteSpace(request.TimeZone) ? null : request.TimeZone.Trim(),
            },
            cancellationToken).ConfigureAwait(false);
        var owner = tracked.Profile?.Id ?? customerId;
        var profile = tracked.Profile ?? await profiles.GetAsync(owner, cancellationToken).ConfigureAwait(false) ?? CustomerProfile.New(owner);
        var state = await ledger.GetStateAsync(owner, cancellationToken).ConfigureAwait(false);
        var evidence = new ConsentEvidence(NoticeVersion, source);

        var pending = ImmutableArray.CreateBuilder<PreferenceChoice>();
        var granted = ImmutableArray.CreateBuilder<PreferenceChoice>();
        var withdrawn = ImmutableArray.CreateBuilder<PreferenceChoice>();
        var tokens = new Dictionary<Channel, List<string>>();
        foreach (var type in ShopCatalogue.MarketingTypes)
        {
            foreach (var channel in ShopCatalogue.Channels)
            {
                var choice = new PreferenceChoice(channel.Name, type.Id);
                ChannelAddress.TryFind(profile, channel, out var address);
                var current = state.Evaluate(channel, type.Purpose, address, now);
                if (wanted.Contains((channel, type)))
                {
                    if (current.IsAllowed)
                    {
                        granted.Add(choice);
                    }
                    else if (channel == Channel.Push)
                    {
                        await engine.RecordConsentAsync(Record(owner, channel, type, address, ConsentStatus.Granted, source, evidence, now), cancellationToken).ConfigureAwait(false);
                        granted.Add(choice);
                    }
                    else
                    {
                        var start = await ledger.StartDoubleOptInAsync(owner, channel, type.Purpose, address!, evidence, ConfirmationValidity, cancellationToken).ConfigureAwait(false);
                        (tokens.TryGetValue(channel, out var list) ? list : tokens[channel] = []).Add(start.Token);
                        pending.Add(choice);
                    }
                }
                else if (current.IsAllowed || current.Code == PermissionReasons.PendingConfirmation)
                {
                    await engine.RecordConsentAsync(Record(owner, channel, type, address, ConsentStatus.Withdrawn, source, null, now), cancellationToken).ConfigureAwait(false);
                    withdrawn.Add(choice);
                }
            }
        }

        // The confirmation request is the one message a pending double opt-in permits; the shop sends it itself.
        foreach (var (channel, list) in tokens)
        {
            mailbox.Add(new MailboxMessage(now, owner, channel, "Please confirm your subscription", confirmationLink(owner, channel, list), null));
        }

        insights.MarkChanged();
        return new PreferenceResponse(pending.ToImmutable(), granted.ToImmutable(), withdrawn.ToImmutable(), [.. tokens.Keys.Select(c => c.Name)]);
    }

    /// <summary>Confirms double opt-ins with the tokens of a confirmation link.</summary>
    /// <param name="customerId">The customer the link was sent to.</param>
    /// <param name="channel">The channel the link was sent on (its address is the one that confirms).</param>
    /// <param name="tokens">The tokens.</param>
    /// <param name="cancellationToken">Cancels the work.</param>
    /// <returns>How many were confirmed, and each token's outcome.</returns>
    public async Task<ConfirmationResponse> ConfirmAsync(CustomerId customerId, string channel, IReadOnlyList<string> tokens, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(tokens);
        var on = ShopCatalogue.Channels.FirstOrDefault(c => c.Name == channel);
        if (on.IsEmpty || on == Channel.Push)
        {
            throw new EngagementValidationException("channel", channel, "must be email or sms");
        }

        var profile = await profiles.GetAsync(customerId, cancellationToken).ConfigureAwait(false);
        if (profile?.MergedInto is { } redirect)
        {
            profile = await profiles.GetAsync(redirect.SurvivorId, cancellationToken).ConfigureAwait(false);
        }

        if (profile is null || !ChannelAddress.TryFind(profile, on, out var address) || address is null)
        {
            return new ConfirmationResponse(0, [.. tokens.Select(_ => DoubleOptInOutcome.UnknownToken.ToString())]);
        }

        var outcomes = ImmutableArray.CreateBuilder<string>();
        var confirmed = 0;
        foreach (var token in tokens)
        {
            var outcome = await ledger.ConfirmDoubleOptInAsync(profile.Id, address, token, cancellationToken).ConfigureAwait(false);
            confirmed += outcome == DoubleOptInOutcome.Confirmed ? 1 : 0;
            outcomes.Add(outcome.ToString());
        }

        insights.MarkChanged();
        return new ConfirmationResponse(confirmed, outcomes.ToImmutable());
    }

    private static ConsentRecord Record(CustomerId owner, Channel channel, MessageType type, Identifier? address, ConsentStatus status, string source, ConsentEvidence? evidence, DateTimeOffset now) => new()
    {
        RecordId = "prefs-" + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(12)),
        CustomerId = owner,
        Channel = channel,
        Purpose = type.Purpose,
        Identifier = address,
        Status = status,
        Source = source,
        Evidence = evidence,
        EffectiveAt = now,
    };
}
