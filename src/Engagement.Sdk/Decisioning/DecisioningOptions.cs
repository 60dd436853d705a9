using System.Globalization;
using Engagement.Sdk.Channels;
using Engagement.Sdk.Profiles;
using Microsoft.Extensions.Options;

namespace Engagement.Sdk.Decisioning;

/// <summary>How a decision explores among the candidates that survived every filter.</summary>
public enum ExplorationMode
{
    /// <summary>Always the highest expected score: no exploration (every logged probability is 1).</summary>
    Greedy,

    /// <summary>
    /// With probability <see cref="DecisioningOptions.ExplorationFloor"/> ε a uniformly random candidate, otherwise the highest
    /// expected score: π = ε / K + (1 − ε) for the best of K candidates and ε / K for the others, exact and cheap. The default.
    /// </summary>
    EpsilonGreedy,

    /// <summary>
    /// Thompson sampling on the propensities' Beta posteriors with the floor ε: the choice probability is computed exactly or by
    /// Monte Carlo, which costs far more than a decision (milliseconds for ten candidates); for small catalogues.
    /// </summary>
    Thompson,
}

/// <summary>How the learned propensities are split by customer segment.</summary>
public enum LearningSegments
{
    /// <summary>One propensity per action × channel × treatment for all customers.</summary>
    None,

    /// <summary>A propensity per stage of the decision journey, shrunk toward the action's overall rate. The default.</summary>
    DecisionStage,

    /// <summary>A propensity per segment that <see cref="DecisioningOptions.Segmenter"/> names, shrunk toward the overall rate.</summary>
    Custom,
}

/// <summary>A challenger exploration policy, given a stable share of customers (the champion gets the rest).</summary>
public sealed class PolicyVariant
{
    /// <summary>The variant's name, logged with each decision it takes.</summary>
    public string Name { get; set; } = "challenger";

    /// <summary>The share of customers it decides for, in (0, 1).</summary>
    public double Share { get; set; } = 0.1;

    /// <summary>Its exploration mode.</summary>
    /// <value>Defaults to <see cref="ExplorationMode.EpsilonGreedy"/>.</value>
    public ExplorationMode Mode { get; set; } = ExplorationMode.EpsilonGreedy;

    /// <summary>Its exploration floor, in [0, 1).</summary>
    /// <value>Defaults to 0.05.</value>
    public double Floor { get; set; } = 0.05;
}

/// <summary>How next-best-action decisions explore, learn, log and experiment. Validated at start-up.</summary>
public sealed class DecisioningOptions
{
    /// <summary>How decisions explore.</summary>
    /// <value>Defaults to <see cref="ExplorationMode.EpsilonGreedy"/>.</value>
    public ExplorationMode Exploration { get; set; } = ExplorationMode.EpsilonGreedy;

    /// <summary>
    /// The exploration floor ε: every surviving candidate is chosen with probability at least ε / K (K candidates, do-nothing
    /// included), so importance weights in off-policy evaluation stay below K / ε.
    /// </summary>
    /// <value>Defaults to 0.05; in [0, 1).</value>
    public double ExplorationFloor { get; set; } = 0.05;

    /// <summary>The seed of exploration: the same seed, decision id and state give the same choice.</summary>
    /// <value>Defaults to 0.</value>
    public long Seed { get; set; }

    /// <summary>The name logged for decisions of the champion policy (the one configured above).</summary>
    /// <value>Defaults to <c>champion</c>.</value>
    public string ChampionName { get; set; } = "champion";

    /// <summary>Challenger policies, each deciding for a stable share of customers (hash split); their shares sum to less than 1.</summary>
    public IList<PolicyVariant> Challengers { get; } = [];

    /// <summary>How many actions one decision chooses (slots of a page; outbound messages use the first).</summary>
    /// <value>Defaults to 1; from 1 to 20.</value>
    public int Slots { get; set; } = 1;

    /// <summary>The most actions of one <see cref="ActionDefinition.Group"/> among the slots of a decision; <see langword="null"/> for no limit.</summary>
    public int? MaxPerGroup { get; set; }

    /// <summary>The context weight of the customer's preferred channel for the action's message type (1 = no preference).</summary>
    /// <value>Defaults to 1.25; at least 0 and finite.</value>
    public double PreferredChannelWeight { get; set; } = 1.25;

    /// <summary>
    /// Whether the customer's own response per channel (engagements per message sent, from the profile) weighs each channel,
    /// shrunk toward no preference with <see cref="ChannelAffinityPrior"/> messages: a customer who answers push far more
    /// often than email is reached by push.
    /// </summary>
    /// <value>Defaults to <see langword="true"/>.</value>
    public bool UseChannelAffinity { get; set; } = true;

    /// <summary>How many messages of evidence the neutral channel affinity is worth.</summary>
    /// <value>Defaults to 5; positive and finite.</value>
    public double ChannelAffinityPrior { get; set; } = 5;

    /// <summary>What one message costs on each channel (subtracted from the expected value); channels not listed cost 0.</summary>
    public IDictionary<Channel, decimal> ChannelCosts { get; } = new Dictionary<Channel, decimal>();

    /// <summary>
    /// The action chosen instead of doing nothing when it survives the filters (its score need not be positive): a default offer
    /// for a placement that must show something. <see langword="null"/> (the default) for none.
    /// </summary>
    public string? FallbackActionId { get; set; }

    /// <summary>
    /// The share of customers in the global control group, in [0, 1): by a stable hash of the customer, they get no action;
    /// their decisions are logged as would-be sends so that the whole programme's uplift can be measured.
    /// </summary>
    /// <value>Defaults to 0.</value>
    public double GlobalControlShare { get; set; }

    /// <summary>The salt of the experiments' hash splits: change it to draw new groups.</summary>
    /// <value>Defaults to <c>nba</c>.</value>
    public string ExperimentSalt { get; set; } = "nba";

    /// <summary>How much evidence the prior (centred on <see cref="ActionDefinition.BasePropensity"/>) is worth, in sends.</summary>
    /// <value>Defaults to 20; positive and finite.</value>
    public double PriorWeight { get; set; } = 20;

    /// <summary>The half-life of evidence: a send or response this long ago counts half; <see langword="null"/> for no decay.</summary>
    /// <value>Defaults to <see langword="null"/>; when set, from 1 hour to 3,650 days.</value>
    public TimeSpan? HalfLife { get; set; }

    /// <summary>The width of the time buckets the stores count sends and responses in (the grain of decay).</summary>
    /// <value>Defaults to 1 day; from 1 minute to 30 days.</value>
    public TimeSpan BucketSize { get; set; } = TimeSpan.FromDays(1);

    /// <summary>How often the counts are read again from the store, to take in what other processes learned.</summary>
    /// <value>Defaults to 1 minute; from 0 (every decision) to 1 day.</value>
    public TimeSpan RefreshInterval { get; set; } = TimeSpan.FromMinutes(1);

    /// <summary>How long after a message was sent a click on it still counts as a response.</summary>
    /// <value>Defaults to 7 days; from 1 minute to 366 days.</value>
    public TimeSpan AttributionWindow { get; set; } = TimeSpan.FromDays(7);

    /// <summary>How propensities are split by segment.</summary>
    /// <value>Defaults to <see cref="LearningSegments.DecisionStage"/>.</value>
    public LearningSegments Segments { get; set; } = LearningSegments.DecisionStage;

    /// <summary>For <see cref="LearningSegments.Custom"/>: the segment of a customer (a short token, or <see langword="null"/> for none). Must be fast and pure.</summary>
    public Func<CustomerProfile, string?>? Segmenter { get; set; }
}

/// <summary>Validates <see cref="DecisioningOptions"/> at start-up, naming each option, its value and its range.</summary>
public sealed class DecisioningOptionsValidator : IValidateOptions<DecisioningOptions>
{
    /// <inheritdoc />
    public ValidateOptionsResult Validate(string? name, DecisioningOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var failures = Problems(options);
        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }

    /// <summary>Throws the first problem of <paramref name="options"/> as an <see cref="EngagementValidationException"/>.</summary>
    internal static void Require(DecisioningOptions options)
    {
        var failures = Problems(options);
        if (failures.Count > 0)
        {
            throw new EngagementValidationException("DecisioningOptions", null, string.Join(" ", failures));
        }
    }

    private static List<string> Problems(DecisioningOptions o)
    {
        var failures = new List<string>();
        void Fail(string option, object? value, string rule)
            => failures.Add(string.Create(CultureInfo.InvariantCulture, $"{option} is {value ?? "null"}: it {rule}."));

        if (!Enum.IsDefined(o.Exploration))
        {
            Fail(nameof(o.Exploration), o.Exploration, "must be Greedy, EpsilonGreedy or Thompson");
        }

        if (!(o.ExplorationFloor >= 0 && o.ExplorationFloor < 1))
        {
            Fail(nameof(o.ExplorationFloor), o.ExplorationFloor, "must be in [0, 1)");
        }

        if (string.IsNullOrWhiteSpace(o.ChampionName))
        {
            Fail(nameof(o.ChampionName), o.ChampionName, "must not be empty");
        }

        var shares = 0.0;
        var names = new HashSet<string>(StringComparer.Ordinal) { o.ChampionName ?? string.Empty };
        for (var i = 0; i < o.Challengers.Count; i++)
        {
            var v = o.Challengers[i];
            var at = $"Challengers[{i}]";
            if (v is null)
            {
                Fail(at, null, "must not be null");
                continue;
            }

            if (string.IsNullOrWhiteSpace(v.Name) || !names.Add(v.Name))
            {
                Fail(at + ".Name", v.Name, "must be a name of its own, not the champion's or another challenger's");
            }

            if (!(v.Share > 0 && v.Share < 1))
            {
                Fail(at + ".Share", v.Share, "must be in (0, 1)");
            }
            else
            {
                shares += v.Share;
            }

            if (!Enum.IsDefined(v.Mode))
            {
                Fail(at + ".Mode", v.Mode, "must be Greedy, EpsilonGreedy or Thompson");
            }

            if (!(v.Floor >= 0 && v.Floor < 1))
            {
                Fail(at + ".Floor", v.Floor, "must be in [0, 1)");
            }
        }

        if (shares >= 1)
        {
            Fail("Challengers' shares", shares, "must sum to less than 1 (the champion keeps the rest)");
        }

        if (o.Slots is < 1 or > 20)
        {
            Fail(nameof(o.Slots), o.Slots, "must be from 1 to 20");
        }

        if (o.MaxPerGroup is < 1)
        {
            Fail(nameof(o.MaxPerGroup), o.MaxPerGroup, "must be at least 1 when set");
        }

        if (!(o.PreferredChannelWeight >= 0) || !double.IsFinite(o.PreferredChannelWeight))
        {
            Fail(nameof(o.PreferredChannelWeight), o.PreferredChannelWeight, "must be at least 0 and finite");
        }

        if (!(o.ChannelAffinityPrior > 0) || !double.IsFinite(o.ChannelAffinityPrior))
        {
            Fail(nameof(o.ChannelAffinityPrior), o.ChannelAffinityPrior, "must be positive and finite");
        }

        foreach (var (channel, cost) in o.ChannelCosts)
        {
            if (cost < 0)
            {
                Fail($"ChannelCosts[{channel}]", cost, "must not be negative");
            }
        }

        if (o.FallbackActionId is { } fallback && string.IsNullOrWhiteSpace(fallback))
        {
            Fail(nameof(o.FallbackActionId), fallback, "must name an action when set");
        }

        if (!(o.GlobalControlShare >= 0 && o.GlobalControlShare < 1))
        {
            Fail(nameof(o.GlobalControlShare), o.GlobalControlShare, "must be in [0, 1)");
        }

        if (string.IsNullOrEmpty(o.ExperimentSalt))
        {
            Fail(nameof(o.ExperimentSalt), o.ExperimentSalt, "must not be empty");
        }

        if (!(o.PriorWeight > 0) || !double.IsFinite(o.PriorWeight))
        {
            Fail(nameof(o.PriorWeight), o.PriorWeight, "must be positive and finite");
        }

        if (o.HalfLife is { } half && (half < TimeSpan.FromHours(1) || half > TimeSpan.FromDays(3650)))
        {
            Fail(nameof(o.HalfLife), half, "must be from 1 hour to 3,650 days when set");
        }

        if (o.BucketSize < TimeSpan.FromMinutes(1) || o.BucketSize > TimeSpan.FromDays(30))
        {
            Fail(nameof(o.BucketSize), o.BucketSize, "must be from 1 minute to 30 days");
        }

        if (o.RefreshInterval < TimeSpan.Zero || o.RefreshInterval > TimeSpan.FromDays(1))
        {
            Fail(nameof(o.RefreshInterval), o.RefreshInterval, "must be from 0 to 1 day");
        }

        if (o.AttributionWindow < TimeSpan.FromMinutes(1) || o.AttributionWindow > TimeSpan.FromDays(366))
        {
            Fail(nameof(o.AttributionWindow), o.AttributionWindow, "must be from 1 minute to 366 days");
        }

        if (!Enum.IsDefined(o.Segments))
        {
            Fail(nameof(o.Segments), o.Segments, "must be None, DecisionStage or Custom");
        }
        else if (o.Segments == LearningSegments.Custom && o.Segmenter is null)
        {
            Fail(nameof(o.Segmenter), null, "must be set when Segments is Custom");
        }

        return failures;
    }
}
