/// Weight optimisers (AdamW and SGD with momentum, with PyTorch's update rules),
/// written here rather than taken from TorchSharp so that every number handed to
/// a native call is held alive for the call (TorchSharp's own optimisers pass
/// temporary scalars that a concurrent garbage collection can free), and so that
/// their state is plain tensors that checkpoints save exactly.
namespace Hybrid

open System
open TorchSharp

/// The weight optimiser.
[<RequireQualifiedAccess>]
type OptimizerSpec =
    /// AdamW with learning rate, weight decay and the usual betas (0.9, 0.999).
    | AdamW of lr: float * weightDecay: float
    /// SGD with learning rate and momentum.
    | Sgd of lr: float * momentum: float

    /// The learning rate.
    member this.LearningRate =
        match this with
        | AdamW(lr, _)
        | Sgd(lr, _) -> lr

    override this.ToString() =
        match this with
        | AdamW(lr, wd) -> sprintf "adamw(lr=%g, wd=%g)" lr wd
        | Sgd(lr, m) -> sprintf "sgd(lr=%g, momentum=%g)" lr m

    /// Checks the settings.
    member this.Validate() =
        if not (this.LearningRate > 0.0 && Double.IsFinite this.LearningRate) then
            invalidArg "lr" (sprintf "the weight learning rate must be positive and finite, got %g" this.LearningRate)
        match this with
        | AdamW(_, wd) when not (wd >= 0.0 && Double.IsFinite wd) -> invalidArg "weightDecay" (sprintf "weight decay must be finite and >= 0, got %g" wd)
        | Sgd(_, m) when not (m >= 0.0 && m < 1.0) -> invalidArg "momentum" (sprintf "SGD momentum must be in [0,1), got %g" m)
        | _ -> ()


/// An optimiser over a fixed list of parameters. Owns its state tensors.
type Optimizer(spec: OptimizerSpec, parameters: Modules.Parameter list) =
    do spec.Validate()
    let ps = Array.ofList parameters
    let first: Tensor[] = Array.zeroCreate ps.Length
    let second: Tensor[] = Array.zeroCreate ps.Length
    let mutable steps = 0L

    /// The settings.
    member _.Spec = spec
    /// Steps taken.
    member _.Steps = steps

    /// Sets every gradient to zero.
    member _.ZeroGrad() =
        for p in ps do
            if not (isNull p.grad) then p.grad.zero_() |> ignore

    /// One update of every parameter that has a gradient.
    member _.Step() =
        use _ = torch.no_grad ()
        steps <- steps + 1L
        match spec with
        | OptimizerSpec.AdamW(lr, wd) ->
            let b1, b2, eps = 0.9, 0.999, 1e-8
            let bc1 = 1.0 - Math.Pow(b1, float steps)
            let bc2 = 1.0 - Math.Pow(b2, float steps)
            use decay = (1.0 - lr * wd).ToScalar()
            use sb1 = b1.ToScalar()
            use sb1c = (1.0 - b1).ToScalar()
            use sb2 = b2.ToScalar()
            use sb2c = (1.0 - b2).ToScalar()
            use seps = eps.ToScalar()
            use sstep = (-lr / bc1).ToScalar()
            use sbc2 = (1.0 / sqrt bc2).ToScalar()
            for i in 0 .. ps.Length - 1 do
                let g = ps[i].grad
                if not (isNull g) then
                    use _ = torch.NewDisposeScope()
                    if isNull first[i] then
                        first[i] <- torch.zeros_like(ps[i]).DetachFromDisposeScope()
                        second[i] <- torch.zeros_like(ps[i]).DetachFromDisposeScope()
                    if wd <> 0.0 then ps[i].mul_(decay) |> ignore
                    first[i].mul_(sb1).add_(g, alpha = sb1c) |> ignore
                    second[i].mul_(sb2).addcmul_(g, g, value = sb2c) |> ignore
                    let denom = second[i].sqrt().mul_(sbc2).add_(seps)
                    ps[i].addcdiv_(first[i], denom, value = sstep) |> ignore
        | OptimizerSpec.Sgd(lr, momentum) ->
            use sm = momentum.ToScalar()
            use sstep = (-lr).ToScalar()
            for i in 0 .. ps.Length - 1 do
                let g = ps[i].grad
                if not (isNull g) then
                    if momentum = 0.0 then ps[i].add_(g, alpha = sstep) |> ignore
                    else
                        if isNull first[i] then first[i] <- g.detach().clone().DetachFromDisposeScope()
                        else first[i].mul_(sm).add_(g) |> ignore
                        ps[i].add_(first[i], alpha = sstep) |> ignore

    /// The state as named tensors (`{prefix}{i}.m`, `{prefix}{i}.v` for parameters that have it).
    member _.StateTensors(prefix: string) : (string * Tensor) list =
        [ for i in 0 .. ps.Length - 1 do
              if not (isNull first[i]) then yield sprintf "%s%d.m" prefix i, first[i]
              if not (isNull second[i]) then yield sprintf "%s%d.v" prefix i, second[i] ]

    /// Restores the state from named tensors and a step count (checkpoints).
    member _.LoadState(prefix: string, tensors: Map<string, Tensor>, stepCount: int64) =
        steps <- stepCount
        for i in 0 .. ps.Length - 1 do
            let load (slot: Tensor[]) suffix =
                match tensors.TryFind(sprintf "%s%d.%s" prefix i suffix) with
                | Some t ->
                    if t.shape <> ps[i].shape then invalidOp (sprintf "optimiser state %s%d.%s has shape [%s], the parameter [%s]" prefix i suffix (String.Join(", ", t.shape)) (String.Join(", ", ps[i].shape)))
                    if not (isNull slot[i]) then slot[i].Dispose()
                    slot[i] <- t.``to``(ps[i].dtype).``to``(ps[i].device).clone().DetachFromDisposeScope()
                | None -> ()
            load first "m"
            load second "v"

    interface IDisposable with
        member _.Dispose() =
            for t in Array.append first second do
                if not (isNull t) then t.Dispose()
