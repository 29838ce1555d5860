using Kolo.Core.Sales;

namespace Kolo.Core.Tests.Sales;

/// <summary>
/// Variable pay on a hand-computed plan: 5 % up to the target, 8 % from 100 % of it, 10 % from 150 %. Amounts are in
/// minor units; the target is 100,000.00.
/// </summary>
public class CommissionTests
{
    private const long Target = 10_000_000;
    private static readonly CommissionTier[] Tiers = [new() { FromAttainmentPercent = 100, RateBasisPoints = 800 }, new() { FromAttainmentPercent = 150, RateBasisPoints = 1_000 }];

    [Theory]
    // 80 %: all at the base rate: 80,000 × 5 % = 4,000.
    [InlineData(8_000_000, 400_000)]
    // Exactly 100 %: 100,000 × 5 % = 5,000; nothing above the boundary yet.
    [InlineData(10_000_000, 500_000)]
    // One unit above the boundary earns the tier rate: 5,000 + 1.00 × 8 % = 5,000.08.
    [InlineData(10_000_100, 500_008)]
    // 120 %: 5,000 + 20,000 × 8 % = 6,600.
    [InlineData(12_000_000, 660_000)]
    // Exactly 150 %: 5,000 + 50,000 × 8 % = 9,000.
    [InlineData(15_000_000, 900_000)]
    // 200 %: 5,000 + 4,000 + 50,000 × 10 % = 14,000.
    [InlineData(20_000_000, 1_400_000)]
    [InlineData(0, 0)]
    [InlineData(-5_000, 0)]
    public void Tiers_pay_their_rate_on_the_part_above_each_attainment(long won, long pay) =>
        Assert.Equal(pay, Commission.Pay(won, Target, 500, Tiers));

    [Fact]
    public void The_order_of_the_tiers_does_not_matter() =>
        Assert.Equal(1_400_000, Commission.Pay(20_000_000, Target, 500, [Tiers[1], Tiers[0]]));

    [Fact]
    public void Without_a_target_or_without_tiers_everything_earns_the_base_rate()
    {
        Assert.Equal(1_000_000, Commission.Pay(20_000_000, null, 500, Tiers));
        Assert.Equal(1_000_000, Commission.Pay(20_000_000, 0, 500, Tiers));
        Assert.Equal(1_000_000, Commission.Pay(20_000_000, Target, 500, []));
    }

    [Fact]
    public void The_total_is_rounded_once_away_from_zero()
    {
        // 333 × 5 % = 16.65 → 17.
        Assert.Equal(17, Commission.Pay(333, null, 500, []));
        // Target 1,000: 1,000 × 5 % = 50, 111 × 8 % = 8.88 → 58.88 → 59.
        Assert.Equal(59, Commission.Pay(1_111, 1_000, 500, [new CommissionTier { FromAttainmentPercent = 100, RateBasisPoints = 800 }]));
        // 11 × 5 % = 0.55 and 5 × 10 % = 0.50: together 1.05 → 1 (rounding each part would give 1 + 1).
        Assert.Equal(1, Commission.Pay(16, 11, 500, [new CommissionTier { FromAttainmentPercent = 100, RateBasisPoints = 1_000 }]));
    }

    [Fact]
    public void A_tier_from_zero_replaces_the_base_rate()
    {
        // 3 % on the first 100 %, 6 % above: 100 × 3 % + 50 × 6 % = 6 (the 5 % base never applies).
        CommissionTier[] tiers = [new() { FromAttainmentPercent = 0, RateBasisPoints = 300 }, new() { FromAttainmentPercent = 100, RateBasisPoints = 600 }];
        Assert.Equal(6, Commission.Pay(150, 100, 500, tiers));
    }
}
