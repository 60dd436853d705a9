using System.Diagnostics;
using System.Text;
using System.Text.RegularExpressions;
using System.Xml.Linq;

namespace Engagement.Sdk.Samples.Tests;

/// <summary>
/// Does what docs/getting-started.md tells a new user: packs the packages to a local folder, creates a console app with
/// <c>dotnet new console</c> and a nuget.config naming that folder (the user's own package sources stay, for the
/// dependencies), adds the package references the document shows, pastes the document's program and runs it.
/// </summary>
public sealed partial class GettingStartedPackageTests : IDisposable
{
    private static readonly TimeSpan StepTimeout = TimeSpan.FromMinutes(10);
    private readonly DirectoryInfo _work = Directory.CreateTempSubdirectory("engagement-getting-started-test-");

    [Fact]
    public async Task GettingStarted_InABrandNewConsoleApp_BuildsAgainstThePackedPackagesAndRuns()
    {
        var root = RepositoryRoot();
        var document = await File.ReadAllTextAsync(Path.Combine(root, "docs", "getting-started.md"));
        var references = PackageReferencesIn(document);
        var program = CodeBlockAfter(document, "<!-- snippet: getting-started-program -->", "csharp");
        var feed = Directory.CreateDirectory(Path.Combine(_work.FullName, "feed")).FullName;
        var packed = references.Where(r => r.Id.StartsWith("Engagement.Sdk", StringComparison.Ordinal)).ToList();
        packed.Should().NotBeEmpty("the document references the SDK's packages");

        foreach (var (id, version) in packed)
        {
            var project = Path.Combine(root, "src", id, id + ".csproj");
            File.Exists(project).Should().BeTrue($"the document references {id}, a package of this repository");
            await RunAsync(root, "pack", project, "-c", "Release", "-o", feed);
            File.Exists(Path.Combine(feed, $"{id}.{version}.nupkg")).Should().BeTrue($"the repository packs {id} as version {version}, the one the document shows");
        }

        var app = Directory.CreateDirectory(Path.Combine(_work.FullName, "app")).FullName;
        await RunAsync(app, "new", "console", "--force");
        await File.WriteAllTextAsync(Path.Combine(app, "nuget.config"), NuGetConfig(feed, Path.Combine(_work.FullName, "packages")));
        var projectFile = Path.Combine(app, "app.csproj");
        var csproj = XDocument.Load(projectFile);
        csproj.Root!.Add(new XElement("ItemGroup", references.Select(r => new XElement("PackageReference", new XAttribute("Include", r.Id), new XAttribute("Version", r.Version)))));
        csproj.Save(projectFile);
        await File.WriteAllTextAsync(Path.Combine(app, "Program.cs"), program);

        var output = await RunAsync(app, "run", "-c", "Release");

        output.Should().Contain("Decision: welcome on email: C 1 × L 1 × (P 0.100 × V 10 − cost 0) = 1.000");
        output.Should().Contain("Messages sent by email: 1");
        var assets = await File.ReadAllTextAsync(Path.Combine(app, "obj", "project.assets.json"));
        foreach (var (id, version) in packed)
        {
            assets.Should().Contain($"\"{id}/{version}\"", "the app restored the packed package, not a project");
        }
    }

    public void Dispose() => _work.Delete(recursive: true);

    private static List<(string Id, string Version)> PackageReferencesIn(string document)
    {
        var block = CodeBlockAfter(document, "<!-- getting-started: package references -->", "xml");
        var references = PackageReferencePattern().Matches(block).Select(m => (m.Groups["id"].Value, m.Groups["version"].Value)).ToList();
        references.Should().NotBeEmpty("docs/getting-started.md shows the package references with their versions");
        return references;
    }

    private static string CodeBlockAfter(string document, string marker, string language)
    {
        var at = document.IndexOf(marker, StringComparison.Ordinal);
        at.Should().BeGreaterThanOrEqualTo(0, $"docs/getting-started.md marks a block with {marker}");
        var fence = "```" + language + "\n";
        var start = document.IndexOf(fence, at, StringComparison.Ordinal) + fence.Length;
        var end = document.IndexOf("\n```", start, StringComparison.Ordinal);
        return document[start..end] + "\n";
    }

    private static string NuGetConfig(string feed, string packagesFolder)
    {
        // The packed packages are extracted into a folder of their own, so a package of the same version left in the user's
        // cache by an earlier run is never used; the dependencies come from the user's cache when there, else their sources.
        var cache = Environment.GetEnvironmentVariable("NUGET_PACKAGES");
        if (string.IsNullOrEmpty(cache))
        {
            cache = Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".nuget", "packages");
        }

        var fallback = Directory.Exists(cache) ? $"<fallbackPackageFolders><add key=\"user-cache\" value=\"{cache}\" /></fallbackPackageFolders>" : string.Empty;
        return $"""
            <?xml version="1.0" encoding="utf-8"?>
            <configuration>
              <config><add key="globalPackagesFolder" value="{packagesFolder}" /></config>
              {fallback}
              <packageSources><add key="engagement-local" value="{feed}" /></packageSources>
            </configuration>
            """;
    }

    private static async Task<string> RunAsync(string directory, params string[] arguments)
    {
        var start = new ProcessStartInfo(Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") is { Length: > 0 } host ? host : "dotnet")
        {
            WorkingDirectory = directory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            StandardOutputEncoding = Encoding.UTF8,
        };
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        // The test runs inside `dotnet test`: the variables that point a build at the running one are not the new app's.
        foreach (var name in start.Environment.Keys.Where(k => k.StartsWith("MSBuild", StringComparison.OrdinalIgnoreCase) || k.StartsWith("VSTEST", StringComparison.OrdinalIgnoreCase)).ToList())
        {
            start.Environment.Remove(name);
        }

        start.Environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";
        start.Environment["DOTNET_NOLOGO"] = "1";
        start.Environment["DOTNET_SKIP_FIRST_TIME_EXPERIENCE"] = "1";
        using var process = Process.Start(start)!;
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(StepTimeout);
        try
        {
            await process.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw;
        }

        var text = await output + await error;
        process.ExitCode.Should().Be(0, $"`dotnet {string.Join(' ', arguments)}` in {directory} succeeds; it printed:\n{text}");
        return text;
    }

    private static string RepositoryRoot()
    {
        for (var directory = new DirectoryInfo(AppContext.BaseDirectory); directory is not null; directory = directory.Parent)
        {
            if (File.Exists(Path.Combine(directory.FullName, "Engagement.Sdk.sln")))
            {
                return directory.FullName;
            }
        }

        throw new InvalidOperationException("The repository root (with Engagement.Sdk.sln) was not found above the test's folder.");
    }

    [GeneratedRegex("<PackageReference Include=\"(?<id>[^\"]+)\" Version=\"(?<version>[^\"]+)\"")]
    private static partial Regex PackageReferencePattern();
}
