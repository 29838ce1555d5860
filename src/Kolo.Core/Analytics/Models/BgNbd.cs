using MathNet.Numerics;

namespace Kolo.Core.Analytics.Models;

// The BG/NBD model of repeat buying: Fader, Hardie & Lee (2005), "'Counting Your Customers' the Easy Way: An Alternative
// to the Pareto/NBD Model", Marketing Science 24(2), 275–284 — individual likelihood eq. (6), E[X(t)] eq. (9),
// conditional expectation eq. (10); the likelihood is evaluated in the overflow-free form (4) of Fader & Hardie (2013),
// "Overcoming the BG/NBD Model's #NUM! Error Problem" (brucehardie.com note 027); P(alive) from Fader, Hardie & Lee
// (2008), "Computing P(alive) Using the BG/NBD Model" (note 021).

/// <summary>One customer's repeat-purchase statistics: <see cref="X"/> repeat purchases (purchases after the first),
/// the time <see cref="Tx"/> of the last one and the time <see cref="T"/> since the first purchase, both measured from
/// the first purchase in one time unit (days or weeks); t_x = 0 when x = 0.</summary>
public readonly record struct RepeatStats(double X, double Tx, double T);

/// <summary>BG/NBD parameters: purchase rates λ ~ Gamma(shape r, rate α); dropout probabilities p ~ Beta(a, b).
/// α is in the time unit of the data it was fitted on.</summary>
public sealed record BgNbdParameters(double R, double Alpha, double A, double B);

/// <summary>A BG/NBD fit. <see cref="Converged"/>: the optimiser reached a maximum with every parameter determined by the
/// data — use the fit for predictions only then. <see cref="Degenerate"/>: the data show no spread in drop-out
/// probabilities, the likelihood kept rising as the Beta distribution narrowed to a point, and a + b was held at
/// <see cref="BgNbd.MaxBetaConcentration"/>; a/(a+b) is then the common drop-out probability, and the fit (which can
/// still have converged) predicts as the model with a fixed one.</summary>
public sealed record BgNbdFit(BgNbdParameters Parameters, double LogLikelihood, int Customers, bool Converged, int Iterations, bool Degenerate);

/// <summary>The BG/NBD model (Fader, Hardie &amp; Lee 2005): fit by maximum likelihood, P(alive) and expected purchases.</summary>
public static class BgNbd
{
    /// <summary>The largest a + b a fit reports. Beta(a, b) with a + b = 1e6 has a standard deviation of at most 0.0005:
    /// it is indistinguishable from a point mass at a/(a+b) in any data set, so when the likelihood keeps rising beyond
    /// it (it flattens out towards the fixed-drop-out model) the maximum is taken at a + b = 1e6.</summary>
    public const double MaxBetaConcentration = 1e6;

    /// <summary>
    /// Maximum-likelihood fit of r, α, a, b to the customers' (x, t_x, T). <see cref="BgNbdFit.Converged"/> is false
    /// when the data do not determine the parameters (e.g. a handful of customers, or all alike): do not use such a fit
    /// for predictions. The likelihood is maximised over ln r, ln α, logit(a/(a+b)) and ln(a+b), in which the one
    /// direction that is commonly flat — a + b → ∞ at a fixed mean drop-out probability, when the data show no
    /// heterogeneity in drop-out — is a single coordinate: if the maximum lies beyond
    /// <see cref="MaxBetaConcentration"/>, a + b is held there and the other three are fitted again
    /// (<see cref="BgNbdFit.Degenerate"/>).
    /// </summary>
    public static BgNbdFit Fit(IReadOnlyList<RepeatStats> data, CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(data);
        if (data.Count == 0) throw new ArgumentException("At least one customer is needed to fit the BG/NBD model.", nameof(data));
        var maxT = 0.0;
        foreach (var s in data) { Validate(s); maxT = Math.Max(maxT, s.T); }
        // With every T = 0 (all first purchases on the calibration date) the likelihood is flat: nothing to estimate.
        if (maxT == 0) return new BgNbdFit(new BgNbdParameters(1, 1, 1, 1), 0, data.Count, false, 0, false);
        // Times are rescaled so the longest T is 10 (as the `lifetimes` library does): α then starts near 1 whether
        // the unit is days or weeks. Only α depends on the unit (α_unit = α_scaled / scale), so the maximum is the same.
        var scale = 10 / maxT;
        var rows = BgNbdRows.Compress(data, scale);
        var full = new double[4];
        // −mean ln L at θ = (ln r, ln α, logit(a/(a+b)) [, ln(a+b)]) and its gradient by the chain rule; with three
        // coordinates ln(a+b) is held at ln MaxBetaConcentration.
        double Objective(double[] theta, double[] gradient)
        {
            var logSize = theta.Length > 3 ? theta[3] : Math.Log(MaxBetaConcentration);
            var (r, alpha, (a, b)) = (Math.Exp(theta[0]), Math.Exp(theta[1]), BetaShapes(theta[2], logSize));
            var ll = rows.Evaluate(r, alpha, a, b, full);
            var w = rows.TotalWeight;
            gradient[0] = -r * full[0] / w;
            gradient[1] = -alpha * full[1] / w;
            gradient[2] = -a * b / (a + b) * (full[2] - full[3]) / w; // ∂a/∂logit = ab/(a+b) = −∂b/∂logit
            if (theta.Length > 3) gradient[3] = -(a * full[2] + b * full[3]) / w;
            return -ll / w;
        }
        var fit = MaximumLikelihood.Maximise(Objective, [0, 0, 0, Math.Log(2)], ct); // r = α = a = b = 1
        var theta = fit.LogParameters;
        var (converged, iterations, degenerate) = (fit.Converged, fit.Iterations, false);
        if (theta[3] > Math.Log(MaxBetaConcentration))
        {
            var capped = MaximumLikelihood.Maximise(Objective, theta[..3], ct);
            theta = [.. capped.LogParameters, Math.Log(MaxBetaConcentration)];
            (converged, iterations, degenerate) = (capped.Converged, iterations + capped.Iterations, true);
        }
        var (shapeA, shapeB) = BetaShapes(theta[2], theta[3]);
        var parameters = new BgNbdParameters(Math.Exp(theta[0]), Math.Exp(theta[1]) / scale, shapeA, shapeB);
        // On the original time scale: rescaling times by s changes each ln L by −x·ln s and nothing else.
        var logLikelihood = rows.Evaluate(parameters.R, Math.Exp(theta[1]), parameters.A, parameters.B, null) + Math.Log(scale) * rows.WeightedX;
        return new BgNbdFit(parameters, logLikelihood, data.Count, converged, iterations, degenerate);
    }

    /// <summary>a and b from logit(a/(a+b)) and ln(a+b), each without cancellation.</summary>
    private static (double A, double B) BetaShapes(double logitMean, double logSize)
    {
        var size = Math.Exp(logSize);
        return (size / (1 + Math.Exp(-logitMean)), size / (1 + Math.Exp(logitMean)));
    }

    /// <summary>The sample log-likelihood: the sum of <see cref="IndividualLogLikelihood"/> over the customers.</summary>
    public static double LogLikelihood(BgNbdParameters p, IReadOnlyList<RepeatStats> data)
    {
        ArgumentNullException.ThrowIfNull(p);
        ArgumentNullException.ThrowIfNull(data);
        foreach (var s in data) Validate(s);
        return BgNbdRows.Compress(data, 1).Evaluate(p.R, p.Alpha, p.A, p.B, null);
    }

    /// <summary>ln L(r, α, a, b | x, t_x, T): FHL 2005 eq. (6), written as Fader &amp; Hardie 2013 (note 027) eq. (4).</summary>
    public static double IndividualLogLikelihood(BgNbdParameters p, RepeatStats s)
    {
        ArgumentNullException.ThrowIfNull(p);
        Validate(s);
        var (r, alpha, a, b, x) = (p.R, p.Alpha, p.A, p.B, s.X);
        var d1 = LogRising(r, x) + LogRising(b, x) - LogRising(a + b, x);
        var d2 = r * Math.Log(alpha) - (r + x) * Math.Log(alpha + s.Tx);
        // ln(C3 + C4) in logs: C3 = ((α+t_x)/(α+T))^{r+x} underflows after a long silence, and with x = 0 (C4 = 0)
        // that made ln L = −∞ where it is r·ln(α/(α+T)).
        var logC3 = (r + x) * (Math.Log(alpha + s.Tx) - Math.Log(alpha + s.T));
        if (x == 0) return d1 + d2 + logC3;
        var logC4 = Math.Log(a) - Math.Log(b + x - 1);
        var (high, low) = logC3 > logC4 ? (logC3, logC4) : (logC4, logC3);
        return d1 + d2 + high + Log1P(Math.Exp(low - high));
    }

    /// <summary>P(alive | x, t_x, T) = 1 / (1 + δ_{x>0} · a/(b+x−1) · ((α+T)/(α+t_x))^{r+x}) (note 021).</summary>
    public static double ProbabilityAlive(BgNbdParameters p, RepeatStats s)
    {
        ArgumentNullException.ThrowIfNull(p);
        Validate(s);
        if (s.X <= 0) return 1;
        // The odds of having dropped out, in logs so large x or long silences cannot overflow.
        var logOdds = Math.Log(p.A) - Math.Log(p.B + s.X - 1) + (p.R + s.X) * (Math.Log(p.Alpha + s.T) - Math.Log(p.Alpha + s.Tx));
        return logOdds > 0 ? Math.Exp(-logOdds) / (1 + Math.Exp(-logOdds)) : 1 / (1 + Math.Exp(logOdds));
    }

    /// <summary>E[X(t)]: expected repeat purchases in (0, t] of a customer who has just made the first purchase, eq. (9).</summary>
    public static double ExpectedPurchases(BgNbdParameters p, double t)
    {
        ArgumentNullException.ThrowIfNull(p);
        if (!(t >= 0) || double.IsPositiveInfinity(t)) throw new ArgumentOutOfRangeException(nameof(t), t, "t must be a finite time >= 0.");
        // Eq. (9) is eq. (10)'s numerator with x = 0, T = 0 (the denominator is then 1).
        return ExpectationTerm(p, 0, 0, t);
    }

    /// <summary>E[Y(t) | x, t_x, T]: expected repeat purchases in (T, T+t] of a customer with that history, eq. (10).</summary>
    public static double ConditionalExpectedPurchases(BgNbdParameters p, RepeatStats s, double t)
    {
        ArgumentNullException.ThrowIfNull(p);
        Validate(s);
        if (!(t >= 0) || double.IsPositiveInfinity(t)) throw new ArgumentOutOfRangeException(nameof(t), t, "t must be a finite time >= 0.");
        // Eq. (10) = [(a+b+x−1)/(a−1)]·[1 − ((α+T)/(α+T+t))^{r+x} ₂F₁(r+x, b+x; a+b+x−1; t/(α+T+t))] / [1 + δ…],
        // and its denominator is exactly 1/P(alive).
        return ExpectationTerm(p, s.X, s.T, t) * ProbabilityAlive(p, s);
    }

    /// <summary>
    /// The numerator of eq. (10), E[Y(t) | alive at T] = (C/(a−1))·[1 − (1−z)^{r+x} ₂F₁(r+x, b+x; C; z)], C = a+b+x−1,
    /// z = t/(α+T+t): by a hypergeometric series where it is fast and its rounding error is provably small — Euler's
    /// transformation of it for moderate a (<see cref="ExpectationBySeries"/>), the series as printed for large a + b
    /// (<see cref="ExpectationByGaussSeries"/>) — and otherwise by quadrature of the same quantity written as an
    /// integral over the drop-out probability (<see cref="ExpectationByQuadrature"/>), which has no such limits.
    /// </summary>
    private static double ExpectationTerm(BgNbdParameters p, double x, double T, double t)
    {
        if (t == 0) return 0;
        var value = ExpectationBySeries(p, x, T, t);
        if (double.IsNaN(value)) value = ExpectationByGaussSeries(p, x, T, t);
        if (double.IsNaN(value)) value = ExpectationByQuadrature(p, x, T, t);
        if (!double.IsFinite(value)) throw new ArithmeticException($"E[X(t)] is not finite for r={p.R}, α={p.Alpha}, a={p.A}, b={p.B}, x={x}, T={T}, t={t}.");
        return value;
    }

    /// <summary>
    /// Euler's transformation ₂F₁(A,B;C;z) = (1−z)^{C−A−B} ₂F₁(C−A, C−B; C; z) turns the numerator of eq. (10) into
    /// (C/(a−1))·[1 − (1−z)^{a−1} ₂F₁(a+b−1−r, a−1; C; z)]; every series term after the first carries (a−1), so
    /// with ₂F₁ = 1 + (a−1)·G it is C·[−expm1((a−1)·ln(1−z))/(a−1) − (1−z)^{a−1}·G], which is exact at a = 1 and
    /// whose series decays like n^{a−r−x−2} zⁿ instead of n^{r+x−a} zⁿ (fast for large x and z near 1).
    /// Returns NaN when the series would need more than <see cref="MaxSeriesTerms"/> terms, overflows, or when a
    /// bound on its rounding error exceeds <see cref="SeriesTolerance"/> relative: with large a the terms grow like
    /// ((a−1)z)ⁿ/n! before they decay and the two parts of the difference nearly cancel.
    /// </summary>
    internal static double ExpectationBySeries(BgNbdParameters p, double x, double age, double t)
    {
        var (r, alpha, a, b) = (p.R, p.Alpha, p.A, p.B);
        var c = a + b + x - 1;
        var logOneMinusZ = -Log1P(t / (alpha + age)); // ln(1−z) = −ln(1 + t/(α+T)), accurate for small t too
        var z = t / (alpha + age + t);
        var (g, weightedAbs) = SeriesG(a + b - 1 - r, a, c, z);
        if (double.IsNaN(g)) return double.NaN;
        var am1 = a - 1;
        var exponent = am1 * logOneMinusZ;
        var first = am1 == 0 ? -logOneMinusZ : -ExpM1(exponent) / am1;
        // (1−z)^{a−1}·G in logs: (1−z)^{a−1} may underflow while G is still large.
        var second = g == 0 ? 0 : Math.Sign(g) * Math.Exp(exponent + Math.Log(Math.Abs(g)));
        var value = c * (first - second);
        // A bound on the rounding error: exp and expm1 of a rounded exponent (relative error ~ ε·(4 + |exponent|)), and
        // each series term computed by n multiplications (relative error <= ~4nε), weightedAbs = Σ (n+1)·|term_n|.
        var eps = Math.BitIncrement(1.0) - 1;
        var error = Math.Abs(c) * ((4 + Math.Abs(exponent)) * eps * (Math.Abs(first) + Math.Abs(second))
                                   + 4 * eps * Math.Exp(exponent + Math.Log(weightedAbs)));
        return value > 0 && double.IsFinite(value) && error <= SeriesTolerance * value ? value : double.NaN;
    }

    /// <summary>G = Σ_{n≥1} (A)_n (a)_{n−1} zⁿ / ((C)_n n!), i.e. (₂F₁(A, a−1; C; z) − 1)/(a−1), summed to full double
    /// precision, and Σ (n+1)·|term_n|; NaN when it has not converged in <see cref="MaxSeriesTerms"/> terms or overflows.</summary>
    private static (double Sum, double WeightedAbs) SeriesG(double bigA, double a, double c, double z)
    {
        var term = bigA * z / c;
        var sum = term;
        var weightedAbs = Math.Abs(term);
        for (var n = 1; n < MaxSeriesTerms; n++)
        {
            var ratio = (bigA + n) * (a - 1 + n) * z / ((c + n) * (n + 1));
            term *= ratio;
            sum += term;
            weightedAbs += (n + 1) * Math.Abs(term);
            if (!double.IsFinite(weightedAbs)) return (double.NaN, double.NaN);
            // Once the ratio is below 1 (and tends to z), the tail is at most |term|·q/(1−q), q = max(ratio, z).
            var q = Math.Max(Math.Abs(ratio), z);
            if (q < 1 && Math.Abs(term) * q / (1 - q) <= 1e-17 * Math.Abs(sum)) return (sum, weightedAbs);
            if (term == 0) return (sum, weightedAbs);
        }
        return (double.NaN, double.NaN);
    }

    /// <summary>
    /// Eq. (10)'s numerator as printed, (C/(a−1))·[1 − (1−z)^{r+x}·₂F₁(r+x, b+x; C; z)], with the Gauss series of ₂F₁
    /// (positive terms when C > 0) and 1 − (1−z)^{r+x}·₂F₁ = −expm1((r+x)·ln(1−z)) − (1−z)^{r+x}·(₂F₁ − 1). Where the
    /// Euler form fails — a in the thousands or more — its terms shrink like ((r+x+n)/(n+1))·(b/(a+b))·z from the
    /// start, and the difference keeps about a/(a+b) of its size: a few dozen terms to full precision when the Beta
    /// distribution has all but collapsed to a point (a degenerate fit). NaN on the same conditions as the Euler form.
    /// </summary>
    internal static double ExpectationByGaussSeries(BgNbdParameters p, double x, double age, double t)
    {
        var (k, bx, c) = (p.R + x, p.B + x, p.A + p.B + x - 1);
        if (!(c > 0) || p.A == 1) return double.NaN;
        var logOneMinusZ = -Log1P(t / (p.Alpha + age));
        var z = t / (p.Alpha + age + t);
        double term = 1, sum = 0, weightedAbs = 0;
        for (var n = 0; ; n++)
        {
            if (n == MaxSeriesTerms) return double.NaN;
            var ratio = (k + n) * (bx + n) * z / ((c + n) * (n + 1));
            term *= ratio;
            sum += term;
            weightedAbs += (n + 1) * term;
            if (!double.IsFinite(weightedAbs)) return double.NaN;
            var q = Math.Max(ratio, z);
            if (q < 1 && term * q / (1 - q) <= 1e-17 * sum || term == 0) break;
        }
        var exponent = k * logOneMinusZ;
        var first = -ExpM1(exponent);
        var second = sum == 0 ? 0 : Math.Exp(exponent + Math.Log(sum));
        var factor = c / (p.A - 1);
        var value = factor * (first - second);
        // The same rounding bound as in ExpectationBySeries.
        var eps = Math.BitIncrement(1.0) - 1;
        var error = Math.Abs(factor) * ((4 + Math.Abs(exponent)) * eps * (first + second) + 4 * eps * Math.Exp(exponent + Math.Log(weightedAbs)));
        return value > 0 && double.IsFinite(value) && error <= SeriesTolerance * value ? value : double.NaN;
    }

    // The series is for the common case; beyond this many terms the quadrature is as fast and always converges.
    private const int MaxSeriesTerms = 20_000;
    private const double SeriesTolerance = 1e-13;

    /// <summary>
    /// The numerator of eq. (10) from the model's definition: given it is alive at T, a customer's λ is Gamma(r+x, α+T)
    /// and p is Beta(a, b+x), independently, and E[Y(t) | λ, p] = (1 − e^{−λpt})/p (FHL 2005 eq. (7)); the mean over λ
    /// is h(p) = (1 − (1 + p·t/(α+T))^{−(r+x)})/p, smooth and bounded by (r+x)·t/(α+T), so the numerator is
    /// E[h(p)], p ~ Beta(a, b+x) (for a > 1 this is Euler's integral of the same ₂F₁; as an expectation it holds for
    /// every a > 0). It is integrated over d = logit p − ln(a/(b+x))
    /// (the Beta density becomes log-concave with its mode at d = 0 and width ~ √(1/a + 1/(b+x)), whether it is spread
    /// over (0, 1) or all but a point) between the points where the density has fallen by e^{−60}, by adaptive
    /// Gauss–Kronrod quadrature, and divided by the integral of the density on the same range so no Beta function is
    /// needed. As a, b → ∞ with a/(a+b) → π it tends to h(π): the model with a fixed drop-out probability.
    /// </summary>
    internal static double ExpectationByQuadrature(BgNbdParameters p, double x, double age, double t)
    {
        var (a, bx, k, u) = (p.A, p.B + x, p.R + x, t / (p.Alpha + age));
        var total = a + bx;
        var (mean, rest) = (a / total, bx / total); // π = a/(a+b+x), the mean of p and, in d, the mode; and 1 − π
        // ln of the density of d relative to d = 0: a·d − (a+b+x)·ln(1 + π(eᵈ − 1)), written for π <= 1/2 (otherwise its
        // mirror image: a ↔ b+x, π ↔ 1−π, d ↔ −d). With y = π(eᵈ − 1) it equals −a·(eᵈ − 1 − d) − (a+b+x)·(ln(1+y) − y),
        // whose two terms (of opposite signs) differ by at least a factor of 2 while y <= 1, whereas a·d and
        // (a+b+x)·ln(1+y) nearly cancel there (both ~ a·|d| against a result ~ a·d²: rounding noise above the
        // quadrature's tolerance once a or b+x is large). Beyond y = 1 it is −(b+x)·d − (a+b+x)·ln(π + (1−π)e^{−d}),
        // which cannot overflow however long the tail (b+x small).
        var (shape, otherShape, share, otherShare) = mean <= 0.5 ? (a, bx, mean, rest) : (bx, a, rest, mean);
        double LogDensity(double d)
        {
            var e = mean <= 0.5 ? d : -d;
            var y = share * ExpM1(e);
            var value = e <= 0 || y <= 1
                ? -shape * ExpM1MinusX(e) - total * Log1PMinusX(y)
                : -otherShape * e - total * (Math.Log(share) + Log1P(otherShare / share * Math.Exp(-e)));
            return double.IsNaN(value) ? double.NegativeInfinity : Math.Min(value, 0);
        }
        // p = π·eᵈ/(1 + π(eᵈ − 1)), a quotient without cancellation; once that is above 1/2 (or eᵈ overflows), p is
        // 1 − (1−π)e^{−d}/(1 + (1−π)(e^{−d} − 1)), whose small absolute error does not matter there.
        double Probability(double d)
        {
            if (d <= 0) return mean * Math.Exp(d) / (1 + mean * ExpM1(d));
            var q = rest * Math.Exp(-d) / (1 + rest * ExpM1(-d));
            return q >= 0.5 ? mean * Math.Exp(d) / (1 + mean * ExpM1(d)) : 1 - q;
        }
        double H(double q) => q * u < 1e-290 ? k * u : -ExpM1(-k * Log1P(q * u)) / q;
        const double Drop = 60;
        var width = Math.Sqrt(1 / a + 1 / bx);
        // Where the density has fallen to e^{−Drop} on each side: ln density is concave, so it is bracketed by doubling
        // or halving from the Gaussian guess and then bisected (panels beyond it would only hold underflowing values).
        double Edge(double sign)
        {
            var (inside, outside) = (0.0, sign * width * Math.Sqrt(2 * Drop));
            while (LogDensity(outside) > -Drop) (inside, outside) = (outside, outside * 2);
            while (inside == 0 && LogDensity(outside / 2) <= -Drop) outside /= 2;
            if (inside == 0) inside = outside / 2;
            for (var i = 0; i < 60 && Math.Abs(outside - inside) > 1e-9 * Math.Abs(outside); i++)
            {
                var middle = (inside + outside) / 2;
                if (LogDensity(middle) > -Drop) inside = middle; else outside = middle;
            }
            return outside;
        }
        var (lo, hi) = (Edge(-1), Edge(1));
        // Panels: each side of the mode, cut where h(p) bends (p ≈ 1/((r+x)u) and p ≈ 1/u) and, when a tail is long
        // (a or b+x small), at distances doubling from 16·min(width, 1). MathNet's adaptive quadrature trusts its first
        // estimate on a panel, and on one wide panel a narrow feature (the peak; h's bend far out in a long tail) can
        // fall between the nodes of both rules and go unseen. A concentrated density (the common fallback case) gets
        // just the two panels beside its peak.
        var breaks = new List<double> { lo, 0, hi };
        for (var step = 16 * Math.Min(width, 1); step < Math.Max(-lo, hi); step *= 2) breaks.AddRange([-step, step]);
        var logitMean = Math.Log(a) - Math.Log(bx);
        breaks.AddRange([-Math.Log(k * u) - logitMean, -Math.Log(u) - logitMean]);
        var panels = breaks.Where(d => d >= lo && d <= hi).Distinct().Order().ToArray();
        double weighted = 0, density = 0;
        for (var i = 1; i < panels.Length; i++)
        {
            weighted += Integrate.GaussKronrod(d => Math.Exp(LogDensity(d)) * H(Probability(d)), panels[i - 1], panels[i], QuadratureTolerance, QuadratureDepth, 21);
            density += Integrate.GaussKronrod(d => Math.Exp(LogDensity(d)), panels[i - 1], panels[i], QuadratureTolerance, QuadratureDepth, 21);
        }
        return weighted / density;
    }

    // MathNet splits an interval while its Gauss–Kronrod error estimate |K₂₁ − G₁₀| exceeds this fraction of its integral.
    // The estimate is far larger than K₂₁'s own error on these analytic integrands: at 1e-10 the result agrees with the
    // series to ~4e-14 over a wide random sweep, as at 1e-12 but 25% faster; a target near the rounding level would
    // split every interval down to the full depth.
    private const double QuadratureTolerance = 1e-10;
    private const int QuadratureDepth = 10;

    // eˣ − 1 and ln(1 + x) to full precision for small x with Kahan's corrections (Higham, "Accuracy and Stability of
    // Numerical Algorithms", 2nd ed., §1.14.1; Goldberg 1991, theorem 4): MathNet's Expm1 truncates a series and is
    // off by ~1e-8 relative at |x| ≈ 0.05, which showed in eq. (10).
    internal static double ExpM1(double x)
    {
        var u = Math.Exp(x);
        if (u == 1) return x;
        var um1 = u - 1;
        return um1 == -1 ? -1 : um1 * x / Math.Log(u);
    }

    internal static double Log1P(double x)
    {
        var u = 1 + x;
        return u == 1 ? x : Math.Log(u) * x / (u - 1);
    }

    /// <summary>eˣ − 1 − x without cancellation: by its Taylor series for |x| &lt; 1/2, where the difference would lose more
    /// than two bits.</summary>
    internal static double ExpM1MinusX(double x)
    {
        if (Math.Abs(x) >= 0.5) return ExpM1(x) - x;
        double term = x * x / 2, sum = term;
        for (var n = 3; Math.Abs(term) > 1e-17 * Math.Abs(sum); n++) sum += term *= x / n;
        return sum;
    }

    /// <summary>ln(1 + y) − y without cancellation: for |y| &lt; 1/2 as −y²/(2+y) + 2·Σ_{n≥1} s^{2n+1}/(2n+1), s = y/(2+y)
    /// (from ln(1+y) = 2·artanh(s); |s| <= 1/3, so each term is at most 1/9 of the previous one).</summary>
    internal static double Log1PMinusX(double y)
    {
        if (Math.Abs(y) >= 0.5) return Log1P(y) - y;
        var s = y / (2 + y);
        var s2 = s * s;
        double power = s * s2, sum = 0;
        for (var n = 1; Math.Abs(power) > 1e-17 * Math.Abs(sum) || n == 1; n++, power *= s2) sum += power / (2 * n + 1);
        return -y * y / (2 + y) + 2 * sum;
    }

    // The likelihood needs ln Γ(y+x) − ln Γ(y) and ψ(y+x) − ψ(y) for y = r, b, a+b. As differences of MathNet's
    // GammaLn and DiGamma they lose ~ε·y·ln y absolutely: 2e-9 per customer at a+b = 1e6 and 3e-7 at 1e9, enough to
    // stall the optimiser where the likelihood is flat in a+b. From y = 20 on they are taken from Stirling's series
    // instead, differenced term by term (truncation error below 1e-17 there); below 20 and for few purchases they are
    // the finite sums they stand for (x is whole).

    /// <summary>ln Γ(y+n) − ln Γ(y) = ln of the rising factorial (y)ₙ, accurate for every y &gt; 0 and n &gt;= 0.</summary>
    internal static double LogRising(double y, double n)
    {
        if (y < 20 && n <= 16)
        {
            double sum = 0;
            for (var j = 0; j < n; j++) sum += Math.Log(y + j);
            return sum;
        }
        if (y < 20) return SpecialFunctions.GammaLn(y + n) - SpecialFunctions.GammaLn(y);
        // ln Γ(z) = (z − ½)ln z − z + ½ln 2π + S(z): the difference is (y − ½)·ln(1 + n/y) + n·(ln(y+n) − 1) + ΔS.
        return (y - 0.5) * Log1P(n / y) + n * (Math.Log(y + n) - 1) + StirlingTail(y + n) - StirlingTail(y);
    }

    /// <summary>ψ(y+n) − ψ(y), accurate for every y &gt; 0 and n &gt;= 0.</summary>
    internal static double DiGammaRising(double y, double n)
    {
        if (y < 20 && n <= 16)
        {
            double sum = 0;
            for (var j = 0; j < n; j++) sum += 1 / (y + j);
            return sum;
        }
        if (y < 20) return SpecialFunctions.DiGamma(y + n) - SpecialFunctions.DiGamma(y);
        // ψ(z) = ln z − 1/(2z) − Σ B₂ₖ/(2k z²ᵏ).
        return Log1P(n / y) + n / (2 * y * (y + n)) - DiGammaTail(y + n) + DiGammaTail(y);
    }

    /// <summary>S(z) = ln Γ(z) − (z − ½)ln z + z − ½ln 2π = Σ B₂ₖ/(2k(2k−1)z²ᵏ⁻¹), z &gt;= 20.</summary>
    private static double StirlingTail(double z)
    {
        var w = 1 / (z * z);
        return (1.0 / 12 - w * (1.0 / 360 - w * (1.0 / 1260 - w * (1.0 / 1680 - w * (1.0 / 1188))))) / z;
    }

    /// <summary>Σ B₂ₖ/(2k z²ᵏ) = ln z − 1/(2z) − ψ(z), z &gt;= 20.</summary>
    private static double DiGammaTail(double z)
    {
        var w = 1 / (z * z);
        return w * (1.0 / 12 - w * (1.0 / 120 - w * (1.0 / 252 - w * (1.0 / 240 - w * (1.0 / 132)))));
    }

    internal static void Validate(RepeatStats s)
    {
        if (!double.IsFinite(s.X) || !double.IsFinite(s.Tx) || !double.IsFinite(s.T) || s.X < 0 || s.X != Math.Floor(s.X) || s.Tx < 0 || s.Tx > s.T)
            throw new ArgumentException($"Invalid repeat-purchase statistics {s}: need a whole x >= 0 and 0 <= t_x <= T, all finite.");
        if (s.X == 0 && s.Tx != 0)
            throw new ArgumentException($"Invalid repeat-purchase statistics {s}: t_x must be 0 when there are no repeat purchases.");
    }
}

/// <summary>
/// Customers compressed to distinct (x, t_x, T) rows with weights; the log-likelihood and its gradient over them in one
/// tight loop, with everything that depends on x alone (log-gamma and digamma terms) computed once per distinct x.
/// </summary>
internal sealed class BgNbdRows
{
    private readonly int[] _xIndex;
    private readonly double[] _x, _tx, _t, _w;
    private readonly double[] _distinctX;
    public double TotalWeight { get; }
    /// <summary>Σ w·x: the repeat purchases of all customers.</summary>
    public double WeightedX { get; }

    private BgNbdRows(int[] xIndex, double[] x, double[] tx, double[] t, double[] w, double[] distinctX)
    {
        (_xIndex, _x, _tx, _t, _w, _distinctX) = (xIndex, x, tx, t, w, distinctX);
        TotalWeight = w.Sum();
        WeightedX = x.Zip(w, (xi, wi) => xi * wi).Sum();
    }

    public static BgNbdRows Compress(IReadOnlyList<RepeatStats> data, double scale)
    {
        var counts = new Dictionary<RepeatStats, int>();
        foreach (var s in data) counts[s] = counts.GetValueOrDefault(s) + 1;
        var distinct = counts.Keys.Select(k => k.X).Distinct().Order().ToArray();
        var position = new Dictionary<double, int>();
        for (var i = 0; i < distinct.Length; i++) position[distinct[i]] = i;
        // Sorted by x so the per-x terms are read sequentially.
        var keys = counts.Keys.OrderBy(k => k.X).ToArray();
        var n = keys.Length;
        var (xIndex, x, tx, t, w) = (new int[n], new double[n], new double[n], new double[n], new double[n]);
        for (var i = 0; i < n; i++)
        {
            var k = keys[i];
            (xIndex[i], x[i], tx[i], t[i], w[i]) = (position[k.X], k.X, k.Tx * scale, k.T * scale, counts[k]);
        }
        return new BgNbdRows(xIndex, x, tx, t, w, distinct);
    }

    /// <summary>Σ w·ln L; when <paramref name="gradient"/> is given, fills it with Σ w·∂ln L/∂(r, α, a, b).</summary>
    public double Evaluate(double r, double alpha, double a, double b, double[]? gradient)
    {
        var m = _distinctX.Length;
        // Per distinct x: D1 of note 027 eq. (4), C4 = a/(b+x−1), and the digamma parts of the gradient.
        var d1 = new double[m];
        var c4 = new double[m];
        var invB = new double[m];
        var dR = new double[m];
        var dA = new double[m];
        var dB = new double[m];
        var withGradient = gradient is not null;
        for (var k = 0; k < m; k++)
        {
            var x = _distinctX[k];
            if (x == 0) continue; // every term is 0
            d1[k] = BgNbd.LogRising(r, x) + BgNbd.LogRising(b, x) - BgNbd.LogRising(a + b, x);
            c4[k] = a / (b + x - 1);
            invB[k] = 1 / (b + x - 1);
            if (!withGradient) continue;
            var psiAB = BgNbd.DiGammaRising(a + b, x);
            dR[k] = BgNbd.DiGammaRising(r, x);
            dA[k] = -psiAB;
            dB[k] = BgNbd.DiGammaRising(b, x) - psiAB;
        }
        var logAlpha = Math.Log(alpha);
        double ll = 0, gr = 0, gAlpha = 0, ga = 0, gb = 0;
        var rows = _x.Length;
        for (var i = 0; i < rows; i++)
        {
            var x = _x[i];
            var w = _w[i];
            var logAT = Math.Log(alpha + _t[i]);
            if (x == 0)
            {
                // ln L = r·ln(α/(α+T)): the customer is alive for sure, with no purchase in (0, T].
                ll += w * r * (logAlpha - logAT);
                if (!withGradient) continue;
                gr += w * (logAlpha - logAT);
                gAlpha += w * r * (1 / alpha - 1 / (alpha + _t[i]));
                continue;
            }
            var k = _xIndex[i];
            var logATx = Math.Log(alpha + _tx[i]);
            var c3 = Math.Exp((r + x) * (logATx - logAT)); // ((α+t_x)/(α+T))^{r+x} <= 1
            var den = c3 + c4[k];
            ll += w * (d1[k] + r * logAlpha - (r + x) * logATx + Math.Log(den));
            if (!withGradient) continue;
            // Weights of the "still alive at T" and "dropped out after t_x" parts of eq. (6).
            var wAlive = c3 / den;
            var wDead = c4[k] / den;
            gr += w * (dR[k] + logAlpha - wAlive * logAT - wDead * logATx);
            gAlpha += w * (r / alpha - (r + x) * (wAlive / (alpha + _t[i]) + wDead / (alpha + _tx[i])));
            ga += w * (dA[k] + wDead / a);
            gb += w * (dB[k] - wDead * invB[k]);
        }
        if (gradient is not null) (gradient[0], gradient[1], gradient[2], gradient[3]) = (gr, gAlpha, ga, gb);
        return ll;
    }
}
