using System.Diagnostics;
using System.Globalization;

namespace Engagement.Sdk.Benchmarks.Core;

/// <summary>
/// The SQLite rows of <see cref="IngestBenchmarks"/> timed with the process's CPU time beside the wall clock, for a shared
/// machine where the wall clock measures the neighbours as much as the code. Each round builds a fresh SQLite file (untimed),
/// runs the row once (every event must be applied, as in the benchmark) and deletes the file. Run with
/// <c>-- --ingest-cpu Row [rounds]</c>, where Row is <c>SqliteBatches</c>, <c>SqliteBatchesSteady</c> or
/// <c>SqliteBatchesSteadyRandomIds</c>.
/// </summary>
internal static class IngestProfile
{
    public static void Run(string[] args)
    {
        var row = args[1];
        var rounds = args.Length > 2 ? int.Parse(args[2], CultureInfo.InvariantCulture) : 5;
        var bench = new IngestBenchmarks();
        bench.Setup();
        (Func<Task> run, int operations) = row switch
        {
            nameof(IngestBenchmarks.SqliteBatches) => ((Func<Task>)bench.SqliteBatches, 20_000),
            nameof(IngestBenchmarks.SqliteBatchesSteady) => (bench.SqliteBatchesSteady, 100_000),
            nameof(IngestBenchmarks.SqliteBatchesSteadyRandomIds) => (bench.SqliteBatchesSteadyRandomIds, 100_000),
            _ => throw new ArgumentException($"No SQLite row {row}.", nameof(args)),
        };
        for (var i = 0; i < rounds; i++)
        {
            bench.SqliteStore();
            var process = Process.GetCurrentProcess();
            var cpu = process.TotalProcessorTime;
            var allocated = GC.GetTotalAllocatedBytes();
            var wall = Stopwatch.StartNew();
            run().GetAwaiter().GetResult();
            wall.Stop();
            process.Refresh();
            var cpuTime = process.TotalProcessorTime - cpu;
            bench.Cleanup();
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{row} round {i + 1}: wall {wall.Elapsed.TotalMicroseconds / operations:N2} us/op ({operations / wall.Elapsed.TotalSeconds:N0}/s), CPU {cpuTime.TotalMicroseconds / operations:N2} us/op ({operations / cpuTime.TotalSeconds:N0}/s of CPU), allocated {(GC.GetTotalAllocatedBytes() - allocated) / (double)operations:N0} B/op"));
        }
    }
}
