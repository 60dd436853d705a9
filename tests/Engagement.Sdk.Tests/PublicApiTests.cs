using Engagement.Sdk.Testing.Snapshots;

namespace Engagement.Sdk.Tests;

/// <summary>
/// Pins the public surface of each shipped package to a verified file, so that any change to it is deliberate: a changed
/// surface writes <c>*.received.txt</c> beside the verified file and fails.
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
    [InlineData("Engagement.Sdk.OpenBandit")]
    public void PublicApi_OfEachPackage_MatchesTheVerifiedFile(string package)
    {
        var assembly = System.Reflection.Assembly.Load(package);

        Snapshot.Verify(PublicApi.Describe(assembly), Snapshot.RepositoryPath("tests/Engagement.Sdk.Tests/PublicApi"), package);
    }
}
