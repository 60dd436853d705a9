using System.Diagnostics;
using System.Globalization;

namespace ClvReport;

/// <summary>Progress of the long steps, one line each on stderr with the time since the start, so a long run shows what it is doing.</summary>
/// <param name="writer">Where the lines go (stderr), or <see langword="null"/> for none (<c>--quiet</c>).</param>
internal sealed class Progress(TextWriter? writer)
{
    private readonly Stopwatch _clock = Stopwatch.StartNew();
    private readonly Lock _gate = new();

    /// <summary>Writes one progress line.</summary>
    public void Report(string message)
    {
        if (writer is null)
        {
            return;
        }

        lock (_gate)
        {
            writer.WriteLine(string.Create(CultureInfo.InvariantCulture, $"[{_clock.Elapsed.TotalSeconds,6:F1} s] {message}"));
            writer.Flush();
        }
    }

    /// <summary>
    /// Runs a step, reporting its start and its end with the time it took, on the clock and on the processors (the process's
    /// CPU time over all cores: on a busy machine the wall time grows with the load, the CPU time much less).
    /// </summary>
    public T Step<T>(string what, Func<T> step)
    {
        Report(what + " ...");
        var start = _clock.Elapsed;
        var cpu = Process.GetCurrentProcess().TotalProcessorTime;
        var result = step();
        var used = Process.GetCurrentProcess().TotalProcessorTime - cpu;
        Report(string.Create(CultureInfo.InvariantCulture, $"{what}: done in {(_clock.Elapsed - start).TotalSeconds:F2} s (CPU {used.TotalSeconds:F2} s)"));
        return result;
    }
}
