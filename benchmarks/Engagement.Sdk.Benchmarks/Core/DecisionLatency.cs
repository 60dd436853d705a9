using System.Diagnostics;
using System.Globalization;
using Engagement.Sdk.Decisioning;

namespace Engagement.Sdk.Benchmarks.Core;

/// <summary>
/// The distribution of single-decision latencies, which BenchmarkDotNet's per-iteration means do not show: each decision of
/// <see cref="DecisionWorkload"/> is timed on its own (two timestamps, about 40 ns of overhead included) after a warm-up, and
/// the percentiles, the processor time per decision (the process's user and system time, which leaves out the time the
/// thread waited for a core on a shared machine) and the bytes allocated per decision are printed. Run with <c>--decision-latency [actions] [decisions]</c>.
/// </summary>
internal static class DecisionLatency
{
    public static void Run(int actions, int decisions)
    {
        var workload = DecisionWorkload.Create(actions);
        var buffer = DecisionBuffer.Create();
        for (var i = 0; i < 200_000; i++)
        {
            workload.Decider.DecideAsync(workload.Request, buffer).GetAwaiter().GetResult();
        }

        var ticks = new long[decisions];
        var cpu = Process.GetCurrentProcess().TotalProcessorTime;
        var allocated = GC.GetAllocatedBytesForCurrentThread();
        var collections = GC.CollectionCount(0);
        for (var i = 0; i < decisions; i++)
        {
            var start = Stopwatch.GetTimestamp();
            workload.Decider.DecideAsync(workload.Request, buffer).GetAwaiter().GetResult();
            ticks[i] = Stopwatch.GetTimestamp() - start;
        }

        allocated = GC.GetAllocatedBytesForCurrentThread() - allocated;
        cpu = Process.GetCurrentProcess().TotalProcessorTime - cpu;
        collections = GC.CollectionCount(0) - collections;
        Array.Sort(ticks);
        double Micro(long t) => t * 1_000_000.0 / Stopwatch.Frequency;
        double Percentile(double p) => Micro(ticks[Math.Min(ticks.Length - 1, (int)Math.Ceiling(p * ticks.Length) - 1)]);
        var mean = ticks.Average(t => Micro(t));
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{actions} actions × 4 channels, {decisions:N0} decisions: mean {mean:0.00} µs, p50 {Percentile(0.50):0.00} µs, p99 {Percentile(0.99):0.00} µs, p99.9 {Percentile(0.999):0.00} µs, max {Micro(ticks[^1]):0.00} µs; processor time {cpu.TotalMicroseconds / decisions:0.00} µs per decision; {(double)allocated / decisions:0.###} bytes allocated per decision; {collections} gen-0 collections."));
    }
}
