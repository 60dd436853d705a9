using BenchmarkDotNet.Attributes;

namespace Engagement.Sdk.Benchmarks.Core;

/// <summary>
/// The in-memory rows of <see cref="IngestBenchmarks"/> (the same 100,000 events, fresh stores each iteration) under server
/// garbage collection, as ASP.NET Core hosts run by default: one heap and one collecting thread per core, so that a
/// collection no longer stops both writers while one core collects. Results are per event.
/// </summary>
[MemoryDiagnoser]
[GcServer(true)]
[SimpleJob(launchCount: 1, warmupCount: 40, iterationCount: 10, invocationCount: 1)]
public class IngestServerGcBenchmarks
{
    private readonly IngestBenchmarks _ingest = new();

    /// <summary>The workload, generated once.</summary>
    [GlobalSetup]
    public void Setup() => _ingest.Setup();

    /// <summary>Fresh in-memory stores.</summary>
    [IterationSetup]
    public void Stores() => _ingest.InMemoryStores();

    /// <summary>Disposes the stores.</summary>
    [IterationCleanup]
    public void Cleanup() => _ingest.Cleanup();

    /// <summary>One writer, one event at a time.</summary>
    /// <returns>A task.</returns>
    [Benchmark(Baseline = true, OperationsPerInvoke = IngestBenchmarks.SteadyEvents)]
    public Task InMemoryOneByOne() => _ingest.InMemoryOneByOne();

    /// <summary>Two writers (one per core), customers split between them.</summary>
    /// <returns>A task.</returns>
    [Benchmark(OperationsPerInvoke = IngestBenchmarks.SteadyEvents)]
    public Task InMemoryTwoWriters() => _ingest.InMemoryTwoWriters();

    /// <summary>Two writers, each with its own half of the customers.</summary>
    /// <returns>A task.</returns>
    [Benchmark(OperationsPerInvoke = IngestBenchmarks.SteadyEvents)]
    public Task InMemoryTwoWritersSplit() => _ingest.InMemoryTwoWritersSplit();
}
