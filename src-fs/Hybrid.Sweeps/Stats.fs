/// Statistics a report quotes: mean and sample standard deviation over seeds, and
/// Welch's unequal-variance t-test between two methods.
module Hybrid.Sweeps.Stats

open MathNet.Numerics.Distributions

/// Mean of a sample.
let mean (xs: float list) = List.average xs

/// Sample standard deviation (n - 1 in the denominator; 0 for one value).
let std (xs: float list) =
    match xs with
    | [] | [ _ ] -> 0.0
    | _ ->
        let m = mean xs
        sqrt ((xs |> List.sumBy (fun x -> (x - m) ** 2.0)) / float (xs.Length - 1))

/// Mean and sample standard deviation, as reports quote them: (NaN, NaN) for no value,
/// (x, 0) for one.
let meanStd (xs: float list) =
    match xs with
    | [] -> nan, nan
    | _ -> mean xs, std xs

/// Welch's t-test of two samples.
type Welch =
    { /// t = (mean a - mean b) / sqrt(s_a^2/n_a + s_b^2/n_b).
      T: float
      /// Welch-Satterthwaite degrees of freedom.
      Df: float
      /// Two-sided p-value under the t distribution with `Df` degrees of freedom.
      P: float }

/// Welch's t-test; None when a sample has fewer than two values or both have no spread.
let welch (a: float list) (b: float list) : Welch option =
    if a.Length < 2 || b.Length < 2 then None
    else
        let va, vb = (std a) ** 2.0 / float a.Length, (std b) ** 2.0 / float b.Length
        let se2 = va + vb
        if se2 <= 0.0 then None
        else
            let t = (mean a - mean b) / sqrt se2
            let df = se2 * se2 / (va * va / float (a.Length - 1) + vb * vb / float (b.Length - 1))
            let p = 2.0 * (1.0 - StudentT.CDF(0.0, 1.0, df, abs t))
            Some { T = t; Df = df; P = min 1.0 (max 0.0 p) }
