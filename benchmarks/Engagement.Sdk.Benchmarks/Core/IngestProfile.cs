using System.Diagnostics;
using System.Globalization;

namespace Engagement.Sdk.Benchmarks.Core;

/// <summary>
/// The in-memory rows of <see cref="IngestBenchmarks"/> timed with the process's CPU time beside the wall clock, for a shared
/// machine where the wall clock measures the neighbours as much as the code. Each round builds the row's fresh stores
/// (untimed) and tracks the benchmark's 100,000 events once. Run with <c>-- --ingest-cpu Row [rounds]</c>, where Row is
/// <c>InMemoryOneByOne</c> or <c>InMemoryOneByOneTenSegments</c>.
/// </summary>
internal static class IngestProfile
{
    public static void Run(string[] args)
    {
        var row = args[1];
        var rounds = args.Length > 2 ? int.Parse(args[2], CultureInfo.InvariantCulture) : 5;
        var bench = new IngestBenchmarks();
        bench.Setup();
        (Action setup, Func<Task> run) = row switch
        {
            nameof(IngestBenchmarks.InMemoryOneByOne) => ((Action)bench.InMemoryStores, (Func<Task>)bench.InMemoryOneByOne),
            nameof(IngestBenchmarks.InMemoryOneByOneTenSegments) => (bench.InMemoryStoresWithSegments, bench.InMemoryOneByOneTenSegments),
            _ => throw new ArgumentException($"No row {row}.", nameof(args)),
        };
        const int Operations = 100_000;
        for (var i = 0; i < rounds; i++)
        {
            setup();
            var cpu = Environment.CpuUsage.TotalTime;
            var allocated = GC.GetTotalAllocatedBytes(precise: true);
            var wall = Stopwatch.StartNew();
            run().GetAwaiter().GetResult();
            wall.Stop();
            var cpuTime = Environment.CpuUsage.TotalTime - cpu;
            var bytes = GC.GetTotalAllocatedBytes(precise: true) - allocated;
            bench.Cleanup();
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{row} round {i + 1}: wall {wall.Elapsed.TotalMicroseconds / Operations:N3} us/op, CPU {cpuTime.TotalMicroseconds / Operations:N3} us/op ({Operations / cpuTime.TotalSeconds:N0}/s of CPU), allocated {bytes / (double)Operations:N0} B/op"));
        }
    }
}
