module Hybrid.Tests.DocsTests

open System
open System.IO
open Expecto
open Hybrid

let private repoFile = Util.repoFile

[<Tests>]
let tests =
    testList "Docs" [
        test "the config reference lists every alias of every choice, once" {
            match repoFile "docs/config.md" with
            | None -> failtest "docs/config.md not found above the test binary"
            | Some path ->
                let text = File.ReadAllText path
                for form in Experiments.Forms.all do
                    Expect.stringContains text (sprintf "`%s`" form.Name) (sprintf "the %s form" form.Name)
                    for s in form.Settings do
                        Expect.stringContains text (sprintf "`%s`" s.Path) (sprintf "%s: %s" form.Name s.Path)
                for what, aliases in Choices.aliases do
                    for alias, canonical in aliases do
                        Expect.isTrue (text.Contains(sprintf "`%s` -> `%s`" alias canonical))
                            (sprintf "docs/config.md lists the %s alias %s -> %s" what alias canonical)
        }

        test "every function named in docs/equations.md exists" {
            match repoFile "docs/equations.md" with
            | None -> failtest "docs/equations.md not found above the test binary"
            | Some path ->
                let assemblies =
                    [ typeof<DeviceChoice>.Assembly; typeof<Network>.Assembly; typeof<Data.Dataset>.Assembly; typeof<TrainConfig>.Assembly ]
                let types = assemblies |> List.collect (fun a -> List.ofArray (a.GetTypes()))
                let flags = Reflection.BindingFlags.Public ||| Reflection.BindingFlags.Static ||| Reflection.BindingFlags.Instance
                let resolves (name: string) =
                    let dot = name.LastIndexOf '.'
                    let owner, item = name.Substring(0, dot), name.Substring(dot + 1)
                    types |> List.exists (fun t ->
                        (t.FullName = "Hybrid." + owner || t.FullName = "Hybrid." + owner + "Module") && t.GetMember(item, flags).Length > 0)
                let named =
                    [ for line in File.ReadAllLines path do
                          if line.StartsWith "| " && not (line.StartsWith "| ---") && not (line.StartsWith "| equation") then
                              let cells = line.Trim('|').Split(" | ")
                              let last = cells[cells.Length - 1].Trim()
                              if last.StartsWith "`" then yield last.Trim('`') ]
                Expect.isGreaterThan named.Length 50 "the table names the functions"
                let missing = named |> List.filter (resolves >> not)
                Expect.isEmpty missing (sprintf "functions named in docs/equations.md that do not exist: %A" missing)
                Expect.isFalse (resolves "Energy.noSuchEquation") "a name that does not exist is caught"
        }

        test "every checked-in config reads without error" {
            match repoFile "configs/table1/bp.json" with
            | None -> failtest "configs/ not found above the test binary"
            | Some bp ->
                let root = Path.GetDirectoryName(Path.GetDirectoryName bp)
                for f in Directory.GetFiles(root, "*.json", SearchOption.AllDirectories) do
                    if f.Contains "reconstruction" then Generative.load f Generative.defaults |> ignore
                    elif f.Contains "sweeps" then
                        // Sweep specs: every trial's configuration is validated when the spec expands.
                        let spec = Hybrid.Sweeps.Spec.load f
                        Expect.isNonEmpty (Hybrid.Sweeps.Spec.expand spec) (sprintf "%s expands into trials" f)
                    else Config.load f Config.defaults |> ignore
        }
    ]
