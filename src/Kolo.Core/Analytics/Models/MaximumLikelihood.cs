using MathNet.Numerics.LinearAlgebra;
using MathNet.Numerics.Optimization;

namespace Kolo.Core.Analytics.Models;

/// <summary>
/// Maximises a log-likelihood over parameters mapped onto the whole real line (logs of positive parameters, the logit of
/// a proportion): BFGS with the model's analytic gradient (MathNet.Numerics), then Nelder–Mead from the best point if the
/// line search gives up. When the data do not determine the parameters (too few customers, no heterogeneity) the
/// likelihood keeps rising as some parameter runs off to 0 or ∞; the search is boxed to |θ| &lt;= 30 and such a fit is
/// reported as not converged (a model that can take the limit, as BG/NBD does for a + b, caps it itself).
/// </summary>
internal static class MaximumLikelihood
{
    /// <summary>The objective: fills <c>gradient</c> with d(−mean LL)/dθ and returns −mean LL.</summary>
    internal delegate double Objective(double[] logParameters, double[] gradient);

    internal readonly record struct Result(double[] LogParameters, bool Converged, int Iterations);

    // A mean (not summed) objective keeps these tolerances meaningful from 100 to 10 000 000 customers.
    private const double GradientTolerance = 1e-9;
    private const double ParameterTolerance = 1e-12;
    private const double FunctionProgressTolerance = 1e-15;
    private const int MaxIterations = 2000;
    // Nelder–Mead is the fallback only; each step costs one pass over the data, so it is capped lower.
    private const int MaxSimplexIterations = 3000;
    private const double SearchBound = 30;      // θ within [1e-13, 1e13] (on the model's internal scale)
    private const double ConvergedBound = 20;   // an optimum beyond [2e-9, 5e8] means a parameter ran off

    public static Result Maximise(Objective objective, double[] start, CancellationToken ct)
    {
        var n = start.Length;
        var best = (double[])start.Clone();
        var bestValue = double.PositiveInfinity;

        // Returns +∞ (never NaN) outside the region where the likelihood is finite, so line searches back off.
        (double Value, Vector<double> Gradient) Evaluate(Vector<double> point)
        {
            ct.ThrowIfCancellationRequested();
            var p = point.ToArray();
            if (p.Any(v => !(Math.Abs(v) <= SearchBound))) return (double.PositiveInfinity, Vector<double>.Build.Dense(n));
            var g = new double[n];
            var value = objective(p, g);
            if (!double.IsFinite(value) || g.Any(d => !double.IsFinite(d)))
                return (double.PositiveInfinity, Vector<double>.Build.Dense(n));
            if (value < bestValue) { bestValue = value; best = p; }
            return (value, Vector<double>.Build.Dense(g));
        }

        var iterations = 0;
        try
        {
            var bfgs = new BfgsMinimizer(GradientTolerance, ParameterTolerance, FunctionProgressTolerance, MaxIterations);
            var result = bfgs.FindMinimum(ObjectiveFunction.Gradient(Evaluate), Vector<double>.Build.Dense(start));
            iterations = result.Iterations;
            if (result.ReasonForExit is ExitCondition.AbsoluteGradient or ExitCondition.RelativeGradient or ExitCondition.Converged)
                return Done(result.MinimizingPoint.ToArray(), true, iterations);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            // The line search failed (a flat or badly scaled region, or the edge of the box); the simplex needs no gradient.
        }

        var point = best;
        try
        {
            var nm = new NelderMeadSimplex(1e-13, MaxSimplexIterations).FindMinimum(ObjectiveFunction.Value(v => Evaluate(v).Value), Vector<double>.Build.Dense(best));
            iterations += nm.Iterations;
            point = nm.MinimizingPoint.ToArray();
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            return Done(best, false, iterations + MaxSimplexIterations);
        }
        // Polish with BFGS from the simplex optimum: only a gradient test can say the maximum was reached.
        try
        {
            var bfgs = new BfgsMinimizer(GradientTolerance, ParameterTolerance, FunctionProgressTolerance, MaxIterations);
            var result = bfgs.FindMinimum(ObjectiveFunction.Gradient(Evaluate), Vector<double>.Build.Dense(point));
            iterations += result.Iterations;
            return Done(result.MinimizingPoint.ToArray(), result.ReasonForExit is ExitCondition.AbsoluteGradient or ExitCondition.RelativeGradient or ExitCondition.Converged, iterations);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            return Done(best, false, iterations);
        }
    }

    private static Result Done(double[] logParameters, bool converged, int iterations) =>
        new(logParameters, converged && logParameters.All(v => Math.Abs(v) < ConvergedBound), iterations);
}
