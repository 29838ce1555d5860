using Kolo.Core.Orders;
using Kolo.Core.Platform;

namespace Kolo.Core.Tests;

/// <summary>The order arithmetic in minor units, with every expected value worked out by hand.</summary>
public class OrderTotalsTests
{
    private static Order OrderOf(OrderStatus status, params (int Quantity, long Unit, long Discount)[] lines) => new()
    {
        Status = status,
        Lines = lines.Select((l, i) => new OrderLine { LineNo = i + 1, Quantity = l.Quantity, UnitPriceMinor = l.Unit, DiscountMinor = l.Discount }).ToList(),
    };

    [Fact]
    public void One_line_without_discount()
    {
        var order = OrderOf(OrderStatus.Confirmed, (3, 1999, 0));
        OrderTotals.Apply(order);
        Assert.Equal(5997, order.Lines[0].LineTotalMinor);
        Assert.Equal(5997, order.SubtotalMinor);
        Assert.Equal(0, order.DiscountMinor);
        Assert.Equal(5997, order.TotalMinor);
    }

    [Fact]
    public void Several_lines_with_line_discounts()
    {
        // 2 × 12.50 − 1.00 = 24.00; 1 × 99.99 − 0 = 99.99; 10 × 0.35 − 0.50 = 3.00
        var order = OrderOf(OrderStatus.Quote, (2, 1250, 100), (1, 9999, 0), (10, 35, 50));
        OrderTotals.Apply(order);
        Assert.Equal([2400L, 9999L, 300L], order.Lines.Select(l => l.LineTotalMinor));
        Assert.Equal(2500 + 9999 + 350, order.SubtotalMinor);   // 128.49 before discounts
        Assert.Equal(150, order.DiscountMinor);
        Assert.Equal(12699, order.TotalMinor);                  // 126.99
        Assert.Equal(order.Lines.Sum(l => l.LineTotalMinor), order.TotalMinor);
    }

    [Fact]
    public void The_policy_discount_is_part_of_the_discount_and_comes_off_the_total()
    {
        var order = OrderOf(OrderStatus.Confirmed, (3, 337, 1));   // 10.11 − 0.01 = 10.10
        order.PolicyDiscountMinor = OrderTotals.Percent(1010, 500);  // 5 % of 10.10 = 0.505 → 0.51
        OrderTotals.Apply(order);
        Assert.Equal(1011, order.SubtotalMinor);
        Assert.Equal(52, order.DiscountMinor);
        Assert.Equal(959, order.TotalMinor);
        Assert.Equal(1010, order.Lines[0].LineTotalMinor);          // the lines do not carry the policy discount
    }

    [Fact]
    public void A_currency_without_minor_unit_and_one_with_three_decimals()
    {
        // JPY: 3 × ¥1,234 − ¥100 = ¥3,602; minor units are yen.
        var yen = OrderOf(OrderStatus.Confirmed, (3, Money.ToMinor(1234m, "JPY"), Money.ToMinor(100m, "JPY")));
        OrderTotals.Apply(yen);
        Assert.Equal(3602, yen.TotalMinor);
        Assert.Equal(3602m, Money.FromMinor(yen.TotalMinor, "JPY"));

        // KWD: 2 × 1.235 − 0.005 = 2.465, plus 1 × 0.999 → 3.464 dinars = 3464 fils.
        var dinars = OrderOf(OrderStatus.Confirmed, (2, Money.ToMinor(1.235m, "KWD"), Money.ToMinor(0.005m, "KWD")), (1, Money.ToMinor(0.999m, "KWD"), 0));
        OrderTotals.Apply(dinars);
        Assert.Equal([2465L, 999L], dinars.Lines.Select(l => l.LineTotalMinor));
        Assert.Equal(3469, dinars.SubtotalMinor);
        Assert.Equal(5, dinars.DiscountMinor);
        Assert.Equal(3464, dinars.TotalMinor);
        Assert.Equal(3.464m, Money.FromMinor(dinars.TotalMinor, "KWD"));
    }

    [Fact]
    public void A_return_has_negative_totals_and_lines()
    {
        var order = OrderOf(OrderStatus.Returned, (2, 1250, 100), (1, 500, 0));
        OrderTotals.Apply(order);
        Assert.Equal([-2400L, -500L], order.Lines.Select(l => l.LineTotalMinor));
        Assert.Equal(-3000, order.SubtotalMinor);
        Assert.Equal(-100, order.DiscountMinor);
        Assert.Equal(-2900, order.TotalMinor);
        // Quantities stay positive: a return line says how many came back.
        Assert.All(order.Lines, l => Assert.True(l.Quantity > 0));
    }

    [Fact]
    public void Applying_twice_gives_the_same_totals()
    {
        var order = OrderOf(OrderStatus.Returned, (4, 999, 7));
        OrderTotals.Apply(order);
        var first = (order.SubtotalMinor, order.DiscountMinor, order.TotalMinor, order.Lines[0].LineTotalMinor);
        OrderTotals.Apply(order);
        Assert.Equal(first, (order.SubtotalMinor, order.DiscountMinor, order.TotalMinor, order.Lines[0].LineTotalMinor));
    }

    [Theory]
    [InlineData(1010, 500, 51)]      // 50.5 → 51, not the banker's 50
    [InlineData(1030, 500, 52)]      // 51.5 → 52
    [InlineData(1050, 500, 53)]      // 52.5 → 53
    [InlineData(1009, 500, 50)]      // 50.45 → 50
    [InlineData(-1010, 500, -51)]    // away from zero on the negative side too
    [InlineData(1, 5000, 1)]         // half a minor unit → one
    [InlineData(1, 4999, 0)]
    [InlineData(3, 3333, 1)]         // 0.9999 → 1
    [InlineData(0, 500, 0)]
    [InlineData(12345, 0, 0)]
    [InlineData(12345, 10_000, 12345)]
    [InlineData(900_000_000_000_000, 1, 90_000_000_000)]
    [InlineData(999, 1250, 125)]     // 124.875 → 125 (a JPY order of ¥999 at 12.5 %)
    public void Percent_rounds_half_away_from_zero_to_the_minor_unit(long minor, int basisPoints, long expected) =>
        Assert.Equal(expected, OrderTotals.Percent(minor, basisPoints));
}
