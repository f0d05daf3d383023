#!/usr/bin/env -S dotnet fsi
// The origin of a deep linear network is a strict saddle of the equilibrated
// energy F* even where it is a non-strict saddle of the MSE loss (Innocenti et
// al., NeurIPS 2024): at L = 2 both Hessians have negative eigenvalues; from
// L = 3 the loss's Hessian at the origin is zero while F*'s smallest eigenvalue
// is -λ_max(Y^T Y / n). Plots λ_min per depth for both and fails when the claim
// does not hold.
#load "lib/Hybrid.fsx"

open System.IO
open TorchSharp
open Hybrid
open Hybrid.Experiments
open Hybrid.Reporting

Runtime.init ()
let width, n = 6, 32
let depths = [ 1 .. 5 ]
let rows =
    [ for depth in depths ->
          Scope.run (fun () ->
              use net = TheoryNets.chain (List.replicate (depth + 1) width) Activation.Identity 0.0 1L
              let x, y = TheoryNets.regression n width width 2L
              let loss = Theory.extremes (Theory.lossHessian net x y)
              let energy = Theory.extremes (Theory.linearEquilibratedHessian net x y)
              let predicted = -(Theory.extremes (Ops.div (y.t().mm(y)) (float n))).Largest
              depth, loss, energy, predicted) ]
printfn "%2s %14s %14s %14s %14s" "L" "loss λ_min" "loss λ_max" "F* λ_min" "-λ_max(YᵀY/n)"
for depth, loss, energy, predicted in rows do
    printfn "%2d %14.6g %14.6g %14.6g %14.6g" depth loss.Smallest loss.Largest energy.Smallest predicted
let out = Path.Combine("runs", "strict-saddles.png")
Plots.write
    (Plots.figure out "Smallest Hessian eigenvalue at the origin, deep linear networks" "depth L" "λ_min"
        [ Plots.series "MSE loss" (depths |> List.map float) [ for _, l, _, _ in rows -> l.Smallest ]
          Plots.series "equilibrated energy F*" (depths |> List.map float) [ for _, _, e, _ in rows -> e.Smallest ] ])
printfn "plot: %s" out
for depth, loss, energy, predicted in rows do
    if depth = 2 && not (loss.Smallest < 0.0 && energy.Smallest < 0.0) then
        failwithf "L = 2: both Hessians should have negative eigenvalues (loss %g, F* %g)" loss.Smallest energy.Smallest
    if depth >= 3 then
        if max (abs loss.Smallest) (abs loss.Largest) > 1e-12 then failwithf "L = %d: the loss's Hessian at the origin should be zero" depth
        if not (energy.Smallest < 0.0) || abs (energy.Smallest - predicted) > 1e-9 * abs predicted then
            failwithf "L = %d: F*'s λ_min %g, expected %g < 0" depth energy.Smallest predicted
printfn "claim holds: from L = 2 the origin is a strict saddle of F*; of the loss only at L = 2 (its Hessian is zero from L = 3)"
