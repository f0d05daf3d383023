#!/usr/bin/env -S dotnet fsi
// The inverse-temperature phase transition of modern Hopfield networks: for
// equidistant (simplex) patterns the centroid stops being a minimum at
// beta_c = N / (M^2 - c); single-pattern minima appear a little earlier.
#load "lib/Hybrid.fsx"

open Hybrid

Runtime.init ()
printfn "%3s %4s %12s %12s %14s" "N" "M" "predicted" "measured" "pattern onset"
for n in [ 3; 5; 10 ] do
    for m in [ 1.0; 2.0 ] do
        let p = Hopfield.Patterns.simplex n m (n + 2) 0L
        let predicted = Hopfield.predictedCriticalBeta p
        let measured = Hopfield.measuredCriticalBeta p (predicted / 10.0) (predicted * 10.0) 1e-7
        let onset = Hopfield.patternOnsetBeta p 0 (predicted / 10.0) (predicted * 10.0) 1e-5
        printfn "%3d %4g %12.5f %12.5f %14.5f" n m predicted measured onset
        if abs (measured / predicted - 1.0) > 0.02 then failwithf "N=%d M=%g: transition off by more than 2%%" n m
