using System.Diagnostics;
using System.Globalization;

namespace Engagement.Sdk.Benchmarks.Core;

/// <summary>
/// The rows of <see cref="IngestBenchmarks"/> timed with the process's CPU time beside the wall clock, for a shared machine
/// where the wall clock measures the neighbours as much as the code. Each round builds the row's fresh stores (untimed; a
/// fresh SQLite file for the SQLite rows, deleted afterwards) and runs the row once (every event must be applied, as in the
/// benchmark). Run with <c>-- --ingest-cpu Row [rounds]</c>, where Row is <c>InMemoryOneByOne</c>, <c>InMemoryTwoWriters</c>, <c>InMemoryTwoWritersSplit</c>,
/// <c>InMemoryOneByOneTenSegments</c>, <c>SqliteBatches</c>, <c>SqliteBatchesSteady</c> or <c>SqliteBatchesSteadyRandomIds</c>.
/// </summary>
internal static class IngestProfile
{
    public static void Run(string[] args)
    {
        var row = args[1];
        var rounds = args.Length > 2 ? int.Parse(args[2], CultureInfo.InvariantCulture) : 5;
        var bench = new IngestBenchmarks();
        bench.Setup();
        (Action setup, Func<Task> run, int operations) = row switch
        {
            nameof(IngestBenchmarks.InMemoryOneByOne) => ((Action)bench.InMemoryStores, (Func<Task>)bench.InMemoryOneByOne, 100_000),
            nameof(IngestBenchmarks.InMemoryTwoWriters) => (bench.InMemoryStores, bench.InMemoryTwoWriters, 100_000),
            nameof(IngestBenchmarks.InMemoryTwoWritersSplit) => (bench.InMemoryStores, bench.InMemoryTwoWritersSplit, 100_000),
            nameof(IngestBenchmarks.InMemoryOneByOneTenSegments) => (bench.InMemoryStoresWithSegments, bench.InMemoryOneByOneTenSegments, 100_000),
            nameof(IngestBenchmarks.SqliteBatches) => (bench.SqliteStore, bench.SqliteBatches, 20_000),
            nameof(IngestBenchmarks.SqliteBatchesSteady) => (bench.SqliteStore, bench.SqliteBatchesSteady, 100_000),
            nameof(IngestBenchmarks.SqliteBatchesSteadyRandomIds) => (bench.SqliteStore, bench.SqliteBatchesSteadyRandomIds, 100_000),
            _ => throw new ArgumentException($"No row {row}.", nameof(args)),
        };
        for (var i = 0; i < rounds; i++)
        {
            setup();
            var cpu = Environment.CpuUsage.TotalTime;
            var allocated = GC.GetTotalAllocatedBytes(precise: true);
            var (gen0, gen1, gen2, pause) = (GC.CollectionCount(0), GC.CollectionCount(1), GC.CollectionCount(2), GC.GetTotalPauseDuration());
            var compiled = System.Runtime.JitInfo.GetCompiledMethodCount();
            var wall = Stopwatch.StartNew();
            run().GetAwaiter().GetResult();
            wall.Stop();
            var cpuTime = Environment.CpuUsage.TotalTime - cpu;
            var bytes = GC.GetTotalAllocatedBytes(precise: true) - allocated;
            var collections = string.Create(CultureInfo.InvariantCulture, $"GCs {GC.CollectionCount(0) - gen0}/{GC.CollectionCount(1) - gen1}/{GC.CollectionCount(2) - gen2} (gen 0/1/2), paused {(GC.GetTotalPauseDuration() - pause).TotalMilliseconds:N0} ms");
            bench.Cleanup();
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{row} round {i + 1}: wall {wall.Elapsed.TotalMicroseconds / operations:N3} us/op ({operations / wall.Elapsed.TotalSeconds:N0}/s), CPU {cpuTime.TotalMicroseconds / operations:N3} us/op ({operations / cpuTime.TotalSeconds:N0}/s of CPU), allocated {bytes / (double)operations:N0} B/op, {collections}, {System.Runtime.JitInfo.GetCompiledMethodCount() - compiled} methods compiled during the round"));
        }
    }
}
