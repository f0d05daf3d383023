#!/usr/bin/env -S dotnet fsi
// A reference for generative PC with a memory-initialised latent (docs/reproduce.md):
// when T is below the depth, inference never reaches h_0, so a reconstruction is the
// decoder applied to the memory's recall. This trains that pair directly, the
// paper's memory (24 slots, 16 heads, embedding 128, delta 1) as the encoder and the
// decoder (64 -> 256 -> 256 -> 256 -> 784, tanh, AdamW 3e-4) by backpropagation of
// the reconstruction error, and prints the test MSE per pixel after each epoch.
// Usage: dotnet fsi bench/memory-autoencoder.fsx [fraction] [epochs] [memory lr]
// Needs: dotnet build src-fs/Hybrid.Experiments -c Release; Fashion-MNIST (hybrid data list).
#load "../scripts/lib/Hybrid.fsx"

open TorchSharp
open Hybrid
open Hybrid.Data

Runtime.init ()
let arg i fallback = if fsi.CommandLineArgs.Length > i then float fsi.CommandLineArgs[i] else fallback
let fraction, epochs, memoryLr = arg 1 0.5, int (arg 2 8.0), arg 3 1e-3
let data = Dataset.load None "fashion-mnist"
let device = torch.CPU
let train = Generative.images device Precision.Float32 (Dataset.fraction fraction (Rng.derive 0L "fraction") data.Train)
let test = Generative.images device Precision.Float32 data.Test
let cfg = Generative.defaults
let decoder = Generative.network cfg (int train.shape[1]) device
let optimizer = Learning.optimizer cfg.Optimizer decoder
let spec = { MemorySpec.Default with Slots = 24; Heads = 16; Embedding = 128; Delta = 1.0; LearningRate = memoryLr }
let memory = new HopfieldMemory(int train.shape[1], cfg.Latent, spec, torch.float32, device, Rng.derive 0L "memory")
let order = Array.zeroCreate<int> (int train.shape[0])
for epoch in 1 .. epochs do
    for batch in Batching.epoch Batching.Random 1 cfg.BatchSize (Rng.derive 0L "batches") epoch order do
        use _ = torch.NewDisposeScope()
        let x = train.index_select(0L, torch.tensor(batch))
        for p in decoder.Parameters do
            if not (isNull p.grad) then p.grad.zero_() |> ignore
        // One backward pass fills both gradients; the memory steps inside, the decoder after.
        memory.LearnWith(x, fun recall -> Ops.div ((Ops.minus (decoder.Forward recall) x).square().sum()) (float batch.Length)) |> ignore
        optimizer.Step()
    use _ = torch.NewDisposeScope()
    use _ = torch.no_grad ()
    let mse = Scope.scalar ((Ops.minus (decoder.Forward(memory.Recall test)) test).square().mean())
    printfn "epoch %d: test MSE per pixel %.5f (%s, fraction %g, memory lr %g)" epoch mse (string spec) fraction memoryLr
