using Kolo.Core.Analytics.Models;
using static Kolo.Core.Analytics.Models.RfmSegment;

namespace Kolo.Core.Tests.Analytics;

public class RfmTests
{
    [Fact]
    public void Ten_customers_get_the_hand_computed_scores_and_segments()
    {
        // Customers c1..c10: days since the last purchase, purchases, spend.
        double[] daysSince = [5, 40, 200, 12, 90, 365, 3, 60, 150, 25];
        double[] purchases = [12, 3, 1, 8, 2, 1, 20, 5, 1, 3];
        double[] spend = [900, 120, 15, 640, 80, 30, 2500, 300, 45, 150];

        var r = Rfm.QuintileScores(daysSince, higherIsBetter: false);
        var f = Rfm.QuintileScores(purchases, higherIsBetter: true);
        var m = Rfm.QuintileScores(spend, higherIsBetter: true);

        // R, worst (longest ago) first, two per fifth: 365,200 → 1; 150,90 → 2; 60,40 → 3; 25,12 → 4; 5,3 → 5.
        Assert.Equal([5, 3, 1, 4, 2, 1, 5, 3, 2, 4], r);
        // F ascending: 1,1,1 | 2 | 3,3 | 5 | 8 | 12 | 20 at positions 0..9, NTILE 1,1,2,2,3,3,4,4,5,5; the three 1s
        // take the lowest tile among them (1), the two 3s theirs (3).
        Assert.Equal([5, 3, 1, 4, 2, 1, 5, 4, 1, 3], f);
        // M has no ties: 15,30 → 1; 45,80 → 2; 120,150 → 3; 300,640 → 4; 900,2500 → 5.
        Assert.Equal([5, 3, 1, 4, 2, 1, 5, 4, 2, 3], m);

        var segments = r.Zip(f, Rfm.Segment).ToArray();
        Assert.Equal([Champions, NeedAttention, Lost, Loyal, Hibernating, Lost, Champions, Loyal, Hibernating, PotentialLoyalists], segments);
    }

    [Fact]
    public void Every_cell_of_the_grid_maps_to_its_segment()
    {
        // Rows R = 1..5, columns F = 1..5: the widely used R×F map, with its low-low block split into Lost (R = 1)
        // and Hibernating (R = 2).
        RfmSegment[,] expected =
        {
            { Lost, Lost, AtRisk, AtRisk, CannotLoseThem },
            { Hibernating, Hibernating, AtRisk, AtRisk, CannotLoseThem },
            { AboutToSleep, AboutToSleep, NeedAttention, Loyal, Loyal },
            { Promising, PotentialLoyalists, PotentialLoyalists, Loyal, Loyal },
            { New, PotentialLoyalists, PotentialLoyalists, Champions, Champions },
        };
        for (var rScore = 1; rScore <= 5; rScore++)
            for (var fScore = 1; fScore <= 5; fScore++)
                Assert.Equal(expected[rScore - 1, fScore - 1], Rfm.Segment(rScore, fScore));
        // All eleven segments are reachable.
        var used = Enumerable.Range(1, 5).SelectMany(rs => Enumerable.Range(1, 5).Select(fs => Rfm.Segment(rs, fs))).ToHashSet();
        Assert.Equal(Enum.GetValues<RfmSegment>().ToHashSet(), used);
    }

    [Fact]
    public void Quintiles_follow_ntile_group_sizes()
    {
        // NTILE(5) over 12 rows: groups of 3, 3, 2, 2, 2.
        var values = Enumerable.Range(1, 12).Select(i => (double)i).ToArray();
        Assert.Equal([1, 1, 1, 2, 2, 2, 3, 3, 4, 4, 5, 5], Rfm.QuintileScores(values, true));
        // Lower is better (days since the last purchase): 12, 11, 10 days are the worst three.
        Assert.Equal([1, 1, 1, 2, 2, 2, 3, 3, 4, 4, 5, 5], Rfm.QuintileScores(values.Reverse().ToArray(), false));
        // Fewer than five customers: one per tile from the bottom, as NTILE does.
        Assert.Equal([3, 1, 2], Rfm.QuintileScores([30, 10, 20], true));
        Assert.Empty(Rfm.QuintileScores([], true));
    }

    [Fact]
    public void Ties_never_split_and_take_the_lowest_score_of_their_group()
    {
        // Eight one-time buyers among ten: all share the bottom score, whatever order they arrive in.
        double[] purchases = [1, 1, 4, 1, 1, 1, 1, 9, 1, 1];
        Assert.Equal([1, 1, 5, 1, 1, 1, 1, 5, 1, 1], Rfm.QuintileScores(purchases, true));
        double[] same = [7, 7, 7, 7, 7, 7];
        Assert.All(Rfm.QuintileScores(same, true), s => Assert.Equal(1, s));
        Assert.All(Rfm.QuintileScores(same, false), s => Assert.Equal(1, s));
    }

    [Fact]
    public void Scores_outside_one_to_five_are_rejected()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => Rfm.Segment(0, 3));
        Assert.Throws<ArgumentOutOfRangeException>(() => Rfm.Segment(3, 6));
        Assert.Throws<ArgumentException>(() => Rfm.QuintileScores([1, double.NaN], true));
    }
}
