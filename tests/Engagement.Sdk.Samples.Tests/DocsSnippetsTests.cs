using System.Reflection;
using System.Text.RegularExpressions;
using Snippets;

namespace Engagement.Sdk.Samples.Tests;

/// <summary>
/// Every C# block of README.md and docs/*.md is a region of code under samples/ (mostly samples/Snippets) that compiles with
/// the build; the block is marked <c>&lt;!-- snippet: name --&gt;</c> and must equal the region <c>#region name</c>. Every
/// snippet method runs, except those that need a server (they say so).
/// </summary>
[Collection(DocsSnippetsCollection.Name)]
public sealed partial class DocsSnippetsTests
{
    public static TheoryData<string> SnippetMethods
    {
        get
        {
            var data = new TheoryData<string>();
            foreach (var method in RunnableSnippets())
            {
                data.Add($"{method.DeclaringType!.Name}.{method.Name}");
            }

            return data;
        }
    }

    [Fact]
    public void CSharpBlocks_InTheReadmeAndDocs_AreRegionsOfTheSamplesAndMatchThem()
    {
        var root = RepositoryRoot();
        var regions = RegionsUnder(Path.Combine(root, "samples"));
        var documents = new[] { Path.Combine(root, "README.md") }.Concat(Directory.GetFiles(Path.Combine(root, "docs"), "*.md")).ToList();
        var problems = new List<string>();
        var blocks = 0;
        foreach (var document in documents)
        {
            var lines = File.ReadAllLines(document);
            for (var i = 0; i < lines.Length; i++)
            {
                if (lines[i].Trim() != "```csharp")
                {
                    continue;
                }

                blocks++;
                var where = $"{Path.GetRelativePath(root, document)}:{i + 1}";
                var end = Array.FindIndex(lines, i + 1, l => l.Trim() == "```");
                var marker = i > 0 ? SnippetMarker().Match(lines[i - 1]) : Match.Empty;
                if (!marker.Success)
                {
                    problems.Add($"{where}: the block is not marked <!-- snippet: name --> on the line before it");
                }
                else if (!regions.TryGetValue(marker.Groups["name"].Value, out var region))
                {
                    problems.Add($"{where}: no #region {marker.Groups["name"].Value} under samples/");
                }
                else if (Dedent(lines[(i + 1)..end]) != region)
                {
                    problems.Add($"{where}: the block differs from #region {marker.Groups["name"].Value}; copy the region into the document");
                }

                i = end;
            }
        }

        blocks.Should().BeGreaterThan(20, "the README and the docs have many C# blocks");
        problems.Should().BeEmpty();
    }

    [Fact]
    public void SnippetMethods_AreFound()
    {
        RunnableSnippets().Count.Should().BeGreaterThan(20);
    }

    [Theory]
    [MemberData(nameof(SnippetMethods))]
    public async Task Snippet_Runs(string name)
    {
        var method = RunnableSnippets().Single(m => $"{m.DeclaringType!.Name}.{m.Name}" == name);
        var folder = Directory.CreateTempSubdirectory("engagement-snippet-run-");
        var previous = Environment.CurrentDirectory;
        Environment.CurrentDirectory = folder.FullName; // the snippets name files such as shop.db relative to the current folder
        try
        {
            if (method.Invoke(null, null) is Task task)
            {
                await task;
            }
        }
        finally
        {
            Environment.CurrentDirectory = previous;
            Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
            folder.Delete(recursive: true);
        }
    }

    private static List<MethodInfo> RunnableSnippets()
        => typeof(GettingStartedSnippets).Assembly.GetTypes()
            .Where(t => t.IsClass && t.IsAbstract && t.IsSealed && t.Name.EndsWith("Snippets", StringComparison.Ordinal))
            .SelectMany(t => t.GetMethods(BindingFlags.Public | BindingFlags.Static | BindingFlags.DeclaredOnly))
            .Where(m => m.GetParameters().Length == 0 && m.GetCustomAttribute<SnippetNeedsAttribute>() is null)
            .OrderBy(m => m.DeclaringType!.Name, StringComparer.Ordinal).ThenBy(m => m.Name, StringComparer.Ordinal)
            .ToList();

    private static Dictionary<string, string> RegionsUnder(string folder)
    {
        var regions = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var file in Directory.EnumerateFiles(folder, "*.cs", SearchOption.AllDirectories))
        {
            if (file.Contains($"{Path.DirectorySeparatorChar}obj{Path.DirectorySeparatorChar}", StringComparison.Ordinal)
                || file.Contains($"{Path.DirectorySeparatorChar}bin{Path.DirectorySeparatorChar}", StringComparison.Ordinal))
            {
                continue;
            }

            var lines = File.ReadAllLines(file);
            for (var i = 0; i < lines.Length; i++)
            {
                var start = RegionStart().Match(lines[i]);
                if (!start.Success)
                {
                    continue;
                }

                var end = Array.FindIndex(lines, i + 1, l => l.Trim() == "#endregion");
                regions.Add(start.Groups["name"].Value, Dedent(lines[(i + 1)..end]));
                i = end;
            }
        }

        return regions;
    }

    private static string Dedent(string[] lines)
    {
        var indent = lines.Where(l => l.Trim().Length > 0).Select(l => l.Length - l.TrimStart().Length).DefaultIfEmpty(0).Min();
        return string.Join("\n", lines.Select(l => l.Trim().Length == 0 ? string.Empty : l[indent..].TrimEnd()));
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

    [GeneratedRegex(@"^\s*<!-- snippet: (?<name>[\w-]+) -->\s*$")]
    private static partial Regex SnippetMarker();

    [GeneratedRegex(@"^\s*#region (?<name>[\w-]+)\s*$")]
    private static partial Regex RegionStart();
}

/// <summary>The snippet tests change the current folder, so they run alone, after the tests that run in parallel.</summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class DocsSnippetsCollection
{
    public const string Name = "Docs snippets";
}
