module Hybrid.Tests.FormTests

open System.Text.Json.Nodes
open Expecto
open Hybrid
open Hybrid.Experiments

/// A form of one setting, and the same form with a second setting added: what adding a field to a form means.
type Probe = { Width: int; Mode: string }

let probeFields =
    [ Codec.field "width" "Probe width" (Codec.atLeast 1 Codec.int) (fun p -> p.Width) (fun v p -> { p with Width = v }) ]

let probeForm (fields: Field<Probe> list) =
    Form.create "probe" "Probe" "a test" (Codec.record fields) { Width = 4; Mode = "plain" } ignore []

let addedField = Codec.field "extraMode" "The added setting" Codec.string (fun p -> p.Mode) (fun v p -> { p with Mode = v })

[<Tests>]
let tests =
    testList "Training.Form" [
        test "every form derives its settings: a flag each (or a rule), no two alike, every setting described" {
            for f in Forms.all do
                Expect.isNonEmpty f.Settings (sprintf "%s has settings" f.Name)
                for s in f.Settings do
                    Expect.isNotEmpty s.Description (sprintf "%s: %s has a description" f.Name s.Path)
                let flags = f.Settings |> List.collect (fun s -> Option.toList s.Flag @ s.Aliases)
                Expect.equal (List.distinct flags) flags (sprintf "%s: distinct flags" f.Name)
            let train = Form.settings Config.form
            let flagOf path = (train |> List.find (fun s -> s.Path = path)).Flag
            Expect.equal (flagOf "inference.steps") (Some "--steps") "renamed by a rule"
            Expect.equal (flagOf "batchSize") (Some "--batch-size") "kebab case of the key"
            Expect.equal (flagOf "optimizer.momentum") (Some "--sgd-momentum") "a rule resolves the two momentums"
            Expect.equal (flagOf "model.name") None "custom networks are named only from code"
        }

        test "two settings that would share a flag are refused, naming both" {
            let twice =
                Form.create "twice" "Twice" "a test" (Codec.record (probeFields @ [ Codec.field "extra" "x" Codec.string (fun p -> p.Mode) (fun v p -> { p with Mode = v }) ]))
                    { Width = 4; Mode = "plain" } ignore [ FlagRule.Named("extra", "--width") ]
            let e = Util.throws<System.InvalidOperationException> (fun () -> Form.settings twice |> ignore)
            Expect.stringContains e.Message "width, extra" "both named"
        }

        test "a field added to a form appears in its schema, its settings (flag, type, default, range) and its documentation" {
            let before = probeForm probeFields
            let after = probeForm (probeFields @ [ addedField ])
            let keys f = Codec.keys ((Form.schema f))
            Expect.isFalse (List.contains "extraMode" (keys before)) "absent before"
            Expect.isTrue (List.contains "extraMode" (keys after)) "in the schema"
            let s = Form.settings after |> List.find (fun s -> s.Path = "extraMode")
            Expect.equal s.Flag (Some "--extra-mode") "its flag"
            Expect.equal s.Kind SettingKind.Text "its type"
            Expect.equal s.Default (Some "\"plain\"") "its default, from the form's defaults"
            Expect.equal s.Description "The added setting" "its description"
            let width = Form.settings after |> List.find (fun s -> s.Path = "width")
            Expect.equal width.Minimum (Some 1.0) "a range from the codec"
            Expect.stringContains (Form.markdown (Form.boxed after)) "| `extraMode` | `--extra-mode` | string | `plain` | The added setting |" "documented"
            // Flags go through the reader of files.
            Expect.equal (Form.apply after [ "--extra-mode", "fancy"; "--width", "7" ] after.Defaults) { Width = 7; Mode = "fancy" } "set by its flag"
            let e = Util.throws<ConfigError> (fun () -> Form.apply after [ "--width", "0" ] after.Defaults |> ignore)
            Expect.stringContains e.Message "--width must be at least 1, got 0" "the flag is named"
        }

        test "flags build the JSON a file holds and read through the same reader" {
            let flags = [ "--steps", "3"; "--width", "256"; "--hidden", "2"; "--optimizer", "sgd"; "--sgd-momentum", "0.9"; "--init", "zero"; "--dense-inference", "true" ]
            let viaFlags = Form.apply Config.form flags Config.defaults
            let json = """{ "inference": { "steps": 3, "dense": true }, "model": { "width": 256, "hidden": 2 }, "optimizer": { "kind": "sgd", "momentum": 0.9 }, "init": "zero" }"""
            Expect.equal viaFlags (Form.parse Config.form json Config.defaults) "the same configuration"
            Expect.equal viaFlags.Architecture (Architecture.Mlp([ 256; 256 ], Activation.Gelu)) "width and hidden make the MLP"
            let o = Form.flagsObject (Form.settings Config.form) [ "-T", "7"; "--widths", "8,9" ]
            Expect.equal (o.ToJsonString()) """{"inference":{"steps":7},"model":{"widths":[8,9]}}""" "the object flags stand for"
        }

        test "a flag's text that is not of its type is refused before anything is read, naming the flag" {
            let settings = Form.settings Config.form
            let refused name text fragment =
                let s = (Form.find settings name).Value
                let e = Util.throws<ConfigError> (fun () -> Form.readToken s text |> ignore)
                Expect.stringContains e.Message fragment name
            refused "--epochs" "2147483648" "--epochs: '2147483648' is not an integer from -2147483648 to 2147483647"
            refused "--seed" "1.5" "--seed: '1.5' is not a 64-bit integer"
            refused "--lr" "abc" "--lr: 'abc' is not a number"
            refused "--activation" "swish" "--activation: unknown value 'swish'"
            refused "--widths" "8,x" "--widths: 'x' is not an integer"
            // An old spelling is a value; NaN reaches the field's check.
            Form.readToken (Form.find settings "--activation").Value "leaky-relu" |> ignore
            Expect.equal ((Form.readToken (Form.find settings "--lr").Value "NaN").ToJsonString()) "\"NaN\"" "passed on"
        }

        test "docs/config.md holds every form's generated settings" {
            match Util.repoFile "docs/config.md" with
            | None -> failtest "docs/config.md not found above the test binary"
            | Some path ->
                let text = System.IO.File.ReadAllText path
                Expect.equal (Forms.updateDoc text) text "docs/config.md is up to date (run: hybrid config docs --write docs/config.md)"
        }

        test "an old spelling is read with one warning naming the canonical one; schemas list the canonical spellings" {
            let seen = ResizeArray()
            let previous = Warnings.sink
            Warnings.sink <- seen.Add
            try
                let c = Form.apply Config.form [ "--activation", "leaky-relu"; "--loss", "xent" ] Config.defaults
                Expect.equal c.Loss Loss.CrossEntropy "read"
            finally Warnings.sink <- previous
            Expect.contains seen "activation 'leaky-relu' is an old spelling: write 'leaky_relu'" "warned"
            Expect.contains seen "loss 'xent' is an old spelling: write 'ce'" "warned"
            let enum = (Codec.choice Choices.loss).Schema()["enum"] :?> JsonArray
            Expect.equal [ for n in enum -> n.GetValue<string>() ] [ "mse"; "ce" ] "canonical only"
        }
    ]
