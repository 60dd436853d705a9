using System.Runtime.CompilerServices;
using System.Text;

namespace Engagement.Sdk.Tests.Snapshots;

/// <summary>
/// Snapshot assertions with the file convention of the Verify library: the expected text lives in
/// <c>&lt;name&gt;.verified.txt</c>; a run that produces different text writes <c>&lt;name&gt;.received.txt</c> beside it and fails,
/// so that accepting a change is a deliberate rename of the received file.
/// </summary>
internal static class Snapshot
{
    /// <summary>Compares <paramref name="received"/> with the verified file <paramref name="name"/>.verified.txt in <paramref name="directory"/>.</summary>
    /// <param name="received">The text produced now.</param>
    /// <param name="directory">The folder holding the verified file (for example found with <see cref="RepositoryPath"/>).</param>
    /// <param name="name">The snapshot's name.</param>
    /// <exception cref="SnapshotMismatchException">The text differs from the verified file, or there is none yet.</exception>
    public static void Verify(string received, string directory, string name)
    {
        ArgumentNullException.ThrowIfNull(received);
        ArgumentException.ThrowIfNullOrEmpty(directory);
        ArgumentException.ThrowIfNullOrEmpty(name);
        var normalised = received.ReplaceLineEndings("\n");
        var verifiedPath = Path.Combine(directory, name + ".verified.txt");
        var receivedPath = Path.Combine(directory, name + ".received.txt");
        if (File.Exists(verifiedPath))
        {
            var verified = File.ReadAllText(verifiedPath, Encoding.UTF8).ReplaceLineEndings("\n");
            if (string.Equals(verified, normalised, StringComparison.Ordinal))
            {
                File.Delete(receivedPath);
                return;
            }

            File.WriteAllText(receivedPath, normalised, new UTF8Encoding(false));
            throw new SnapshotMismatchException(verifiedPath, receivedPath, FirstDifference(verified, normalised));
        }

        File.WriteAllText(receivedPath, normalised, new UTF8Encoding(false));
        throw new SnapshotMismatchException(verifiedPath, receivedPath, "there is no verified file yet");
    }

    /// <summary>
    /// The absolute path of <paramref name="relativePath"/> inside the repository: the nearest folder above the test's
    /// output folder that holds a <c>.sln</c> file.
    /// </summary>
    /// <param name="relativePath">A path relative to the repository root.</param>
    /// <returns>The absolute path.</returns>
    public static string RepositoryPath(string relativePath)
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (dir.EnumerateFiles("*.sln").Any())
            {
                return Path.Combine(dir.FullName, relativePath);
            }
        }

        throw new DirectoryNotFoundException($"No folder holding a .sln file was found above '{AppContext.BaseDirectory}'.");
    }

    private static string FirstDifference(string verified, string received)
    {
        var a = verified.Split('\n');
        var b = received.Split('\n');
        for (var i = 0; i < Math.Max(a.Length, b.Length); i++)
        {
            var x = i < a.Length ? a[i] : "<end>";
            var y = i < b.Length ? b[i] : "<end>";
            if (!string.Equals(x, y, StringComparison.Ordinal))
            {
                return $"line {i + 1}: verified '{x}', received '{y}'";
            }
        }

        return "the texts differ";
    }
}

/// <summary>Thrown when a snapshot differs from its verified file.</summary>
internal sealed class SnapshotMismatchException : Exception
{
    /// <summary>Creates the exception.</summary>
    /// <param name="verifiedPath">The verified file.</param>
    /// <param name="receivedPath">The received file written beside it.</param>
    /// <param name="difference">The first difference.</param>
    public SnapshotMismatchException(string verifiedPath, string receivedPath, string difference)
        : base($"The snapshot differs from '{Path.GetFileName(verifiedPath)}' ({difference}). If the change is intended, replace the verified file with '{Path.GetFileName(receivedPath)}'.")
    {
        VerifiedPath = verifiedPath;
        ReceivedPath = receivedPath;
    }

    /// <summary>The verified file.</summary>
    public string VerifiedPath { get; }

    /// <summary>The received file.</summary>
    public string ReceivedPath { get; }
}
