using System.Collections.Immutable;
using System.Globalization;
using System.Runtime.InteropServices;
using Engagement.Sdk.Channels;
using Engagement.Sdk.Consent;
using Engagement.Sdk.Decisioning.Learning;
using Engagement.Sdk.Profiles;
using Engagement.Sdk.Storage;

namespace Engagement.Sdk.Decisioning;

/// <summary>A question to the decider: what next for this customer, now, in this context?</summary>
/// <param name="Profile">The customer, up to date.</param>
/// <param name="At">The instant of the decision.</param>
public readonly record struct DecisionRequest(CustomerProfile Profile, DateTimeOffset At)
{
    /// <summary>What the customer is doing now.</summary>
    public DecisionContext Context { get; init; }

    /// <summary>
    /// The decision's id (for example derived from the triggering event), which also seeds its exploration: the same id, seed
    /// and state give the same choice. <see langword="null"/>: the customer id and the instant.
    /// </summary>
    public string? DecisionId { get; init; }

    /// <summary>The actions a journey's send step offers (the others are left out), or <see langword="null"/> for every action.</summary>
    internal IReadOnlyCollection<string>? Among { get; init; }

    /// <summary>Whether to choose greedily whatever the configured exploration (a journey's send step).</summary>
    internal bool Greedy { get; init; }

    /// <summary>The journeys' facts already loaded for this customer (the orchestrator's state just evaluated), or <see langword="null"/> to read them.</summary>
    internal Journeys.JourneyWorkspace? Workspace { get; init; }

    /// <summary>
    /// Whether the decision will be sent: volume budgets are then reserved for the chosen actions (release them with
    /// <see cref="NextBestActionDecider.ReleaseBudgetsAsync"/> if nothing is sent after all). A question that only looks
    /// (<see langword="false"/>, the default) checks budgets without using them.
    /// </summary>
    public bool ReserveBudgets { get; init; }
}

/// <summary>
/// A next-best-action decision: the chosen action (or do-nothing) on which channel, with what probability it was chosen, why,
/// and why not each other candidate. Immutable and thread-safe; the candidates' explanations are written when first asked for.
/// </summary>
public sealed class Decision
{
    private readonly DecisionData _data;
    private ImmutableArray<CandidateEvaluation> _candidates;

    // The chosen action's parts are read from the first slot rather than copied: a decision queued as a dispatch is made twice
    // (before and after it is linked to the dispatch), so each copy is a few fields.
    internal Decision(DecisionData data, string? dispatchId = null)
    {
        _data = data;
        DispatchId = dispatchId;
    }

    /// <summary>The customer.</summary>
    public CustomerId CustomerId => _data.CustomerId;

    /// <summary>When it was taken.</summary>
    public DateTimeOffset At => _data.At;

    /// <summary>The decision's id.</summary>
    public string DecisionId => _data.DecisionId;

    /// <summary>The policy that took it: <see cref="DecisioningOptions.ChampionName"/> or a challenger's name.</summary>
    public string Policy => _data.Policy;

    /// <summary>The customer's learning segment ("" for none).</summary>
    public string Segment => _data.Segment;

    /// <summary>The chosen action (the do-nothing action when nothing is to be sent).</summary>
    public ActionDefinition Action => _data.Primary?.Action ?? ActionCatalog.NoAction;

    /// <summary>The channel, or <see langword="null"/> for do-nothing.</summary>
    public Channel? Channel => _data.Primary?.Channel;

    /// <summary>The treatment, when the action has treatments.</summary>
    public ActionTreatment? Treatment => _data.Primary?.Treatment;

    /// <summary>The address on the channel, when it needs one.</summary>
    public Identifier? Address => _data.Primary?.Address;

    /// <summary>The factors of the chosen action's score (zero for do-nothing).</summary>
    public ScoreFactors Factors => _data.Primary?.Factors ?? default;

    /// <summary>The chosen action's score.</summary>
    public double Score => Factors.Score;

    /// <summary>The chosen action's estimated response probability.</summary>
    public double Propensity => Factors.Propensity;

    /// <summary>
    /// The probability with which the chosen action × channel (or do-nothing) was chosen among the candidates that survived every
    /// filter: π(a | x), the propensity to log for off-policy evaluation.
    /// </summary>
    public double ChoiceProbability => _data.ChoiceProbability.Value;

    /// <summary>
    /// The standard error of <see cref="ChoiceProbability"/> when it was estimated by Monte Carlo; for a Thompson choice from
    /// posterior sample banks (where the logged value is exactly the probability of the policy that ran), its standard error
    /// against Thompson sampling on the posteriors themselves; <see langword="null"/> when exact.
    /// </summary>
    public double? ChoiceProbabilityError => _data.ChoiceProbability.Method != ChoiceProbabilityMethod.Exact ? _data.ChoiceProbability.Error : null;

    /// <summary>Whether the choice came from exploration rather than as the highest expected score.</summary>
    public bool Explored => _data.Explored;

    /// <summary>How many candidates the first slot was chosen among (do-nothing included).</summary>
    public int CandidateCount => _data.CandidateCount;

    /// <summary>The chosen actions, one per slot (empty for do-nothing); the first is <see cref="Action"/>.</summary>
    public ImmutableArray<DecisionSlot> Slots => _data.Slots;

    /// <summary>
    /// The choice withheld because the customer is in a control group (then <see cref="Action"/> is do-nothing): the would-be
    /// send, logged so that uplift can be measured. <see langword="null"/> otherwise.
    /// </summary>
    public DecisionSlot? Withheld => _data.Withheld;

    /// <summary>The control group that withheld the choice: <c>global</c> or <c>action</c>; <see langword="null"/> when none did.</summary>
    public string? ControlGroup => _data.ControlGroup;

    /// <summary>Whether the decision is to do nothing.</summary>
    public bool IsNoAction => Action.Kind == ActionKind.NoAction;

    /// <summary>The dispatch the decision was queued (or logged) as, once the engine queued it.</summary>
    public string? DispatchId { get; }

    /// <summary>Every candidate's evaluation: the chosen first, then the withheld, the outranked by score, the rejected.</summary>
    public ImmutableArray<CandidateEvaluation> Candidates
    {
        get
        {
            if (_candidates.IsDefault)
            {
                ImmutableInterlocked.InterlockedInitialize(ref _candidates, _data.BuildCandidates());
            }

            return _candidates;
        }
    }

    /// <summary>A one-line explanation of the choice.</summary>
    /// <returns>The explanation.</returns>
    public string Explain() => _candidates.IsDefault ? _data.ExplainFirst() : Candidates.IsEmpty ? Action.Id : Candidates[0].Detail;

    /// <summary>The serialisable trace of the decision (see <see cref="DecisionTraceJsonContext"/>).</summary>
    /// <returns>The trace.</returns>
    public DecisionTrace ToTrace()
    {
        var shown = Withheld ?? (Slots.IsEmpty ? null : Slots[0]);
        return new DecisionTrace(DecisionId, CustomerId.Value, At, Policy, Segment.Length == 0 ? null : Segment, Action.Id, Channel, ChoiceProbability, Candidates)
        {
            DispatchId = DispatchId,
            WithheldActionId = Withheld?.Action.Id,
        };
    }

    /// <summary>The volume budgets the decision reserved (action and period), to give back if it is not sent.</summary>
    internal ImmutableArray<(string ActionId, DateTimeOffset Period)> Reservations => _data.Reservations;

    /// <summary>This decision linked to the dispatch it was queued or logged as.</summary>
    internal Decision WithDispatch(string dispatchId) => new(_data, dispatchId);

    /// <summary>What a dispatch of this decision's first slot (or its withheld choice) logs.</summary>
    internal DispatchDecision ToLog()
    {
        var slot = Withheld ?? Slots[0];
        return new DispatchDecision
        {
            DecisionId = DecisionId,
            Policy = Policy,
            ChoiceProbability = ChoiceProbability,
            ChoiceProbabilityError = ChoiceProbabilityError,
            Propensity = slot.Factors.Propensity,
            Score = slot.Factors.Score,
            Explored = Explored,
            Candidates = CandidateCount,
            Segment = Segment.Length == 0 ? null : Segment,
            TreatmentId = slot.Treatment?.Id,
            ControlGroup = ControlGroup,
        };
    }

    /// <summary>The permission decisions that denied or deferred a candidate's channel, without building explanations.</summary>
    internal void VisitPermissionRefusals<TState>(TState state, Action<TState, string, Channel, PermissionDecision> visit) => _data.VisitPermissionRefusals(state, visit);

    /// <summary>The arms of the candidates whose channel the gate deferred, best first by the action's priority (for holding).</summary>
    internal IEnumerable<(ActionDefinition Action, Channel Channel, PermissionDecision Permission)> Deferred() => _data.Deferred();
}

/// <summary>
/// A reusable buffer that a decision is written into, so that deciding allocates nothing (the trace is kept in arrays that are
/// reused; <see cref="ToDecision"/> makes an immutable <see cref="Decision"/> when one is wanted). Not thread-safe: one
/// decision at a time per buffer (for example one per thread or per request).
/// </summary>
public sealed class DecisionBuffer
{
    internal DecisionBuffer()
    {
    }

    /// <summary>Creates an empty buffer (its arrays grow to the catalogue on first use).</summary>
    /// <returns>The buffer.</returns>
    public static DecisionBuffer Create() => new();

    internal ActionCatalog? Catalog { get; private set; }

    internal ArmEntry[] Entries { get; private set; } = [];

    internal int[] Survivors { get; private set; } = [];

    internal int SurvivorCount { get; set; }

    internal ArmBelief[] ArmBeliefs { get; private set; } = [];

    internal AdaptivePropensities.Reader Reader { get; set; }

    internal int SegmentIndex { get; set; }

    internal double CustomerValue { get; set; }

    internal byte[] ActionStock { get; private set; } = [];

    internal byte[] ActionSurvived { get; private set; } = [];

    internal double OverallEngagement { get; set; }

    internal ValueTask<bool>? PendingStock { get; set; }

    internal ValueTask<PermissionDecision>? PendingPermission { get; set; }

    internal int PendingChannel { get; set; }

    internal Purpose PendingPurpose { get; set; }

    internal ArmBelief[] Candidates { get; private set; } = [];

    internal int[] CandidateArms { get; private set; } = [];

    internal int[] ActionSends { get; private set; } = [];

    internal long[] ActionLastSent { get; private set; } = [];

    internal long[] ActionLastDismissed { get; private set; } = [];

    internal byte[] ActionBudget { get; private set; } = [];

    internal long[] ActionBudgetUsed { get; private set; } = [];

    internal byte[] ActionTaken { get; private set; } = [];

    internal byte[] ChannelState { get; private set; } = [];

    internal Identifier?[] ChannelAddress { get; private set; } = [];

    internal double[] ChannelAffinity { get; private set; } = [];

    internal (int Channel, Purpose Purpose, PermissionDecision Decision)[] Permissions { get; private set; } = new (int, Purpose, PermissionDecision)[8];

    internal int PermissionCount { get; set; }

    internal int[] SlotArms { get; private set; } = new int[20];

    internal ChoiceProbability[] SlotProbability { get; private set; } = new ChoiceProbability[20];

    internal bool[] SlotExplored { get; private set; } = new bool[20];

    internal int SlotCount { get; set; }

    internal Dictionary<string, int> GroupCounts { get; } = new(StringComparer.Ordinal);

    internal CustomerProfile Profile { get; set; } = null!;

    internal DateTimeOffset At { get; set; }

    internal string? RequestedId { get; set; }

    internal DecisionContext Context { get; set; }

    internal string PolicyName { get; set; } = string.Empty;

    internal IBanditPolicy Policy { get; set; } = GreedyPolicy.Instance;

    internal string Segment { get; set; } = string.Empty;

    internal string? StageId { get; set; }

    internal IReadOnlyCollection<string>? Among { get; set; }

    internal Journeys.JourneyWorkspace? Workspace { get; set; }

    /// <summary>The workspace the buffer's decisions load the journeys' facts into (when the request brings none), kept for the next.</summary>
    internal Journeys.JourneyWorkspace? OwnWorkspace { get; set; }

    internal string? ContactFailure { get; set; }

    internal int FirstCandidateCount { get; set; }

    internal int FirstBestArm { get; set; }

    internal ChoiceProbability NothingProbability { get; set; }

    internal bool NothingExplored { get; set; }

    internal string? ControlGroup { get; set; }

    internal int WithheldArm { get; set; }

    internal ChoiceProbability WithheldProbability { get; set; }

    internal bool WithheldExplored { get; set; }

    internal bool FallbackUsed { get; set; }

    internal bool ReserveBudgets { get; set; }

    internal (int Action, DateTimeOffset Period)[] Reserved { get; private set; } = new (int, DateTimeOffset)[20];

    internal int ReservedCount { get; set; }

    /// <summary>The chosen action of the last decision (do-nothing when none).</summary>
    public ActionDefinition Action => SlotCount > 0 ? Catalog!.Ordered[Catalog.Arms[SlotArms[0]].Action] : ActionCatalog.NoAction;

    /// <summary>The chosen channel of the last decision, or <see langword="null"/> for do-nothing.</summary>
    public Channel? Channel => SlotCount > 0 ? Catalog!.Arms[SlotArms[0]].Channel : null;

    /// <summary>The probability with which the last decision's choice was made (do-nothing's when nothing was chosen).</summary>
    public double ChoiceProbability => SlotCount > 0 ? SlotProbability[0].Value : ControlGroup is not null ? WithheldProbability.Value : NothingProbability.Value;

    /// <summary>The score of the last decision's choice (0 for do-nothing).</summary>
    public double Score => SlotCount > 0 ? Entries[SlotArms[0]].Factors.Score : 0;

    /// <summary>The estimated response probability of the last decision's choice (0 for do-nothing).</summary>
    public double Propensity => SlotCount > 0 ? Entries[SlotArms[0]].Factors.Propensity : 0;

    /// <summary>How many actions the last decision chose.</summary>
    public int Chosen => SlotCount;

    /// <summary>Whether the last decision is to do nothing.</summary>
    public bool IsNoAction => SlotCount == 0;

    /// <summary>Whether the last decision's choice was withheld for a control group.</summary>
    public bool IsControl => ControlGroup is not null;

    /// <summary>Makes the immutable decision the buffer holds (with its trace; explanations are written when first asked for).</summary>
    /// <returns>The decision.</returns>
    public Decision ToDecision() => new(DecisionData.From(this));

    /// <summary>Makes the arrays fit <paramref name="catalog"/> and clears what a decision reads before writing.</summary>
    internal void Begin(ActionCatalog catalog)
    {
        if (!ReferenceEquals(Catalog, catalog))
        {
            var arms = catalog.Arms.Length;
            var actions = catalog.Ordered.Length;
            var channels = catalog.DistinctChannels.Length;
            if (Candidates.Length < arms + 1)
            {
                Entries = new ArmEntry[arms];
                Survivors = new int[arms];
                ArmBeliefs = new ArmBelief[arms];
                Candidates = new ArmBelief[arms + 1];
                CandidateArms = new int[arms + 1];
            }

            if (ActionSends.Length < actions)
            {
                ActionSends = new int[actions];
                ActionLastSent = new long[actions];
                ActionLastDismissed = new long[actions];
                ActionBudget = new byte[actions];
                ActionBudgetUsed = new long[actions];
                ActionTaken = new byte[actions];
                ActionStock = new byte[actions];
                ActionSurvived = new byte[actions];
            }

            if (ChannelState.Length < channels)
            {
                ChannelState = new byte[channels];
                ChannelAddress = new Identifier?[channels];
                ChannelAffinity = new double[channels];
            }

            Catalog = catalog;
        }

        var actionCount = catalog.Ordered.Length;
        Array.Clear(ActionBudget, 0, actionCount);
        Array.Clear(ActionTaken, 0, actionCount);
        Array.Clear(ActionStock, 0, actionCount);
        Array.Clear(ActionSurvived, 0, actionCount);
        OverallEngagement = -1;
        PendingStock = null;
        PendingPermission = null;
        Array.Clear(ChannelState, 0, catalog.DistinctChannels.Length);
        Array.Clear(ChannelAddress, 0, catalog.DistinctChannels.Length);
        Array.Clear(Permissions, 0, PermissionCount);
        PermissionCount = 0;
        SurvivorCount = 0;
        SlotCount = 0;
        ReservedCount = 0;
        GroupCounts.Clear();
        ContactFailure = null;
        ControlGroup = null;
        WithheldArm = -1;
        FallbackUsed = false;
        FirstCandidateCount = 1;
        FirstBestArm = -1;
        NothingProbability = Learning.ChoiceProbability.ExactValue(1);
        NothingExplored = false;
    }

    internal void AddPermission(int channel, Purpose purpose, PermissionDecision decision)
    {
        if (PermissionCount == Permissions.Length)
        {
            var grown = new (int, Purpose, PermissionDecision)[Permissions.Length * 2];
            Permissions.CopyTo(grown, 0);
            Permissions = grown;
        }

        Permissions[PermissionCount++] = (channel, purpose, decision);
    }

    // How many survivors there were before the first candidate of an action (survivors are added in candidate order).
    internal int ActionSurvivorsFrom(int firstArm)
    {
        var count = SurvivorCount;
        while (count > 0 && Survivors[count - 1] >= firstArm)
        {
            count--;
        }

        return count;
    }

    internal void AddReserved(int action, DateTimeOffset period)
    {
        if (ReservedCount == Reserved.Length)
        {
            var grown = new (int, DateTimeOffset)[Reserved.Length * 2];
            Reserved.CopyTo(grown, 0);
            Reserved = grown;
        }

        Reserved[ReservedCount++] = (action, period);
    }
}

/// <summary>What the pipeline recorded of one candidate.</summary>
internal struct ArmEntry
{
    public DecisionStage Stage;
    public string? Reason;
    public object? Evidence;
    public long Aux;
    public ScoreFactors Factors;
    public double Probability;
    public bool ActionLevel;
}

/// <summary>The snapshot of a decision that a <see cref="Decision"/> keeps, from which its candidates are explained on demand.</summary>
internal sealed class DecisionData
{
    private ActionCatalog _catalog = null!;
    private ArmEntry[] _entries = [];
    private string? _contactFailure;
    private string? _stageId;
    private DateTimeOffset? _profilingObjectedAt;
    private int _firstBestArm;
    private int _withheldArm;
    private bool _closedForm;
    private double _floor;
    private double? _nothing;
    private bool _nothingExplored;
    private string? _decisionId;

    public CustomerId CustomerId { get; private set; }

    public DateTimeOffset At { get; private set; }

    // The id asked for, else one made from the customer and the instant when first read (a journey step's decision that is
    // not sent never reads it).
    public string DecisionId => _decisionId ??= NextBestActionDecider.DefaultDecisionId(CustomerId, At);

    public string Policy { get; private set; } = string.Empty;

    public string Segment { get; private set; } = string.Empty;

    public ImmutableArray<DecisionSlot> Slots { get; private set; } = [];

    // The first slot: the decision's action.
    public DecisionSlot? Primary { get; private set; }

    public DecisionSlot? Withheld { get; private set; }

    public string? ControlGroup { get; private set; }

    public ChoiceProbability ChoiceProbability { get; private set; }

    public bool Explored { get; private set; }

    public int CandidateCount { get; private set; }

    public bool FallbackUsed { get; private set; }

    public ImmutableArray<(string ActionId, DateTimeOffset Period)> Reservations { get; private set; } = [];

    public static DecisionData From(DecisionBuffer b)
    {
        var catalog = b.Catalog!;
        var data = new DecisionData
        {
            _catalog = catalog,
            _entries = b.Entries.AsSpan(0, catalog.Arms.Length).ToArray(),
            _contactFailure = b.ContactFailure,
            _stageId = b.StageId,
            _profilingObjectedAt = b.Profile.ProfilingObjectedAt,
            _firstBestArm = b.FirstBestArm,
            _withheldArm = b.WithheldArm,
            _nothingExplored = b.NothingExplored,
            CustomerId = b.Profile.Id,
            At = b.At,
            _decisionId = b.RequestedId,
            Policy = b.PolicyName,
            Segment = b.Segment,
            ControlGroup = b.ControlGroup,
            CandidateCount = b.FirstCandidateCount,
            FallbackUsed = b.FallbackUsed,
        };

        (data._closedForm, data._floor) = b.Policy switch
        {
            EpsilonGreedyPolicy e => (true, e.Floor),
            GreedyPolicy => (true, 0.0),
            _ => (false, double.NaN),
        };

        if (b.SlotCount > 0)
        {
            var slots = new DecisionSlot[b.SlotCount];
            for (var s = 0; s < slots.Length; s++)
            {
                slots[s] = data.Slot(b.SlotArms[s], b.SlotProbability[s].Value, b.SlotExplored[s], b);
            }

            data.Slots = ImmutableCollectionsMarshal.AsImmutableArray(slots);
            data.Primary = slots[0];
        }

        // Do-nothing's probability: the policy's answer when it was asked (do-nothing chosen, replaced by the fallback, or a
        // control group's decision), else the closed form of the policy when it has one.
        if (b.SlotCount == 0 || b.ControlGroup is not null || b.FallbackUsed)
        {
            data._nothing = b.NothingProbability.Value;
        }
        else if (data._closedForm)
        {
            data._nothing = (data._floor / b.FirstCandidateCount) + (b.FirstBestArm < 0 ? 1 - data._floor : 0);
        }

        if (b.ReservedCount > 0)
        {
            var reserved = ImmutableArray.CreateBuilder<(string, DateTimeOffset)>(b.ReservedCount);
            for (var r = 0; r < b.ReservedCount; r++)
            {
                reserved.Add((catalog.Ordered[b.Reserved[r].Action].Id, b.Reserved[r].Period));
            }

            data.Reservations = reserved.MoveToImmutable();
        }

        if (b.ControlGroup is not null && b.WithheldArm >= 0)
        {
            data.Withheld = data.Slot(b.WithheldArm, b.WithheldProbability.Value, b.WithheldExplored, b);
            data.ChoiceProbability = b.WithheldProbability;
            data.Explored = b.WithheldExplored;
        }
        else if (b.SlotCount > 0)
        {
            data.ChoiceProbability = b.SlotProbability[0];
            data.Explored = b.SlotExplored[0];
        }
        else
        {
            data.ChoiceProbability = b.NothingProbability;
            data.Explored = b.NothingExplored;
        }

        return data;
    }

    private DecisionSlot Slot(int arm, double probability, bool explored, DecisionBuffer b)
    {
        var a = _catalog.Arms[arm];
        var action = _catalog.Ordered[a.Action];
        return new DecisionSlot(action, a.Channel, a.Treatment < 0 ? null : action.Treatments[a.Treatment], b.ChannelAddress[_catalog.ArmChannel[arm]], _entries[arm].Factors, probability, explored);
    }

    public void VisitPermissionRefusals<TState>(TState state, Action<TState, string, Channel, PermissionDecision> visit)
    {
        for (var i = 0; i < _entries.Length; i++)
        {
            if (_entries[i].Reason == DecisionReasons.NotPermitted && _entries[i].Evidence is PermissionDecision permission)
            {
                var arm = _catalog.Arms[i];
                visit(state, _catalog.Ordered[arm.Action].Id, arm.Channel, permission);
            }
        }
    }

    // The actions none of whose candidates survived, with a channel that contact policy deferred (the first such channel).
    public IEnumerable<(ActionDefinition Action, Channel Channel, PermissionDecision Permission)> Deferred()
    {
        for (var a = 0; a < _catalog.Ordered.Length; a++)
        {
            (ActionDefinition, Channel, PermissionDecision)? deferred = null;
            var survived = false;
            for (var i = _catalog.FirstArm[a]; i < _catalog.FirstArm[a + 1]; i++)
            {
                survived |= _entries[i].Stage >= DecisionStage.Score;
                if (deferred is null && _entries[i].Reason == DecisionReasons.NotPermitted && _entries[i].Evidence is PermissionDecision { Verdict: PermissionVerdict.Defer } permission)
                {
                    deferred = (_catalog.Ordered[a], _catalog.Arms[i].Channel, permission);
                }
            }

            if (deferred is { } d && !survived)
            {
                yield return d;
            }
        }
    }

    // The detail of the first of BuildCandidates' candidates (the chosen one, or do-nothing), without building the others.
    public string ExplainFirst()
    {
        if (Slots.IsEmpty)
        {
            return NothingDetail();
        }

        var slot = Slots[0];
        var reason = FallbackUsed ? DecisionReasons.Fallback : slot.Explored ? DecisionReasons.Explored : DecisionReasons.HighestScore;
        return Detail(_catalog.ArmOf(slot.Action.Id, slot.Channel, slot.Treatment?.Id), reason, slot.ChoiceProbability, actionLevel: false);
    }

    public ImmutableArray<CandidateEvaluation> BuildCandidates()
    {
        var list = new List<CandidateEvaluation>(_entries.Length + 2);
        var chosen = new HashSet<int>();
        foreach (var slot in Slots)
        {
            var arm = _catalog.ArmOf(slot.Action.Id, slot.Channel, slot.Treatment?.Id);
            chosen.Add(arm);
            var reason = FallbackUsed ? DecisionReasons.Fallback : slot.Explored ? DecisionReasons.Explored : DecisionReasons.HighestScore;
            list.Add(Candidate(arm, CandidateStatus.Chosen, FallbackUsed ? DecisionStage.Fallback : DecisionStage.Exploration, reason, slot.ChoiceProbability));
        }

        if (Withheld is { } withheld)
        {
            chosen.Add(_withheldArm);
            var reason = ControlGroup == "global" ? DecisionReasons.GlobalControl : DecisionReasons.ControlGroup;
            list.Add(Candidate(_withheldArm, CandidateStatus.Rejected, DecisionStage.Experiment, reason, withheld.ChoiceProbability));
        }

        var nothing = new CandidateEvaluation
        {
            ActionId = ActionCatalog.NoActionId,
            Status = Slots.IsEmpty ? CandidateStatus.Chosen : CandidateStatus.Outranked,
            Stage = Slots.IsEmpty && Withheld is not null ? DecisionStage.Experiment : DecisionStage.Exploration,
            Reason = Slots.IsEmpty ? (Withheld is not null ? (ControlGroup == "global" ? DecisionReasons.GlobalControl : DecisionReasons.ControlGroup) : DecisionReasons.NothingBetter) : DecisionReasons.Outranked,
            Detail = NothingDetail(),
            ChoiceProbability = _nothing,
        };

        if (Slots.IsEmpty)
        {
            list.Insert(0, nothing);
        }

        var outranked = new List<int>();
        for (var i = 0; i < _entries.Length; i++)
        {
            if (!chosen.Contains(i) && _entries[i].Stage >= DecisionStage.Score && _entries[i].Reason == DecisionReasons.Outranked)
            {
                outranked.Add(i);
            }
        }

        outranked.Sort((x, y) =>
        {
            var byScore = _entries[y].Factors.Score.CompareTo(_entries[x].Factors.Score);
            return byScore != 0 ? byScore : x.CompareTo(y);
        });
        foreach (var i in outranked)
        {
            list.Add(Candidate(i, CandidateStatus.Outranked, DecisionStage.Exploration, DecisionReasons.Outranked, Probability(i)));
        }

        if (!Slots.IsEmpty)
        {
            list.Add(nothing);
        }

        for (var a = 0; a < _catalog.Ordered.Length; a++)
        {
            var first = _catalog.FirstArm[a];
            var end = _catalog.FirstArm[a + 1];
            if (first < end && _entries[first].ActionLevel && _entries[first].Reason is null)
            {
                continue; // not offered by the journey step that asked
            }

            if (first < end && _entries[first].ActionLevel)
            {
                list.Add(Candidate(first, CandidateStatus.Rejected, _entries[first].Stage, _entries[first].Reason!, null, actionLevel: true));
                continue;
            }

            for (var i = first; i < end; i++)
            {
                if (!chosen.Contains(i) && _entries[i].Reason is { } reason && reason != DecisionReasons.Outranked)
                {
                    list.Add(Candidate(i, CandidateStatus.Rejected, _entries[i].Stage, reason, null));
                }
            }
        }

        return [.. list];
    }

    // The probability recorded for a candidate, or the one a closed-form policy gives an outranked survivor of the first slot.
    private double? Probability(int arm)
    {
        var recorded = _entries[arm].Probability;
        if (!double.IsNaN(recorded))
        {
            return recorded;
        }

        return _closedForm && CandidateCount > 0 ? (_floor / CandidateCount) + (arm == _firstBestArm ? 1 - _floor : 0) : null;
    }

    private CandidateEvaluation Candidate(int arm, CandidateStatus status, DecisionStage stage, string reason, double? probability, bool actionLevel = false)
    {
        var a = _catalog.Arms[arm];
        var action = _catalog.Ordered[a.Action];
        var entry = _entries[arm];
        var scored = entry.Stage >= DecisionStage.Score && !actionLevel;
        var permission = entry.Evidence as PermissionDecision;
        return new CandidateEvaluation
        {
            ActionId = action.Id,
            Status = status,
            Stage = stage,
            Reason = reason,
            Detail = Detail(arm, reason, probability, actionLevel),
            Channel = actionLevel ? null : a.Channel,
            TreatmentId = actionLevel || a.Treatment < 0 ? null : action.Treatments[a.Treatment].Id,
            Score = scored ? entry.Factors.Score : 0,
            Factors = scored ? entry.Factors : null,
            ChoiceProbability = probability,
            PermissionCode = permission?.Code,
            ChannelChecks = permission is null ? [] : [new ChannelCheck(a.Channel, permission)],
        };
    }

    private string NothingDetail()
    {
        if (Withheld is { } w)
        {
            return Invariant($"Do nothing: {w.Action.Id} on {w.Channel} was chosen (probability {w.ChoiceProbability:0.###}) and withheld, the customer being in the {(ControlGroup == "global" ? "global control group" : "action's control group")}; it is logged as a would-be send.");
        }

        var survivors = 0;
        var rejected = 0;
        foreach (var e in _entries)
        {
            if (e.Stage >= DecisionStage.Score && e.Reason is DecisionReasons.Outranked or DecisionReasons.HighestScore or DecisionReasons.Explored)
            {
                survivors++;
            }
            else if (e.Reason is not null)
            {
                rejected++;
            }
        }

        return Slots.IsEmpty
            ? Invariant($"Do nothing: {survivors} permitted candidate(s), none chosen over doing nothing (score 0, probability {_nothing ?? double.NaN:0.###}{(_nothingExplored ? ", by exploration" : string.Empty)}); {rejected} rejected.")
            : Invariant($"Do nothing: score 0, probability {_nothing ?? double.NaN:0.###}.");
    }

    private string Detail(int arm, string reason, double? probability, bool actionLevel)
    {
        var a = _catalog.Arms[arm];
        var action = _catalog.Ordered[a.Action];
        var e = _entries[arm];
        var on = actionLevel ? action.Id : Invariant($"{action.Id} on {a.Channel}{(a.Treatment < 0 ? string.Empty : "/" + action.Treatments[a.Treatment].Id)}");
        var f = e.Factors;
        var product = action.ProductId;
        return reason switch
        {
            DecisionReasons.NotYetValid => Invariant($"{on}: valid from {action.ValidFrom:O}."),
            DecisionReasons.Expired => Invariant($"{on}: valid until {action.ValidUntil:O}."),
            DecisionReasons.NotInStage => $"{on}: eligible in {string.Join(", ", action.Stages)}, the customer is in {_stageId ?? "no stage"}.",
            DecisionReasons.NotEligible => $"{on}: its eligibility {action.Eligibility} does not hold{(e.Aux == 1 ? " (no journey facts to evaluate it with)" : string.Empty)}.",
            DecisionReasons.ProfilingObjected => Invariant($"{on}: the customer objected to profiling on {_profilingObjectedAt:O}; only transactional messages are chosen for them."),
            DecisionReasons.AlreadyBought => $"{on}: the customer already bought {product}.",
            DecisionReasons.BeforeReplenishment => Invariant($"{on}: the customer bought {product} at {Instant(e.Aux):O}; it is offered again from {Instant(e.Aux) + action.ReplenishAfter!.Value:O}."),
            DecisionReasons.InCart => $"{on}: {product} is in the customer's cart.",
            DecisionReasons.NotInCart => $"{on}: {product} is not in the customer's cart.",
            DecisionReasons.OutOfStock => $"{on}: {product} is out of stock.",
            DecisionReasons.PurchaseCooldown => Invariant($"{on}: the customer bought at {Instant(e.Aux):O}; no offer for {action.PurchaseCooldown} after a purchase."),
            DecisionReasons.NotSuitable => $"{on}: the suitability rule '{action.Suitability[(int)e.Aux].Name}' does not hold.",
            DecisionReasons.NoSender => $"{on}: no sender is registered for {a.Channel}.",
            DecisionReasons.NoAddress => $"{on}: the customer has no {ChannelAddress.KindFor(a.Channel)} for {a.Channel}.",
            DecisionReasons.NotPermitted when e.Evidence is PermissionDecision p => $"{on}: {p.Code}: {(p.Reasons.IsDefaultOrEmpty ? string.Empty : p.Reasons[0].Detail)}",
            DecisionReasons.ActionSendLimit => Invariant($"{on}: sent {e.Aux} time(s) in the last {action.ContactPolicy!.Window}; at most {action.ContactPolicy.MaxSends}."),
            DecisionReasons.ActionSendGap => Invariant($"{on}: last sent at {Instant(e.Aux):O}; not again for {action.ContactPolicy!.MinGapAfterSend}."),
            DecisionReasons.ActionDismissalGap => Invariant($"{on}: dismissed at {Instant(e.Aux):O}; not again for {action.ContactPolicy!.MinGapAfterDismissal}."),
            DecisionReasons.ContactHistoryUnavailable => $"{on}: the contact history could not be read ({_contactFailure}), so the action is not sent.",
            DecisionReasons.BudgetExhausted => Invariant($"{on}: its budget of {action.Budget!.Limit} per {action.Budget.Period} is used up ({e.Aux} used)."),
            DecisionReasons.BudgetUnavailable => $"{on}: the budget store could not be reached ({e.Evidence}), so the action is denied.",
            DecisionReasons.GroupLimit => $"{on}: the decision already holds the most actions of group {action.Group}.",
            DecisionReasons.HighestScore or DecisionReasons.Explored or DecisionReasons.Fallback or DecisionReasons.ControlGroup or DecisionReasons.GlobalControl => Invariant(
                $"{on}: C {f.Context:0.###} × L {f.Lever:0.###} × (P {f.Propensity:0.000} × V {f.Value:0.##} − cost {f.Cost:0.##}) = {f.Score:0.000}; {Chosen(reason)} with probability {probability ?? double.NaN:0.###} by {Policy}, among {CandidateCount} candidate(s)."),
            DecisionReasons.Outranked => Invariant($"{on}: C {f.Context:0.###} × L {f.Lever:0.###} × (P {f.Propensity:0.000} × V {f.Value:0.##} − cost {f.Cost:0.##}) = {f.Score:0.000}, not chosen{(probability is { } p2 ? Invariant($" (probability {p2:0.###})") : string.Empty)}."),
            _ => $"{on}: {reason}.",
        };
    }

    private static string Chosen(string reason) => reason switch
    {
        DecisionReasons.Explored => "chosen by exploration",
        DecisionReasons.Fallback => "chosen as the fallback",
        DecisionReasons.ControlGroup => "chosen and withheld for the action's control group",
        DecisionReasons.GlobalControl => "chosen and withheld for the global control group",
        _ => "chosen as the highest expected score",
    };

    private static DateTimeOffset Instant(long ticks) => new(ticks, TimeSpan.Zero);

    private static string Invariant(FormattableString text) => text.ToString(CultureInfo.InvariantCulture);
}
