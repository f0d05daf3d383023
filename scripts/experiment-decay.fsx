#!/usr/bin/env -S dotnet fsi
// An experiment of the papers called from a script: the signal-decay study on short
// chains (typed settings in, a typed result out), then its report as the command
// line prints it. Needs: dotnet build src-fs/Hybrid.Experiments -c Release.
#load "lib/Hybrid.fsx"

open Hybrid
open Hybrid.Experiments
open Hybrid.Reporting

Runtime.init ()
let out = System.IO.Directory.CreateTempSubdirectory("hybrid-decay-").FullName
let study = Decay.study { Decay.defaults with Depths = [ 3; 6 ]; Width = 8; MaxSteps = 5000; TraceSteps = 50; Out = out } Observer.silent
for c in study.Cases do
    if c.Chain.Activation = Activation.Identity then
        printfn "%-40O sPC/ePC steps to the equilibrium: %s" c.Chain (match c.Ratio with Some r -> sprintf "%.1fx" r | None -> "-")
let report = Decay.report study
printfn "%d plots in %s" study.Plots.Length out
if study.Cases |> List.exists (fun c -> c.Chain.Activation = Activation.Identity && c.Ratio.IsNone) then failwith "a linear chain did not reach its equilibrium"
if report.Tables.IsEmpty then failwith "no table"
