namespace Kolo.Core.Analytics.Models;

// Discounted customer lifetime value from the BG/NBD conditional expectation (Fader, Hardie & Lee 2005, eq. (10))
// times the Gamma-Gamma expected mean value (Fader & Hardie 2013, note 025 eq. (5)), summed over discrete steps with
// discounting per step — the discrete-time version Fader, Hardie & Lee (2005, JMR "RFM and CLV") discuss and the
// `lifetimes` library computes (customer_lifetime_value).

/// <summary>Customer lifetime value over a horizon.</summary>
public static class Clv
{
    /// <summary>
    /// Σ_{i=1..steps} (E[Y(i·L) | s] − E[Y((i−1)·L) | s]) · value / (1+d)^i, with L = <paramref name="stepLength"/> time
    /// units (the unit the parameters were fitted in: a month is 30 days or 30/7 weeks) and d the discount rate per step.
    /// </summary>
    public static double Value(BgNbdParameters p, RepeatStats s, double expectedAverageValue, int steps, double stepLength, double discountRatePerStep)
    {
        ArgumentNullException.ThrowIfNull(p);
        ArgumentOutOfRangeException.ThrowIfNegative(steps);
        if (!(stepLength > 0) || double.IsPositiveInfinity(stepLength)) throw new ArgumentOutOfRangeException(nameof(stepLength), stepLength, "The step length must be a positive time.");
        if (!(discountRatePerStep > -1) || double.IsPositiveInfinity(discountRatePerStep)) throw new ArgumentOutOfRangeException(nameof(discountRatePerStep), discountRatePerStep, "The discount rate must be greater than -1.");
        if (!double.IsFinite(expectedAverageValue)) throw new ArgumentOutOfRangeException(nameof(expectedAverageValue), expectedAverageValue, "The expected average value must be finite.");
        double total = 0, previous = 0, discount = 1;
        for (var i = 1; i <= steps; i++)
        {
            var cumulative = BgNbd.ConditionalExpectedPurchases(p, s, i * stepLength);
            discount /= 1 + discountRatePerStep;
            total += (cumulative - previous) * expectedAverageValue * discount;
            previous = cumulative;
        }
        return total;
    }
}
