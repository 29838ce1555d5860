using Kolo.Core.Analytics.Models;

namespace Kolo.Core.Analytics;

/// <summary>
/// Next best offers for one customer: cross-sell from the association rules whose every antecedent product the
/// customer bought and whose consequent they have not (best confidence first, then lift), and one up-sell — a dearer
/// product of the category the customer buys most, which customers of the same RFM segment bought (most such buyers first).
/// </summary>
internal sealed class Recommender
{
    private readonly IReadOnlyList<CatalogItem> _catalog;
    private readonly Dictionary<Guid, int[]> _byCustomer;
    private readonly Dictionary<int, List<AssociationRule>> _rulesByFirstItem = [];
    private Dictionary<string, int[]>? _segmentBuyers;
    private readonly Dictionary<string, int> _segmentSizes = [];
    private readonly Dictionary<(string Segment, string Category), int[]> _ranked = [];

    // Up-sells compare list prices: only of products priced in this currency (null: the catalog has one currency).
    private readonly string? _currency;

    public Recommender(IReadOnlyList<CatalogItem> catalog, IReadOnlyList<AssociationRule> rules, Dictionary<Guid, int[]> byCustomer, string? currency = null)
    {
        _catalog = catalog;
        _currency = currency;
        _byCustomer = byCustomer;
        foreach (var rule in rules)
        {
            var first = rule.Antecedent.Min();
            if (!_rulesByFirstItem.TryGetValue(first, out var list)) _rulesByFirstItem[first] = list = [];
            list.Add(rule);
        }
    }

    public List<Offer> For(Guid customerId, string? segment, IReadOnlyDictionary<Guid, string> segments, int count)
    {
        if (!_byCustomer.TryGetValue(customerId, out var items) || items.Length == 0) return [];
        var bought = new HashSet<int>(items);
        var best = new Dictionary<int, AssociationRule>();
        foreach (var item in items)
        {
            if (!_rulesByFirstItem.TryGetValue(item, out var rules)) continue;
            foreach (var rule in rules)
            {
                if (bought.Contains(rule.Consequent) || !_catalog[rule.Consequent].Active) continue;
                if (!rule.Antecedent.All(bought.Contains)) continue;
                if (!best.TryGetValue(rule.Consequent, out var held) || Better(rule, held)) best[rule.Consequent] = rule;
            }
        }
        var offers = best.Values.OrderByDescending(r => r.Confidence).ThenByDescending(r => r.Lift).ThenBy(r => _catalog[r.Consequent].Sku, StringComparer.Ordinal)
            .Take(count).Select(r => new Offer
            {
                ProductId = _catalog[r.Consequent].Id, Sku = _catalog[r.Consequent].Sku, Name = _catalog[r.Consequent].Name, Kind = "cross-sell",
                Because = r.Antecedent.Select(i => _catalog[i].Name).ToList(), Confidence = r.Confidence, Lift = r.Lift, Support = r.Support,
                Score = r.Confidence,
            }).ToList();
        if (segment is not null && UpSell(items, bought, segment, segments) is { } upSell)
        {
            if (offers.Count >= count) offers.RemoveAt(offers.Count - 1);
            if (offers.All(o => o.ProductId != upSell.ProductId)) offers.Add(upSell);
        }
        return offers;
    }

    private static bool Better(AssociationRule a, AssociationRule b) =>
        a.Confidence > b.Confidence || (a.Confidence == b.Confidence && a.Lift > b.Lift);

    private Offer? UpSell(int[] items, HashSet<int> bought, string segment, IReadOnlyDictionary<Guid, string> segments)
    {
        var category = items.Where(i => _catalog[i].Category is not null && Priced(i)).GroupBy(i => _catalog[i].Category!)
            .OrderByDescending(g => g.Count()).ThenBy(g => g.Key, StringComparer.Ordinal).FirstOrDefault();
        if (category is null) return null;
        var dearest = category.MaxBy(i => _catalog[i].ListPriceMinor);
        var buyers = SegmentBuyers(segments).GetValueOrDefault(segment);
        if (buyers is null) return null;
        // The first dearer product not yet bought in the segment's ranking of the category: the same pick as scanning
        // the whole catalog for the most segment buyers (then the lower price, then catalog order), without doing so
        // for every customer.
        var pick = -1;
        foreach (var i in Ranked(segment, category.Key, buyers))
        {
            if (!Priced(i) || _catalog[i].ListPriceMinor <= _catalog[dearest].ListPriceMinor || bought.Contains(i)) continue;
            pick = i;
            break;
        }
        if (pick < 0) return null;
        var segmentSize = _segmentSizes[segment];
        return new Offer
        {
            ProductId = _catalog[pick].Id, Sku = _catalog[pick].Sku, Name = _catalog[pick].Name, Kind = "up-sell",
            Because = [_catalog[dearest].Name], Support = segmentSize == 0 ? 0 : (double)buyers[pick] / segmentSize,
            Score = segmentSize == 0 ? 0 : (double)buyers[pick] / segmentSize,
        };
    }

    private bool Priced(int item) => _currency is null || _catalog[item].Currency == _currency;

    /// <summary>A category's active products bought in the segment: most buyers first, then cheaper, then catalog order (computed once per pair).</summary>
    private int[] Ranked(string segment, string category, int[] buyers)
    {
        if (_ranked.TryGetValue((segment, category), out var ranked)) return ranked;
        ranked = Enumerable.Range(0, _catalog.Count).Where(i => _catalog[i].Active && _catalog[i].Category == category && buyers[i] > 0)
            .OrderByDescending(i => buyers[i]).ThenBy(i => _catalog[i].ListPriceMinor).ThenBy(i => i).ToArray();
        return _ranked[(segment, category)] = ranked;
    }

    /// <summary>For each RFM segment, how many of its customers bought each product (computed once).</summary>
    private Dictionary<string, int[]> SegmentBuyers(IReadOnlyDictionary<Guid, string> segments)
    {
        if (_segmentBuyers is not null) return _segmentBuyers;
        _segmentBuyers = [];
        foreach (var segment in segments.Values) _segmentSizes[segment] = _segmentSizes.GetValueOrDefault(segment) + 1;
        foreach (var (customer, items) in _byCustomer)
        {
            if (!segments.TryGetValue(customer, out var segment)) continue;
            if (!_segmentBuyers.TryGetValue(segment, out var counts)) _segmentBuyers[segment] = counts = new int[_catalog.Count];
            foreach (var i in items) counts[i]++;
        }
        return _segmentBuyers;
    }
}
