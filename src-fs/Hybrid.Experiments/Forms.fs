/// Every configuration form by name: the codec, defaults and flag rules of each, from
/// which `hybrid config schema NAME`, docs/config.md, the command line's options and
/// the C# facade's options are derived.
module Hybrid.Experiments.Forms

open Hybrid

let private create name title readBy codec defaults rules = Form.create name title readBy codec defaults ignore rules

/// The flags the reproductions share: `--steps` also answers to `-T`.
let private steps = [ FlagRule.Named("steps", "--steps", [ "-T" ]) ]

/// A training run.
let train = Config.form
/// A generative run (configs/reconstruction).
let generative = create "generative" "Hybrid generative run" "configs/reconstruction/*.json" Generative.codec Generative.defaults []
/// Pinchetti et al., Table 1.
let table1 = create "table1" "Hybrid Table 1" "hybrid reproduce table1 --config FILE" Table1.codec Table1.defaults []
/// The 20-layer MLP under BP, sPC and ePC.
let deepMlp = create "deep-mlp" "Hybrid deep MLP" "hybrid reproduce deep-mlp --config FILE" DeepMlp.codec DeepMlp.defaults steps
/// Residual MLPs under muPC and sp.
let muPC = create "mupc" "Hybrid muPC" "hybrid reproduce mupc --config FILE" MuPC.codec MuPC.defaults steps
/// Fig. 2: initializers x T.
let inits = create "inits" "Hybrid initializers x T" "hybrid reproduce inits --config FILE" Inits.codec Inits.defaults []
/// Fig. 5: T x data fraction.
let stepsForm = create "steps" "Hybrid T x data fraction" "hybrid reproduce steps --config FILE" Steps.codec Steps.defaults []
/// Fig. 6 right / Table 3: speed to a target.
let speed = create "speed" "Hybrid speed to a target" "hybrid reproduce speed --config FILE" Speed.codec Speed.defaults []
/// Conv nets under BP, sPC and ePC.
let conv = create "conv" "Hybrid conv nets under BP, sPC and ePC" "hybrid reproduce conv --config FILE" Conv.codec Conv.defaults []
/// Fig. 7: reconstruction.
let reconstruction =
    create "reconstruction" "Hybrid reconstruction" "hybrid reproduce reconstruction --config FILE" Reconstruction.codec Reconstruction.defaults []
/// Signal decay.
let decay = create "decay" "Hybrid signal decay" "hybrid decay --config FILE" Decay.codec Decay.defaults []
/// The Hopfield phase transition.
let phase =
    create "phase" "Hybrid Hopfield phase transition" "hybrid hopfield phase --config FILE" Phase.codec Phase.defaults
        [ FlagRule.Named("counts", "--count"); FlagRule.Named("norms", "--norm"); FlagRule.Named("dimension", "--dim") ]
/// Hopfield retrieval.
let retrieve =
    create "retrieve" "Hybrid Hopfield retrieval" "hybrid hopfield retrieve --config FILE" Retrieval.codec Retrieval.defaults
        [ FlagRule.Named("betas", "--beta") ]
/// The HAM solver benchmark.
let hamBench = create "ham-bench" "Hybrid HAM solver benchmark" "hybrid ham bench --config FILE" HamBench.codec HamBench.defaults []
/// Closed-form equilibrated energy of deep linear networks against inference.
let theoryEnergy =
    create "theory-energy" "Hybrid equilibrated energy of deep linear networks" "hybrid theory energy --config FILE" Equilibrated.codec Equilibrated.defaults
        [ FlagRule.Named("depths", "--depth") ]

/// The activity Hessian's conditioning against depth for residual MLPs.
let theoryConditioning =
    create "theory-conditioning" "Hybrid activity-Hessian conditioning of residual MLPs" "hybrid theory conditioning --config FILE" Conditioning.codec Conditioning.defaults
        [ FlagRule.Named("depths", "--depth"); FlagRule.Named("widths", "--width"); FlagRule.Named("parameterisations", "--parameterisation") ]

/// Hessians of the loss and of F* at the origin of deep linear networks.
let theorySaddles =
    create "theory-saddles" "Hybrid strict saddles of the equilibrated energy" "hybrid theory saddles --config FILE" Saddles.codec Saddles.defaults
        [ FlagRule.Named("depths", "--depth") ]

/// Updates to leave the plateau near the origin, BP against PC.
let theoryEscape =
    create "theory-escape" "Hybrid escape from the origin, BP vs PC" "hybrid theory escape --config FILE" Escape.codec Escape.defaults
        [ FlagRule.Named("depths", "--depth"); FlagRule.Named("learningRates", "--lr"); FlagRule.Named("mlpLearningRates", "--mlp-lr") ]

/// Per-layer gradient norms of the loss against those of F* (vanishing gradients).
let theoryGradients =
    create "theory-gradients" "Hybrid effective gradients of deep MLPs" "hybrid theory gradients --config FILE" EffectiveGradients.codec EffectiveGradients.defaults
        [ FlagRule.Named("depths", "--depth"); FlagRule.Named("activations", "--activation") ]

/// The best weight learning rate and state step, small against large, muPC against sp.
let theoryTransfer =
    create "theory-transfer" "Hybrid transfer of learning rate and state step" "hybrid theory transfer --config FILE" Transfer.codec Transfer.defaults
        [ FlagRule.Named("learningRates", "--lr"); FlagRule.Named("stateSteps", "--state-step"); FlagRule.Named("parameterisations", "--parameterisation") ]

/// PC's weight update against BP's gradient and trust-region steps.
let theoryTrustRegion =
    create "theory-trust-region" "Hybrid trust-region view of PC" "hybrid theory trust-region --config FILE" TrustRegion.codec TrustRegion.defaults
        [ FlagRule.Named("depths", "--depth"); FlagRule.Named("activations", "--activation") ]

/// Every form, with its type hidden.
let all: AnyForm list =
    [ Form.boxed train
      Form.boxed generative
      Form.boxed table1
      Form.boxed deepMlp
      Form.boxed muPC
      Form.boxed inits
      Form.boxed stepsForm
      Form.boxed speed
      Form.boxed conv
      Form.boxed reconstruction
      Form.boxed decay
      Form.boxed phase
      Form.boxed retrieve
      Form.boxed hamBench
      Form.boxed theoryEnergy
      Form.boxed theorySaddles
      Form.boxed theoryEscape
      Form.boxed theoryConditioning
      Form.boxed theoryGradients
      Form.boxed theoryTransfer
      Form.boxed theoryTrustRegion ]

/// A form by name; the error lists the names.
let get (name: string) : AnyForm =
    match all |> List.tryFind (fun f -> f.Name = name) with
    | Some f -> f
    | None -> raise (ConfigError(sprintf "unknown configuration form '%s' (known: %s)" name (System.String.Join(", ", all |> List.map (fun f -> f.Name)))))

/// The markers around the generated part of docs/config.md.
let docBegin = "<!-- settings: written by `hybrid config docs --write docs/config.md` from the forms; do not edit by hand -->"
let docEnd = "<!-- end of the generated settings -->"

/// Every form's settings as Markdown tables, as docs/config.md holds them.
let markdown () =
    let b = System.Text.StringBuilder()
    for f in all do
        b.AppendLine().Append(Form.markdown f) |> ignore
    b.ToString()

/// A document with its generated part (between `docBegin` and `docEnd`) replaced by `markdown ()`.
let updateDoc (text: string) =
    let i = text.IndexOf docBegin
    let j = text.IndexOf docEnd
    if i < 0 || j < i then raise (ConfigError(sprintf "the document has no generated part (the lines %s and %s)" docBegin docEnd))
    text.Substring(0, i + docBegin.Length) + "\n" + markdown () + "\n" + text.Substring j
