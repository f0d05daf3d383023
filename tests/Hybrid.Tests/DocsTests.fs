module Hybrid.Tests.DocsTests

open System
open System.IO
open Expecto
open Hybrid

/// The repository root: the first folder above the test binary that holds docs/config.md.
let private repoFile (relative: string) =
    let rec up (d: DirectoryInfo) =
        if isNull d then None
        elif File.Exists(Path.Combine(d.FullName, relative)) then Some(Path.Combine(d.FullName, relative))
        else up d.Parent
    up (DirectoryInfo AppContext.BaseDirectory)

[<Tests>]
let tests =
    testList "Docs" [
        test "the config reference names every field the readers accept" {
            match repoFile "docs/config.md" with
            | None -> failtest "docs/config.md not found above the test binary"
            | Some path ->
                let text = File.ReadAllText path
                let all =
                    Codec.keys (Config.train.Schema()) @ Codec.keys (Generative.codec.Schema())
                    @ (Config.modelKeys |> List.map fst)
                let missing = all |> List.distinct |> List.filter (fun f -> not (text.Contains(sprintf "`%s`" f)))
                Expect.isEmpty missing (sprintf "fields missing from docs/config.md: %A" missing)
        }

        test "every checked-in config reads without error" {
            match repoFile "configs/table1/bp.json" with
            | None -> failtest "configs/ not found above the test binary"
            | Some bp ->
                let root = Path.GetDirectoryName(Path.GetDirectoryName bp)
                for f in Directory.GetFiles(root, "*.json", SearchOption.AllDirectories) do
                    if f.Contains "reconstruction" then Generative.load f Generative.defaults |> ignore
                    else Config.load f Config.defaults |> ignore
        }
    ]
