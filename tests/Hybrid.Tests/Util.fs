/// Helpers shared by the tests.
module Hybrid.Tests.Util

open Expecto

/// Runs `f`, expects an exception of type 'E and returns it.
let throws<'E when 'E :> exn> (f: unit -> unit) : 'E =
    let caught =
        try
            f ()
            None
        with e -> Some e
    match caught with
    | None -> failtestf "expected %s, nothing was thrown" typeof<'E>.Name
    | Some(:? 'E as e) -> e
    | Some e -> failtestf "expected %s, got %s: %s" typeof<'E>.Name (e.GetType().Name) e.Message

/// The FsCheck settings of a property: `maxTest` cases from a fixed seed, so that every
/// run (CI included) checks the same cases and a failure reproduces. Set
/// HYBRID_PROPERTY_SEED=random to draw fresh cases (the failure message then prints
/// the seed to replay), or to "S,G" (two unsigned integers, G odd) for another fixed set.
let propertyConfig (maxTest: int) =
    let replay =
        match System.Environment.GetEnvironmentVariable "HYBRID_PROPERTY_SEED" with
        | null | "" -> Some(20261122UL, 1234567891UL, None)
        | "random" -> None
        | s ->
            match s.Split(',') with
            | [| a; b |] -> Some(System.UInt64.Parse(a.Trim()), System.UInt64.Parse(b.Trim()) ||| 1UL, None)
            | _ -> failwithf "HYBRID_PROPERTY_SEED must be 'random' or 'S,G', got '%s'" s
    { FsCheckConfig.defaultConfig with maxTest = maxTest; replay = replay }

/// A file of the repository: the first folder above the test binary that holds `relative`.
let repoFile (relative: string) =
    let rec up (d: System.IO.DirectoryInfo) =
        if isNull d then None
        elif System.IO.File.Exists(System.IO.Path.Combine(d.FullName, relative)) then Some(System.IO.Path.Combine(d.FullName, relative))
        else up d.Parent
    up (System.IO.DirectoryInfo System.AppContext.BaseDirectory)

/// Whether the expensive properties run in full (HYBRID_FULL_PROPERTIES=1). By default
/// the sPC/ePC equilibrium property (two inference runs of 1,500 steps per case, about
/// half of the suite's time when run on every model) runs once per model family: dense
/// MLPs (and the exact linear chains), residual MLPs (muPC) and convolutional networks;
/// its other instances (a user's tanh block, residual sp and ntp, user chains) are
/// skipped, and say how to run them.
let fullProperties = System.Environment.GetEnvironmentVariable "HYBRID_FULL_PROPERTIES" = "1"

/// `t` when the properties run in full, else a skipped test of the same name.
let fullOnly (name: string) (t: Test) =
    if fullProperties then t
    else testCase name (fun () -> skiptest "one instance per model family runs by default; HYBRID_FULL_PROPERTIES=1 runs this one too")

/// The FsCheck settings of an expensive property: `full` cases with HYBRID_FULL_PROPERTIES=1, else `fewer`.
let expensiveConfig (full: int) (fewer: int) = propertyConfig (if fullProperties then full else fewer)
