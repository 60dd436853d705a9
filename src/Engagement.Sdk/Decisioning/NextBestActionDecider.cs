using System.Globalization;
using Engagement.Sdk.Channels;
using Engagement.Sdk.Consent;
using Engagement.Sdk.Decisioning.Learning;
using Engagement.Sdk.Profiles;
using Engagement.Sdk.Storage;

namespace Engagement.Sdk.Decisioning;

/// <summary>
/// Chooses the next best action for a customer through a pipeline whose every step leaves a stable reason code in the trace:
/// candidates (action × channel × treatment, and do-nothing) → validity dates → eligibility (stages, rules) → applicability
/// (owned, in cart, out of stock, cooldown after a purchase, replenishment window) → suitability (host rules) → channel (a
/// sender, an address, the permission gate: consent, caps, quiet hours) → the action's contact policy → score = context ×
/// levers × (propensity × value − cost) → exploration (with the probability of the choice) → post-rank constraints (slots,
/// diversity by group, volume budgets) → experiments (control groups, champion/challenger) → fallback. Deciding into a
/// <see cref="DecisionBuffer"/> allocates nothing when the stores answer synchronously. Thread-safe.
/// </summary>
public sealed class NextBestActionDecider
{
    private readonly ActionCatalog _catalog;
    private readonly IPermissionGate _gate;
    private readonly AdaptivePropensities _propensities;
    private readonly IStockProvider _stock;
    private readonly Func<Channel, bool> _canSend;
    private readonly string _journeyId;
    private readonly DecisioningOptions _options;
    private readonly IActionContactLog? _contacts;
    private readonly IActionBudgetStore? _budgets;
    private readonly ICustomerValueEstimator? _customerValue;
    private readonly IStoreTransactions _transactions;
    private readonly (string Name, double Until, IBanditPolicy Policy)[] _challengers;
    private readonly IBanditPolicy _champion;
    private readonly double[] _channelCost;
    private readonly int[] _budgeted;
    private readonly double[] _value;
    private readonly double[] _cost;
    private readonly int _fallback;
    private readonly ulong _seed;
    private readonly int _bankSize;
    private readonly long _bankRefreshTicks;
    private DecisionBuffer? _spare;

    /// <summary>Creates the decider.</summary>
    /// <param name="catalog">The actions.</param>
    /// <param name="gate">The permission gate.</param>
    /// <param name="propensities">The learned propensities (over the same catalogue).</param>
    /// <param name="stock">The stock provider.</param>
    /// <param name="canSend">Whether a channel has a sender.</param>
    /// <param name="journeyId">The journey whose stage <see cref="ActionDefinition.Stages"/> refer to.</param>
    /// <param name="options">The options; the defaults when <see langword="null"/>.</param>
    /// <param name="contacts">The contact history that actions' contact policies are checked against; none when <see langword="null"/> (then an action with a contact policy is never sent: fail closed).</param>
    /// <param name="budgets">The volume budgets; none when <see langword="null"/> (then an action with a budget is never sent: fail closed).</param>
    /// <param name="customerValue">The customer's value for <see cref="ActionDefinition.CustomerValueShare"/>; 0 when <see langword="null"/>.</param>
    /// <param name="transactions">The storage's units of work: a budget reservation runs in a nested unit, so a failed one leaves nothing behind.</param>
    /// <param name="journeyCatalog">The compiled journeys (with the actions' eligibility conditions), read with <paramref name="journeyStore"/>.</param>
    /// <param name="journeyStore">The journeys' state: the customer's stage in the decision journey and the facts eligibility conditions read; without it the stage is the profile's and an action with an eligibility condition is never eligible.</param>
    /// <param name="ledger">The consent ledger, for eligibility conditions that test consent.</param>
    /// <exception cref="EngagementValidationException">The options are out of range, or the fallback action is not in the catalogue.</exception>
    public NextBestActionDecider(
        ActionCatalog catalog,
        IPermissionGate gate,
        AdaptivePropensities propensities,
        IStockProvider stock,
        Func<Channel, bool> canSend,
        string journeyId,
        DecisioningOptions? options = null,
        IActionContactLog? contacts = null,
        IActionBudgetStore? budgets = null,
        ICustomerValueEstimator? customerValue = null,
        IStoreTransactions? transactions = null,
        Journeys.JourneyCatalog? journeyCatalog = null,
        Journeys.IJourneyStore? journeyStore = null,
        ConsentLedger? ledger = null)
    {
        _catalog = catalog ?? throw new ArgumentNullException(nameof(catalog));
        _gate = gate ?? throw new ArgumentNullException(nameof(gate));
        _propensities = propensities ?? throw new ArgumentNullException(nameof(propensities));
        _stock = stock ?? throw new ArgumentNullException(nameof(stock));
        _canSend = canSend ?? throw new ArgumentNullException(nameof(canSend));
        _journeyId = journeyId ?? throw new ArgumentNullException(nameof(journeyId));
        if (!ReferenceEquals(propensities.Catalog, catalog))
        {
            throw new EngagementValidationException("propensities", null, "the propensities must be kept for the decider's catalogue");
        }

        _options = options ?? new DecisioningOptions();
        DecisioningOptionsValidator.Require(_options);
        _contacts = contacts;
        _budgets = budgets;
        _customerValue = customerValue;
        _transactions = transactions ?? NoTransactions.Instance;
        _seed = unchecked((ulong)_options.Seed);
        _bankSize = _options.ThompsonSamples;
        _bankRefreshTicks = _options.ThompsonSampleRefresh.Ticks;
        _champion = PolicyFor(_options.Exploration, _options.ExplorationFloor);
        var until = 0.0;
        _challengers = [.. _options.Challengers.Select(v => (v.Name, until += v.Share, PolicyFor(v.Mode, v.Floor)))];
        _channelCost = [.. catalog.DistinctChannels.Select(c => _options.ChannelCosts.TryGetValue(c, out var cost) ? (double)cost : 0)];
        _value = [.. catalog.Ordered.Select(static a => (double)a.Value)];
        _budgeted = [.. Enumerable.Range(0, catalog.Ordered.Length).Where(a => catalog.Ordered[a].Budget is not null)];
        _cost = [.. catalog.Ordered.Select(static a => (double)a.Cost)];
        Facts = journeyStore is null ? null : new Journeys.JourneyFacts(journeyCatalog ?? Journeys.JourneyCatalog.FromOptions(new EngagementOptions { DecisionJourneyId = journeyId }, catalog), journeyStore, ledger);
        _fallback = -1;
        if (_options.FallbackActionId is { } fallback)
        {
            _fallback = catalog.IndexOf(fallback);
            if (_fallback < 0)
            {
                throw new EngagementValidationException("DecisioningOptions.FallbackActionId", fallback, "must name an action of the catalogue");
            }
        }
    }

    /// <summary>The catalogue decisions choose from.</summary>
    public ActionCatalog Catalog => _catalog;

    /// <summary>The learned propensities.</summary>
    public AdaptivePropensities Propensities => _propensities;

    /// <summary>The contact history, if any.</summary>
    internal IActionContactLog? Contacts => _contacts;

    /// <summary>The journeys' facts (stage and eligibility conditions), when the decider has the journey store.</summary>
    internal Journeys.JourneyFacts? Facts { get; }

    /// <summary>
    /// Decides among <paramref name="among"/> only, greedily (a journey's send step: the journey chose to send, so exploration
    /// does not make it send nothing; its choice is logged with probability 1 under the policy <see cref="JourneyStepPolicy"/>).
    /// </summary>
    internal ValueTask<Decision> DecideAsync(CustomerProfile profile, DateTimeOffset at, IReadOnlyCollection<string>? among, CancellationToken cancellationToken, bool reserve = false, Journeys.JourneyWorkspace? known = null)
        => DecideAsync(new DecisionRequest(profile, at) { Context = DecisionContext.From(profile, null), Among = among, ReserveBudgets = reserve, Greedy = true, Workspace = known }, cancellationToken);

    /// <summary>The policy name logged for a journey send step's decisions (greedy among the step's actions).</summary>
    public const string JourneyStepPolicy = "journey_step";

    /// <summary>Decides for <paramref name="profile"/> at <paramref name="at"/> (no context, budgets checked but not used).</summary>
    /// <param name="profile">The customer, up to date.</param>
    /// <param name="at">The instant of the decision.</param>
    /// <param name="cancellationToken">Cancels the decision.</param>
    /// <returns>The decision with every candidate's evaluation.</returns>
    public ValueTask<Decision> DecideAsync(CustomerProfile profile, DateTimeOffset at, CancellationToken cancellationToken = default)
        => DecideAsync(new DecisionRequest(profile, at), cancellationToken);

    /// <summary>Decides.</summary>
    /// <param name="request">The question.</param>
    /// <param name="cancellationToken">Cancels the decision.</param>
    /// <returns>The decision with every candidate's evaluation.</returns>
    public async ValueTask<Decision> DecideAsync(DecisionRequest request, CancellationToken cancellationToken = default)
    {
        var buffer = Interlocked.Exchange(ref _spare, null) ?? new DecisionBuffer();
        await DecideAsync(request, buffer, cancellationToken).ConfigureAwait(false);
        var decision = buffer.ToDecision();
        buffer.Profile = null!;
        buffer.Workspace = null;
        buffer.OwnWorkspace?.Clear();
        Interlocked.Exchange(ref _spare, buffer);
        return decision;
    }

    /// <summary>
    /// Decides into <paramref name="buffer"/>: allocates nothing when the stores, the gate and the stock provider answer
    /// synchronously (as the in-memory ones do). Read the outcome from the buffer, or make a <see cref="Decision"/> of it.
    /// </summary>
    /// <param name="request">The question.</param>
    /// <param name="buffer">The buffer to write into (one decision at a time).</param>
    /// <param name="cancellationToken">Cancels the decision.</param>
    /// <returns>The buffer.</returns>
    public ValueTask<DecisionBuffer> DecideAsync(DecisionRequest request, DecisionBuffer buffer, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request.Profile);
        ArgumentNullException.ThrowIfNull(buffer);
        return DecideCoreAsync(request, buffer, cancellationToken);
    }

    /// <summary>Gives back the volume budgets a decision reserved (it was not sent after all).</summary>
    /// <param name="decision">The decision.</param>
    /// <param name="cancellationToken">Cancels the writes.</param>
    /// <returns>A task.</returns>
    public async ValueTask ReleaseBudgetsAsync(Decision decision, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(decision);
        if (_budgets is null)
        {
            return;
        }

        foreach (var (actionId, period) in decision.Reservations)
        {
            await _budgets.ReleaseAsync(actionId, period, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>The id of a decision taken without one: the customer and the instant.</summary>
    internal static string DefaultDecisionId(CustomerId customer, DateTimeOffset at)
        => customer.Value + "@" + at.UtcTicks.ToString("x", CultureInfo.InvariantCulture);

    private static IBanditPolicy PolicyFor(ExplorationMode mode, double floor) => mode switch
    {
        ExplorationMode.Greedy => GreedyPolicy.Instance,
        ExplorationMode.Thompson => new ThompsonSamplingPolicy(new ThompsonSamplingOptions { Floor = floor }),
        _ => floor == 0 ? GreedyPolicy.Instance : new EpsilonGreedyPolicy(floor),
    };

    private async ValueTask<DecisionBuffer> DecideCoreAsync(DecisionRequest request, DecisionBuffer b, CancellationToken cancellationToken)
    {
        var profile = request.Profile;
        var at = request.At;
        var catalog = _catalog;
        b.Begin(catalog);
        b.Profile = profile;
        b.At = at;
        b.Context = request.Context;
        b.RequestedId = request.DecisionId;
        b.ReserveBudgets = request.ReserveBudgets && _budgets is not null;
        b.Among = request.Among;
        b.Workspace = request.Workspace;
        if (b.Workspace is null && Facts is { } journeys)
        {
            // The stage and the eligibility facts come from the journey store (one read per decision), loaded into the buffer's
            // own workspace, which the buffer's next decision loads again.
            b.Workspace = b.OwnWorkspace = await journeys.LoadIntoAsync(b.OwnWorkspace, profile, at, cancellationToken).ConfigureAwait(false);
        }

        b.StageId = ActionGuards.StageOf(profile, _journeyId, Facts, b.Workspace);

        await _propensities.EnsureFreshAsync(cancellationToken).ConfigureAwait(false);
        b.Reader = _propensities.Read(at);
        b.Segment = _propensities.SegmentOf(profile, b.StageId);
        b.SegmentIndex = _propensities.SegmentIndex(b.Segment);

        // Champion or challenger: a stable split of customers.
        b.PolicyName = _options.ChampionName;
        b.Policy = _champion;
        if (request.Greedy)
        {
            b.PolicyName = JourneyStepPolicy;
            b.Policy = GreedyPolicy.Instance;
        }
        else if (_challengers.Length > 0)
        {
            var u = Experiments.Share(_options.ExperimentSalt, "policy", profile.Id.Value);
            foreach (var (name, until, policy) in _challengers)
            {
                if (u < until)
                {
                    b.PolicyName = name;
                    b.Policy = policy;
                    break;
                }
            }
        }

        b.CustomerValue = catalog.NeedsCustomerValue && _customerValue is not null ? Math.Max(0, _customerValue.Estimate(profile, at)) : 0;
        if (catalog.ContactLookBack > TimeSpan.Zero)
        {
            await TallyContactsAsync(b, profile.Id, at, cancellationToken).ConfigureAwait(false);
        }

        // The filters and the scores, action by action, synchronously; a stock or permission answer that is not ready yet is
        // awaited here and the action evaluated again (its other answers are kept in the buffer).
        var next = 0;
        while ((next = EvaluateActions(b, next, cancellationToken)) < catalog.Ordered.Length)
        {
            if (b.PendingStock is { } stock)
            {
                b.PendingStock = null;
                b.ActionStock[next] = await stock.ConfigureAwait(false) ? InStock : OutOfStock;
            }
            else if (b.PendingPermission is { } permission)
            {
                b.PendingPermission = null;
                b.AddPermission(b.PendingChannel, b.PendingPurpose, await permission.ConfigureAwait(false));
            }
        }

        if (catalog.HasBudgets && b.SurvivorCount > 0)
        {
            await CheckBudgetsAsync(b, at, cancellationToken).ConfigureAwait(false);
        }

        var random = new BanditRandom(_seed, Experiments.Stream(request.DecisionId, profile.Id, at.UtcTicks));
        var inGlobalControl = _options.GlobalControlShare > 0 && Experiments.Share(_options.ExperimentSalt, "global", profile.Id.Value) < _options.GlobalControlShare;
        await ChooseSlotsAsync(b, at, inGlobalControl, ref random, cancellationToken).ConfigureAwait(false);
        return b;
    }

    private const byte InStock = 1;
    private const byte OutOfStock = 2;

    // Evaluates the actions from `first` on; returns the number of actions when all are done, or the index of the action that
    // waits for a stock or permission answer (in the buffer's pending fields).
    private int EvaluateActions(DecisionBuffer b, int first, CancellationToken cancellationToken)
    {
        var catalog = _catalog;
        var profile = b.Profile;
        var at = b.At;
        var atTicks = at.UtcTicks;
        var entries = b.Entries;
        var actions = catalog.Ordered;
        var arms = catalog.Arms;
        var preferences = profile.ChannelPreferences;
        var beliefs = b.Reader;
        var segment = b.SegmentIndex;
        var customerValue = b.CustomerValue;
        for (var a = first; a < actions.Length; a++)
        {
            var action = actions[a];
            var armsFrom = catalog.FirstArm[a];
            var armsTo = catalog.FirstArm[a + 1];
            if (b.Among is { } among && !among.Contains(action.Id))
            {
                // Not offered by the journey step that asked: left out of the decision and of its trace.
                for (var i = armsFrom; i < armsTo; i++)
                {
                    entries[i] = new ArmEntry { Reason = null, Probability = double.NaN, ActionLevel = true };
                }

                continue;
            }

            var (stage, reason, aux) = ActionGuards.Check(action, profile, b.Context, b.StageId, Facts, b.Workspace, at);
            if (reason is null && action.ProductId is { } product)
            {
                if (b.ActionStock[a] == 0)
                {
                    var inStock = _stock.IsInStockAsync(product, cancellationToken);
                    if (!inStock.IsCompletedSuccessfully)
                    {
                        b.PendingStock = inStock;
                        return a;
                    }

                    b.ActionStock[a] = inStock.Result ? InStock : OutOfStock;
                }

                if (b.ActionStock[a] == OutOfStock)
                {
                    (stage, reason, aux) = (DecisionStage.Applicability, DecisionReasons.OutOfStock, 0);
                }
            }

            if (reason is null)
            {
                (stage, reason, aux) = ActionGuards.CheckSuitability(action, profile, b.Context);
            }

            if (reason is null)
            {
                (stage, reason, aux) = CheckContactPolicy(action, a, b, atTicks);
            }

            if (reason is not null)
            {
                for (var i = armsFrom; i < armsTo; i++)
                {
                    entries[i] = new ArmEntry { Stage = stage, Reason = reason, Aux = aux, Probability = double.NaN, ActionLevel = true };
                }

                continue;
            }

            var context = ContextWeight(action, b.Context);
            Channel? preferred = null;
            if (action.MessageType is { } type && !preferences.IsEmpty && preferences.TryGetValue(type, out var p))
            {
                preferred = p;
            }

            for (var i = armsFrom; i < armsTo; i++)
            {
                var arm = arms[i];
                var c = catalog.ArmChannel[i];
                var channel = arm.Channel;
                var state = ChannelState(b, c, channel, profile);
                if (state == ChannelNoSender)
                {
                    entries[i] = new ArmEntry { Stage = DecisionStage.Channel, Reason = DecisionReasons.NoSender, Probability = double.NaN };
                    continue;
                }

                if (state == ChannelNoAddress)
                {
                    entries[i] = new ArmEntry { Stage = DecisionStage.Channel, Reason = DecisionReasons.NoAddress, Probability = double.NaN };
                    continue;
                }

                var permission = FindPermission(b, c, action.Purpose);
                if (permission is null)
                {
                    var asked = _gate.CheckAsync(new PermissionRequest(profile, channel, action.Purpose, b.ChannelAddress[c], at), cancellationToken);
                    if (!asked.IsCompletedSuccessfully)
                    {
                        // The candidates of this action evaluated so far are evaluated again once the answer is in.
                        b.PendingPermission = asked;
                        b.PendingChannel = c;
                        b.PendingPurpose = action.Purpose;
                        b.SurvivorCount = b.ActionSurvivorsFrom(armsFrom);
                        return a;
                    }

                    permission = asked.Result;
                    b.AddPermission(c, action.Purpose, permission);
                }

                if (!permission.IsAllowed)
                {
                    entries[i] = new ArmEntry { Stage = DecisionStage.Channel, Reason = DecisionReasons.NotPermitted, Evidence = permission, Probability = double.NaN };
                    continue;
                }

                var treatment = arm.Treatment < 0 ? null : action.Treatments[arm.Treatment];
                var weight = context * b.ChannelAffinity[c] * (preferred is { } pc && pc == channel ? _options.PreferredChannelWeight : 1);
                var lever = action.Lever * (treatment?.Lever ?? 1);
                var value = (treatment?.Value is { } treated ? (double)treated : _value[a]) + (action.CustomerValueShare * customerValue);
                var cost = _cost[a] + _channelCost[c];
                var posterior = beliefs.Posterior(i, segment, action.BasePropensity);
                var propensity = posterior.Mean;
                var score = weight * lever * ((propensity * value) - cost);
                ref var entry = ref entries[i];
                entry.Stage = DecisionStage.Score;
                entry.Reason = DecisionReasons.Outranked;
                entry.Evidence = permission;
                entry.Aux = 0;
                entry.Factors = new ScoreFactors(propensity, weight, lever, value, cost, score);
                entry.Probability = double.NaN;
                entry.ActionLevel = false;
                var belief = new ArmBelief(posterior, weight * lever * value, -(weight * lever * cost));
                if (_bankSize > 0 && b.Policy is ThompsonSamplingPolicy && !belief.IsFixed)
                {
                    belief = belief with { Samples = _propensities.SampleBank(i, segment, posterior, atTicks, _bankSize, _bankRefreshTicks, _seed) };
                }

                b.ArmBeliefs[b.SurvivorCount] = belief;
                b.Survivors[b.SurvivorCount++] = i;
                b.ActionSurvived[a] = 1;
            }
        }

        return actions.Length;
    }

    // Slots are filled one by one: each among the survivors not yet taken that the constraints allow, plus do-nothing.
    private ValueTask ChooseSlotsAsync(DecisionBuffer b, DateTimeOffset at, bool inGlobalControl, ref BanditRandom random, CancellationToken cancellationToken)
    {
        var catalog = _catalog;
        var slots = _options.Slots;
        while (b.SlotCount < slots)
        {
            var k = Candidates(b);
            if (b.SlotCount == 0)
            {
                b.FirstCandidateCount = k;
                b.FirstBestArm = BestArm(b, k);
            }

            var span = new ReadOnlySpan<ArmBelief>(b.Candidates, 0, k);
            var choice = k == 1 ? new BanditChoice(0, Learning.ChoiceProbability.ExactValue(1), false) : b.Policy.Choose(span, ref random);
            if (choice.Index == 0)
            {
                if (b.SlotCount == 0)
                {
                    b.NothingProbability = choice.Probability;
                    b.NothingExplored = choice.Explored;
                    if (_fallback >= 0 && !inGlobalControl)
                    {
                        TryFallback(b, k, ref random);
                    }
                }

                break;
            }

            var arm = b.CandidateArms[choice.Index];
            var a = catalog.Arms[arm].Action;
            var action = catalog.Ordered[a];
            if (b.SlotCount == 0 && (inGlobalControl || (action.ControlShare > 0 && Experiments.Share(_options.ExperimentSalt, action.Id, b.Profile.Id.Value) < action.ControlShare)))
            {
                // A would-be send: chosen as any other decision, withheld, logged; no budget is used.
                b.ControlGroup = inGlobalControl ? "global" : "action";
                b.WithheldArm = arm;
                b.WithheldProbability = choice.Probability;
                b.WithheldExplored = choice.Explored;
                b.Entries[arm].Probability = choice.Probability.Value;
                b.Entries[arm].Stage = DecisionStage.Experiment;
                b.Entries[arm].Reason = inGlobalControl ? DecisionReasons.GlobalControl : DecisionReasons.ControlGroup;
                var nothing = random.Fork();
                b.NothingProbability = b.Policy.ProbabilityOf(span, 0, ref nothing);
                break;
            }

            if (b.ReserveBudgets && action.Budget is { } budget)
            {
                // Reserved in a nested unit of work: a reservation that fails (the budget went in a race, or the store failed)
                // leaves nothing behind, the action is removed, and the slot is chosen again among the rest.
                return ReserveAndContinueAsync(b, at, inGlobalControl, arm, a, budget, choice, random, cancellationToken);
            }

            Take(b, arm, a, choice);
        }

        return ValueTask.CompletedTask;
    }

    private async ValueTask ReserveAndContinueAsync(DecisionBuffer b, DateTimeOffset at, bool inGlobalControl, int arm, int a, ActionBudget budget, BanditChoice choice, BanditRandom random, CancellationToken cancellationToken)
    {
        var action = _catalog.Ordered[a];
        var period = ActionBudget.PeriodStart(budget.Period, at);
        var unit = _transactions.Begin();
        var reserved = false;
        string? failure = null;
        try
        {
            reserved = await _budgets!.TryReserveAsync(action.Id, period, budget.Limit, cancellationToken).ConfigureAwait(false);
            await unit.CompleteAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            failure = ex.GetType().Name;
        }
        finally
        {
            await unit.DisposeAsync().ConfigureAwait(false);
        }

        if (reserved)
        {
            b.AddReserved(a, period);
            Take(b, arm, a, choice);
        }
        else
        {
            MarkAction(b, a, DecisionStage.PostRank, failure is null ? DecisionReasons.BudgetExhausted : DecisionReasons.BudgetUnavailable, failure is null ? budget.Limit : 0, failure);
            b.ActionBudget[a] = failure is null ? BudgetExhausted : BudgetUnavailable;
        }

        await ChooseSlotsAsync(b, at, inGlobalControl, ref random, cancellationToken).ConfigureAwait(false);
    }

    private void Take(DecisionBuffer b, int arm, int a, BanditChoice choice)
    {
        var action = _catalog.Ordered[a];
        b.SlotArms[b.SlotCount] = arm;
        b.SlotProbability[b.SlotCount] = choice.Probability;
        b.SlotExplored[b.SlotCount] = choice.Explored;
        b.SlotCount++;
        b.ActionTaken[a] = 1;
        b.Entries[arm].Stage = DecisionStage.Exploration;
        b.Entries[arm].Reason = choice.Explored ? DecisionReasons.Explored : DecisionReasons.HighestScore;
        b.Entries[arm].Probability = choice.Probability.Value;
        if (action.Group is { } group)
        {
            System.Runtime.InteropServices.CollectionsMarshal.GetValueRefOrAddDefault(b.GroupCounts, group, out _)++;
        }
    }

    // The fallback action replaces doing nothing when one of its candidates survived (its best by expected score); it is
    // chosen whenever the policy picks do-nothing or it, so its probability is the sum of the two.
    private void TryFallback(DecisionBuffer b, int k, ref BanditRandom random)
    {
        var best = -1;
        for (var j = 1; j < k; j++)
        {
            if (_catalog.Arms[b.CandidateArms[j]].Action == _fallback && (best < 0 || b.Candidates[j].ExpectedScore > b.Candidates[best].ExpectedScore))
            {
                best = j;
            }
        }

        if (best < 0)
        {
            return;
        }

        var span = new ReadOnlySpan<ArmBelief>(b.Candidates, 0, k);
        var side = random.Fork();
        var p = b.Policy.ProbabilityOf(span, best, ref side);
        var probability = new ChoiceProbability(Math.Min(1, b.NothingProbability.Value + p.Value), b.NothingProbability.Error + p.Error, (ChoiceProbabilityMethod)Math.Max((int)p.Method, (int)b.NothingProbability.Method));
        var arm = b.CandidateArms[best];
        Take(b, arm, _fallback, new BanditChoice(best, probability, false));
        b.Entries[arm].Stage = DecisionStage.Fallback;
        b.Entries[arm].Reason = DecisionReasons.Fallback;
        b.FallbackUsed = true;
    }

    // Fills the candidate list of the next slot: do-nothing first (score 0), then every survivor the constraints allow.
    private int Candidates(DecisionBuffer b)
    {
        var catalog = _catalog;
        b.Candidates[0] = ArmBelief.Fixed(0);
        b.CandidateArms[0] = -1;
        var k = 1;
        for (var s = 0; s < b.SurvivorCount; s++)
        {
            var arm = b.Survivors[s];
            var a = catalog.Arms[arm].Action;
            if (b.ActionTaken[a] != 0 || b.ActionBudget[a] >= BudgetExhausted)
            {
                continue;
            }

            if (_options.MaxPerGroup is { } max && catalog.Ordered[a].Group is { } group && b.GroupCounts.TryGetValue(group, out var taken) && taken >= max)
            {
                if (b.Entries[arm].Reason == DecisionReasons.Outranked)
                {
                    b.Entries[arm].Stage = DecisionStage.PostRank;
                    b.Entries[arm].Reason = DecisionReasons.GroupLimit;
                }

                continue;
            }

            b.Candidates[k] = b.ArmBeliefs[s];
            b.CandidateArms[k++] = arm;
        }

        return k;
    }

    private static int BestArm(DecisionBuffer b, int k)
    {
        var best = 0;
        var bestScore = 0.0;
        for (var j = 1; j < k; j++)
        {
            var score = b.Candidates[j].ExpectedScore;
            if (score > bestScore)
            {
                best = j;
                bestScore = score;
            }
        }

        return best == 0 ? -1 : b.CandidateArms[best];
    }

    private const byte BudgetChecked = 1;
    private const byte BudgetExhausted = 2;
    private const byte BudgetUnavailable = 3;

    // Post-rank, before exploration: actions whose budget is used up (or cannot be read) leave the survivors, so that the
    // policy chooses among what can be sent and its logged probability is right.
    private async ValueTask CheckBudgetsAsync(DecisionBuffer b, DateTimeOffset at, CancellationToken cancellationToken)
    {
        var catalog = _catalog;
        foreach (var a in _budgeted)
        {
            var action = catalog.Ordered[a];
            if (b.ActionSurvived[a] == 0 || action.Budget is not { } budget)
            {
                continue;
            }

            if (_budgets is null)
            {
                b.ActionBudget[a] = BudgetUnavailable;
                MarkAction(b, a, DecisionStage.PostRank, DecisionReasons.BudgetUnavailable, 0, "no budget store");
                continue;
            }

            try
            {
                var used = await _budgets.GetUsedAsync(action.Id, ActionBudget.PeriodStart(budget.Period, at), cancellationToken).ConfigureAwait(false);
                if (used >= budget.Limit)
                {
                    b.ActionBudget[a] = BudgetExhausted;
                    MarkAction(b, a, DecisionStage.PostRank, DecisionReasons.BudgetExhausted, used, null);
                }
                else
                {
                    b.ActionBudget[a] = BudgetChecked;
                }
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                b.ActionBudget[a] = BudgetUnavailable;
                MarkAction(b, a, DecisionStage.PostRank, DecisionReasons.BudgetUnavailable, 0, ex.GetType().Name);
            }
        }
    }

    // Marks every surviving candidate of an action as removed at a post-rank step.
    private void MarkAction(DecisionBuffer b, int a, DecisionStage stage, string reason, long aux, object? evidence)
    {
        for (var i = _catalog.FirstArm[a]; i < _catalog.FirstArm[a + 1]; i++)
        {
            if (b.Entries[i].Reason == DecisionReasons.Outranked)
            {
                b.Entries[i].Stage = stage;
                b.Entries[i].Reason = reason;
                b.Entries[i].Aux = aux;
                b.Entries[i].Evidence = evidence;
            }
        }
    }

    private async ValueTask TallyContactsAsync(DecisionBuffer b, CustomerId customer, DateTimeOffset at, CancellationToken cancellationToken)
    {
        var actions = _catalog.Ordered.Length;
        Array.Clear(b.ActionSends, 0, actions);
        Array.Clear(b.ActionLastSent, 0, actions);
        Array.Clear(b.ActionLastDismissed, 0, actions);
        if (_contacts is null)
        {
            b.ContactFailure = "no contact log";
            return;
        }

        ReadOnlyMemory<ActionContact> history;
        try
        {
            history = await _contacts.ReadAsync(customer, at - _catalog.ContactLookBack, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            b.ContactFailure = ex.GetType().Name;
            return;
        }

        var atTicks = at.UtcTicks;
        foreach (var contact in history.Span)
        {
            var a = _catalog.IndexOf(contact.ActionId);
            if (a < 0 || _catalog.Ordered[a].ContactPolicy is not { } policy)
            {
                continue;
            }

            var ticks = contact.At.UtcTicks;
            if (contact.Kind == ActionContactKind.Sent)
            {
                b.ActionLastSent[a] = Math.Max(b.ActionLastSent[a], ticks);
                if (ticks > atTicks - policy.Window.Ticks)
                {
                    b.ActionSends[a]++;
                }
            }
            else
            {
                b.ActionLastDismissed[a] = Math.Max(b.ActionLastDismissed[a], ticks);
            }
        }
    }

    private static (DecisionStage Stage, string? Reason, long Aux) CheckContactPolicy(ActionDefinition action, int a, DecisionBuffer b, long atTicks)
    {
        if (action.ContactPolicy is not { } policy)
        {
            return (DecisionStage.ContactPolicy, null, 0);
        }

        if (b.ContactFailure is not null)
        {
            return (DecisionStage.ContactPolicy, DecisionReasons.ContactHistoryUnavailable, 0);
        }

        if (policy.MaxSends is { } max && b.ActionSends[a] >= max)
        {
            return (DecisionStage.ContactPolicy, DecisionReasons.ActionSendLimit, b.ActionSends[a]);
        }

        if (policy.MinGapAfterSend is { } gap && b.ActionLastSent[a] != 0 && atTicks < b.ActionLastSent[a] + gap.Ticks)
        {
            return (DecisionStage.ContactPolicy, DecisionReasons.ActionSendGap, b.ActionLastSent[a]);
        }

        if (policy.MinGapAfterDismissal is { } dismissal && b.ActionLastDismissed[a] != 0 && atTicks < b.ActionLastDismissed[a] + dismissal.Ticks)
        {
            return (DecisionStage.ContactPolicy, DecisionReasons.ActionDismissalGap, b.ActionLastDismissed[a]);
        }

        return (DecisionStage.ContactPolicy, null, 0);
    }

    private static double ContextWeight(ActionDefinition action, DecisionContext context)
    {
        var boosts = action.ContextBoosts;
        if (boosts.IsDefaultOrEmpty)
        {
            return 1;
        }

        var percent = 0.0;
        foreach (var boost in boosts)
        {
            if (context.Get(boost.Key) is { } value && string.Equals(value, boost.Value, StringComparison.Ordinal))
            {
                percent += boost.Percent;
            }
        }

        return Math.Max(0, 1 + (percent / 100));
    }

    private const byte ChannelUnknown = 0;
    private const byte ChannelOpen = 1;
    private const byte ChannelNoSender = 2;
    private const byte ChannelNoAddress = 3;

    // What a channel needs, looked up once per decision: a sender, an address, and the customer's affinity for it.
    private byte ChannelState(DecisionBuffer b, int c, Channel channel, CustomerProfile profile)
    {
        var state = b.ChannelState[c];
        if (state != ChannelUnknown)
        {
            return state;
        }

        if (!_canSend(channel))
        {
            state = ChannelNoSender;
        }
        else if (!Channels.ChannelAddress.TryFind(profile, channel, out var address))
        {
            state = ChannelNoAddress;
        }
        else
        {
            b.ChannelAddress[c] = address;
            b.ChannelAffinity[c] = _options.UseChannelAffinity ? Affinity(b, profile.Behaviour, channel, _options.ChannelAffinityPrior) : 1;
            state = ChannelOpen;
        }

        b.ChannelState[c] = state;
        return state;
    }

    /// <summary>
    /// The customer's own response on a channel relative to their response on every channel: r_ch / r̄ with
    /// r_ch = (engagements_ch + k·r̄) / (sent_ch + k) and r̄ = (engagements + 1) / (sent + 2), bounded to [0.05, 20].
    /// </summary>
    internal static double Affinity(DecisionBuffer b, BehaviourAggregates behaviour, Channel channel, double prior)
    {
        var sentByChannel = behaviour.MessagesSent;
        if (sentByChannel.IsEmpty)
        {
            return 1;
        }

        if (b.OverallEngagement < 0)
        {
            // The customer's engagement over every channel, summed once per decision.
            long sent = 0;
            long engaged = 0;
            foreach (var (_, n) in sentByChannel)
            {
                sent += n;
            }

            foreach (var (_, n) in behaviour.Engagements)
            {
                engaged += n;
            }

            b.OverallEngagement = (engaged + 1.0) / (sent + 2.0);
        }

        var overall = b.OverallEngagement;
        var onChannel = ((behaviour.Engagements.TryGetValue(channel, out var e) ? e : 0) + (prior * overall)) / ((sentByChannel.TryGetValue(channel, out var s) ? s : 0) + prior);
        return Math.Clamp(onChannel / overall, 0.05, 20);
    }

    private static PermissionDecision? FindPermission(DecisionBuffer b, int channel, Purpose purpose)
    {
        var permissions = b.Permissions;
        for (var i = 0; i < b.PermissionCount; i++)
        {
            if (permissions[i].Channel == channel && permissions[i].Purpose == purpose)
            {
                return permissions[i].Decision;
            }
        }

        return null;
    }

    /// <summary>
    /// Checks one action on one channel again for a customer (a held message about to be released, a dispatch at hand-off):
    /// validity, eligibility, applicability and suitability as in a decision, then the sender, the address and the gate. The
    /// action's own contact policy and budget are not checked again: the message being checked is already counted by them.
    /// </summary>
    /// <param name="profile">The customer, up to date.</param>
    /// <param name="action">The action.</param>
    /// <param name="channel">The channel.</param>
    /// <param name="at">The instant.</param>
    /// <param name="cancellationToken">Cancels the check.</param>
    /// <param name="dispatchId">The queued dispatch being handed over, which caps do not count against itself.</param>
    /// <returns>The outcome: a rejection code and why, or the gate's answer and the address.</returns>
    internal ValueTask<Recheck> RecheckAsync(CustomerProfile profile, ActionDefinition action, Channel channel, DateTimeOffset at, CancellationToken cancellationToken, string? dispatchId = null)
        => ActionGuards.RecheckAsync(_gate, _stock, _canSend, _journeyId, Facts, profile, action, channel, at, cancellationToken, dispatchId);
}

/// <summary>The outcome of a recheck of one action on one channel.</summary>
/// <param name="Rejection">Why the action is no longer eligible, or <see langword="null"/> when it is (then see <paramref name="Permission"/>).</param>
/// <param name="Detail">A sentence for people.</param>
/// <param name="Permission">The gate's answer, when the action is eligible.</param>
/// <param name="Address">The address on the channel, when one was found.</param>
internal sealed record Recheck(string? Rejection, string Detail, PermissionDecision? Permission, Identifier? Address);
