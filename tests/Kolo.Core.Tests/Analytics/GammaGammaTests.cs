using Kolo.Core.Analytics.Models;
using MathNet.Numerics;
using MathNet.Numerics.Distributions;
using static Kolo.Core.Tests.Analytics.AnalyticsTestData;

namespace Kolo.Core.Tests.Analytics;

public class GammaGammaTests
{
    private static List<SpendStats> CdnowRepeaters() =>
        CdnowWithValues().Where(c => c.Stats.X > 0).Select(c => new SpendStats((int)c.Stats.X, c.Zbar)).ToList();

    /// <summary>The density of the mean m of x transactions from the model's definition: given ν, m ~ Gamma(shape px,
    /// rate νx) (a sum of x Gamma(p, ν) values, divided by x); ν ~ Gamma(q, γ). Mixed by Gauss–Kronrod quadrature over
    /// ν in [0, 50]: with q >= 2.5 and γ >= 15 below, the prior puts less than e^-500 beyond 50.</summary>
    private static double MarginalByQuadrature(double p, double q, double gamma, int x, double m) =>
        Integrate.GaussKronrod(nu => Gamma.PDF(p * x, nu * x, m) * Gamma.PDF(q, gamma, nu), 0, 50, 1e-13, 20, 61);

    [Theory]
    [InlineData(6.25, 3.74, 15.44, 2, 22.35)]
    [InlineData(6.25, 3.74, 15.44, 1, 11.77)]
    [InlineData(6.25, 3.74, 15.44, 7, 73.74)]
    [InlineData(1.5, 2.5, 40, 3, 12.0)]
    [InlineData(0.8, 6.0, 200, 12, 55.5)]
    public void Log_likelihood_matches_numerical_integration_over_nu(double p, double q, double gamma, int x, double m)
    {
        var numeric = Math.Log(MarginalByQuadrature(p, q, gamma, x, m));
        Assert.Equal(numeric, GammaGamma.LogLikelihood(new GammaGammaParameters(p, q, gamma), [new SpendStats(x, m)]), 7);
    }

    [Fact]
    public void Log_likelihood_of_a_sample_is_the_sum_of_its_customers()
    {
        var data = CdnowRepeaters();
        var p = new GammaGammaParameters(6.25, 3.74, 15.44);
        var sum = data.Sum(s => GammaGamma.LogLikelihood(p, [s]));
        Assert.Equal(sum, GammaGamma.LogLikelihood(p, data), 6);
    }

    [Fact]
    public void Analytic_gradient_matches_finite_differences()
    {
        var rows = GammaGammaRows.Compress(CdnowRepeaters(), 1);
        double[] at = [3.0, 2.0, 20.0];
        var gradient = new double[3];
        rows.Evaluate(at[0], at[1], at[2], gradient);
        for (var i = 0; i < 3; i++)
        {
            var (up, down) = ((double[])at.Clone(), (double[])at.Clone());
            var h = 1e-6 * at[i];
            up[i] += h;
            down[i] -= h;
            var numeric = (rows.Evaluate(up[0], up[1], up[2], null) - rows.Evaluate(down[0], down[1], down[2], null)) / (2 * h);
            Assert.True(Math.Abs(numeric - gradient[i]) <= 1e-5 * Math.Max(1, Math.Abs(numeric)), $"∂LL/∂θ{i}: analytic {gradient[i]}, numeric {numeric}");
        }
    }

    [Fact]
    public void Fit_on_the_cdnow_repeaters_reproduces_the_published_estimates()
    {
        var data = CdnowRepeaters();
        Assert.Equal(946, data.Count);

        var fit = GammaGamma.Fit(data);

        Assert.True(fit.Converged);
        // Fader & Hardie (2013, note 025): p = 6.25, q = 3.74, γ = 15.44; `lifetimes` prints p 6.25, q 3.74, v 15.45.
        // The maximum is at γ ≈ 15.448, between the two roundings, so γ is held to ±0.01 and p, q to their 2 decimals.
        Assert.Equal(6.25, Math.Round(fit.Parameters.P, 2));
        Assert.Equal(3.74, Math.Round(fit.Parameters.Q, 2));
        Assert.Equal(15.44, fit.Parameters.Gamma, 0.01);
        // The `lifetimes` Quickstart's conditional expected average profit (eq. (5)) for customers 1, 2 and 6, and the
        // population mean it gives customers without repeat purchases.
        Assert.Equal(24.658619, GammaGamma.ConditionalExpectedAverageValue(fit.Parameters, new SpendStats(2, 22.35)), 1e-4);
        Assert.Equal(18.911489, GammaGamma.ConditionalExpectedAverageValue(fit.Parameters, new SpendStats(1, 11.77)), 1e-4);
        Assert.Equal(71.462843, GammaGamma.ConditionalExpectedAverageValue(fit.Parameters, new SpendStats(7, 73.74)), 1e-4);
        Assert.Equal(35.170981, GammaGamma.PopulationMeanValue(fit.Parameters), 1e-4);
        Assert.Equal(35.170981, GammaGamma.ConditionalExpectedAverageValue(fit.Parameters, new SpendStats(0, 0)), 1e-4);
    }

    [Fact]
    public void Fit_does_not_depend_on_the_money_unit()
    {
        var data = CdnowRepeaters();
        var cents = data.Select(s => new SpendStats(s.X, s.MeanValue * 100)).ToList();
        var (a, b) = (GammaGamma.Fit(data), GammaGamma.Fit(cents));
        Assert.Equal(a.Parameters.P, b.Parameters.P, 1e-4);
        Assert.Equal(a.Parameters.Q, b.Parameters.Q, 1e-4);
        Assert.Equal(a.Parameters.Gamma * 100, b.Parameters.Gamma, 0.1);
        // ln f shifts by −ln 100 per customer when values are in cents.
        Assert.Equal(a.LogLikelihood - data.Count * Math.Log(100), b.LogLikelihood, 3);
    }

    [Fact]
    public void Conditional_expectation_weights_the_population_mean_and_the_customer_mean()
    {
        var p = new GammaGammaParameters(6, 4, 15);
        var population = 6.0 * 15 / (4 - 1); // 30
        Assert.Equal(population, GammaGamma.PopulationMeanValue(p), 12);
        // x = 3, m = 50: weight on m is px/(px+q−1) = 18/21.
        Assert.Equal(3.0 / 21 * population + 18.0 / 21 * 50, GammaGamma.ConditionalExpectedAverageValue(p, new SpendStats(3, 50)), 12);
        Assert.Equal(double.PositiveInfinity, GammaGamma.PopulationMeanValue(new GammaGammaParameters(6, 0.9, 15)));
    }

    [Fact]
    public void Fit_recovers_the_parameters_data_were_simulated_with()
    {
        var truth = new GammaGammaParameters(6, 4, 15);
        var rng = new Random(2013);
        var nus = new Gamma(truth.Q, truth.Gamma, rng);
        var data = new List<SpendStats>(20_000);
        for (var c = 0; c < 20_000; c++)
        {
            // Each customer: ν from the population, then 1–10 transactions each worth Gamma(p, ν).
            var nu = nus.Sample();
            var x = 1 + rng.Next(10);
            var total = 0.0;
            for (var i = 0; i < x; i++) total += Gamma.Sample(rng, truth.P, nu);
            data.Add(new SpendStats(x, total / x));
        }

        var fit = GammaGamma.Fit(data);

        Assert.True(fit.Converged);
        Assert.True(fit.LogLikelihood >= GammaGamma.LogLikelihood(truth, data));
        // Within 4 standard errors on log scale: SE 0.057 (p), 0.013 (q), 0.068 (γ) here, i.e. p ±23%, q ±5%, γ ±27%.
        // p and γ trade off strongly (their product sets the mean), so the well-determined population mean pγ/(q−1)
        // is also held to 2%.
        var e = fit.Parameters;
        double[] estimate = [Math.Log(e.P), Math.Log(e.Q), Math.Log(e.Gamma)];
        var se = LogParameterStandardErrors(
            v => GammaGamma.LogLikelihood(new GammaGammaParameters(Math.Exp(v[0]), Math.Exp(v[1]), Math.Exp(v[2])), data), estimate);
        double[] truthLog = [Math.Log(truth.P), Math.Log(truth.Q), Math.Log(truth.Gamma)];
        for (var i = 0; i < 3; i++)
        {
            Assert.True(se[i] < 0.1, $"standard error of log θ{i} is {se[i]}: too weak a test");
            Assert.True(Math.Abs(estimate[i] - truthLog[i]) <= 4 * se[i], $"θ{i}: estimate {Math.Exp(estimate[i])}, truth {Math.Exp(truthLog[i])}, SE(log) {se[i]}");
        }
        Assert.Equal(1, GammaGamma.PopulationMeanValue(e) / GammaGamma.PopulationMeanValue(truth), 0.02);
    }

    [Fact]
    public void Data_that_do_not_determine_the_parameters_give_an_unconverged_fit()
    {
        // Identical customers show no spread between customers: q and γ run off to ∞.
        var fit = GammaGamma.Fit(Enumerable.Repeat(new SpendStats(2, 10), 30).ToList());
        Assert.False(fit.Converged);
        Assert.All([fit.Parameters.P, fit.Parameters.Q, fit.Parameters.Gamma], v => Assert.True(double.IsFinite(v) && v > 0));
    }

    [Fact]
    public void Invalid_input_is_rejected()
    {
        Assert.Throws<ArgumentException>(() => GammaGamma.Fit([]));
        Assert.Throws<ArgumentException>(() => GammaGamma.Fit([new SpendStats(0, 10)]));
        Assert.Throws<ArgumentException>(() => GammaGamma.Fit([new SpendStats(2, 0)]));
        Assert.Throws<ArgumentException>(() => GammaGamma.Fit([new SpendStats(2, -5)]));
        Assert.Throws<ArgumentException>(() => GammaGamma.ConditionalExpectedAverageValue(new GammaGammaParameters(1, 2, 3), new SpendStats(-1, 5)));
    }
}
