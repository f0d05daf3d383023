/// Statistics a report quotes: mean and sample standard deviation over seeds, and
/// Welch's unequal-variance t-test between two methods.
module Hybrid.Sweeps.Stats

/// Mean of a sample.
val mean: xs: float list -> float

/// Sample standard deviation (n - 1 in the denominator; 0 for one value).
val std: xs: float list -> float

/// Mean and sample standard deviation, as reports quote them: (NaN, NaN) for no value,
/// (x, 0) for one.
val meanStd: xs: float list -> float * float

/// Welch's t-test of two samples.
type Welch =
    {
      /// t = (mean a - mean b) / sqrt(s_a^2/n_a + s_b^2/n_b).
      T: float

      /// Welch-Satterthwaite degrees of freedom.
      Df: float

      /// Two-sided p-value under the t distribution with `Df` degrees of freedom.
      P: float
    }

/// Welch's t-test; None when a sample has fewer than two values or both have no spread.
val welch: a: float list -> b: float list -> Welch option
