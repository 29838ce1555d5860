namespace Kolo.Core.Analytics.Models;

// Association rules with Apriori: Agrawal & Srikant (1994), "Fast Algorithms for Mining Association Rules", VLDB —
// level-wise frequent itemsets, candidates by joining (k−1)-itemsets with a common (k−2)-prefix and pruning any whose
// (k−1)-subset is infrequent (section 2.1.1, apriori-gen), counted against the baskets through a prefix trie; rules with
// one item on the right as in the arules package: support = supp(X ∪ {y}), confidence = supp(X ∪ {y}) / supp(X),
// lift = confidence / supp({y}).

/// <summary>A rule X → {y}: <see cref="Count"/> baskets hold X ∪ {y}; support, confidence and lift as in arules.</summary>
public sealed record AssociationRule(IReadOnlyList<int> Antecedent, int Consequent, double Support, double Confidence, double Lift, int Count);

/// <summary>Frequent itemsets and single-consequent association rules (Agrawal &amp; Srikant 1994).</summary>
public static class Apriori
{
    /// <summary>
    /// Rules X → {y} from itemsets with support >= <paramref name="minSupport"/> (a fraction of all baskets, empty ones
    /// included) and at most <paramref name="maxItemsetSize"/> items (X ∪ {y}), with confidence >= <paramref name="minConfidence"/>.
    /// An item repeated within a basket counts once. Ordered by lift, then confidence, then support (all descending).
    /// </summary>
    public static IReadOnlyList<AssociationRule> Mine(IEnumerable<IReadOnlyCollection<int>> baskets, double minSupport, double minConfidence, int maxItemsetSize = 4, CancellationToken ct = default) =>
        MineCore(baskets, minSupport, minConfidence, maxItemsetSize, PairArrayCells, ct);

    /// <summary>Pairs are counted in a triangular array of up to this many cells (64 MB; about 5,600 frequent items),
    /// beyond that in a dictionary of the pairs that occur.</summary>
    internal const long PairArrayCells = 16_000_000;

    internal static IReadOnlyList<AssociationRule> MineCore(IEnumerable<IReadOnlyCollection<int>> baskets, double minSupport, double minConfidence, int maxItemsetSize, long pairArrayCells, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(baskets);
        if (!(minSupport > 0 && minSupport <= 1)) throw new ArgumentOutOfRangeException(nameof(minSupport), minSupport, "The minimum support must be in (0, 1].");
        if (!(minConfidence >= 0 && minConfidence <= 1)) throw new ArgumentOutOfRangeException(nameof(minConfidence), minConfidence, "The minimum confidence must be in [0, 1].");
        ArgumentOutOfRangeException.ThrowIfLessThan(maxItemsetSize, 2);
        ct.ThrowIfCancellationRequested();

        var data = BasketData.Read(baskets, ct);
        var n = data.BasketCount;
        if (n == 0) return [];
        // count/n >= minSupport; the small slack keeps e.g. 0.6 × 5 = 3.0000000000000004 from demanding 4 baskets.
        var minCount = Math.Max(1, (int)Math.Ceiling(minSupport * n - 1e-9));

        // Level 1: frequent items, renumbered 0..F−1 in ascending item id, so itemsets and antecedents come out sorted.
        var frequentItems = Enumerable.Range(0, data.ItemIds.Length).Where(i => data.ItemCounts[i] >= minCount)
            .OrderBy(i => data.ItemIds[i]).ToArray();
        var f = frequentItems.Length;
        if (f < 2) return [];
        var rank = new int[data.ItemIds.Length];
        Array.Fill(rank, -1);
        for (var i = 0; i < f; i++) rank[frequentItems[i]] = i;
        var itemId = frequentItems.Select(i => data.ItemIds[i]).ToArray();
        var itemCount = frequentItems.Select(i => data.ItemCounts[i]).ToArray();
        var reduced = data.Reduce(rank, 2);

        var itemsetCounts = new Dictionary<int[], int>(ItemsetComparer.Instance);
        var levels = new List<List<int[]>>();
        var pairs = CountPairs(reduced, f, minCount, pairArrayCells, ct);
        foreach (var (set, count) in pairs) itemsetCounts[set] = count;
        levels.Add(pairs.Select(p => p.Set).ToList());

        for (var k = 3; k <= maxItemsetSize; k++)
        {
            var previous = levels[^1];
            if (previous.Count < 2) break; // a join needs two sets
            var candidates = GenerateCandidates(previous, itemsetCounts);
            if (candidates.Count == 0) break;
            // Baskets only need the items that occur in some frequent (k−1)-itemset, and at least k of them.
            var keep = new int[f];
            Array.Fill(keep, -1);
            foreach (var set in previous) foreach (var item in set) keep[item] = item;
            reduced = reduced.Reduce(keep, k);
            var counts = CandidateTrie.Count(candidates, reduced, ct);
            var level = new List<int[]>();
            for (var c = 0; c < candidates.Count; c++)
            {
                if (counts[c] < minCount) continue;
                itemsetCounts[candidates[c]] = counts[c];
                level.Add(candidates[c]);
            }
            if (level.Count == 0) break;
            levels.Add(level);
        }

        var rules = new List<AssociationRule>();
        foreach (var level in levels)
        {
            foreach (var set in level)
            {
                var count = itemsetCounts[set];
                for (var drop = 0; drop < set.Length; drop++)
                {
                    var antecedent = new int[set.Length - 1];
                    for (int i = 0, j = 0; i < set.Length; i++) if (i != drop) antecedent[j++] = set[i];
                    var antecedentCount = antecedent.Length == 1 ? itemCount[antecedent[0]] : itemsetCounts[antecedent];
                    var confidence = (double)count / antecedentCount;
                    if (confidence < minConfidence - 1e-12) continue;
                    var y = set[drop];
                    rules.Add(new AssociationRule(antecedent.Select(i => itemId[i]).ToArray(), itemId[y], (double)count / n,
                        confidence, confidence / ((double)itemCount[y] / n), count));
                }
            }
        }
        rules.Sort(CompareRules);
        return rules;
    }

    private static int CompareRules(AssociationRule x, AssociationRule y)
    {
        var c = y.Lift.CompareTo(x.Lift);
        if (c == 0) c = y.Confidence.CompareTo(x.Confidence);
        if (c == 0) c = y.Support.CompareTo(x.Support);
        if (c == 0) c = x.Antecedent.Count.CompareTo(y.Antecedent.Count);
        for (var i = 0; c == 0 && i < x.Antecedent.Count; i++) c = x.Antecedent[i].CompareTo(y.Antecedent[i]);
        return c != 0 ? c : x.Consequent.CompareTo(y.Consequent);
    }

    /// <summary>Pairs counted directly: a triangular array when it is small enough, else a dictionary keyed by the pair.</summary>
    private static List<(int[] Set, int Count)> CountPairs(BasketData baskets, int f, int minCount, long pairArrayCells, CancellationToken ct)
    {
        var result = new List<(int[] Set, int Count)>();
        var cells = (long)f * (f - 1) / 2;
        var items = baskets.Items;
        var offsets = baskets.Offsets;
        if (cells <= pairArrayCells)
        {
            var counts = new int[cells];
            for (var t = 0; t < baskets.BasketCount; t++)
            {
                if ((t & 4095) == 0) ct.ThrowIfCancellationRequested();
                var (start, end) = (offsets[t], offsets[t + 1]);
                for (var i = start; i < end - 1; i++)
                {
                    var a = items[i];
                    var row = (long)a * (2 * f - a - 1) / 2 - a - 1; // index of (a, b) = row + b, for b > a
                    for (var j = i + 1; j < end; j++) counts[row + items[j]]++;
                }
            }
            for (var a = 0; a < f - 1; a++)
            {
                var row = (long)a * (2 * f - a - 1) / 2 - a - 1;
                for (var b = a + 1; b < f; b++) if (counts[row + b] >= minCount) result.Add(([a, b], counts[row + b]));
            }
        }
        else
        {
            var counts = new Dictionary<long, int>();
            for (var t = 0; t < baskets.BasketCount; t++)
            {
                if ((t & 4095) == 0) ct.ThrowIfCancellationRequested();
                var (start, end) = (offsets[t], offsets[t + 1]);
                for (var i = start; i < end - 1; i++)
                    for (var j = i + 1; j < end; j++)
                    {
                        var key = ((long)items[i] << 32) | (uint)items[j];
                        counts[key] = counts.GetValueOrDefault(key) + 1;
                    }
            }
            foreach (var (key, count) in counts.OrderBy(kv => kv.Key))
                if (count >= minCount) result.Add(([(int)(key >> 32), (int)(key & 0xFFFFFFFF)], count));
        }
        return result;
    }

    /// <summary>apriori-gen: join (k−1)-itemsets sharing their first k−2 items, then drop candidates with an infrequent (k−1)-subset.</summary>
    private static List<int[]> GenerateCandidates(List<int[]> previous, Dictionary<int[], int> frequent)
    {
        var candidates = new List<int[]>();
        var size = previous[0].Length;
        var subset = new int[size];
        for (var i = 0; i < previous.Count; i++)
        {
            var p = previous[i];
            // `previous` is in lexicographic order, so sets with p's prefix follow p directly.
            for (var j = i + 1; j < previous.Count; j++)
            {
                var q = previous[j];
                if (!SamePrefix(p, q, size - 1)) break;
                var candidate = new int[size + 1];
                Array.Copy(p, candidate, size);
                candidate[size] = q[size - 1];
                var allFrequent = true;
                // Subsets without item 0..size−2 (dropping either of the last two gives p or q, both frequent).
                for (var drop = 0; drop < size - 1 && allFrequent; drop++)
                {
                    for (int a = 0, b = 0; a <= size; a++) if (a != drop) subset[b++] = candidate[a];
                    allFrequent = frequent.ContainsKey(subset);
                }
                if (allFrequent) candidates.Add(candidate);
            }
        }
        return candidates;
    }

    private static bool SamePrefix(int[] p, int[] q, int length)
    {
        for (var i = 0; i < length; i++) if (p[i] != q[i]) return false;
        return true;
    }

    /// <summary>Baskets as one flat array of sorted, distinct item indices with offsets (CSR), and per-item counts.</summary>
    private sealed class BasketData
    {
        public required int[] Items { get; init; }
        public required int[] Offsets { get; init; }
        public required int BasketCount { get; init; }
        public int[] ItemIds { get; init; } = [];
        public int[] ItemCounts { get; init; } = [];

        public static BasketData Read(IEnumerable<IReadOnlyCollection<int>> baskets, CancellationToken ct)
        {
            var index = new Dictionary<int, int>();
            var ids = new List<int>();
            var counts = new List<int>();
            var items = new List<int>();
            var offsets = new List<int> { 0 };
            var buffer = new List<int>();
            foreach (var basket in baskets)
            {
                if ((offsets.Count & 4095) == 0) ct.ThrowIfCancellationRequested();
                ArgumentNullException.ThrowIfNull(basket, nameof(baskets));
                buffer.Clear();
                foreach (var id in basket)
                {
                    if (!index.TryGetValue(id, out var i))
                    {
                        i = ids.Count;
                        index[id] = i;
                        ids.Add(id);
                        counts.Add(0);
                    }
                    buffer.Add(i);
                }
                buffer.Sort();
                var last = -1;
                foreach (var i in buffer)
                {
                    if (i == last) continue; // an item repeated in a basket counts once
                    items.Add(i);
                    counts[i]++;
                    last = i;
                }
                offsets.Add(items.Count);
            }
            return new BasketData { Items = [.. items], Offsets = [.. offsets], BasketCount = offsets.Count - 1, ItemIds = [.. ids], ItemCounts = [.. counts] };
        }

        /// <summary>The baskets renumbered by <paramref name="map"/> (−1 drops an item), sorted, keeping those with at
        /// least <paramref name="minLength"/> items: the rest cannot hold a candidate. The basket count stays the support
        /// denominator elsewhere; here only the kept baskets are walked.</summary>
        public BasketData Reduce(int[] map, int minLength)
        {
            var items = new List<int>(Items.Length);
            var offsets = new List<int> { 0 };
            var buffer = new List<int>();
            for (var t = 0; t < BasketCount; t++)
            {
                buffer.Clear();
                for (var i = Offsets[t]; i < Offsets[t + 1]; i++) if (map[Items[i]] >= 0) buffer.Add(map[Items[i]]);
                if (buffer.Count < minLength) continue;
                buffer.Sort();
                items.AddRange(buffer);
                offsets.Add(items.Count);
            }
            return new BasketData { Items = [.. items], Offsets = [.. offsets], BasketCount = offsets.Count - 1 };
        }
    }

    /// <summary>Candidates of one size in a prefix trie; each basket is walked down the trie by merging sorted lists,
    /// so only subsets of the basket that are prefixes of some candidate are ever visited.</summary>
    private sealed class CandidateTrie
    {
        private readonly List<int[]> _childItems = [];
        private readonly List<int[]> _children = []; // node ids, or candidate indices at the last level
        private int[][] _childItemsArray = [];
        private int[][] _childrenArray = [];
        private int _depth;

        public static int[] Count(List<int[]> candidates, BasketData baskets, CancellationToken ct)
        {
            var trie = new CandidateTrie { _depth = candidates[0].Length };
            trie.Build(candidates, 0, candidates.Count, 0);
            (trie._childItemsArray, trie._childrenArray) = (trie._childItems.ToArray(), trie._children.ToArray());
            var counts = new int[candidates.Count];
            for (var t = 0; t < baskets.BasketCount; t++)
            {
                if ((t & 4095) == 0) ct.ThrowIfCancellationRequested();
                trie.Walk(0, 0, baskets.Items, baskets.Offsets[t], baskets.Offsets[t + 1], counts);
            }
            return counts;
        }

        // Candidates [lo, hi) share their first `depth` items; returns the node id.
        private int Build(List<int[]> candidates, int lo, int hi, int depth)
        {
            var node = _childItems.Count;
            _childItems.Add([]);
            _children.Add([]);
            var items = new List<int>();
            var kids = new List<int>();
            var i = lo;
            while (i < hi)
            {
                var item = candidates[i][depth];
                var j = i + 1;
                while (j < hi && candidates[j][depth] == item) j++;
                items.Add(item);
                kids.Add(depth == _depth - 1 ? i : Build(candidates, i, j, depth + 1));
                i = j;
            }
            _childItems[node] = [.. items];
            _children[node] = [.. kids];
            return node;
        }

        private void Walk(int node, int depth, int[] basket, int start, int end, int[] counts)
        {
            var items = _childItemsArray[node];
            var kids = _childrenArray[node];
            // Leave room for the items still needed below this level.
            var stop = end - (_depth - depth - 1);
            int i = 0, j = start;
            while (i < items.Length && j < stop)
            {
                var (a, b) = (items[i], basket[j]);
                if (a < b) i++;
                else if (a > b) j++;
                else
                {
                    if (depth == _depth - 1) counts[kids[i]]++;
                    else Walk(kids[i], depth + 1, basket, j + 1, end, counts);
                    i++;
                    j++;
                }
            }
        }
    }

    private sealed class ItemsetComparer : IEqualityComparer<int[]>
    {
        public static readonly ItemsetComparer Instance = new();
        public bool Equals(int[]? x, int[]? y) => x is not null && y is not null && x.AsSpan().SequenceEqual(y);
        public int GetHashCode(int[] obj)
        {
            var hash = new HashCode();
            foreach (var i in obj) hash.Add(i);
            return hash.ToHashCode();
        }
    }
}
