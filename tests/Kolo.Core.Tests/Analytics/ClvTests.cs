using Kolo.Core.Analytics.Models;
using static Kolo.Core.Tests.Analytics.AnalyticsTestData;

namespace Kolo.Core.Tests.Analytics;

public class ClvTests
{
    private static readonly BgNbdParameters P = new(0.243, 4.414, 0.793, 2.426);

    [Fact]
    public void Two_steps_are_the_discounted_increments_of_the_conditional_expectation()
    {
        var s = new RepeatStats(2, 30.43, 38.86);
        const double value = 25, step = 30.0 / 7, d = 0.01; // monthly steps in weeks, 1% a month
        var e1 = BgNbd.ConditionalExpectedPurchases(P, s, step);
        var e2 = BgNbd.ConditionalExpectedPurchases(P, s, 2 * step);
        var expected = value * e1 / 1.01 + value * (e2 - e1) / (1.01 * 1.01);

        Assert.Equal(expected, Clv.Value(P, s, value, 2, step, d), 12);
    }

    [Fact]
    public void Without_discounting_the_increments_telescope_to_the_horizon_expectation()
    {
        var s = new RepeatStats(7, 29.43, 38.86);
        Assert.Equal(40 * BgNbd.ConditionalExpectedPurchases(P, s, 52), Clv.Value(P, s, 40, 12, 52.0 / 12, 0), 10);
        Assert.Equal(0, Clv.Value(P, s, 40, 0, 1, 0.01));
        // Discounting only lowers it.
        Assert.True(Clv.Value(P, s, 40, 12, 52.0 / 12, 0.05) < Clv.Value(P, s, 40, 12, 52.0 / 12, 0));
    }

    [Fact]
    public void Cdnow_values_match_the_lifetimes_documentation()
    {
        // `lifetimes` Quickstart: customer_lifetime_value(bgf, …, time=12, discount_rate=0.01) with its default
        // freq="D", i.e. 12 steps of 30 time units (here weeks) and the Gamma-Gamma conditional mean as the value.
        var customers = CdnowWithValues();
        var bg = BgNbd.Fit(customers.Select(c => c.Stats).ToList()).Parameters;
        var gg = GammaGamma.Fit(customers.Where(c => c.Stats.X > 0).Select(c => new SpendStats((int)c.Stats.X, c.Zbar)).ToList()).Parameters;
        var expected = new Dictionary<int, double> { [1] = 140.096211, [2] = 18.943467, [3] = 38.180574, [6] = 1003.868107, [9] = 167.418216 };
        foreach (var (id, clv) in expected)
        {
            var c = customers.Single(c => c.Id == id);
            var value = GammaGamma.ConditionalExpectedAverageValue(gg, new SpendStats((int)c.Stats.X, c.Zbar));
            Assert.Equal(clv, Clv.Value(bg, c.Stats, value, 12, 30, 0.01), clv * 1e-6 + 1e-5);
        }
    }

    [Fact]
    public void Invalid_horizons_are_rejected()
    {
        var s = new RepeatStats(1, 2, 10);
        Assert.Throws<ArgumentOutOfRangeException>(() => Clv.Value(P, s, 10, -1, 1, 0));
        Assert.Throws<ArgumentOutOfRangeException>(() => Clv.Value(P, s, 10, 3, 0, 0));
        Assert.Throws<ArgumentOutOfRangeException>(() => Clv.Value(P, s, 10, 3, 1, -1));
        Assert.Throws<ArgumentOutOfRangeException>(() => Clv.Value(P, s, double.NaN, 3, 1, 0));
    }
}
