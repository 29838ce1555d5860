using Kolo.Core.Analytics;
using Kolo.Core.Analytics.Models;

namespace Kolo.Core.Tests.Analytics;

public class RecommenderTests
{
    private static CatalogItem Item(int n, string category, long price, bool active = true) =>
        new(Guid.Parse($"00000000-0000-0000-0000-{n:D12}"), $"S{n}", $"P{n}", category, price, "UAH", active);

    [Fact]
    public void Up_sell_compares_prices_only_in_the_analysed_currency()
    {
        // Laptops: 0 at 30,000.00 UAH (3,000,000 minor), 1 at 1,200.00 EUR (120,000 minor) — the EUR one is the dearer.
        List<CatalogItem> catalog = [Item(0, "Laptops", 3_000_000), Item(1, "Laptops", 120_000) with { Currency = "EUR" }];
        var customer = Guid.NewGuid();
        var byCustomer = new Dictionary<Guid, int[]> { [customer] = [1], [Guid.NewGuid()] = [0, 1] };
        var segments = byCustomer.Keys.ToDictionary(c => c, _ => "Champions");
        // Compared in raw minor units, the cheaper UAH laptop passes for a step up from the EUR one.
        Assert.Equal("S0", Assert.Single(new Recommender(catalog, [], byCustomer).For(customer, "Champions", segments, 3)).Sku);
        // With the analysed currency, a product priced in another one is never compared.
        Assert.Empty(new Recommender(catalog, [], byCustomer, "UAH").For(customer, "Champions", segments, 3));
    }

    [Fact]
    public void Up_sell_is_the_dearer_product_of_the_customers_category_most_bought_in_their_segment_then_the_cheaper()
    {
        // Category A: 0 (100, the customer's), 1 (200) and 2 (150) each bought by two of the segment, 3 (300) by
        // three but inactive, 4 (90) by four but cheaper than what the customer has; category B: 5 (500) by four.
        List<CatalogItem> catalog = [Item(0, "A", 100), Item(1, "A", 200), Item(2, "A", 150), Item(3, "A", 300, active: false), Item(4, "A", 90), Item(5, "B", 500)];
        var customer = Guid.NewGuid();
        var others = Enumerable.Range(0, 5).Select(_ => Guid.NewGuid()).ToList();
        var byCustomer = new Dictionary<Guid, int[]>
        {
            [customer] = [0], [others[0]] = [1, 2, 3, 4, 5], [others[1]] = [1, 2, 3, 4, 5], [others[2]] = [3, 4, 5], [others[3]] = [4, 5], [others[4]] = [0],
        };
        var segments = byCustomer.Keys.ToDictionary(c => c, _ => "Champions");
        segments[others[4]] = "Lost";

        var offer = Assert.Single(new Recommender(catalog, [], byCustomer).For(customer, "Champions", segments, 3));
        Assert.Equal(("up-sell", "S2"), (offer.Kind, offer.Sku));
        Assert.Equal(["P0"], offer.Because);
        Assert.Equal(2.0 / 5, offer.Support, 12); // two of the segment's five customers

        // Having bought 2 as well (so 150 is the price to beat), the next in the ranking is 1.
        byCustomer[customer] = [0, 2];
        Assert.Equal("S1", Assert.Single(new Recommender(catalog, [], byCustomer).For(customer, "Champions", segments, 3)).Sku);
        // Nothing dearer left that the segment bought: no up-sell; a segment whose members bought nothing dearer: none either.
        byCustomer[customer] = [1];
        Assert.Empty(new Recommender(catalog, [], byCustomer).For(customer, "Champions", segments, 3));
        byCustomer[customer] = [0];
        Assert.Empty(new Recommender(catalog, [], byCustomer).For(customer, "Lost", segments, 3));
    }

    [Fact]
    public void Cross_sell_comes_from_rules_whose_antecedent_the_customer_bought_and_leaves_a_slot_for_the_up_sell()
    {
        List<CatalogItem> catalog = [Item(0, "A", 100), Item(1, "B", 100), Item(2, "C", 100), Item(3, "D", 100), Item(4, "A", 200)];
        var customer = Guid.NewGuid();
        var other = Guid.NewGuid();
        var byCustomer = new Dictionary<Guid, int[]> { [customer] = [0], [other] = [4] };
        var segments = new Dictionary<Guid, string> { [customer] = "Loyal", [other] = "Loyal" };
        List<AssociationRule> rules =
        [
            new([0], 1, 0.1, 0.5, 2, 10), new([0], 2, 0.1, 0.6, 1.5, 10), new([0], 3, 0.1, 0.4, 3, 10), new([1], 3, 0.1, 0.9, 3, 10),
        ];

        var offers = new Recommender(catalog, rules, byCustomer).For(customer, "Loyal", segments, 3);
        // Best confidence first (2, then 1); the third slot goes to the up-sell (4, dearer in A, bought in the segment).
        Assert.Equal(["S2", "S1", "S4"], offers.Select(o => o.Sku));
        Assert.Equal(["cross-sell", "cross-sell", "up-sell"], offers.Select(o => o.Kind));
        Assert.Equal(["S2", "S1", "S3"], new Recommender(catalog, rules, byCustomer).For(customer, null, segments, 3).Select(o => o.Sku));
    }
}
