using Engagement.Sdk.Channels;
using Engagement.Sdk.Decisioning.Learning;
using Engagement.Sdk.Profiles;
using Engagement.Sdk.Storage;
using Microsoft.Extensions.Options;

namespace Engagement.Sdk.Decisioning;

/// <summary>
/// Learned response propensities per action × channel × treatment (and per customer segment), persisted in an
/// <see cref="IPropensityStore"/>: a Beta-Bernoulli belief whose prior is centred on the action's
/// <see cref="ActionDefinition.BasePropensity"/> with the weight of <see cref="DecisioningOptions.PriorWeight"/> sends, updated
/// by the sends and responses counted in the store, older evidence decayed with <see cref="DecisioningOptions.HalfLife"/>. A
/// segment's belief is shrunk toward the arm's belief over all customers. A response counts only for a dispatch, once, and
/// within <see cref="DecisioningOptions.AttributionWindow"/> of the send. The counts are read from the store at the first
/// decision and again every <see cref="DecisioningOptions.RefreshInterval"/> (what other processes learned); this process's
/// own outcomes are applied at once. Reading a belief allocates nothing. Thread-safe.
/// </summary>
public sealed class AdaptivePropensities
{
    private readonly IPropensityStore _store;
    private readonly ActionCatalog _catalog;
    private readonly DecisioningOptions _options;
    private readonly TimeProvider _time;
    private readonly string _journeyId;
    private readonly double _ticksPerHalfLife;
    private readonly long _bucketTicks;
    private readonly long _refreshTicks;
    private readonly SemaphoreSlim _loading = new(1, 1);
    private readonly Lock _lock = new();
    private volatile Table? _table;
    private PosteriorSampleBank?[]?[] _banks = [];
    private long _loadedAt = long.MinValue;

    /// <summary>Creates the learner.</summary>
    /// <param name="store">Where the counts live.</param>
    /// <param name="catalog">The actions.</param>
    /// <param name="options">The options (priors, decay, buckets, refresh, attribution, segments); the defaults when <see langword="null"/>.</param>
    /// <param name="time">The clock; the system clock when <see langword="null"/>.</param>
    /// <param name="engagement">The engine's options, for the decision journey whose stage is the default segment.</param>
    /// <exception cref="EngagementValidationException">The options are out of range.</exception>
    public AdaptivePropensities(IPropensityStore store, ActionCatalog catalog, IOptions<DecisioningOptions>? options = null, TimeProvider? time = null, IOptions<EngagementOptions>? engagement = null)
    {
        _store = store ?? throw new ArgumentNullException(nameof(store));
        _catalog = catalog ?? throw new ArgumentNullException(nameof(catalog));
        _options = options?.Value ?? new DecisioningOptions();
        DecisioningOptionsValidator.Require(_options);
        _time = time ?? TimeProvider.System;
        _journeyId = engagement?.Value.DecisionJourneyId ?? Journeys.JourneyDefinition.Lifecycle.Id;
        _ticksPerHalfLife = _options.HalfLife is { } half ? half.Ticks : double.PositiveInfinity;
        _bucketTicks = _options.BucketSize.Ticks;
        _refreshTicks = _options.RefreshInterval.Ticks;
    }

    /// <summary>The catalogue the propensities are kept for.</summary>
    internal ActionCatalog Catalog => _catalog;

    /// <summary>The learning segment of a customer: their stage in the decision journey, the custom segmenter's answer, or "" for none.</summary>
    /// <param name="profile">The customer.</param>
    /// <param name="stageId">The customer's stage in the decision journey (from the journey store), if known; else the stage recorded on the profile is used.</param>
    /// <returns>The segment ("" for none).</returns>
    public string SegmentOf(CustomerProfile profile, string? stageId = null)
    {
        ArgumentNullException.ThrowIfNull(profile);
        return _options.Segments switch
        {
            LearningSegments.DecisionStage => stageId ?? (profile.Journeys.TryGetValue(_journeyId, out var position) ? position.StageId : string.Empty),
            LearningSegments.Custom => _options.Segmenter!(profile) is { Length: > 0 } segment ? Text.RequireToken("segment", segment) : string.Empty,
            _ => string.Empty,
        };
    }

    /// <summary>Reads the counts from the store now (a refresh before the interval is up).</summary>
    /// <param name="cancellationToken">Cancels the read.</param>
    /// <returns>A task.</returns>
    public async ValueTask RefreshAsync(CancellationToken cancellationToken = default)
    {
        await _loading.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            await LoadAsync(cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            _loading.Release();
        }
    }

    /// <summary>The belief about an arm now.</summary>
    /// <param name="actionId">The action.</param>
    /// <param name="channel">The channel.</param>
    /// <param name="treatmentId">The treatment, or <see langword="null"/> for the action's default.</param>
    /// <param name="segment">The segment, or <see langword="null"/> for all customers.</param>
    /// <param name="cancellationToken">Cancels the first read from the store.</param>
    /// <returns>The posterior.</returns>
    /// <exception cref="EngagementValidationException">The catalogue has no such action, channel or treatment.</exception>
    public async ValueTask<BetaPosterior> GetPosteriorAsync(string actionId, Channel channel, string? treatmentId = null, string? segment = null, CancellationToken cancellationToken = default)
    {
        var arm = _catalog.ArmOf(actionId ?? throw new ArgumentNullException(nameof(actionId)), channel, treatmentId);
        if (arm < 0)
        {
            throw new EngagementValidationException("actionId", actionId, $"the catalogue has no candidate for it on {channel}{(treatmentId is null ? string.Empty : " with treatment " + treatmentId)}");
        }

        var now = _time.GetUtcNow();
        await EnsureFreshAsync(cancellationToken).ConfigureAwait(false);
        var reader = Read(now);
        return reader.Posterior(arm, SegmentIndex(segment ?? string.Empty), _catalog.Ordered[_catalog.Arms[arm].Action].BasePropensity);
    }

    /// <summary>
    /// Counts a send of <paramref name="dispatch"/> (the channel accepted it at <paramref name="at"/>) for its arm and segment,
    /// once per dispatch.
    /// </summary>
    /// <param name="dispatch">The dispatch, with the decision it was logged with.</param>
    /// <param name="at">When it was sent.</param>
    /// <param name="cancellationToken">Cancels the write.</param>
    /// <returns><see langword="true"/> when it was counted now.</returns>
    public async ValueTask<bool> RecordSendAsync(DispatchRecord dispatch, DateTimeOffset at, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(dispatch);
        var arm = ArmOf(dispatch);
        var bucket = BucketOf(at);
        if (!await _store.CountAsync(arm, dispatch.DispatchId, PropensityOutcome.Send, bucket, cancellationToken).ConfigureAwait(false))
        {
            return false;
        }

        AddLocal(arm, bucket, 1, 0);
        return true;
    }

    /// <summary>Counts the sends of several dispatches (each sent at its instant) as <see cref="RecordSendAsync"/> counts each, with one write to the store.</summary>
    /// <param name="sends">The dispatches and when each was sent.</param>
    /// <param name="cancellationToken">Cancels the write.</param>
    /// <returns>How many were counted now (the others had been before).</returns>
    internal async ValueTask<int> RecordSendsAsync(IReadOnlyList<(DispatchRecord Dispatch, DateTimeOffset At)> sends, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(sends);
        if (sends.Count == 0)
        {
            return 0;
        }

        var tallies = new PropensityTally[sends.Count];
        for (var i = 0; i < tallies.Length; i++)
        {
            tallies[i] = new PropensityTally(ArmOf(sends[i].Dispatch), sends[i].Dispatch.DispatchId, PropensityOutcome.Send, BucketOf(sends[i].At));
        }

        var counted = await _store.CountAllAsync(tallies, cancellationToken).ConfigureAwait(false);
        var total = 0;
        for (var i = 0; i < tallies.Length; i++)
        {
            if (counted[i])
            {
                AddLocal(tallies[i].Arm, tallies[i].Bucket, 1, 0);
                total++;
            }
        }

        return total;
    }

    /// <summary>
    /// Counts the customer's response to <paramref name="dispatch"/> (a click at <paramref name="at"/>): only within the
    /// attribution window after the send, at most once per dispatch, in the bucket of the send (whose send is counted too if
    /// its receipt never came: a click proves the message went out).
    /// </summary>
    /// <param name="dispatch">The dispatch the click reports on.</param>
    /// <param name="at">When the customer responded.</param>
    /// <param name="cancellationToken">Cancels the write.</param>
    /// <returns><see langword="true"/> when it was counted now; <see langword="false"/> when it was counted before or came too late.</returns>
    public async ValueTask<bool> RecordResponseAsync(DispatchRecord dispatch, DateTimeOffset at, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(dispatch);
        var sentAt = dispatch.CompletedAt ?? dispatch.CreatedAt;
        if (at - sentAt > _options.AttributionWindow)
        {
            return false;
        }

        var arm = ArmOf(dispatch);
        var bucket = BucketOf(sentAt);
        if (await _store.CountAsync(arm, dispatch.DispatchId, PropensityOutcome.Send, bucket, cancellationToken).ConfigureAwait(false))
        {
            AddLocal(arm, bucket, 1, 0);
        }

        if (!await _store.CountAsync(arm, dispatch.DispatchId, PropensityOutcome.Response, bucket, cancellationToken).ConfigureAwait(false))
        {
            return false;
        }

        AddLocal(arm, bucket, 0, 1);
        return true;
    }

    /// <summary>Loads the counts when they were never loaded or the refresh interval is up; otherwise completes at once.</summary>
    internal ValueTask EnsureFreshAsync(CancellationToken cancellationToken)
    {
        if (_table is not null && _time.GetUtcNow().UtcTicks - Volatile.Read(ref _loadedAt) < _refreshTicks)
        {
            return ValueTask.CompletedTask;
        }

        return RefreshIfDueAsync(cancellationToken);
    }

    /// <summary>A reader of the beliefs at <paramref name="at"/> (one decay factor for every arm).</summary>
    internal Reader Read(DateTimeOffset at)
    {
        var table = _table ?? throw new InvalidOperationException("The propensities were not loaded (EnsureFreshAsync).");
        var factor = double.IsPositiveInfinity(_ticksPerHalfLife) ? 1 : double.Exp2(-(at.UtcTicks - table.AsOf) / _ticksPerHalfLife);
        return new Reader(table, factor, _options.PriorWeight);
    }

    /// <summary>
    /// The bank of <paramref name="size"/> posterior samples of an arm in a segment for a Thompson draw at
    /// <paramref name="atTicks"/>: the bank drawn before, unless the belief changed since and the bank is at least
    /// <paramref name="refreshTicks"/> old (or its size differs), in which case it is drawn again. The draws are seeded by
    /// <paramref name="seed"/>, the arm, the segment and the belief, so the same state gives the same bank in every process.
    /// </summary>
    internal PosteriorSampleBank SampleBank(int arm, int segment, BetaPosterior posterior, long atTicks, int size, long refreshTicks, ulong seed)
    {
        var rows = Volatile.Read(ref _banks);
        var bank = (uint)segment < (uint)rows.Length && rows[segment] is { } row ? Volatile.Read(ref row[arm]) : null;
        if (bank is not null && bank.Size == size && (bank.Posterior == posterior || atTicks - bank.Stamp < refreshTicks))
        {
            return bank;
        }

        var stream = Mix(Mix(Mix(((ulong)(uint)arm << 32) | (uint)segment) ^ BitConverter.DoubleToUInt64Bits(posterior.Alpha)) ^ BitConverter.DoubleToUInt64Bits(posterior.Beta));
        var random = new BanditRandom(seed ^ 0x5851F42D4C957F2DUL, stream);
        bank = PosteriorSampleBank.Draw(posterior, size, ref random, atTicks);
        lock (_lock)
        {
            rows = _banks;
            if (segment >= rows.Length)
            {
                var grown = new PosteriorSampleBank?[]?[segment + 1];
                Array.Copy(rows, grown, rows.Length);
                rows = grown;
                Volatile.Write(ref _banks, rows);
            }

            var slots = rows[segment] ??= new PosteriorSampleBank?[_catalog.Arms.Length];
            Volatile.Write(ref slots[arm], bank);
        }

        return bank;

        static ulong Mix(ulong z)
        {
            z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
            z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
            return z ^ (z >> 31);
        }
    }

    /// <summary>The index of a segment in the table (0 for ""), adding it when it is new.</summary>
    internal int SegmentIndex(string segment)
    {
        if (segment.Length == 0)
        {
            return 0;
        }

        var table = _table!;
        if (table.Segments.TryGetValue(segment, out var index))
        {
            return index;
        }

        lock (_lock)
        {
            table = _table!;
            if (table.Segments.TryGetValue(segment, out index))
            {
                return index;
            }

            var grown = table.WithSegment(segment);
            _table = grown;
            return grown.Segments[segment];
        }
    }

    private async ValueTask RefreshIfDueAsync(CancellationToken cancellationToken)
    {
        if (_table is null)
        {
            await _loading.WaitAsync(cancellationToken).ConfigureAwait(false);
        }
        else if (!_loading.Wait(0, CancellationToken.None))
        {
            return; // another decision is reading the store; this one uses what is loaded
        }

        try
        {
            if (_table is null || _time.GetUtcNow().UtcTicks - Volatile.Read(ref _loadedAt) >= _refreshTicks)
            {
                await LoadAsync(cancellationToken).ConfigureAwait(false);
            }
        }
        finally
        {
            _loading.Release();
        }
    }

    private async ValueTask LoadAsync(CancellationToken cancellationToken)
    {
        var now = _time.GetUtcNow();
        var since = double.IsPositiveInfinity(_ticksPerHalfLife)
            ? DateTimeOffset.MinValue
            : new DateTimeOffset(Math.Max(DateTimeOffset.MinValue.UtcTicks, now.UtcTicks - (long)(40 * _ticksPerHalfLife) - _bucketTicks), TimeSpan.Zero);
        var rows = await _store.ReadAsync(since, cancellationToken).ConfigureAwait(false);
        var names = new List<string> { string.Empty };
        var indexOf = new Dictionary<string, int>(StringComparer.Ordinal) { [string.Empty] = 0 };
        foreach (var known in _table?.Names ?? [])
        {
            if (indexOf.TryAdd(known, names.Count))
            {
                names.Add(known);
            }
        }

        foreach (var row in rows)
        {
            if (indexOf.TryAdd(row.Arm.Segment, names.Count))
            {
                names.Add(row.Arm.Segment);
            }
        }

        var table = new Table(now.UtcTicks, _catalog.Arms.Length, [.. names], indexOf);
        foreach (var row in rows)
        {
            var arm = _catalog.ArmOf(row.Arm.ActionId, row.Arm.Channel, row.Arm.Treatment.Length == 0 ? null : row.Arm.Treatment);
            if (arm >= 0)
            {
                table.Add(arm, indexOf[row.Arm.Segment], row.Sends, row.Responses, Weight(row.Bucket.UtcTicks, table.AsOf));
            }
        }

        lock (_lock)
        {
            _table = table;
            Volatile.Write(ref _loadedAt, now.UtcTicks);
        }
    }

    private void AddLocal(PropensityArm key, DateTimeOffset bucket, long sends, long responses)
    {
        var arm = _catalog.ArmOf(key.ActionId, key.Channel, key.Treatment.Length == 0 ? null : key.Treatment);
        if (arm < 0 || _table is null)
        {
            return;
        }

        var segment = SegmentIndex(key.Segment);
        lock (_lock)
        {
            var table = _table!;
            table.Add(arm, segment, sends, responses, Weight(bucket.UtcTicks, table.AsOf));
        }
    }

    // The weight of a bucket's counts relative to the table's instant (the bucket's middle, not later than it).
    private double Weight(long bucketTicks, long asOf)
        => double.IsPositiveInfinity(_ticksPerHalfLife) ? 1 : double.Exp2(-(asOf - (bucketTicks + (_bucketTicks / 2))) / _ticksPerHalfLife);

    private DateTimeOffset BucketOf(DateTimeOffset at)
    {
        var ticks = at.UtcTicks;
        return new DateTimeOffset(ticks - (ticks % _bucketTicks), TimeSpan.Zero);
    }

    private static PropensityArm ArmOf(DispatchRecord dispatch)
        => new(dispatch.ActionId, dispatch.Channel, dispatch.Decision?.TreatmentId ?? string.Empty, dispatch.Decision?.Segment ?? string.Empty);

    /// <summary>Reads beliefs from one table at one instant.</summary>
    internal readonly struct Reader
    {
        private readonly Table _table;
        private readonly double _factor;
        private readonly double _weight;

        internal Reader(Table table, double factor, double weight)
        {
            _table = table;
            _factor = factor;
            _weight = weight;
        }

        /// <summary>The belief about <paramref name="arm"/> for segment <paramref name="segment"/> (0: all customers).</summary>
        public BetaPosterior Posterior(int arm, int segment, double basePropensity)
        {
            var p = Math.Min(basePropensity, 1 - 1e-9);
            var w = _weight;
            var sends = _table.TotalSends[arm] * _factor;
            var responses = Math.Min(_table.TotalResponses[arm] * _factor, sends);
            if (segment <= 0 || segment >= _table.Capacity)
            {
                return new BetaPosterior((p * w) + responses, ((1 - p) * w) + (sends - responses));
            }

            // The segment's prior is the arm's belief over every customer, with the prior's weight.
            var mean = ((p * w) + responses) / (w + sends);
            var i = (arm * _table.Capacity) + segment;
            var s = _table.Sends[i] * _factor;
            var r = Math.Min(_table.Responses[i] * _factor, s);
            return new BetaPosterior((mean * w) + r, ((1 - mean) * w) + (s - r));
        }
    }

    /// <summary>Decayed counts per arm and segment, as of one instant; replaced whole when reloaded or when a segment is added.</summary>
    internal sealed class Table
    {
        public Table(long asOf, int arms, string[] names, Dictionary<string, int> segments)
        {
            AsOf = asOf;
            Arms = arms;
            Names = names;
            Segments = segments;
            Capacity = Math.Max(4, names.Length + 2);
            Sends = new double[arms * Capacity];
            Responses = new double[arms * Capacity];
            TotalSends = new double[arms];
            TotalResponses = new double[arms];
        }

        public long AsOf { get; }

        public int Arms { get; }

        public int Capacity { get; }

        public string[] Names { get; }

        public Dictionary<string, int> Segments { get; }

        public double[] Sends { get; }

        public double[] Responses { get; }

        public double[] TotalSends { get; }

        public double[] TotalResponses { get; }

        public void Add(int arm, int segment, double sends, double responses, double weight)
        {
            TotalSends[arm] += sends * weight;
            TotalResponses[arm] += responses * weight;
            if (segment > 0)
            {
                Sends[(arm * Capacity) + segment] += sends * weight;
                Responses[(arm * Capacity) + segment] += responses * weight;
            }
        }

        public Table WithSegment(string segment)
        {
            var names = new string[Names.Length + 1];
            Names.CopyTo(names, 0);
            names[^1] = segment;
            var segments = new Dictionary<string, int>(Segments, StringComparer.Ordinal) { [segment] = Names.Length };
            var grown = new Table(AsOf, Arms, names, segments);
            Array.Copy(TotalSends, grown.TotalSends, Arms);
            Array.Copy(TotalResponses, grown.TotalResponses, Arms);
            for (var a = 0; a < Arms; a++)
            {
                Array.Copy(Sends, a * Capacity, grown.Sends, a * grown.Capacity, Capacity);
                Array.Copy(Responses, a * Capacity, grown.Responses, a * grown.Capacity, Capacity);
            }

            return grown;
        }
    }
}
