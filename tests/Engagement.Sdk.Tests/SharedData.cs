namespace Engagement.Sdk.Tests;

/// <summary>
/// Locates the public data sets that some tests reproduce published results on. They live beside the repository
/// (<c>../shared/data</c>) or where <c>ENGAGEMENT_SDK_SHARED_DATA</c> points, and are not part of the repository.
/// </summary>
public static class SharedData
{
    private static readonly Lazy<string?> Root = new(Locate);

    /// <summary>The data folder, or <see langword="null"/> when it is absent.</summary>
    public static string? Directory => Root.Value;

    /// <summary>The path of a file under the data folder.</summary>
    /// <param name="relativePath">The file, relative to the data folder.</param>
    /// <returns>The absolute path.</returns>
    public static string File(string relativePath)
        => Path.Combine(Directory ?? throw new InvalidOperationException("The shared data folder is absent."), relativePath);

    private static string? Locate()
    {
        var fromEnvironment = Environment.GetEnvironmentVariable("ENGAGEMENT_SDK_SHARED_DATA");
        if (!string.IsNullOrEmpty(fromEnvironment))
        {
            return System.IO.Directory.Exists(fromEnvironment) ? fromEnvironment : null;
        }

        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (dir.EnumerateFiles("*.sln").Any())
            {
                var candidate = Path.GetFullPath(Path.Combine(dir.FullName, "..", "shared", "data"));
                return System.IO.Directory.Exists(candidate) ? candidate : null;
            }
        }

        return null;
    }
}

/// <summary>A fact that needs the shared data sets; skipped, with the reason, when they are absent.</summary>
public sealed class SharedDataFactAttribute : FactAttribute
{
    /// <summary>Creates the attribute.</summary>
    public SharedDataFactAttribute()
    {
        if (SharedData.Directory is null)
        {
            Skip = "The shared data sets (../shared/data beside the repository, or ENGAGEMENT_SDK_SHARED_DATA) are absent; they are not redistributed with the code.";
        }
    }
}
