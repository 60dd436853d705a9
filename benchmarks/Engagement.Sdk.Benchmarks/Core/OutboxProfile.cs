using System.Diagnostics;
using System.Globalization;

namespace Engagement.Sdk.Benchmarks.Core;

/// <summary>
/// The rows of <see cref="OutboxBenchmarks"/> timed with the process's CPU time beside the wall clock, for a shared machine
/// where the wall clock measures the neighbours as much as the code. Each round builds the row's fresh stores (untimed), runs
/// the row once and checks what it left, as the benchmark does. Run with <c>-- --outbox-cpu Row [rounds]</c>, where Row is
/// one of the benchmark's methods (<c>SqliteDeliver</c>, <c>SqliteBatchesQueuing</c>, ...).
/// </summary>
internal static class OutboxProfile
{
    public static void Run(string[] args)
    {
        var row = args[1];
        var rounds = args.Length > 2 ? int.Parse(args[2], CultureInfo.InvariantCulture) : 5;
        var bench = new OutboxBenchmarks();
        bench.Setup();
        (Action setup, Func<Task> run, int operations) = row switch
        {
            nameof(OutboxBenchmarks.InMemoryTrackWithoutTriggers) => ((Action)bench.InMemoryWithoutTriggers, (Func<Task>)bench.InMemoryTrackWithoutTriggers, 100_000),
            nameof(OutboxBenchmarks.InMemoryTrackQueuing) => (bench.InMemoryQueuing, bench.InMemoryTrackQueuing, 100_000),
            nameof(OutboxBenchmarks.SqliteBatchesWithoutTriggers) => (bench.SqliteWithoutTriggers, bench.SqliteBatchesWithoutTriggers, 100_000),
            nameof(OutboxBenchmarks.SqliteBatchesQueuing) => (bench.SqliteQueuing, bench.SqliteBatchesQueuing, 100_000),
            nameof(OutboxBenchmarks.InMemoryDeliver) => (bench.InMemoryQueued, bench.InMemoryDeliver, 10_000),
            nameof(OutboxBenchmarks.SqliteDeliver) => (bench.SqliteQueued, bench.SqliteDeliver, 10_000),
            nameof(OutboxBenchmarks.SqliteDeliverPassesOf100) => (bench.SqliteQueuedPassesOf100, bench.SqliteDeliverPassesOf100, 10_000),
            _ => throw new ArgumentException($"No row {row}.", nameof(args)),
        };
        for (var i = 0; i < rounds; i++)
        {
            setup();
            var process = Process.GetCurrentProcess();
            var cpu = process.TotalProcessorTime;
            var allocated = GC.GetTotalAllocatedBytes();
            var (gen0, gen1, gen2) = (GC.CollectionCount(0), GC.CollectionCount(1), GC.CollectionCount(2));
            var paused = GC.GetTotalPauseDuration();
            var compiled = System.Runtime.JitInfo.GetCompiledMethodCount();
            var wall = Stopwatch.StartNew();
            run().GetAwaiter().GetResult();
            wall.Stop();
            process.Refresh();
            var cpuTime = process.TotalProcessorTime - cpu;
            var bytes = (GC.GetTotalAllocatedBytes() - allocated) / (double)operations; // the row's own, not the check after it
            var collections = string.Create(CultureInfo.InvariantCulture, $"GCs {GC.CollectionCount(0) - gen0}/{GC.CollectionCount(1) - gen1}/{GC.CollectionCount(2) - gen2} (gen 0/1/2), paused {(GC.GetTotalPauseDuration() - paused).TotalMicroseconds / operations:N2} us/op");
            bench.Cleanup();
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{row} round {i + 1}: wall {wall.Elapsed.TotalMicroseconds / operations:N2} us/op ({operations / wall.Elapsed.TotalSeconds:N0}/s), CPU {cpuTime.TotalMicroseconds / operations:N2} us/op ({operations / cpuTime.TotalSeconds:N0}/s of CPU), allocated {bytes:N0} B/op, {collections}, {System.Runtime.JitInfo.GetCompiledMethodCount() - compiled} methods compiled during the round"));
        }
    }
}
