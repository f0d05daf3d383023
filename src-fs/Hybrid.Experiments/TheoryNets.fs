/// The networks and data the theory experiments share: bias-free dense chains with
/// Gaussian weights of a chosen scale, and Gaussian regression data, in float64.
module Hybrid.Experiments.TheoryNets

open TorchSharp
open Hybrid

let chain (sizes: int list) (activation: Activation) (scale: float) (seed: int64) : Network =
    if sizes.Length < 2 then invalidArg "sizes" "a chain needs an input and an output size"
    let hidden = sizes[1 .. sizes.Length - 2]
    let net = Network.create (Architecture.Mlp(hidden, activation)) Loss.SquaredError [| int64 sizes.Head |] (List.last sizes) Precision.Float64 torch.CPU seed
    use _ = torch.no_grad ()
    use g = Rng.generator (Rng.derive seed "theory-weights") torch.CPU
    for b in net.Blocks do
        let w = b.Weight
        use draw = torch.randn(w.shape, dtype = torch.float64, generator = g)
        w.copy_(Ops.mul draw (scale / sqrt (float w.shape[1]))) |> ignore
        b.Bias |> Option.iter (fun p -> p.zero_() |> ignore)
    net

let regression (n: int) (dIn: int) (dOut: int) (seed: int64) : torch.Tensor * torch.Tensor =
    use g = Rng.generator (Rng.derive seed "theory-data") torch.CPU
    let x = torch.randn([| int64 n; int64 dIn |], dtype = torch.float64, generator = g)
    let t = Ops.div (torch.randn([| int64 dOut; int64 dIn |], dtype = torch.float64, generator = g)) (sqrt (float dIn))
    let noise = Ops.mul (torch.randn([| int64 n; int64 dOut |], dtype = torch.float64, generator = g)) 0.1
    x, Ops.plus (x.mm(t.t())) noise
