using System.Diagnostics;

namespace Engagement.Sdk.WebShop.Tests;

/// <summary>
/// Debian's Chromium for the end-to-end tests, driven by Playwright through its executable path (no browser is downloaded).
/// When it is missing and this is a root process with <c>apt-get</c>, the fixture installs it (<c>apt-get install -y chromium</c>),
/// as the PostgreSQL tests install their server. When it is missing and cannot be installed the tests are skipped with the
/// reason, unless <c>ENGAGEMENT_SDK_REQUIRE_BROWSER=1</c> (set in CI), which makes them fail with it instead.
/// </summary>
public static class SystemChromium
{
    /// <summary>The environment variable that, set to 1, turns a missing browser into a failure.</summary>
    public const string RequireVariable = "ENGAGEMENT_SDK_REQUIRE_BROWSER";

    private static readonly string[] Candidates = ["/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/lib/chromium/chromium"];
    private static readonly SemaphoreSlim InstallLock = new(1, 1);

    /// <summary>The browser's executable, or <see langword="null"/> when it is not installed.</summary>
    /// <returns>The path.</returns>
    public static string? Find()
    {
        foreach (var candidate in Candidates)
        {
            if (File.Exists(candidate))
            {
                return candidate;
            }
        }

        foreach (var dir in (Environment.GetEnvironmentVariable("PATH") ?? string.Empty).Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries))
        {
            foreach (var name in new[] { "chromium", "chromium-browser" })
            {
                var path = Path.Combine(dir, name);
                if (File.Exists(path))
                {
                    return path;
                }
            }
        }

        return null;
    }

    /// <summary>Whether the browser can be installed here: a root process on Linux with <c>apt-get</c>.</summary>
    public static bool CanInstall => OperatingSystem.IsLinux() && Environment.IsPrivilegedProcess && File.Exists("/usr/bin/apt-get");

    /// <summary>Whether a missing browser must fail the tests (CI) rather than skip them.</summary>
    public static bool IsRequired => Environment.GetEnvironmentVariable(RequireVariable) == "1";

    /// <summary>Why the browser tests are skipped, or <see langword="null"/> when they run (or must run). Decided without installing anything.</summary>
    public static string? SkipReason => Find() is not null || CanInstall || IsRequired
        ? null
        : $"Chromium is not installed (looked for /usr/bin/chromium and chromium on the PATH) and cannot be installed here (that needs root and apt-get): install Debian's chromium package, or set {RequireVariable}=1 to fail instead of skipping.";

    /// <summary>Finds the browser, installing it first when it is missing and can be installed.</summary>
    /// <returns>The executable.</returns>
    /// <exception cref="InvalidOperationException">The browser is missing and could not be installed; the message says why.</exception>
    public static async Task<string> RequireAsync()
    {
        if (Find() is { } found)
        {
            return found;
        }

        if (!CanInstall)
        {
            throw new InvalidOperationException($"Chromium is required ({RequireVariable}=1) but is not installed (looked for /usr/bin/chromium and chromium on the PATH), and it cannot be installed here: that needs a root process and apt-get. Install Debian's chromium package.");
        }

        await InstallLock.WaitAsync();
        try
        {
            if (Find() is { } installed)
            {
                return installed;
            }

            var (exit, output) = await AptGetAsync("install", "-y", "chromium");
            if (exit != 0)
            {
                // The package lists may be stale or missing: refresh them once and try again.
                await AptGetAsync("update");
                (exit, output) = await AptGetAsync("install", "-y", "chromium");
            }

            return Find() ?? throw new InvalidOperationException($"'apt-get install -y chromium' exited with {exit} and no chromium executable was found afterwards. Its last output:{Environment.NewLine}{Tail(output)}");
        }
        finally
        {
            InstallLock.Release();
        }
    }

    private static async Task<(int Exit, string Output)> AptGetAsync(params string[] arguments)
    {
        var start = new ProcessStartInfo("apt-get") { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        start.Environment["DEBIAN_FRONTEND"] = "noninteractive";
        using var process = Process.Start(start) ?? throw new InvalidOperationException("apt-get could not be started.");
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(15));
        try
        {
            await process.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException("apt-get did not finish within 15 minutes.");
        }

        return (process.ExitCode, await stdout + await stderr);
    }

    private static string Tail(string text) => text.Length <= 2000 ? text : text[^2000..];
}

/// <summary>A fact that drives Chromium: skipped, with the reason, when the browser is missing, cannot be installed and is not required.</summary>
public sealed class BrowserFactAttribute : FactAttribute
{
    /// <summary>Creates the attribute.</summary>
    public BrowserFactAttribute()
    {
        if (SystemChromium.SkipReason is { } reason)
        {
            Skip = reason;
        }
    }
}
