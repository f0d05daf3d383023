/// The cost of one training step of BP and of predictive coding, measured in one
/// run with interleaved rounds, against the operation-count bound.
module Hybrid.Bench.StepCost

open System
open System.Diagnostics
open TorchSharp
open Hybrid

/// A method whose step is timed.
type Case =
    { Name: string
      /// The dense operation-count bound on the step's cost relative to BP (None for BP).
      Bound: float option
      /// The target on the step's cost relative to BP, where the case has one.
      Target: float option
      Algorithm: Algorithm
      Depth: int }

/// The measured result of a case.
type Measured =
    { Case: Case
      MedianMs: float
      Ratio: float
      /// Block (matrix) products the last timed step computed.
      Products: int
      /// Live tensors on the thread after the last round minus after the first.
      LiveGrowth: int64 }

/// Builds the paper MLP (or a deeper one), a batch and the step function of each case.
let private stepper (case: Case) (width: int) (batch: int) (seed: int64) =
    let device = torch.CPU
    let arch = Architecture.Mlp(List.replicate (case.Depth - 1) width, Activation.Gelu)
    let net = Network.create arch Loss.CrossEntropy [| 784L |] 10 Precision.Float32 device seed
    let opt = Learning.optimizer (OptimizerSpec.AdamW(1e-4, 0.0)) net
    let g = Rng.generator seed device
    let x = torch.randn([| int64 batch; 784L |], generator = g).DetachFromDisposeScope()
    let labels = torch.tensor(Array.init batch (fun i -> int64 (i * 10 / batch))).DetachFromDisposeScope()
    let y = torch.nn.functional.one_hot(labels, 10L).to_type(torch.float32).DetachFromDisposeScope()
    let state = new InitState(10, 0L)
    let step () : int =
        use _ = torch.NewDisposeScope()
        match case.Algorithm with
        | Algorithm.Backprop ->
            Learning.backpropGradients net x y |> ignore
            opt.Step()
            Smm.backpropProducts case.Depth
        | Algorithm.PredictiveCoding pc ->
            let ctx = InitContext.supervised net x labels 10 g
            let init = InitApply.apply pc.Init state ctx true
            let r = Inference.run net pc.Inference init (Some y) None
            Learning.weightGradientsOf net r (Some y) |> ignore
            opt.Step()
            state.Record(net, pc.Init, r.States, Some labels, ctx.Observation)
            Smm.products init r
    step

/// Times `rounds` interleaved rounds of every case after `warmup` rounds; the
/// first case is the baseline (BP) of its depth.
let measure (cases: Case list) (width: int) (batch: int) (warmup: int) (rounds: int) (seed: int64) : Measured list =
    let steps = cases |> List.map (fun c -> c, stepper c width batch seed)
    for _ in 1 .. warmup do
        for _, s in steps do s () |> ignore
    let times = Collections.Generic.Dictionary<string, ResizeArray<float>>()
    let live = Collections.Generic.Dictionary<string, ResizeArray<int64>>()
    let products = Collections.Generic.Dictionary<string, int>()
    for c, _ in steps do
        times[c.Name] <- ResizeArray()
        live[c.Name] <- ResizeArray()
    let stats = DisposeScopeManager.Statistics
    for _ in 1 .. rounds do
        for c, s in steps do
            let sw = Stopwatch.StartNew()
            products[c.Name] <- s ()
            sw.Stop()
            times[c.Name].Add sw.Elapsed.TotalMilliseconds
            live[c.Name].Add stats.ThreadTotalLiveCount
    let median (xs: ResizeArray<float>) =
        let a = xs.ToArray() |> Array.sort
        if a.Length % 2 = 1 then a[a.Length / 2] else (a[a.Length / 2 - 1] + a[a.Length / 2]) / 2.0
    let baseline = cases |> List.groupBy (fun c -> c.Depth) |> List.map (fun (d, cs) -> d, median times[(List.head cs).Name]) |> Map.ofList
    [ for c in cases ->
          let m = median times[c.Name]
          let l = live[c.Name]
          { Case = c; MedianMs = m; Ratio = m / baseline[c.Depth]; Products = products[c.Name]; LiveGrowth = l[l.Count - 1] - l[0] } ]
