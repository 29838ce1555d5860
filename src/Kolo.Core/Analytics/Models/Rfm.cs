namespace Kolo.Core.Analytics.Models;

// RFM scoring (recency, frequency, monetary value; Hughes 1994, "Strategic Database Marketing") with quintile scores
// 1–5 and the widely used R×F segment map (the 10-segment regex map circulated with RFM segmentation guides, e.g.
// "[1-2][1-2] hibernating, 5[4-5] champions, [3-4][4-5] loyal customers, …"), whose low-low block is split so the issue's
// eleventh segment, Lost, is the oldest recency (R = 1) with F 1–2; R = 2 with F 1–2 stays Hibernating.

/// <summary>The named customer segments of the R×F map.</summary>
public enum RfmSegment { Champions, Loyal, PotentialLoyalists, New, Promising, NeedAttention, AboutToSleep, AtRisk, CannotLoseThem, Hibernating, Lost }

/// <summary>RFM quintile scores and the R×F segment map.</summary>
public static class Rfm
{
    private const RfmSegment Ch = RfmSegment.Champions, Lo = RfmSegment.Loyal, PL = RfmSegment.PotentialLoyalists,
        Nw = RfmSegment.New, Pr = RfmSegment.Promising, NA = RfmSegment.NeedAttention, AS = RfmSegment.AboutToSleep,
        AR = RfmSegment.AtRisk, CL = RfmSegment.CannotLoseThem, Hi = RfmSegment.Hibernating, Ls = RfmSegment.Lost;

    /// <summary>The whole map in one place: row = R score 1..5 (5 = most recent), column = F score 1..5.</summary>
    private static readonly RfmSegment[][] Map =
    [
        //         F=1 F=2 F=3 F=4 F=5
        /* R=1 */ [Ls, Ls, AR, AR, CL],
        /* R=2 */ [Hi, Hi, AR, AR, CL],
        /* R=3 */ [AS, AS, NA, Lo, Lo],
        /* R=4 */ [Pr, PL, PL, Lo, Lo],
        /* R=5 */ [Nw, PL, PL, Ch, Ch],
    ];

    /// <summary>The segment of an (R, F) score pair, each 1..5.</summary>
    public static RfmSegment Segment(int recencyScore, int frequencyScore)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(recencyScore, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(recencyScore, 5);
        ArgumentOutOfRangeException.ThrowIfLessThan(frequencyScore, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(frequencyScore, 5);
        return Map[recencyScore - 1][frequencyScore - 1];
    }

    /// <summary>
    /// Quintile scores 1–5, 5 for the best fifth: the largest values when <paramref name="higherIsBetter"/> (F, M), the
    /// smallest otherwise (R given as time since the last purchase, so the most recent gets 5).
    /// Rule: order from worst to best and cut into five groups exactly as SQL <c>NTILE(5)</c> does (sizes differ by at
    /// most one, the larger groups first); equal values then all take the lowest score any of them got, i.e.
    /// <c>MIN(NTILE(5) OVER (ORDER BY v)) OVER (PARTITION BY v)</c>. So ties never split, and a value shared by many
    /// customers (one purchase) sits in the lower quintile rather than being promoted.
    /// </summary>
    public static int[] QuintileScores(IReadOnlyList<double> values, bool higherIsBetter)
    {
        ArgumentNullException.ThrowIfNull(values);
        var n = values.Count;
        var order = new int[n];
        var keys = new double[n];
        for (var i = 0; i < n; i++)
        {
            if (double.IsNaN(values[i])) throw new ArgumentException($"Value {i} is NaN.", nameof(values));
            order[i] = i;
            keys[i] = higherIsBetter ? values[i] : -values[i]; // ascending key = worst first
        }
        Array.Sort(keys, order);
        var scores = new int[n];
        var (size, larger) = (n / 5, n % 5); // NTILE: the first n % 5 groups have one row more
        var groupScore = 0;
        for (var pos = 0; pos < n; pos++)
        {
            var tile = pos < larger * (size + 1) ? pos / (size + 1) : larger + (pos - larger * (size + 1)) / size;
            if (pos == 0 || keys[pos] != keys[pos - 1]) groupScore = tile + 1;
            scores[order[pos]] = groupScore;
        }
        return scores;
    }
}
