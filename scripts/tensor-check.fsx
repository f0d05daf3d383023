#!/usr/bin/env -S dotnet fsi
// Loads the built core (dotnet build src-fs/Hybrid.Experiments -c Release) and runs a
// tensor op and an autograd gradient. CI runs this script.
#load "lib/Hybrid.fsx"

open TorchSharp
open Hybrid

Runtime.init ()
let x = torch.tensor([| 1.0; 2.0; 3.0 |], requires_grad = true)
let y = (x * x).sum()
y.backward()
let grad = x.grad.data<float>().ToArray()
printfn "libtorch %s on %O, d/dx sum x^2 at [1;2;3] = %A" (Runtime.libtorchVersion ()) (Runtime.device DeviceChoice.Auto) grad
if grad <> [| 2.0; 4.0; 6.0 |] then failwith "wrong gradient"
