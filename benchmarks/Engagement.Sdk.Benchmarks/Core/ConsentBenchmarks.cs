using BenchmarkDotNet.Attributes;
using Engagement.Sdk;
using Engagement.Sdk.Channels;
using Engagement.Sdk.Consent;
using Engagement.Sdk.Profiles;

namespace Engagement.Sdk.Benchmarks.Core;

/// <summary>The consent part of a permission decision on a warm (already folded) ledger, and folding large ledgers.</summary>
[MemoryDiagnoser]
public class ConsentBenchmarks
{
    private static readonly DateTimeOffset Start = new(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);
    private ConsentState _state = null!;
    private CustomerProfile _profile = null!;
    private Identifier _email = null!;
    private ConsentRecord[] _ledger = null!;

    [GlobalSetup]
    public void Setup()
    {
        var customer = new CustomerId("c1");
        _email = Identifier.Email("ann@example.com");
        _profile = CustomerProfile.New(customer).WithIdentifier(_email);
        var records = new List<ConsentRecord>();
        var channels = new[] { Channel.Email, Channel.Sms, Channel.Push };
        for (var i = 0; i < 12; i++)
        {
            records.Add(new ConsentRecord
            {
                RecordId = $"r{i}",
                CustomerId = customer,
                Channel = channels[i % 3],
                Purpose = i % 2 == 0 ? Purpose.Marketing : Purpose.Analytics,
                Status = i % 5 == 4 ? ConsentStatus.Withdrawn : ConsentStatus.Granted,
                Source = "form",
                Evidence = new ConsentEvidence("v1", "form"),
                EffectiveAt = Start.AddDays(i),
            });
        }

        _state = ConsentState.Fold(customer, records);

        var random = new Random(7);
        _ledger = new ConsentRecord[1_000_000];
        for (var i = 0; i < _ledger.Length; i++)
        {
            _ledger[i] = new ConsentRecord
            {
                RecordId = "r" + i.ToString(System.Globalization.CultureInfo.InvariantCulture),
                CustomerId = customer,
                Channel = channels[random.Next(3)],
                Purpose = Purpose.Marketing,
                Status = random.Next(4) == 0 ? ConsentStatus.Withdrawn : ConsentStatus.Granted,
                Source = "form",
                Evidence = new ConsentEvidence("v1", "form"),
                EffectiveAt = Start.AddSeconds(random.Next(100_000_000)),
            };
        }
    }

    /// <summary>Finding the decisive record alone: the part of the decision that scans the folded ledger.</summary>
    [Benchmark(Baseline = true)]
    public ConsentRecord? DecisiveRecord() => _state.Decisive(Channel.Email, Purpose.Marketing, _email, Start.AddDays(30));

    /// <summary>The consent verdict on a warm (folded) ledger: the decision without its explanation text.</summary>
    [Benchmark]
    public ConsentVerdict EvaluateWarm() => _state.Evaluate(Channel.Email, Purpose.Marketing, _email, Start.AddDays(30));

    /// <summary>The full consent decision with its reasons.</summary>
    [Benchmark]
    public PermissionDecision ConsentDecisionWarm() => ConsentDecision.Decide(_state, new PermissionRequest(_profile, Channel.Email, Purpose.Marketing, _email, Start.AddDays(30)));

    /// <summary>Folding a ledger of 1,000,000 records.</summary>
    [Benchmark(OperationsPerInvoke = 1)]
    public int FoldMillionRecords() => ConsentState.Fold(_ledger[0].CustomerId, _ledger).Records.Length;
}
