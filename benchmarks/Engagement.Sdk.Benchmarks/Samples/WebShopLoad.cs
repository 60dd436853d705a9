using System.Diagnostics;
using System.Globalization;
using System.Text;
using Microsoft.AspNetCore.Builder;

namespace Engagement.Sdk.Benchmarks.Samples;

/// <summary>
/// A load loop against the web sample on loopback (<c>--webshop-load [batches]</c>): the shop on SQLite with its 5,000 seeded
/// demo customers (the folder <see cref="WebShopBenchmarks"/> uses), then 200 dashboard requests and, after 30 to warm up, the given number of
/// 1,000-event batches posted one after another to the batch endpoint. It prints wall-clock figures and the process's CPU
/// time per event, which is the figure to read on a machine shared with other work.
/// </summary>
public static class WebShopLoad
{
    /// <summary>Runs the loop.</summary>
    /// <param name="batches">How many batches of 1,000 events to post.</param>
    /// <param name="withCarts">Whether one event in ten is a cart (a decision); <see langword="false"/> for views only.</param>
    /// <param name="inFlight">How many batches are posted at once (each client posts its share one after another).</param>
    /// <returns>A task.</returns>
    public static async Task RunAsync(int batches, bool withCarts = true, int inFlight = 1)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(inFlight, 1);
        var benchmarks = new WebShopBenchmarks { WithCarts = withCarts };
        await benchmarks.StartAsync();
        try
        {
            // The dashboard: 20 requests to warm up, then 200 timed one by one.
            for (var i = 0; i < 20; i++)
            {
                await benchmarks.Dashboard();
                await benchmarks.DashboardWithCustomer();
            }

            var times = new List<double>();
            var customerTimes = new List<double>();
            for (var i = 0; i < 200; i++)
            {
                var started = Stopwatch.GetTimestamp();
                await benchmarks.Dashboard();
                times.Add(Stopwatch.GetElapsedTime(started).TotalMilliseconds);
                started = Stopwatch.GetTimestamp();
                await benchmarks.DashboardWithCustomer();
                customerTimes.Add(Stopwatch.GetElapsedTime(started).TotalMilliseconds);
            }

            Console.WriteLine(Describe("GET /dashboard", times));
            Console.WriteLine(Describe("GET /dashboard?customer=c00042", customerTimes));

            // Tracking: 30 batches to warm up (the code reaches its optimised tier), then the timed ones.
            for (var b = 0; b < 30; b++)
            {
                await benchmarks.TrackBatchPerEvent();
            }

            var process = Process.GetCurrentProcess();
            process.Refresh();
            var cpuBefore = process.TotalProcessorTime;
            var wall = Stopwatch.GetTimestamp();
            var perBatch = new List<double>();
            var remaining = batches;
            await Task.WhenAll(Enumerable.Range(0, inFlight).Select(_ => Task.Run(async () =>
            {
                while (Interlocked.Decrement(ref remaining) >= 0)
                {
                    var started = Stopwatch.GetTimestamp();
                    await benchmarks.TrackBatchPerEvent();
                    var took = Stopwatch.GetElapsedTime(started).TotalMilliseconds;
                    lock (perBatch)
                    {
                        perBatch.Add(took);
                    }
                }
            })));

            var seconds = Stopwatch.GetElapsedTime(wall).TotalSeconds;
            process.Refresh();
            var cpu = (process.TotalProcessorTime - cpuBefore).TotalSeconds;
            var events = batches * 1000.0;
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"POST /api/events/batch ({(withCarts ? "10 % carts" : "views only")}, {inFlight} in flight): {events:N0} events in {batches} batches of 1,000 in {seconds:F2} s wall-clock = {events / seconds:N0} events/s; median batch {Median(perBatch):F1} ms; process CPU {cpu:F2} s = {cpu / events * 1e6:F1} µs of CPU per event = {events / cpu:N0} events per CPU-second"));
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"Load average while it ran (from /proc/loadavg at the end): {(File.Exists("/proc/loadavg") ? File.ReadAllText("/proc/loadavg").Trim() : "n/a")}"));
        }
        finally
        {
            await benchmarks.StopAsync();
        }
    }

    private static string Describe(string name, List<double> times)
    {
        var sorted = times.Order().ToList();
        return string.Create(CultureInfo.InvariantCulture, $"{name}: {times.Count} requests, median {Median(sorted):F2} ms, 95th percentile {sorted[(int)(sorted.Count * 0.95)]:F2} ms, max {sorted[^1]:F2} ms");
    }

    private static double Median(List<double> values)
    {
        var sorted = values.Order().ToList();
        return sorted.Count % 2 == 1 ? sorted[sorted.Count / 2] : (sorted[(sorted.Count / 2) - 1] + sorted[sorted.Count / 2]) / 2;
    }
}
