using MathNet.Numerics;

namespace Kolo.Core.Analytics.Models;

// The Gamma-Gamma model of spend per transaction: Fader & Hardie (2013), "The Gamma-Gamma Model of Monetary Value"
// (brucehardie.com note 025), after Fader, Hardie & Lee (2005), "RFM and CLV: Using Iso-Value Curves for Customer Base
// Analysis", JMR 42(4). Transaction values z ~ Gamma(p, ν), ν ~ Gamma(q, γ) across customers; the likelihood is the
// note's marginal distribution of the mean value m_x of x transactions, f(m_x | p, q, γ; x), and the conditional
// expectation its eq. (5).

/// <summary>One customer's spend: <see cref="X"/> >= 1 transactions and their mean value (> 0).</summary>
public readonly record struct SpendStats(int X, double MeanValue);

/// <summary>Gamma-Gamma parameters: p (shape of each transaction's value), q and γ (shape and rate of ν across customers).</summary>
public sealed record GammaGammaParameters(double P, double Q, double Gamma);

public sealed record GammaGammaFit(GammaGammaParameters Parameters, double LogLikelihood, int Customers, bool Converged, int Iterations);

/// <summary>The Gamma-Gamma spend model (Fader &amp; Hardie 2013): fit by maximum likelihood and expected mean value.</summary>
public static class GammaGamma
{
    /// <summary>Maximum-likelihood fit of p, q, γ to the customers' (x, m_x); <see cref="GammaGammaFit.Converged"/> is
    /// false when the data do not determine them (e.g. every customer spends alike).</summary>
    public static GammaGammaFit Fit(IReadOnlyList<SpendStats> data, CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(data);
        if (data.Count == 0) throw new ArgumentException("At least one customer is needed to fit the Gamma-Gamma model.", nameof(data));
        var sum = 0.0;
        foreach (var s in data) { Validate(s); sum += s.MeanValue; }
        // Values are rescaled to mean 1 so the start (1, 1, 1) suits any currency; only γ depends on the money unit
        // (γ = γ_scaled · mean), the log-likelihood shifts by a constant, so the maximum is the same.
        var mean = sum / data.Count;
        var rows = GammaGammaRows.Compress(data, 1 / mean);
        var fit = MaximumLikelihood.Maximise((theta, gradient) =>
        {
            var ll = rows.Evaluate(Math.Exp(theta[0]), Math.Exp(theta[1]), Math.Exp(theta[2]), gradient);
            for (var i = 0; i < 3; i++) gradient[i] *= -Math.Exp(theta[i]) / rows.TotalWeight;
            return -ll / rows.TotalWeight;
        }, [0, 0, 0], ct);
        var p = fit.LogParameters;
        var parameters = new GammaGammaParameters(Math.Exp(p[0]), Math.Exp(p[1]), Math.Exp(p[2]) * mean);
        return new GammaGammaFit(parameters, LogLikelihood(parameters, data), data.Count, fit.Converged, fit.Iterations);
    }

    /// <summary>Σ ln f(m_x | p, q, γ; x), with f(m_x) = Γ(px+q)/(Γ(px)Γ(q)) · γ^q · m_x^{px−1} · x^{px} / (γ + x·m_x)^{px+q}.</summary>
    public static double LogLikelihood(GammaGammaParameters p, IReadOnlyList<SpendStats> data)
    {
        ArgumentNullException.ThrowIfNull(p);
        ArgumentNullException.ThrowIfNull(data);
        foreach (var s in data) Validate(s);
        return GammaGammaRows.Compress(data, 1).Evaluate(p.P, p.Q, p.Gamma, null);
    }

    /// <summary>E[M | p, q, γ, m_x, x] = p(γ + x·m_x)/(px + q − 1) (note 025 eq. (5)): a weighted mean of the population
    /// mean pγ/(q−1) and the customer's own m_x, with weight px/(px+q−1) on m_x. For x = 0 it is the population mean.</summary>
    public static double ConditionalExpectedAverageValue(GammaGammaParameters p, SpendStats s)
    {
        ArgumentNullException.ThrowIfNull(p);
        if (s.X < 0 || !double.IsFinite(s.MeanValue) || (s.X > 0 && s.MeanValue <= 0))
            throw new ArgumentException($"Invalid spend statistics {s}: need x >= 0 and a positive mean value when x > 0.");
        var px = p.P * s.X;
        return p.P * (p.Gamma + s.X * (s.X > 0 ? s.MeanValue : 0)) / (px + p.Q - 1);
    }

    /// <summary>E[Z] = pγ/(q−1), the mean transaction value across customers; +∞ when q <= 1 (the mean does not exist).</summary>
    public static double PopulationMeanValue(GammaGammaParameters p)
    {
        ArgumentNullException.ThrowIfNull(p);
        return p.Q > 1 ? p.P * p.Gamma / (p.Q - 1) : double.PositiveInfinity;
    }

    private static void Validate(SpendStats s)
    {
        if (s.X < 1 || !double.IsFinite(s.MeanValue) || s.MeanValue <= 0)
            throw new ArgumentException($"Invalid spend statistics {s}: the Gamma-Gamma model needs x >= 1 transactions with a positive mean value.");
    }
}

/// <summary>Customers compressed to distinct (x, m_x) rows; the log-likelihood and gradient in one loop, log-gamma and
/// digamma terms once per distinct x.</summary>
internal sealed class GammaGammaRows
{
    private readonly int[] _xIndex;
    private readonly double[] _x, _m, _logM, _logX, _w;
    private readonly int[] _distinctX;
    public double TotalWeight { get; }

    private GammaGammaRows(int[] xIndex, double[] x, double[] m, double[] w, int[] distinctX)
    {
        (_xIndex, _x, _m, _w, _distinctX) = (xIndex, x, m, w, distinctX);
        _logM = Array.ConvertAll(m, v => Math.Log(v));
        _logX = Array.ConvertAll(x, v => Math.Log(v));
        TotalWeight = w.Sum();
    }

    public static GammaGammaRows Compress(IReadOnlyList<SpendStats> data, double scale)
    {
        var counts = new Dictionary<SpendStats, int>();
        foreach (var s in data) counts[s] = counts.GetValueOrDefault(s) + 1;
        var distinct = counts.Keys.Select(k => k.X).Distinct().Order().ToArray();
        var position = new Dictionary<int, int>();
        for (var i = 0; i < distinct.Length; i++) position[distinct[i]] = i;
        var keys = counts.Keys.OrderBy(k => k.X).ToArray();
        var n = keys.Length;
        var (xIndex, x, m, w) = (new int[n], new double[n], new double[n], new double[n]);
        for (var i = 0; i < n; i++) (xIndex[i], x[i], m[i], w[i]) = (position[keys[i].X], keys[i].X, keys[i].MeanValue * scale, counts[keys[i]]);
        return new GammaGammaRows(xIndex, x, m, w, distinct);
    }

    /// <summary>Σ w·ln f; when <paramref name="gradient"/> is given, fills it with Σ w·∂ln f/∂(p, q, γ).</summary>
    public double Evaluate(double p, double q, double gamma, double[]? gradient)
    {
        var k = _distinctX.Length;
        var logGammas = new double[k];
        var psiPxq = new double[k];
        var psiPx = new double[k];
        var withGradient = gradient is not null;
        var lnGammaQ = SpecialFunctions.GammaLn(q);
        for (var j = 0; j < k; j++)
        {
            var px = p * _distinctX[j];
            logGammas[j] = SpecialFunctions.GammaLn(px + q) - SpecialFunctions.GammaLn(px) - lnGammaQ;
            if (!withGradient) continue;
            psiPxq[j] = SpecialFunctions.DiGamma(px + q);
            psiPx[j] = SpecialFunctions.DiGamma(px);
        }
        var logGamma = Math.Log(gamma);
        var psiQ = withGradient ? SpecialFunctions.DiGamma(q) : 0;
        double ll = 0, gp = 0, gq = 0, gg = 0;
        for (var i = 0; i < _x.Length; i++)
        {
            var j = _xIndex[i];
            var x = _x[i];
            var px = p * x;
            var denominator = gamma + x * _m[i];
            var logDen = Math.Log(denominator);
            var w = _w[i];
            ll += w * (logGammas[j] + q * logGamma + (px - 1) * _logM[i] + px * _logX[i] - (px + q) * logDen);
            if (!withGradient) continue;
            gp += w * x * (psiPxq[j] - psiPx[j] + _logM[i] + _logX[i] - logDen);
            gq += w * (psiPxq[j] - psiQ + logGamma - logDen);
            gg += w * (q / gamma - (px + q) / denominator);
        }
        if (gradient is not null) (gradient[0], gradient[1], gradient[2]) = (gp, gq, gg);
        return ll;
    }
}
