using Kolo.Core.Analytics.Models;
using MathNet.Numerics;
using static Kolo.Core.Tests.Analytics.AnalyticsTestData;

namespace Kolo.Core.Tests.Analytics;

public class BgNbdTests
{
    // FHL 2005 Table/section 5: the CDNOW sample estimates, in weeks.
    private static readonly BgNbdParameters Published = new(0.243, 4.414, 0.793, 2.426);
    // The same fit with six decimals, as the `lifetimes` documentation prints it (Quickstart, bgf.summary).
    private static readonly BgNbdParameters Lifetimes = new(0.242593, 4.413532, 0.792886, 2.425752);

    public static TheoryData<double, double, double, double, double, double, double> Cases => new()
    {
        // r, α, a, b, x, t_x, T
        { 0.243, 4.414, 0.793, 2.426, 2, 30.43, 38.86 },
        { 0.243, 4.414, 0.793, 2.426, 0, 0, 38.86 },
        { 0.243, 4.414, 0.793, 2.426, 1, 1.71, 38.86 },
        { 0.243, 4.414, 0.793, 2.426, 7, 29.43, 38.86 },
        { 1.7, 12.0, 3.2, 1.4, 4, 100, 300 },
        { 0.6, 30.0, 0.4, 1.1, 12, 350, 364 },
        { 2.5, 0.8, 1.0, 1.0, 3, 0.5, 9 },
    };

    /// <summary>FHL 2005 eq. (6) evaluated literally, with Beta and Gamma functions rather than their logs.</summary>
    private static double Eq6(double r, double alpha, double a, double b, double x, double tx, double T)
    {
        var common = SpecialFunctions.Gamma(r + x) * Math.Pow(alpha, r) / SpecialFunctions.Gamma(r);
        var alive = SpecialFunctions.Beta(a, b + x) / SpecialFunctions.Beta(a, b) * common / Math.Pow(alpha + T, r + x);
        var dead = x > 0 ? SpecialFunctions.Beta(a + 1, b + x - 1) / SpecialFunctions.Beta(a, b) * common / Math.Pow(alpha + tx, r + x) : 0;
        return alive + dead;
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void Individual_log_likelihood_is_eq_6_evaluated_directly(double r, double alpha, double a, double b, double x, double tx, double T)
    {
        var p = new BgNbdParameters(r, alpha, a, b);
        var expected = Math.Log(Eq6(r, alpha, a, b, x, tx, T));
        Assert.Equal(expected, BgNbd.IndividualLogLikelihood(p, new RepeatStats(x, tx, T)), 10);
        Assert.Equal(expected, BgNbd.LogLikelihood(p, [new RepeatStats(x, tx, T)]), 10);
    }

    /// <summary>
    /// The likelihood from the model's definition, not from its closed form: given λ and p, L = (1−p)^x λ^x e^{−λT} +
    /// δ_{x>0} p(1−p)^{x−1} λ^x e^{−λ t_x} (FHL 2005 eq. (3)); mixing over λ ~ Gamma(r, α) and p ~ Beta(a, b) separates
    /// into one-dimensional integrals, done here by adaptive Gauss–Kronrod quadrature. The substitutions u = λ^r and
    /// v = p^a remove the integrable singularities of the densities at 0 when r, a &lt; 1.
    /// </summary>
    private static double MixtureByQuadrature(double r, double alpha, double a, double b, double x, double tx, double T)
    {
        double GammaMean(double time) =>
            Math.Pow(alpha, r) / (SpecialFunctions.Gamma(r) * r) * Integrate.GaussKronrod(
                s => { var u = s / (1 - s); var lambda = Math.Pow(u, 1 / r); return Math.Pow(lambda, x) * Math.Exp(-(alpha + time) * lambda) / ((1 - s) * (1 - s)); },
                0, 1, 1e-13, 20, 61);
        double BetaMean(Func<double, double> h) =>
            1 / (a * SpecialFunctions.Beta(a, b)) * Integrate.GaussKronrod(
                v => { var q = Math.Pow(v, 1 / a); return h(q) * Math.Pow(1 - q, b - 1); }, 0, 1, 1e-13, 20, 61);
        var alive = BetaMean(q => Math.Pow(1 - q, x)) * GammaMean(T);
        var dead = x > 0 ? BetaMean(q => q * Math.Pow(1 - q, x - 1)) * GammaMean(tx) : 0;
        return alive + dead;
    }

    [Theory]
    [InlineData(0.243, 4.414, 0.793, 2.426, 2, 30.43, 38.86)]
    [InlineData(0.243, 4.414, 0.793, 2.426, 0, 0, 38.86)]
    [InlineData(0.243, 4.414, 0.793, 2.426, 7, 29.43, 38.86)]
    [InlineData(1.7, 12.0, 3.2, 1.4, 4, 100, 300)]
    [InlineData(0.6, 30.0, 0.4, 1.3, 12, 350, 364)]
    public void Individual_log_likelihood_matches_numerical_integration_of_the_mixture(double r, double alpha, double a, double b, double x, double tx, double T)
    {
        var numeric = Math.Log(MixtureByQuadrature(r, alpha, a, b, x, tx, T));
        Assert.Equal(numeric, BgNbd.IndividualLogLikelihood(new BgNbdParameters(r, alpha, a, b), new RepeatStats(x, tx, T)), 7);
    }

    [Fact]
    public void Sample_log_likelihood_is_the_sum_of_individual_ones_with_duplicates_counted()
    {
        var data = CdnowSummary();
        var sum = data.Sum(s => BgNbd.IndividualLogLikelihood(Published, s));
        Assert.Equal(sum, BgNbd.LogLikelihood(Published, data), 6);
        Assert.Equal(2357, data.Count);
        Assert.True(data.Distinct().Count() < data.Count, "the sample has repeated (x, t_x, T) rows, so compression is exercised");
    }

    [Fact]
    public void Analytic_gradient_matches_finite_differences()
    {
        var rows = BgNbdRows.Compress(CdnowSummary(), 1);
        double[] at = [0.4, 3.0, 1.3, 2.0];
        var gradient = new double[4];
        rows.Evaluate(at[0], at[1], at[2], at[3], gradient);
        for (var i = 0; i < 4; i++)
        {
            var (up, down) = ((double[])at.Clone(), (double[])at.Clone());
            var h = 1e-6 * at[i];
            up[i] += h;
            down[i] -= h;
            var numeric = (rows.Evaluate(up[0], up[1], up[2], up[3], null) - rows.Evaluate(down[0], down[1], down[2], down[3], null)) / (2 * h);
            Assert.True(Math.Abs(numeric - gradient[i]) <= 1e-5 * Math.Max(1, Math.Abs(numeric)), $"∂LL/∂θ{i}: analytic {gradient[i]}, numeric {numeric}");
        }
    }

    [Fact]
    public void Fit_on_the_cdnow_sample_reproduces_the_published_estimates()
    {
        var fit = BgNbd.Fit(CdnowSummary());

        Assert.True(fit.Converged);
        Assert.False(fit.Degenerate);
        Assert.Equal(2357, fit.Customers);
        // FHL 2005 report r = 0.243, α = 4.414, a = 0.793, b = 2.426 and LL = −9582.4: equal after the same rounding.
        Assert.Equal(Published.R, Math.Round(fit.Parameters.R, 3));
        Assert.Equal(Published.Alpha, Math.Round(fit.Parameters.Alpha, 3));
        Assert.Equal(Published.A, Math.Round(fit.Parameters.A, 3));
        Assert.Equal(Published.B, Math.Round(fit.Parameters.B, 3));
        Assert.Equal(-9582.4, Math.Round(fit.LogLikelihood, 1));
        // And the six-decimal estimates of `lifetimes` to 1e-5 relative (both are the same maximum of a smooth surface).
        Assert.Equal(Lifetimes.R, fit.Parameters.R, Lifetimes.R * 1e-5);
        Assert.Equal(Lifetimes.Alpha, fit.Parameters.Alpha, Lifetimes.Alpha * 1e-5);
        Assert.Equal(Lifetimes.A, fit.Parameters.A, Lifetimes.A * 1e-5);
        Assert.Equal(Lifetimes.B, fit.Parameters.B, Lifetimes.B * 1e-5);
        Assert.Equal(fit.LogLikelihood, BgNbd.LogLikelihood(fit.Parameters, CdnowSummary()), 8);
    }

    [Fact]
    public void Fit_does_not_depend_on_the_time_unit()
    {
        var weeks = CdnowSummary();
        var days = weeks.Select(s => new RepeatStats(s.X, s.Tx * 7, s.T * 7)).ToList();
        var (w, d) = (BgNbd.Fit(weeks).Parameters, BgNbd.Fit(days).Parameters);
        Assert.Equal(w.R, d.R, 1e-5);
        Assert.Equal(w.Alpha * 7, d.Alpha, 1e-3);
        Assert.Equal(w.A, d.A, 1e-4);
        Assert.Equal(w.B, d.B, 1e-4);
    }

    /// <summary>Eq. (10) evaluated as printed: the Gauss series of ₂F₁(r+x, b+x; a+b+x−1; z) summed term by term.</summary>
    private static double Eq10(BgNbdParameters p, double x, double tx, double age, double t)
    {
        var (r, alpha, a, b) = (p.R, p.Alpha, p.A, p.B);
        var z = t / (alpha + age + t);
        double A = r + x, B = b + x, C = a + b + x - 1, term = 1, sum = 1;
        for (var n = 0; n < 2_000_000; n++)
        {
            term *= (A + n) * (B + n) / ((C + n) * (n + 1)) * z;
            sum += term;
            if (n > 10 && Math.Abs(term) < 1e-16 * sum && (A + n) * (B + n) / ((C + n) * (n + 1)) * z < 0.999) break;
        }
        var numerator = (a + b + x - 1) / (a - 1) * (1 - Math.Pow((alpha + age) / (alpha + age + t), r + x) * sum);
        var denominator = 1 + (x > 0 ? a / (b + x - 1) * Math.Pow((alpha + age) / (alpha + tx), r + x) : 0);
        return numerator / denominator;
    }

    [Theory]
    [InlineData(2, 30.43, 38.86, 39)]
    [InlineData(2, 30.43, 38.86, 1)]
    [InlineData(0, 0, 38.86, 52)]
    [InlineData(7, 29.43, 38.86, 39)]
    [InlineData(26, 30.86, 31.0, 10)]
    [InlineData(1, 1.71, 38.86, 2000)]  // z = 0.98: a long horizon
    [InlineData(0, 0, 0, 78)]           // a brand-new customer: eq. (10) becomes eq. (9)
    public void Conditional_expectation_is_eq_10_with_the_hypergeometric_series(double x, double tx, double age, double t)
    {
        var expected = Eq10(Published, x, tx, age, t);
        var actual = BgNbd.ConditionalExpectedPurchases(Published, new RepeatStats(x, tx, age), t);
        Assert.True(Math.Abs(expected - actual) <= 1e-10 * Math.Max(1, expected), $"eq. (10) {expected}, model {actual}");
    }

    [Theory]
    [InlineData(0.5, 6, 1.2, 3.3, 39)]
    [InlineData(0.243, 4.414, 0.793, 2.426, 39)]
    [InlineData(2.0, 10, 5.0, 1.5, 500)]
    public void Expected_purchases_of_a_new_customer_is_eq_9(double r, double alpha, double a, double b, double t)
    {
        var p = new BgNbdParameters(r, alpha, a, b);
        Assert.Equal(Eq10(p, 0, 0, 0, t), BgNbd.ExpectedPurchases(p, t), 10);
        // Near t = 0 nobody has dropped out yet: E[X(t)] ≈ E[λ]·t = (r/α)·t.
        Assert.Equal(r / alpha * 1e-6, BgNbd.ExpectedPurchases(p, 1e-6), 1e-6 * r / alpha * 1e-3);
        Assert.Equal(0, BgNbd.ExpectedPurchases(p, 0));
    }

    [Fact]
    public void Expected_purchases_are_continuous_through_a_equal_1()
    {
        // Eq. (9)/(10) divide by a − 1; the limit at a = 1 is finite and the model must not lose precision near it.
        var s = new RepeatStats(3, 20, 39);
        var at1 = BgNbd.ConditionalExpectedPurchases(new BgNbdParameters(0.5, 5, 1, 2), s, 52);
        var below = BgNbd.ConditionalExpectedPurchases(new BgNbdParameters(0.5, 5, 1 - 1e-9, 2), s, 52);
        var above = BgNbd.ConditionalExpectedPurchases(new BgNbdParameters(0.5, 5, 1 + 1e-9, 2), s, 52);
        Assert.True(double.IsFinite(at1) && at1 > 0);
        Assert.Equal(at1, below, 1e-8);
        Assert.Equal(at1, above, 1e-8);
        Assert.Equal(Eq10(new BgNbdParameters(0.5, 5, 1 + 1e-3, 2), 3, 20, 39, 52), BgNbd.ConditionalExpectedPurchases(new BgNbdParameters(0.5, 5, 1 + 1e-3, 2), s, 52), 9);
    }

    [Fact]
    public void Conditional_expectation_of_cdnow_customer_1_matches_a_high_precision_evaluation()
    {
        // E[Y(39) | x = 2, t_x = 30.43, T = 38.86] at the published estimates, evaluated with 40 significant digits
        // (mpmath's hyp2f1) when this test was written: 1.22602817476714…; likewise t = 1: 0.03744796974173226….
        var s = new RepeatStats(2, 30.43, 38.86);
        Assert.Equal(1.226028174767144, BgNbd.ConditionalExpectedPurchases(Published, s, 39), 12);
        Assert.Equal(0.03744796974173226, BgNbd.ConditionalExpectedPurchases(Published, s, 1), 14);
    }

    [Fact]
    public void Predictions_match_the_lifetimes_documentation()
    {
        // `lifetimes` Quickstart: the customers with the highest expected purchases in the next week (t = 1).
        Assert.Equal(0.710623, BgNbd.ConditionalExpectedPurchases(Lifetimes, new RepeatStats(26, 30.86, 31.00), 1), 5e-6);
        Assert.Equal(0.662396, BgNbd.ConditionalExpectedPurchases(Lifetimes, new RepeatStats(29, 37.71, 38.00), 1), 5e-6);
        Assert.Equal(0.486526, BgNbd.ConditionalExpectedPurchases(Lifetimes, new RepeatStats(17, 28.43, 28.86), 1), 5e-6);
    }

    [Fact]
    public void Probability_alive_of_cdnow_customer_1_is_the_note_021_expression()
    {
        // Customer 1 of the sample: x = 2, t_x = 30.43, T = 38.86.
        var s = new RepeatStats(2, 30.43, 38.86);
        var (r, alpha, a, b) = (Published.R, Published.Alpha, Published.A, Published.B);
        var expected = 1 / (1 + a / (b + 2 - 1) * Math.Pow((alpha + 38.86) / (alpha + 30.43), r + 2));
        Assert.Equal(expected, BgNbd.ProbabilityAlive(Published, s), 12);
        Assert.Equal(0.7266, BgNbd.ProbabilityAlive(Published, s), 4);
        // Without repeat purchases the customer cannot have dropped out (dropout happens only after a purchase).
        Assert.Equal(1, BgNbd.ProbabilityAlive(Published, new RepeatStats(0, 0, 38.86)));
        // A long silence after a busy spell makes dropout all but certain, without overflow.
        var p = BgNbd.ProbabilityAlive(Published, new RepeatStats(500, 1, 10_000));
        Assert.True(p is >= 0 and < 1e-100);
    }

    [Fact]
    public void Fit_recovers_the_parameters_data_were_simulated_with()
    {
        var truth = new BgNbdParameters(0.25, 4, 0.8, 2.5);
        // 20,000 customers observed 27–39 weeks after their first purchase, like the CDNOW cohort (first purchases
        // spread over 12 weeks, calibration ending at week 39).
        var data = SimulateBgNbd(truth, 20_000, rng => 39 - 12 * rng.NextDouble(), seed: 2005);

        var fit = BgNbd.Fit(data);

        Assert.True(fit.Converged);
        // The maximum is a maximum: no lower than the likelihood at the true parameters.
        Assert.True(fit.LogLikelihood >= BgNbd.LogLikelihood(truth, data));
        // Each estimate within 4 standard errors of the truth, from the observed information at the estimate on log
        // scale: SE 0.017 (r), 0.028 (α), 0.075 (a), 0.097 (b) here, i.e. r ±7%, α ±11%, a ±30%, b ±39%. a and b are
        // the weakly identified pair (few customers are seen long enough after dropping out), so the quantity the
        // product uses, E[X(t)], is also held to 3%. A wrong likelihood or a stalled optimiser lands far outside.
        var e = fit.Parameters;
        double[] estimate = [Math.Log(e.R), Math.Log(e.Alpha), Math.Log(e.A), Math.Log(e.B)];
        var se = LogParameterStandardErrors(
            v => BgNbd.LogLikelihood(new BgNbdParameters(Math.Exp(v[0]), Math.Exp(v[1]), Math.Exp(v[2]), Math.Exp(v[3])), data), estimate);
        double[] truthLog = [Math.Log(truth.R), Math.Log(truth.Alpha), Math.Log(truth.A), Math.Log(truth.B)];
        for (var i = 0; i < 4; i++)
        {
            Assert.True(se[i] < 0.25, $"standard error of log θ{i} is {se[i]}: too weak a test");
            Assert.True(Math.Abs(estimate[i] - truthLog[i]) <= 4 * se[i], $"θ{i}: estimate {Math.Exp(estimate[i])}, truth {Math.Exp(truthLog[i])}, SE(log) {se[i]}");
        }
        foreach (var t in new[] { 13.0, 39, 78 })
            Assert.Equal(1, BgNbd.ExpectedPurchases(e, t) / BgNbd.ExpectedPurchases(truth, t), 0.03);
    }

    // The fit the demo history gave before the fitting fix (100 customers, weeks): the Beta distribution of drop-out
    // probabilities had all but collapsed to a point, p = a/(a+b) ≈ 0.314, and eq. (10) overflowed for every customer.
    private static readonly BgNbdParameters Collapsed = new(0.4086171300948764, 37.4864380135193, 4678210.989211744, 10197755.434695728);

    /// <summary>
    /// The limit of the BG/NBD as a, b → ∞ with a/(a+b) = p: every customer drops out with the same probability p after
    /// each purchase. Given λ, an active customer makes E[Y(t) | λ] = (1 − e^{−λpt})/p purchases in the next t (FHL 2005
    /// eq. (7)); an active customer with x purchases in T has λ ~ Gamma(r+x, α+T), so E[Y(t) | alive] =
    /// (1 − ((α+T)/(α+T+pt))^{r+x})/p; and from the two terms of eq. (3) with p fixed, P(alive) =
    /// 1/(1 + δ_{x>0}·(p/(1−p))·((α+T)/(α+t_x))^{r+x}). No hypergeometric function anywhere.
    /// </summary>
    private static double FixedDropoutExpectation(double r, double alpha, double p, RepeatStats s, double t)
    {
        var k = r + s.X;
        var alive = s.X > 0 ? 1 / (1 + p / (1 - p) * Math.Pow((alpha + s.T) / (alpha + s.Tx), k)) : 1;
        return alive * (1 - Math.Pow((alpha + s.T) / (alpha + s.T + p * t), k)) / p;
    }

    public static TheoryData<double, double, double, double> CollapsedCases => new()
    {
        // x, t_x, T, t — the first is the customer the product failed on.
        { 0, 0, 39.42857142857143, 26 },
        { 1, 21, 52, 26 },
        { 3, 30, 39.42857142857143, 26 },
        { 2, 5.571428571428571, 51.71428571428571, 1 },
        { 12, 70, 78, 104 },
        { 150, 70, 78, 520 },
    };

    [Theory]
    [MemberData(nameof(CollapsedCases))]
    public void Expectations_at_a_collapsed_beta_are_finite_and_those_of_the_fixed_dropout_model(double x, double tx, double age, double t)
    {
        var s = new RepeatStats(x, tx, age);
        var p = Collapsed.A / (Collapsed.A + Collapsed.B);
        var limit = FixedDropoutExpectation(Collapsed.R, Collapsed.Alpha, p, s, t);
        var actual = BgNbd.ConditionalExpectedPurchases(Collapsed, s, t);
        // a + b = 1.5e7: the BG/NBD differs from its limit by O((r+x)/(a+b)), far below 1e-4.
        Assert.True(double.IsFinite(actual) && Math.Abs(actual / limit - 1) <= 1e-4, $"BG/NBD {actual}, fixed-p limit {limit}");
        var alive = BgNbd.ProbabilityAlive(Collapsed, s);
        Assert.True(alive is > 0 and <= 1);
        Assert.True(double.IsFinite(BgNbd.IndividualLogLikelihood(Collapsed, s)));
        Assert.True(double.IsFinite(BgNbd.LogLikelihood(Collapsed, [s, s, new RepeatStats(0, 0, age)])));
    }

    [Fact]
    public void Expectations_at_a_collapsed_beta_match_a_high_precision_evaluation()
    {
        // Eq. (10)'s numerator with mpmath's hyp2f1 at 60 significant digits, when this test was written. For x = 0 it
        // is eq. (10) itself (P(alive) = 1).
        Assert.Equal(0.12859477343371428247, BgNbd.ConditionalExpectedPurchases(Collapsed, new RepeatStats(0, 0, 39.42857142857143), 26), 1e-15);
        var s = new RepeatStats(3, 30, 39.42857142857143);
        Assert.Equal(0.92637134654026317788 * BgNbd.ProbabilityAlive(Collapsed, s), BgNbd.ConditionalExpectedPurchases(Collapsed, s, 26), 1e-14);
        // a and b near 1e9 with 40 repeat purchases.
        var huge = new BgNbdParameters(2.5, 10, 3e8, 7e8);
        var h = new RepeatStats(40, 99, 100);
        Assert.Equal(3.3214482244848830776 * BgNbd.ProbabilityAlive(huge, h), BgNbd.ConditionalExpectedPurchases(huge, h, 52), 1e-13);
        // The quadrature, which the product falls back on when no series can vouch for itself, on its own.
        Assert.Equal(0.12859477343371428247, BgNbd.ExpectationByQuadrature(Collapsed, 0, 39.42857142857143, 26), 1e-14);
        Assert.Equal(0.92637134654026317788, BgNbd.ExpectationByQuadrature(Collapsed, 3, 39.42857142857143, 26), 1e-13);
        Assert.Equal(3.3214482244848830776, BgNbd.ExpectationByQuadrature(huge, 40, 100, 52), 1e-12);
    }

    [Theory]
    [InlineData(0.4, 37.5, 0.3, 26)]
    [InlineData(0.243, 4.414, 0.25, 39)]
    [InlineData(3.0, 2.0, 0.05, 520)]
    [InlineData(40.0, 8.0, 0.7, 52)]
    public void As_a_and_b_grow_with_a_over_a_plus_b_fixed_the_expectations_tend_to_the_fixed_dropout_model(double r, double alpha, double p, double t)
    {
        var s = new RepeatStats(4, 20, 30);
        var (newLimit, limit) = (FixedDropoutExpectation(r, alpha, p, new RepeatStats(0, 0, 0), t), FixedDropoutExpectation(r, alpha, p, s, t));
        var previous = double.PositiveInfinity;
        foreach (var size in new[] { 1e3, 1e5, 1e7, 1e9 })
        {
            var parameters = new BgNbdParameters(r, alpha, p * size, (1 - p) * size);
            var newError = Math.Abs(BgNbd.ExpectedPurchases(parameters, t) / newLimit - 1);
            var error = Math.Abs(BgNbd.ConditionalExpectedPurchases(parameters, s, t) / limit - 1);
            // The distance to the limit is O(1/(a+b)): it shrinks in step with 1/(a+b), down to the rounding level.
            Assert.True(error <= Math.Max(previous / 50, 1e-12), $"a+b = {size}: relative distance {error} after {previous}");
            Assert.True(newError <= 1000 / size + 1e-12, $"a+b = {size}: E[X(t)] relative distance {newError}");
            previous = error;
        }
    }

    [Fact]
    public void Series_and_quadrature_agree_wherever_a_series_is_trusted()
    {
        // Three ways of evaluating eq. (10)'s numerator that share nothing but the model: the Gauss series of ₂F₁ as
        // printed, the series of its Euler transform, and an integral over the drop-out probability. Over a wide random
        // sweep of parameters (a and b from 0.007 to 1e6) they must agree to near the rounding level whenever a series
        // vouches for its own accuracy, and the quadrature must always give a finite positive value.
        var rng = new Random(10);
        var (euler, gauss) = (0, 0);
        for (var i = 0; i < 400; i++)
        {
            double Log(double lo, double hi) => Math.Exp(lo + (hi - lo) * rng.NextDouble());
            var p = new BgNbdParameters(Log(-4, 3), Log(-2, 6), Log(-5, 14), Log(-5, 14));
            var (x, age, t) = (Math.Floor(Log(0, 5)) - 1, 100 * rng.NextDouble(), Log(-3, 7));
            var quadrature = BgNbd.ExpectationByQuadrature(p, x, age, t);
            Assert.True(double.IsFinite(quadrature) && quadrature > 0, $"{p}, x={x}, T={age}, t={t}: {quadrature}");
            foreach (var (series, name) in new[] { (BgNbd.ExpectationBySeries(p, x, age, t), "Euler"), (BgNbd.ExpectationByGaussSeries(p, x, age, t), "Gauss") })
            {
                if (double.IsNaN(series)) continue;
                if (name == "Euler") euler++; else gauss++;
                Assert.True(Math.Abs(series / quadrature - 1) <= 1e-12, $"{p}, x={x}, T={age}, t={t}: {name} series {series}, quadrature {quadrature}");
            }
        }
        Assert.True(euler > 50 && gauss > 150, $"only {euler} + {gauss} cases compared");
    }

    [Theory]
    // r large against a + b (the series' terms reach 1e12 and cancel to O(1)): 6e-6 off before the series checked its
    // own rounding error.
    [InlineData(52.94348889454129, 0.2662282882415109, 0.04242620119135072, 0.21829011176778307, 98.65978397366581, 568.0458958122312, 206.63401382742160031)]
    // a and b both tiny (a U-shaped Beta: nearly every p is close to 0 or to 1).
    [InlineData(0.042600743032627696, 0.15044997109311892, 0.009317109449206747, 0.010442532847325853, 54.9349047965067, 57.405151381995665, 0.037552794203396622448)]
    public void Expected_purchases_in_hard_corners_match_a_high_precision_evaluation(double r, double alpha, double a, double b, double age, double t, double expected)
    {
        // Eq. (10) with x = 0, by mpmath's hyp2f1 at 40 significant digits when this test was written.
        var actual = BgNbd.ConditionalExpectedPurchases(new BgNbdParameters(r, alpha, a, b), new RepeatStats(0, 0, age), t);
        Assert.True(Math.Abs(actual / expected - 1) <= 1e-12, $"expected {expected}, got {actual}");
    }

    [Theory]
    [InlineData(1e6, -13.582159227689439977)]
    [InlineData(1e9, -13.582159386236307249)]
    public void Log_likelihood_stays_accurate_for_a_and_b_in_the_millions_and_beyond(double size, double expected)
    {
        // Eq. (6) by mpmath at 40 significant digits when this test was written; differences of log-gamma values of
        // a+b ~ 1e9 lost 3e-7 here before.
        var p = new BgNbdParameters(0.41, 37.5, 0.314 * size, 0.686 * size);
        Assert.Equal(expected, BgNbd.IndividualLogLikelihood(p, new RepeatStats(3, 30, 39.4)), 1e-12);
        Assert.Equal(expected, BgNbd.LogLikelihood(p, [new RepeatStats(3, 30, 39.4)]), 1e-12);
    }

    [Fact]
    public void Log_likelihood_survives_a_silence_that_underflows_the_alive_term()
    {
        // ((α+t_x)/(α+T))^{r+x} = (1e-9/50)^1000 is 0 in doubles; the likelihood itself is not.
        var p = new BgNbdParameters(1000, 1e-9, 2, 3);
        var silent = new RepeatStats(0, 0, 50);
        Assert.Equal(1000 * Math.Log(1e-9 / (1e-9 + 50)), BgNbd.IndividualLogLikelihood(p, silent), 1e-9);
        var lapsed = new RepeatStats(2, 1e-6, 50);
        // Only the "dropped out after t_x" term of eq. (6) is left: its log by hand.
        var expected = Math.Log(1000 * 1001) + Math.Log(3 * 4) - Math.Log(5 * 6) + 1000 * Math.Log(1e-9) - 1002 * Math.Log(1e-9 + 1e-6) + Math.Log(2.0 / 4);
        Assert.Equal(expected, BgNbd.IndividualLogLikelihood(p, lapsed), 1e-9);
        Assert.Equal(expected + 1000 * Math.Log(1e-9 / (1e-9 + 50)), BgNbd.LogLikelihood(p, [silent, lapsed]), 1e-8);
    }

    [Theory]
    [InlineData(1e-3)]
    [InlineData(0.7)]
    [InlineData(19.999)]
    [InlineData(20)]
    [InlineData(345.6)]
    [InlineData(1e6)]
    [InlineData(3e9)]
    public void Log_gamma_and_digamma_differences_are_the_finite_sums_they_stand_for(double y)
    {
        // For whole n, ln Γ(y+n) − ln Γ(y) = Σ ln(y+j) and ψ(y+n) − ψ(y) = Σ 1/(y+j), j < n.
        foreach (var n in new[] { 1, 2, 7, 60 })
        {
            double logs = 0, reciprocals = 0;
            for (var j = n - 1; j >= 0; j--) (logs, reciprocals) = (logs + Math.Log(y + j), reciprocals + 1 / (y + j));
            Assert.Equal(1, BgNbd.LogRising(y, n) / logs, 1e-13);
            Assert.Equal(1, BgNbd.DiGammaRising(y, n) / reciprocals, 1e-13);
        }
    }

    /// <summary>The demo data's purchase history as the product fitted it: x, t_x and T in days (fitted in weeks); 100
    /// customers, 47 repeat purchases. Its likelihood keeps rising as a + b → ∞, and the fit used to wander off to
    /// a + b = 1.5e7 (<see cref="Collapsed"/>).</summary>
    private static readonly (int X, int TxDays, int TDays)[] DemoHistoryDays =
    [
        (0, 0, 276), (1, 147, 364), (0, 0, 257), (1, 14, 352), (2, 39, 362), (0, 0, 358), (0, 0, 293), (0, 0, 445), (0, 0, 397), (1, 120, 510),
        (1, 32, 547), (3, 284, 398), (0, 0, 484), (0, 0, 526), (0, 0, 393), (0, 0, 374), (2, 148, 295), (2, 451, 508), (2, 323, 512), (0, 0, 476),
        (0, 0, 334), (3, 181, 435), (0, 0, 518), (0, 0, 313), (0, 0, 486), (3, 427, 454), (1, 234, 298), (0, 0, 448), (0, 0, 493), (1, 192, 398),
        (0, 0, 330), (2, 395, 421), (0, 0, 406), (0, 0, 343), (0, 0, 294), (1, 238, 496), (0, 0, 339), (3, 228, 342), (0, 0, 370), (2, 487, 501),
        (0, 0, 402), (0, 0, 388), (0, 0, 306), (0, 0, 399), (0, 0, 280), (0, 0, 532), (1, 417, 522), (0, 0, 531), (1, 202, 459), (1, 207, 421),
        (0, 0, 308), (0, 0, 448), (1, 293, 408), (0, 0, 410), (0, 0, 252), (0, 0, 522), (0, 0, 259), (0, 0, 360), (0, 0, 269), (0, 0, 536),
        (0, 0, 535), (0, 0, 358), (0, 0, 411), (0, 0, 511), (0, 0, 405), (0, 0, 416), (0, 0, 539), (0, 0, 495), (0, 0, 504), (0, 0, 429),
        (1, 112, 427), (2, 164, 480), (1, 326, 451), (0, 0, 476), (0, 0, 356), (0, 0, 267), (1, 199, 453), (0, 0, 477), (1, 6, 496), (1, 43, 475),
        (0, 0, 320), (0, 0, 358), (1, 28, 250), (2, 214, 456), (0, 0, 344), (0, 0, 451), (0, 0, 346), (0, 0, 398), (0, 0, 411), (0, 0, 387),
        (0, 0, 318), (0, 0, 429), (0, 0, 360), (0, 0, 385), (0, 0, 419), (1, 242, 254), (0, 0, 370), (0, 0, 503), (0, 0, 466), (1, 235, 260),
    ];

    private static List<RepeatStats> DemoHistory() => DemoHistoryDays.Select(d => new RepeatStats(d.X, d.TxDays / 7.0, d.TDays / 7.0)).ToList();

    [Fact]
    public void A_fit_whose_beta_collapses_to_a_point_is_held_at_the_cap_and_usable()
    {
        var data = DemoHistory();
        var fit = BgNbd.Fit(data);

        Assert.True(fit.Converged);
        Assert.True(fit.Degenerate);
        var p = fit.Parameters;
        Assert.Equal(BgNbd.MaxBetaConcentration, p.A + p.B, 1e-6);
        // The same point the product's fit drifted along: r, α and a/(a+b) as before, and a likelihood within 1e-5 of
        // the supremum (the likelihood at a + b = 1e9 along the same ridge).
        Assert.Equal(Collapsed.R, p.R, 1e-3);
        Assert.Equal(Collapsed.Alpha, p.Alpha, 1e-2);
        var mean = p.A / (p.A + p.B);
        Assert.Equal(Collapsed.A / (Collapsed.A + Collapsed.B), mean, 1e-3);
        var farther = BgNbd.LogLikelihood(p with { A = mean * 1e9, B = (1 - mean) * 1e9 }, data);
        Assert.True(farther - fit.LogLikelihood is >= 0 and < 1e-5, $"ln L {fit.LogLikelihood} at the cap, {farther} at a+b = 1e9");
        // Flat, not peaked: along the ridge the likelihood only rises towards the cap.
        var previous = double.NegativeInfinity;
        foreach (var size in new[] { 10.0, 100, 1e4, BgNbd.MaxBetaConcentration })
        {
            var ll = BgNbd.LogLikelihood(p with { A = mean * size, B = (1 - mean) * size }, data);
            Assert.True(ll > previous, $"ln L {ll} at a+b = {size}, {previous} before");
            previous = ll;
        }
        // A maximum in the three free coordinates: no small step in r, α or a/(a+b) does better.
        foreach (var step in new[] { -1e-3, 1e-3 })
        {
            var shifted = mean * Math.Exp(step);
            BgNbdParameters[] neighbours =
            [
                p with { R = p.R * Math.Exp(step) }, p with { Alpha = p.Alpha * Math.Exp(step) },
                p with { A = shifted * BgNbd.MaxBetaConcentration, B = (1 - shifted) * BgNbd.MaxBetaConcentration },
            ];
            foreach (var q in neighbours) Assert.True(BgNbd.LogLikelihood(q, data) <= fit.LogLikelihood, $"{q} is better than {p}");
        }
        // And it predicts, as the fixed-drop-out model does: the holdout step that threw before.
        foreach (var s in data)
        {
            var expected = BgNbd.ConditionalExpectedPurchases(p, s, 26);
            Assert.Equal(1, expected / FixedDropoutExpectation(p.R, p.Alpha, mean, s, 26), 1e-4);
            Assert.True(double.IsFinite(Clv.Value(p, s, 100, 12, 30 / 7.0, 0.01)));
        }
    }

    [Fact]
    public void Data_with_one_drop_out_probability_for_everybody_fit_and_predict_like_the_truth()
    {
        // λ ~ Gamma(0.5, 10) per week, but every customer drops out with probability 0.3 after each repeat purchase:
        // the BG/NBD's Beta(a, b) with a, b → ∞. 10,000 customers observed 52–104 weeks.
        const double r = 0.5, alpha = 10, dropout = 0.3;
        var data = SimulateFixedDropout(r, alpha, dropout, 10_000, rng => 52 + 52 * rng.NextDouble(), seed: 3);

        var fit = BgNbd.Fit(data);

        Assert.True(fit.Converged);
        var p = fit.Parameters;
        // In this sample, as in most of this size we tried, the maximum lies beyond the cap; with fewer customers it is
        // often finite but large instead (sampling noise looks like a little heterogeneity).
        Assert.True(fit.Degenerate);
        Assert.Equal(BgNbd.MaxBetaConcentration, p.A + p.B, 1e-6);
        Assert.Equal(dropout, p.A / (p.A + p.B), 0.02);
        Assert.Equal(r, p.R, 0.05);
        Assert.Equal(alpha, p.Alpha, 1.0);
        // Predictions: a new customer's purchases over half a year to two years, and the next year of the first 1,000
        // customers given their histories, against the true model's (fixed p, closed form).
        foreach (var t in new[] { 26.0, 52, 104 })
            Assert.Equal(1, BgNbd.ExpectedPurchases(p, t) / FixedDropoutExpectation(r, alpha, dropout, new RepeatStats(0, 0, 0), t), 0.03);
        var sample = data.Take(1000).ToList();
        var predicted = sample.Sum(s => BgNbd.ConditionalExpectedPurchases(p, s, 52));
        var truth = sample.Sum(s => FixedDropoutExpectation(r, alpha, dropout, s, 52));
        Assert.Equal(1, predicted / truth, 0.03);
    }

    [Fact]
    public void Invalid_input_is_rejected()
    {
        Assert.Throws<ArgumentException>(() => BgNbd.Fit([]));
        Assert.Throws<ArgumentException>(() => BgNbd.Fit([new RepeatStats(1, 5, 4)]));   // t_x > T
        Assert.Throws<ArgumentException>(() => BgNbd.Fit([new RepeatStats(0, 3, 10)]));  // t_x without purchases
        Assert.Throws<ArgumentException>(() => BgNbd.Fit([new RepeatStats(-1, 0, 10)]));
        Assert.Throws<ArgumentException>(() => BgNbd.Fit([new RepeatStats(1.5, 2, 10)]));  // x counts purchases
        Assert.Throws<ArgumentException>(() => BgNbd.ProbabilityAlive(Published, new RepeatStats(double.NaN, 0, 1)));
        Assert.Throws<ArgumentOutOfRangeException>(() => BgNbd.ExpectedPurchases(Published, -1));
    }

    [Fact]
    public void Data_that_do_not_determine_the_parameters_give_an_unconverged_fit()
    {
        // One customer, identical customers, or nobody observed for any time: the likelihood keeps rising as some
        // parameter runs off to 0 or ∞ (or is flat), so there is no maximum to report.
        BgNbdFit[] fits =
        [
            BgNbd.Fit([new RepeatStats(3, 5, 10)]),
            BgNbd.Fit(Enumerable.Repeat(new RepeatStats(3, 9, 10), 50).ToList()),
            BgNbd.Fit([new RepeatStats(0, 0, 0), new RepeatStats(0, 0, 0)]),
        ];
        foreach (var fit in fits)
        {
            Assert.False(fit.Converged);
            var p = fit.Parameters;
            Assert.All([p.R, p.Alpha, p.A, p.B, fit.LogLikelihood], v => Assert.True(double.IsFinite(v)));
        }
    }

    [Fact]
    public void Fit_stops_when_cancelled()
    {
        using var cts = new CancellationTokenSource();
        cts.Cancel();
        Assert.ThrowsAny<OperationCanceledException>(() => BgNbd.Fit(CdnowSummary(), cts.Token));
    }
}
