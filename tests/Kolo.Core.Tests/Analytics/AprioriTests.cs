using Kolo.Core.Analytics.Models;
using static Kolo.Core.Tests.Analytics.AnalyticsTestData;

namespace Kolo.Core.Tests.Analytics;

public class AprioriTests
{
    private const int Bread = 1, Milk = 2, Diapers = 3, Beer = 4, Eggs = 5, Cola = 6;

    // Tan, Steinbach & Kumar, "Introduction to Data Mining", Table 6.1: the five market-basket transactions.
    private static readonly int[][] Textbook =
    [
        [Bread, Milk],
        [Bread, Diapers, Beer, Eggs],
        [Milk, Diapers, Beer, Cola],
        [Bread, Milk, Diapers, Beer],
        [Bread, Milk, Diapers, Cola],
    ];

    private static string Key(AssociationRule r) => string.Join(",", r.Antecedent) + "->" + r.Consequent;

    [Fact]
    public void Textbook_baskets_give_the_hand_counted_rules()
    {
        // Support >= 0.6 means 3 of 5 baskets. Items: bread 4, milk 4, diapers 4, beer 3 (eggs 1, cola 2 drop out).
        // Pairs: bread-milk 3, bread-diapers 3, milk-diapers 3, diapers-beer 3 (bread-beer 2, milk-beer 2 drop out);
        // the only triple whose pairs are all frequent, {bread, milk, diapers}, is in 2 baskets. So 4 pairs, 8 rules:
        // six with confidence 3/4, diapers → beer 3/4 and beer → diapers 3/3.
        var all = Apriori.Mine(Textbook, 0.6, 0.7);
        Assert.Equal(8, all.Count);
        Assert.Equal(
            new[] { "1->2", "2->1", "1->3", "3->1", "2->3", "3->2", "3->4", "4->3" }.Order(),
            all.Select(Key).Order());

        var strong = Assert.Single(Apriori.Mine(Textbook, 0.6, 0.8));
        Assert.Equal([Beer], strong.Antecedent);
        Assert.Equal(Diapers, strong.Consequent);
        Assert.Equal(3, strong.Count);
        Assert.Equal(0.6, strong.Support, 12);
        Assert.Equal(1.0, strong.Confidence, 12);
        Assert.Equal(1.0 / 0.8, strong.Lift, 12); // confidence / supp(diapers) = 1 / (4/5)

        var diapersBeer = all.Single(r => Key(r) == "3->4");
        Assert.Equal(0.75, diapersBeer.Confidence, 12);
        Assert.Equal(0.75 / 0.6, diapersBeer.Lift, 12);
        var breadMilk = all.Single(r => Key(r) == "1->2");
        Assert.Equal(0.75 / 0.8, breadMilk.Lift, 12); // slightly negative association
        // Highest lift first.
        Assert.Equal(all.OrderByDescending(r => r.Lift).Select(r => r.Lift), all.Select(r => r.Lift));
    }

    [Fact]
    public void Agrawal_srikant_example_finds_the_three_item_rules()
    {
        // Agrawal & Srikant (1994), figure 1's database; minimum support 2 of 4 baskets. Frequent: {1},{2},{3},{5};
        // {1,3} 2, {2,3} 2, {2,5} 3, {3,5} 2; {2,3,5} 2. Rules with confidence 1: 1→3, 2→5, 5→2, {2,3}→5, {3,5}→2.
        // Item 4 is repeated in a basket and 5 too: duplicates count once.
        int[][] baskets = [[1, 3, 4, 4], [2, 3, 5], [1, 2, 3, 5, 5], [2, 5]];

        var rules = Apriori.Mine(baskets, 0.5, 1.0);
        Assert.Equal(new[] { "1->3", "2->5", "5->2", "2,3->5", "3,5->2" }.Order(), rules.Select(Key).Order());
        var triple = rules.Single(r => Key(r) == "2,3->5");
        Assert.Equal(2, triple.Count);
        Assert.Equal(0.5, triple.Support, 12);
        Assert.Equal(1 / 0.75, triple.Lift, 12); // supp(5) = 3/4

        // Capping itemsets at two items leaves the pair rules only.
        Assert.Equal(3, Apriori.Mine(baskets, 0.5, 1.0, maxItemsetSize: 2).Count);
        // A lower confidence adds {2,5}→3 and the other pair rules, all at 2/3: every one of the 4 × 2 + 3 rules.
        Assert.Equal(11, Apriori.Mine(baskets, 0.5, 0.6).Count);
    }

    [Fact]
    public void Empty_and_degenerate_inputs()
    {
        Assert.Empty(Apriori.Mine([], 0.1, 0.1));
        Assert.Empty(Apriori.Mine([[], [], [1]], 0.1, 0.1));
        Assert.Empty(Apriori.Mine([[1, 2], [3, 4]], 0.6, 0.1)); // nothing reaches 60%
        Assert.Empty(Apriori.Mine([[1], [2], [1], [2]], 0.5, 0.1)); // frequent items, no frequent pair
        Assert.Throws<ArgumentOutOfRangeException>(() => Apriori.Mine([[1]], 0, 0.5));
        Assert.Throws<ArgumentOutOfRangeException>(() => Apriori.Mine([[1]], 0.5, 1.5));
        Assert.Throws<ArgumentOutOfRangeException>(() => Apriori.Mine([[1]], 0.5, 0.5, maxItemsetSize: 1));
    }

    /// <summary>
    /// Independent of Apriori: count every itemset of up to <paramref name="maxSize"/> items that occurs in any basket
    /// (all subsets of every basket), then form every rule X → {y} from them. Keys are sorted item ids joined by ",".
    /// </summary>
    private static Dictionary<string, (int Count, double Support, double Confidence, double Lift)> BruteForceRules(
        List<int[]> baskets, double minSupport, double minConfidence, int maxSize, out int largestFrequent)
    {
        var counts = new Dictionary<string, int>();
        foreach (var basket in baskets)
        {
            var items = basket.Distinct().Order().ToArray();
            void Visit(int start, List<int> chosen)
            {
                if (chosen.Count > 0) { var k = string.Join(",", chosen); counts[k] = counts.GetValueOrDefault(k) + 1; }
                if (chosen.Count == maxSize) return;
                for (var i = start; i < items.Length; i++) { chosen.Add(items[i]); Visit(i + 1, chosen); chosen.RemoveAt(chosen.Count - 1); }
            }
            Visit(0, []);
        }
        double n = baskets.Count;
        var rules = new Dictionary<string, (int, double, double, double)>();
        largestFrequent = 0;
        foreach (var (key, count) in counts)
        {
            if (count / n < minSupport) continue;
            var items = key.Split(',').Select(int.Parse).ToArray();
            largestFrequent = Math.Max(largestFrequent, items.Length);
            if (items.Length < 2) continue;
            foreach (var y in items)
            {
                var x = string.Join(",", items.Where(i => i != y));
                var confidence = (double)count / counts[x];
                if (confidence < minConfidence) continue;
                rules[x + "->" + y] = (count, count / n, confidence, confidence / (counts[y.ToString(System.Globalization.CultureInfo.InvariantCulture)] / n));
            }
        }
        return rules;
    }

    private static void AssertSameRules(Dictionary<string, (int Count, double Support, double Confidence, double Lift)> expected, IReadOnlyList<AssociationRule> actual)
    {
        Assert.Equal(expected.Keys.Order(), actual.Select(Key).Order());
        foreach (var rule in actual)
        {
            var e = expected[Key(rule)];
            Assert.Equal(e.Count, rule.Count);
            Assert.Equal(e.Support, rule.Support, 12);
            Assert.Equal(e.Confidence, rule.Confidence, 12);
            Assert.Equal(e.Lift, rule.Lift, 12);
        }
    }

    [Fact]
    public void Groceries_rules_match_arules_and_a_brute_force_count()
    {
        var labelled = Groceries();
        Assert.Equal(9835, labelled.Count);
        var ids = labelled.SelectMany(b => b).Distinct().Select((label, i) => (label, i)).ToDictionary(p => p.label, p => p.i);
        Assert.Equal(169, ids.Count);
        var baskets = labelled.Select(b => b.Select(l => ids[l]).ToArray()).ToList();

        var rules = Apriori.Mine(baskets, 0.01, 0.5);

        // arules' apriori(Groceries, parameter = list(support = 0.01, confidence = 0.5)) finds 15 rules; here they are
        // checked against a count of every itemset of up to 4 items in every basket. No 4-itemset reaches 1%, so no
        // larger one can either (support only falls as items are added) and arules' default maxlen of 10 finds no more.
        var expected = BruteForceRules(baskets, 0.01, 0.5, 4, out var largest);
        Assert.True(largest < 4);
        Assert.Equal(15, expected.Count);
        AssertSameRules(expected, rules);

        // {citrus fruit, root vegetables} → {other vegetables}: support 0.0104, confidence 0.586, lift 3.03 in arules.
        var citrus = ids["citrus fruit"];
        var root = ids["root vegetables"];
        var other = ids["other vegetables"];
        var rule = rules.Single(r => r.Consequent == other && r.Antecedent.Order().SequenceEqual(new[] { citrus, root }.Order()));
        var both = labelled.Count(b => b.Contains("citrus fruit") && b.Contains("root vegetables"));
        var all3 = labelled.Count(b => b.Contains("citrus fruit") && b.Contains("root vegetables") && b.Contains("other vegetables"));
        var others = labelled.Count(b => b.Contains("other vegetables"));
        Assert.Equal(all3, rule.Count);
        Assert.Equal(0.0104, Math.Round(rule.Support, 4));
        Assert.Equal(0.586, Math.Round(rule.Confidence, 3));
        Assert.Equal(3.03, Math.Round(rule.Lift, 2));
        Assert.Equal((double)all3 / both / ((double)others / 9835), rule.Lift, 12);
        // It has the highest lift of the 15, so it comes first.
        Assert.Same(rule, rules[0]);
    }

    [Theory]
    // Lantz, "Machine Learning with R", ch. 8: apriori(groceries, support = 0.006, confidence = 0.25, minlen = 2).
    [InlineData(0.006, 0.25, 463)]
    // The arules/arulesViz examples: apriori(Groceries, parameter = list(support = 0.001, confidence = 0.8)).
    [InlineData(0.001, 0.8, 410)]
    public void Groceries_rule_counts_match_published_arules_runs(double minSupport, double minConfidence, int rules)
    {
        var labelled = Groceries();
        var ids = labelled.SelectMany(b => b).Distinct().Select((label, i) => (label, i)).ToDictionary(p => p.label, p => p.i);
        var baskets = labelled.Select(b => b.Select(l => ids[l]).ToArray()).ToList();
        // arules' default maxlen is 10 items.
        Assert.Equal(rules, Apriori.Mine(baskets, minSupport, minConfidence, maxItemsetSize: 10).Count);
    }

    [Fact]
    public void Groceries_at_low_support_with_four_item_sets_match_the_brute_force_count()
    {
        var labelled = Groceries();
        var ids = labelled.SelectMany(b => b).Distinct().Select((label, i) => (label, i)).ToDictionary(p => p.label, p => p.i);
        var baskets = labelled.Select(b => b.Select(l => ids[l]).ToArray()).ToList();

        var expected = BruteForceRules(baskets, 0.002, 0.3, 4, out var largest);
        Assert.Equal(4, largest); // four-item sets do occur at 0.2%, so the trie counting of levels 3 and 4 is exercised
        AssertSameRules(expected, Apriori.Mine(baskets, 0.002, 0.3));
        // The dictionary path for pair counts (used when the triangular array would be too large) gives the same.
        AssertSameRules(expected, Apriori.MineCore(baskets, 0.002, 0.3, 4, pairArrayCells: 0, CancellationToken.None));
    }

    [Fact]
    public void Random_baskets_match_the_brute_force_count()
    {
        // Correlated random baskets over 40 items, items given as sparse ids to exercise the id mapping.
        var rng = new Random(1994);
        var baskets = new List<int[]>();
        for (var t = 0; t < 3000; t++)
        {
            var basket = new List<int>();
            var size = 1 + rng.Next(9);
            for (var i = 0; i < size; i++) basket.Add(1000 + 37 * (int)Math.Floor(40 * Math.Pow(rng.NextDouble(), 2)));
            if (basket.Contains(1000) && rng.NextDouble() < 0.7) basket.Add(1000 + 37 * 39);
            baskets.Add([.. basket]);
        }
        var expected = BruteForceRules(baskets, 0.01, 0.2, 4, out var largest);
        Assert.Equal(4, largest);
        AssertSameRules(expected, Apriori.Mine(baskets, 0.01, 0.2));
    }

    [Fact]
    public void Mining_stops_when_cancelled()
    {
        using var cts = new CancellationTokenSource();
        cts.Cancel();
        Assert.ThrowsAny<OperationCanceledException>(() => Apriori.Mine(Textbook, 0.1, 0.1, ct: cts.Token));
    }
}
