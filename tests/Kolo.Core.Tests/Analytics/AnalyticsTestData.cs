using System.Globalization;
using Kolo.Core.Analytics.Models;
using MathNet.Numerics.Distributions;
using MathNet.Numerics.LinearAlgebra;

namespace Kolo.Core.Tests.Analytics;

/// <summary>The public datasets under ../shared/datasets and small numerical helpers shared by the model tests.</summary>
internal static class AnalyticsTestData
{
    private static readonly CultureInfo Inv = CultureInfo.InvariantCulture;

    /// <summary>The repository's ../shared/datasets/<paramref name="relative"/>: the root is the folder holding Kolo.slnx.</summary>
    public static string Dataset(string relative)
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "Kolo.slnx"))) dir = dir.Parent;
        if (dir is null) throw new InvalidOperationException($"Kolo.slnx not found above {AppContext.BaseDirectory}: cannot locate ../shared/datasets.");
        var path = Path.GetFullPath(Path.Combine(dir.FullName, "..", "shared", "datasets", relative));
        if (!File.Exists(path))
            throw new InvalidOperationException($"The public dataset {relative} is missing: expected it at {path} (../shared/datasets next to the repository).");
        return path;
    }

    /// <summary>cdnow/cdnow_customers_summary.csv (ID,frequency,recency,T in weeks): the FHL 2005 calibration sample.</summary>
    public static List<RepeatStats> CdnowSummary() =>
        File.ReadLines(Dataset("cdnow/cdnow_customers_summary.csv")).Skip(1).Where(l => l.Length > 0)
            .Select(l => l.Split(','))
            .Select(p => new RepeatStats(double.Parse(p[1], Inv), double.Parse(p[2], Inv), double.Parse(p[3], Inv))).ToList();

    /// <summary>cdnow/cdnow_customers_summary_with_transactions.csv (ID,x,t_x,T,zbar): all 2,357 rows.</summary>
    public static List<(int Id, RepeatStats Stats, double Zbar)> CdnowWithValues() =>
        File.ReadLines(Dataset("cdnow/cdnow_customers_summary_with_transactions.csv")).Skip(1).Where(l => l.Trim().Length > 0)
            .Select(l => l.Trim().Split(','))
            .Select(p => (int.Parse(p[0], Inv), new RepeatStats(double.Parse(p[1], Inv), double.Parse(p[2], Inv), double.Parse(p[3], Inv)), double.Parse(p[4], Inv)))
            .ToList();

    /// <summary>groceries/groceries.csv: one basket per line, items separated by commas, labels kept exactly.</summary>
    public static List<string[]> Groceries() =>
        File.ReadLines(Dataset("groceries/groceries.csv")).Where(l => l.Length > 0).Select(l => l.Split(',')).ToList();

    /// <summary>Standard errors of log-parameters from the observed information (negative inverse Hessian of the
    /// log-likelihood, by central differences) at the estimate.</summary>
    public static double[] LogParameterStandardErrors(Func<double[], double> logLikelihood, double[] logEstimate)
    {
        var n = logEstimate.Length;
        const double h = 1e-3;
        var hessian = Matrix<double>.Build.Dense(n, n);
        double At(int i, double di, int j, double dj)
        {
            var p = (double[])logEstimate.Clone();
            p[i] += di;
            p[j] += dj;
            return logLikelihood(p);
        }
        for (var i = 0; i < n; i++)
            for (var j = i; j < n; j++)
            {
                var v = (At(i, h, j, h) - At(i, h, j, -h) - At(i, -h, j, h) + At(i, -h, j, -h)) / (4 * h * h);
                hessian[i, j] = hessian[j, i] = v;
            }
        var covariance = (-hessian).Inverse();
        return Enumerable.Range(0, n).Select(i => Math.Sqrt(covariance[i, i])).ToArray();
    }

    /// <summary>Customers simulated from the BG/NBD story (FHL 2005 section 2): λ ~ Gamma(r, α), p ~ Beta(a, b); purchases
    /// are a Poisson(λ) process, and after each repeat purchase the customer drops out with probability p.</summary>
    public static List<RepeatStats> SimulateBgNbd(BgNbdParameters p, int customers, Func<Random, double> observationLength, int seed)
    {
        var rng = new Random(seed);
        var rates = new Gamma(p.R, p.Alpha, rng);
        var dropouts = new Beta(p.A, p.B, rng);
        return Simulate(rng, rates.Sample, dropouts.Sample, customers, observationLength);
    }

    /// <summary>The same story without heterogeneity in drop-out: every customer drops out with probability
    /// <paramref name="dropout"/> after each repeat purchase (the limit of the BG/NBD as a, b → ∞ with a/(a+b) fixed).</summary>
    public static List<RepeatStats> SimulateFixedDropout(double r, double alpha, double dropout, int customers, Func<Random, double> observationLength, int seed)
    {
        var rng = new Random(seed);
        var rates = new Gamma(r, alpha, rng);
        return Simulate(rng, rates.Sample, () => dropout, customers, observationLength);
    }

    private static List<RepeatStats> Simulate(Random rng, Func<double> rate, Func<double> dropoutProbability, int customers, Func<Random, double> observationLength)
    {
        var result = new List<RepeatStats>(customers);
        for (var c = 0; c < customers; c++)
        {
            var lambda = rate();
            var dropout = dropoutProbability();
            var T = observationLength(rng);
            double t = 0, tx = 0;
            var x = 0;
            while (true)
            {
                t += Exponential.Sample(rng, lambda);
                if (t > T) break;
                x++;
                tx = t;
                if (rng.NextDouble() < dropout) break;
            }
            result.Add(new RepeatStats(x, tx, T));
        }
        return result;
    }
}
