using Engagement.Sdk.Decisioning.Evaluation;

namespace Engagement.Sdk.OpenBandit.Tests;

public sealed class OpenBanditDatasetTests
{
    private const string Header = ",timestamp,item_id,position,click,propensity_score,user_feature_0,user-item_affinity_0";

    [ObdTheory]
    [InlineData("random", "men", 46, 34)]
    [InlineData("random", "women", 46, 46)]
    [InlineData("bts", "men", 69, 34)]
    [InlineData("bts", "women", 46, 46)]
    public void ReadRounds_SampleFiles_HaveThePublishedRowAndClickCounts(string behaviour, string campaign, int clicks, int items)
    {
        var rounds = OpenBanditDataset.ReadRounds(ObdData.File(behaviour, campaign));

        rounds.Should().HaveCount(10_000);
        rounds.Sum(r => r.Click).Should().Be(clicks);
        rounds.Select(r => r.ItemId).Distinct().Should().HaveCountLessThanOrEqualTo(items);
        rounds.Select(r => r.Position).Distinct().Should().BeEquivalentTo([1, 2, 3]);
        rounds[0].Index.Should().Be(0);
        rounds[0].Timestamp.Should().BeOnOrAfter(new DateTimeOffset(2019, 11, 24, 0, 0, 0, TimeSpan.Zero));
        if (behaviour == "random")
        {
            rounds.Should().OnlyContain(r => Math.Abs(r.Propensity - (1.0 / items)) < 1e-15);
        }
    }

    [Fact]
    public void ReadRounds_GoodText_ParsesEveryColumn()
    {
        var rounds = OpenBanditDataset.ReadRounds(new StringReader(string.Join('\n', Header, "0,2019-11-24 00:03:13.442536+00:00,14,3,0,0.029411764705882353,abc,0.0", "1,2019-11-24 00:03:36.705207+00:00,10,1,1,0.5,def,1.0")));

        rounds.Should().Equal(
            new OpenBanditRound(0, new DateTimeOffset(2019, 11, 24, 0, 3, 13, TimeSpan.Zero).AddTicks(4425360), 14, 3, 0, 0.029411764705882353),
            new OpenBanditRound(1, new DateTimeOffset(2019, 11, 24, 0, 3, 36, TimeSpan.Zero).AddTicks(7052070), 10, 1, 1, 0.5));
        var log = OpenBanditDataset.ToDecisionLog(rounds);
        log[1].Should().Be(new LoggedDecision("1", "10", null, 0.5, 1));
    }

    [Theory]
    [InlineData("0,2019-11-24 00:03:13+00:00,14,3,0,0,x,0", 2, "propensity_score", "0")]
    [InlineData("0,2019-11-24 00:03:13+00:00,14,3,0,1.5,x,0", 2, "propensity_score", "1.5")]
    [InlineData("0,2019-11-24 00:03:13+00:00,14,3,2,0.5,x,0", 2, "click", "2")]
    [InlineData("0,2019-11-24 00:03:13+00:00,14,3,yes,0.5,x,0", 2, "click", "yes")]
    [InlineData("0,2019-11-24 00:03:13+00:00,14,0,0,0.5,x,0", 2, "position", "0")]
    [InlineData("0,2019-11-24 00:03:13+00:00,-1,1,0,0.5,x,0", 2, "item_id", "-1")]
    [InlineData("0,yesterday,14,1,0,0.5,x,0", 2, "timestamp", "yesterday")]
    public void ReadRounds_BadValue_NamesTheLineTheColumnAndTheValue(string row, long line, string field, string value)
    {
        var text = string.Join('\n', Header, row);

        var act = () => OpenBanditDataset.ReadRounds(new StringReader(text));

        var error = act.Should().Throw<DecisionLogException>().Which;
        error.Line.Should().Be(line);
        error.Field.Should().Be(field);
        error.Value.Should().Be(value);
        error.Message.Should().Contain($"Line {line}").And.Contain(field);
    }

    [Fact]
    public void ReadRounds_BadValueOnALaterLine_NamesThatLine()
    {
        var text = string.Join('\n', Header, "0,2019-11-24 00:03:13+00:00,14,3,0,0.5,x,0", "1,2019-11-24 00:03:14+00:00,14,3,0,0.5,x,0", "2,2019-11-24 00:03:15+00:00,14,3,0,0,x,0");

        var act = () => OpenBanditDataset.ReadRounds(new StringReader(text));

        act.Should().Throw<DecisionLogException>().Which.Line.Should().Be(4);
    }

    [Fact]
    public void ReadRounds_MissingColumn_NamesItOnTheHeaderLine()
    {
        var act = () => OpenBanditDataset.ReadRounds(new StringReader(",timestamp,item_id,position,click\n0,2019-11-24 00:03:13+00:00,14,3,0"));

        var error = act.Should().Throw<DecisionLogException>().Which;
        error.Line.Should().Be(1);
        error.Field.Should().Be("propensity_score");
    }

    [Fact]
    public void ReadRounds_Empty_Fails()
    {
        var act = () => OpenBanditDataset.ReadRounds(new StringReader(string.Empty));

        act.Should().Throw<DecisionLogException>().Which.Line.Should().Be(1);
    }
}
