using Engagement.Sdk.Value.Clv;

namespace Engagement.Sdk.Tests.Value.Clv;

public sealed class PairIndexTests
{
    [Fact]
    public void Position_ManyWholeAndFractionalPairs_NumbersEachDistinctPairOnceInOrderOfFirstAppearance()
    {
        // Whole numbers (whose bits differ only in the high half), weeks (sevenths) and repeats, as customer histories are.
        var pairs = Enumerable.Range(0, 40).SelectMany(x => Enumerable.Range(0, 800).Select(d => ((double)x, d / 7.0))).ToArray();
        var index = new PairIndex();

        var first = pairs.Select(p => index.Position(p.Item1, p.Item2)).ToArray();
        var again = pairs.Reverse().Select(p => index.Position(p.Item1, p.Item2)).ToArray();

        first.Should().Equal(Enumerable.Range(0, pairs.Length));
        again.Should().Equal(Enumerable.Range(0, pairs.Length).Reverse());
        index.Pairs.Should().Equal(pairs);
    }

    [Fact]
    public void Find_BatchSplitOverSlices_GivesEveryCustomerThePositionOfItsPairInTheWholeBatch()
    {
        var n = 5 * BatchPairs.Chunk;
        var x = Enumerable.Range(0, n).Select(i => (double)(i % 13)).ToArray();
        var y = Enumerable.Range(0, n).Select(i => (double)((i * 7) % 101)).ToArray();
        var parked = new int[n];

        var found = BatchPairs.Find(n, (index, from, to) =>
        {
            for (var i = from; i < to; i++)
            {
                parked[i] = index.Position(x[i], y[i]);
            }
        });
        var resolved = new int[n];
        BatchPairs.ForEachChunk(n, (from, to) => found.Combine(from, to, (start, end, remap) =>
        {
            for (var i = start; i < end; i++)
            {
                resolved[i] = remap is null ? parked[i] : remap[parked[i]];
            }
        }));

        found.All.Pairs.Should().OnlyHaveUniqueItems().And.HaveCount(13 * 101);
        Enumerable.Range(0, n).Where(i => found.All.Pairs[resolved[i]] != (x[i], y[i])).Should().BeEmpty();
    }
}
