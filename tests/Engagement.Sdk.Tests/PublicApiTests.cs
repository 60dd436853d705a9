using Engagement.Sdk.Tests.Snapshots;
using PublicApiGenerator;

namespace Engagement.Sdk.Tests;

/// <summary>
/// Pins the public surface of each shipped package to a verified file, so that any change to it is deliberate: a changed
/// surface writes <c>*.received.txt</c> beside the verified file and fails. The surface is written by PublicApiGenerator as
/// C# declarations, nullable annotations included.
/// </summary>
public sealed class PublicApiTests
{
    [Theory]
    [InlineData("Engagement.Sdk")]
    [InlineData("Engagement.Sdk.Channels.Smtp")]
    [InlineData("Engagement.Sdk.Channels.Webhook")]
    [InlineData("Engagement.Sdk.PostgreSql")]
    [InlineData("Engagement.Sdk.Sqlite")]
    [InlineData("Engagement.Sdk.Testing")]
    [InlineData("Engagement.Sdk.Hosting")]
    [InlineData("Engagement.Sdk.OpenTelemetry")]
    [InlineData("Engagement.Sdk.OpenBandit")]
    public void PublicApi_OfEachPackage_MatchesTheVerifiedFile(string package)
    {
        var assembly = System.Reflection.Assembly.Load(package);

        Snapshot.Verify(assembly.GeneratePublicApi(new ApiGeneratorOptions
        {
            IncludeAssemblyAttributes = false,

            // Compiler-generated state machine names change with unrelated edits; they are not part of the contract.
            ExcludeAttributes = ["System.Runtime.CompilerServices.AsyncIteratorStateMachineAttribute", "System.Runtime.CompilerServices.AsyncStateMachineAttribute", "System.Runtime.CompilerServices.IteratorStateMachineAttribute"],
        }), Snapshot.RepositoryPath("tests/Engagement.Sdk.Tests/PublicApi"), package);
    }
}
