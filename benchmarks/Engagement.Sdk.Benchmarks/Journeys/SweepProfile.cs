using System.Diagnostics;
using System.Globalization;

namespace Engagement.Sdk.Benchmarks.Journeys;

/// <summary>
/// The sweep of <see cref="JourneySweep"/> timed with the process's CPU time and the GC's figures beside the wall clock, for a
/// shared machine where the wall clock measures the neighbours as much as the code. Run with
/// <c>-- --sweep-cpu memory|sqlite send|nosend [customers] [sweeps]</c>.
/// </summary>
internal static class SweepProfile
{
    public static void Run(string[] args)
    {
        var bench = new JourneySweep
        {
            Store = args[1],
            Send = args[2] == "send",
            Customers = args.Length > 3 ? int.Parse(args[3], CultureInfo.InvariantCulture) : 1_000_000,
        };
        var sweeps = args.Length > 4 ? int.Parse(args[4], CultureInfo.InvariantCulture) : 8;
        bench.Setup();
        for (var i = 0; i < sweeps; i++)
        {
            bench.Reset();
            var process = Process.GetCurrentProcess();
            var cpu = process.TotalProcessorTime;
            var pause = GC.GetTotalPauseDuration();
            var collections = GC.CollectionCount(0);
            var allocated = GC.GetTotalAllocatedBytes();
            var wall = Stopwatch.StartNew();
            bench.Sweep().GetAwaiter().GetResult();
            wall.Stop();
            process.Refresh();
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{bench.Store} send={bench.Send}: wall {wall.Elapsed.TotalMilliseconds:N0} ms, CPU {(process.TotalProcessorTime - cpu).TotalMilliseconds:N0} ms, GC pauses {(GC.GetTotalPauseDuration() - pause).TotalMilliseconds:N0} ms in {GC.CollectionCount(0) - collections} collection(s), allocated {(GC.GetTotalAllocatedBytes() - allocated) / 1e6:N1} MB"));
        }

        bench.Cleanup();
    }
}
