/// Every configuration form by name: the codec, defaults and flag rules of each, from
/// which `hybrid config schema NAME`, docs/config.md, the command line's options and
/// the C# facade's options are derived.
module Hybrid.Experiments.Forms

val private create:
  name: string ->
    title: string ->
    readBy: string ->
    codec: Hybrid.Codec<'a> ->
    defaults: 'a -> rules: Hybrid.FlagRule list -> Hybrid.Form<'a>

/// The flags the reproductions share: `--steps` also answers to `-T`.
val private steps: Hybrid.FlagRule list

/// A training run.
val train: Hybrid.Form<Hybrid.TrainConfig>

/// A generative run (configs/reconstruction).
val generative: Hybrid.Form<Hybrid.Generative.GenConfig>

/// Pinchetti et al., Table 1.
val table1: Hybrid.Form<Hybrid.Experiments.Table1.Settings>

/// The 20-layer MLP under BP, sPC and ePC.
val deepMlp: Hybrid.Form<Hybrid.Experiments.DeepMlp.Settings>

/// Residual MLPs under muPC and sp.
val muPC: Hybrid.Form<Hybrid.Experiments.MuPC.Settings>

/// Fig. 2: initializers x T.
val inits: Hybrid.Form<Hybrid.Experiments.Inits.Settings>

/// Fig. 5: T x data fraction.
val stepsForm: Hybrid.Form<Hybrid.Experiments.Steps.Settings>

/// Fig. 6 right / Table 3: speed to a target.
val speed: Hybrid.Form<Hybrid.Experiments.Speed.Settings>

/// Conv nets under BP, sPC and ePC.
val conv: Hybrid.Form<Hybrid.Experiments.Conv.Settings>

/// Fig. 7: reconstruction.
val reconstruction: Hybrid.Form<Hybrid.Experiments.Reconstruction.Settings>

/// Signal decay.
val decay: Hybrid.Form<Hybrid.Experiments.Decay.Settings>

/// The Hopfield phase transition.
val phase: Hybrid.Form<Hybrid.Experiments.Phase.Settings>

/// Hopfield retrieval.
val retrieve: Hybrid.Form<Hybrid.Experiments.Retrieval.Settings>

/// The HAM solver benchmark.
val hamBench: Hybrid.Form<Hybrid.Experiments.HamBench.Settings>

/// Closed-form equilibrated energy against inference.
val theoryEnergy: Hybrid.Form<Hybrid.Experiments.Equilibrated.Settings>

/// Hessians of the loss and of F* at the origin (strict saddles).
val theorySaddles: Hybrid.Form<Hybrid.Experiments.Saddles.Settings>

/// Updates to leave the plateau near the origin, BP against PC.
val theoryEscape: Hybrid.Form<Hybrid.Experiments.Escape.Settings>

/// The activity Hessian's conditioning against depth for residual MLPs.
val theoryConditioning: Hybrid.Form<Hybrid.Experiments.Conditioning.Settings>

/// Per-layer gradient norms of the loss against those of F* (vanishing gradients).
val theoryGradients: Hybrid.Form<Hybrid.Experiments.EffectiveGradients.Settings>

/// The best weight learning rate and state step, small against large, muPC against sp.
val theoryTransfer: Hybrid.Form<Hybrid.Experiments.Transfer.Settings>

/// PC's weight update against BP's gradient and trust-region steps.
val theoryTrustRegion: Hybrid.Form<Hybrid.Experiments.TrustRegion.Settings>

/// Every form, with its type hidden.
val all: Hybrid.AnyForm list

/// A form by name; the error lists the names.
val get: name: string -> Hybrid.AnyForm

/// The markers around the generated part of docs/config.md.
val docBegin: string

val docEnd: string

/// Every form's settings as Markdown tables, as docs/config.md holds them.
val markdown: unit -> string

/// A document with its generated part (between `docBegin` and `docEnd`) replaced by `markdown ()`.
val updateDoc: text: string -> string
