using System.Diagnostics;
using System.Text;

namespace Engagement.Sdk.PostgreSql.Tests;

/// <summary>The outcome of a finished process.</summary>
/// <param name="ExitCode">The exit code.</param>
/// <param name="StandardOutput">What it wrote to standard output.</param>
/// <param name="StandardError">What it wrote to standard error.</param>
public sealed record ProcessResult(int ExitCode, string StandardOutput, string StandardError);

/// <summary>Runs a command to completion with a time limit, capturing its output for error messages.</summary>
public static class ProcessRunner
{
    /// <summary>Runs <paramref name="fileName"/> and fails, with its output in the message, when it exits with an error or runs too long.</summary>
    /// <param name="fileName">The program.</param>
    /// <param name="arguments">Its arguments, each passed as one argument.</param>
    /// <param name="timeout">How long it may run.</param>
    /// <param name="environment">Extra environment variables.</param>
    /// <returns>The result.</returns>
    public static async Task<ProcessResult> RunCheckedAsync(string fileName, IEnumerable<string> arguments, TimeSpan timeout, IReadOnlyDictionary<string, string>? environment = null)
    {
        var args = arguments.ToList();
        var result = await RunAsync(fileName, args, timeout, environment);
        if (result.ExitCode != 0)
        {
            throw new InvalidOperationException(
                $"'{Describe(fileName, args)}' exited with code {result.ExitCode}.{Environment.NewLine}stderr: {Tail(result.StandardError)}{Environment.NewLine}stdout: {Tail(result.StandardOutput)}");
        }

        return result;
    }

    /// <summary>Runs <paramref name="fileName"/> to completion; a run that exceeds <paramref name="timeout"/> is killed (with its children) and fails.</summary>
    /// <param name="fileName">The program.</param>
    /// <param name="arguments">Its arguments, each passed as one argument.</param>
    /// <param name="timeout">How long it may run.</param>
    /// <param name="environment">Extra environment variables.</param>
    /// <returns>The result, whatever the exit code.</returns>
    public static async Task<ProcessResult> RunAsync(string fileName, IReadOnlyList<string> arguments, TimeSpan timeout, IReadOnlyDictionary<string, string>? environment = null)
    {
        var start = new ProcessStartInfo(fileName)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,

            // A neutral folder that a server user other than the caller can enter.
            WorkingDirectory = Path.GetTempPath(),
        };
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        foreach (var (key, value) in environment ?? new Dictionary<string, string>())
        {
            start.Environment[key] = value;
        }

        using var process = new Process { StartInfo = start };
        var stdout = new StringBuilder();
        var stderr = new StringBuilder();
        process.OutputDataReceived += (_, e) => Append(stdout, e.Data);
        process.ErrorDataReceived += (_, e) => Append(stderr, e.Data);
        process.Start();
        process.StandardInput.Close();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        using var limit = new CancellationTokenSource(timeout);
        try
        {
            await process.WaitForExitAsync(limit.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException(
                $"'{Describe(fileName, arguments)}' did not finish within {timeout.TotalSeconds:0} s and was stopped.{Environment.NewLine}stderr: {Tail(Read(stderr))}{Environment.NewLine}stdout: {Tail(Read(stdout))}");
        }

        // The parameterless wait also waits for the end of the redirected output.
        await process.WaitForExitAsync(CancellationToken.None);
        return new ProcessResult(process.ExitCode, Read(stdout), Read(stderr));
    }

    /// <summary>The last part of a long output, enough to explain a failure.</summary>
    /// <param name="text">The output.</param>
    /// <returns>The tail.</returns>
    public static string Tail(string text)
    {
        const int Max = 4000;
        text = text.Trim();
        return text.Length == 0 ? "(empty)" : text.Length <= Max ? text : "…" + text[^Max..];
    }

    /// <summary>Finds a program on the PATH.</summary>
    /// <param name="name">The program's file name.</param>
    /// <returns>Its full path, or <see langword="null"/>.</returns>
    public static string? FindOnPath(string name)
        => (Environment.GetEnvironmentVariable("PATH") ?? string.Empty)
            .Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries)
            .Select(dir => Path.Combine(dir, name))
            .FirstOrDefault(File.Exists);

    private static string Describe(string fileName, IEnumerable<string> arguments) => string.Join(' ', arguments.Prepend(fileName));

    private static void Append(StringBuilder builder, string? line)
    {
        if (line is null)
        {
            return;
        }

        lock (builder)
        {
            builder.AppendLine(line);
        }
    }

    private static string Read(StringBuilder builder)
    {
        lock (builder)
        {
            return builder.ToString();
        }
    }
}
