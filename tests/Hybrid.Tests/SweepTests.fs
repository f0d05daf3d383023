/// Sweeps: spec expansion and validation, successive halving, Welch's test, the
/// TensorBoard format, and the SQLite storage's claims, leases and migrations
/// (PostgreSQL and Slurm are exercised end to end by .ci/sweeps.sh).
module Hybrid.Tests.SweepTests

open System
open System.IO
open System.Threading
open System.Text.Json.Nodes
open Expecto
open FsCheck
open FsCheck.FSharp
open Hybrid
open Hybrid.Sweeps

let private spec (json: string) = Spec.parse "" json

let private small =
    """{ "name": "t", "base": { "dataset": "fashion-mnist", "epochs": 3, "model": { "kind": "mlp", "widths": [16] } },
         "methods": { "bp": { "config": { "algorithm": "bp" } },
                      "pc": { "config": { "algorithm": "pc" }, "axes": { "inference.steps": [2, 4] } } },
         "axes": { "optimizer.lr": [0.001, 0.01], "model.activation": ["gelu", "tanh"] },
         "seeds": [0, 1], "groups": ["fraction", "model.activation"] }"""

let private configError (f: unit -> 'a) (fragment: string) =
    try
        f () |> ignore
        failtestf "expected a ConfigError mentioning '%s'" fragment
    with ConfigError msg -> Expect.stringContains msg fragment "the error names the problem"

let private tempDb () =
    let dir = Path.Combine(Path.GetTempPath(), "hybrid-sweep-tests-" + Guid.NewGuid().ToString("N"))
    Directory.CreateDirectory dir |> ignore
    dir, Path.Combine(dir, "sweeps.db")

[<Tests>]
let specTests =
    testList "sweep specs" [
        test "a grid expands into methods x grid points x seeds, seeds fastest, every config validated" {
            let trials = Spec.expand (spec small)
            // bp: 2 lr x 2 activations x 2 seeds = 8; pc: 8 x 2 steps = 16.
            Expect.equal trials.Length 24 "trial count"
            Expect.equal (trials |> List.map (fun t -> t.Index)) [ 0..23 ] "indices in order"
            Expect.equal (trials |> List.take 2 |> List.map (fun t -> t.Seed)) [ 0L; 1L ] "the seed varies fastest"
            Expect.equal trials[0].Key "optimizer.lr=0.001, model.activation=gelu" "key of the first trial"
            Expect.equal trials[0].Group "fraction=1, model.activation=gelu" "group of the first trial"
            let pc = trials |> List.filter (fun t -> t.Method = "pc")
            Expect.equal pc.Length 16 "pc trials"
            for t in pc do
                match t.Config.Algorithm with
                | Algorithm.PredictiveCoding p -> Expect.isTrue (p.Inference.Steps = 2 || p.Inference.Steps = 4) "steps from the method's axis"
                | Algorithm.Backprop -> failtest "a pc trial runs bp"
            for t in trials do
                Expect.equal t.Config.Seed t.Seed "the config carries the trial's seed"
                Expect.equal t.Config.Epochs 3 "the base's epochs"
            let lrs = trials |> List.map (fun t -> t.Config.Optimizer.LearningRate) |> List.distinct |> List.sort
            Expect.equal lrs [ 0.001; 0.01 ] "learning rates from the axis"
        }

        test "the spec's config applies after the methods' own configurations" {
            let s = spec """{ "methods": { "a": { "config": { "epochs": 9 } } }, "config": { "epochs": 2 } }"""
            Expect.equal (Spec.expand s).Head.Config.Epochs 2 "config wins over the method"
        }

        test "random axes are drawn reproducibly from the sample seed, within their ranges" {
            let text seed =
                sprintf """{ "axes": { "optimizer.lr": { "logUniform": [1e-5, 1e-2] }, "inference.steps": { "intUniform": [2, 7] },
                              "model.activation": { "choice": ["gelu", "relu"] }, "inference.momentum": { "uniform": [0, 0.5] } },
                              "samples": 20, "sampleSeed": %d }""" seed
            let a = Spec.expand (spec (text 3))
            let b = Spec.expand (spec (text 3))
            let c = Spec.expand (spec (text 4))
            Expect.equal a.Length 20 "one trial per sample and seed"
            Expect.equal (a |> List.map (fun t -> t.Key)) (b |> List.map (fun t -> t.Key)) "same seed, same draws"
            Expect.notEqual (a |> List.map (fun t -> t.Key)) (c |> List.map (fun t -> t.Key)) "another seed, other draws"
            for t in a do
                let lr = t.Config.Optimizer.LearningRate
                Expect.isTrue (lr >= 1e-5 && lr <= 1e-2) "log-uniform within range"
                match t.Config.Algorithm with
                | Algorithm.PredictiveCoding p ->
                    Expect.isTrue (p.Inference.Steps >= 2 && p.Inference.Steps <= 7) "int-uniform within range"
                    Expect.isTrue (p.Inference.Momentum >= 0.0 && p.Inference.Momentum <= 0.5) "uniform within range"
                | Algorithm.Backprop -> failtest "the default algorithm is pc"
        }

        test "a spec written by toJson reads back into the same trials" {
            let s = spec small
            let again = Spec.parse "" (Codec.writeText (Spec.toJson s))
            let key (t: Spec.Trial) = t.Index, t.Method, t.Group, t.Key, t.Seed, Config.toText t.Config
            Expect.equal (Spec.expand again |> List.map key) (Spec.expand s |> List.map key) "same trials"
        }

        test "YAML specs read like their JSON form" {
            let yaml = "name: y\nbase:\n  epochs: 2\naxes:\n  optimizer.lr: [0.001, 0.01]\n  init: ['forward', \"zero\"]\nseeds: 2\n"
            let s = spec (Spec.yamlToJson yaml)
            let trials = Spec.expand s
            Expect.equal trials.Length 8 "2 lr x 2 inits x 2 seeds"
            Expect.equal trials[0].Config.Epochs 2 "numbers read as numbers"
        }

        test "bad specs are refused with the field named" {
            configError (fun () -> spec """{ "axis": {} }""") "unknown sweep field 'axis'"
            configError (fun () -> Spec.expand (spec """{ "axes": { "optimiser.lr": [0.1] } }""")) "optimiser"
            configError (fun () -> Spec.expand (spec """{ "axes": { "optimizer.lr": [-1] } }""")) "optimizer.lr=-1"
            configError (fun () -> spec """{ "axes": { "seed": [1, 2] } }""") "seeds"
            configError (fun () -> spec """{ "axes": { "optimizer.lr": [] } }""") "no values"
            configError (fun () -> spec """{ "axes": { "optimizer.lr": { "logUniform": [0, 1] } } }""") "0 < lo"
            configError (fun () -> spec """{ "samples": 3 }""") "random axis"
            configError (fun () -> spec """{ "seeds": [1, 1] }""") "repeats"
            configError (fun () -> spec """{ "name": "a b" }""") "name"
            configError (fun () -> spec """{ "direction": "up" }""") "direction"
            configError (fun () -> spec """{ "groups": ["method"] }""") "always a row"
            configError (fun () -> Spec.expand (spec """{ "groups": ["nosuch"] }""")) "nosuch"
            configError (fun () -> Spec.expand (spec """{ "base": { "epochs": 2 }, "asha": { "minEpochs": 2 } }""")) "minEpochs"
            configError (fun () -> spec """{ "base": "no/such/config" }""") "no/such/config"
            configError (fun () -> spec """{ "methods": { "a": { "config": {}, "extra": 1 } } }""") "extra"
            configError (fun () -> Spec.yamlToJson "a: [1, 2") "YAML"
        }

        test "the paper's Table 1 search ships as a spec: 17,370 configurations x 3 seeds" {
            let s = Spec.load "sweeps/table1-mlp"
            let trials = Spec.expand s
            Expect.equal trials.Length 52110 "90 BP + 4,320 PC-fw + 12,960 PC-avg configurations, 3 seeds each"
            let count m = trials |> List.filter (fun t -> t.Method = m) |> List.length
            Expect.equal (count "bp", count "pc-fw", count "pc-avg") (270, 12960, 38880) "per method"
            Expect.equal (trials |> List.map (fun t -> t.Group) |> List.distinct) [ "fraction=0.25"; "fraction=0.5"; "fraction=1" ] "grouped by fraction"
            Expect.isTrue (trials |> List.forall (fun t -> t.Config.Epochs = 16 && t.Config.BatchSize = 200)) "the paper's epochs and batch"
        }

        test "rungs of successive halving" {
            Expect.equal (Spec.rungs { MinEpochs = 1; Reduction = 3 } 16) [ 1; 3; 9 ] "eta 3"
            Expect.equal (Spec.rungs { MinEpochs = 2; Reduction = 2 } 16) [ 2; 4; 8 ] "eta 2"
            Expect.equal (Spec.rungs { MinEpochs = 1; Reduction = 3 } 2) [ 1 ] "two epochs: one rung"
        }
    ]

[<Tests>]
let ashaTests =
    testList "successive halving" [
        testPropertyWithConfig (Util.propertyConfig 200) "at a rung exactly the best max(1, n / eta) distinct values go on"
        <| Prop.forAll
            (Arb.fromGen (
                gen {
                    let! n = Gen.choose (1, 30)
                    let! xs = Gen.listOfLength n (Gen.choose (0, 1000))
                    let! eta = Gen.choose (2, 5)
                    return xs |> List.distinct |> List.map float, eta
                }))
            (fun (vs, eta) ->
                let kept = vs |> List.filter (fun v -> Worker.Asha.keep Spec.Direction.Maximize eta v vs)
                let k = max 1 (vs.Length / eta)
                kept.Length = k && kept |> List.forall (fun v -> vs |> List.filter (fun x -> x > v) |> List.length < k))

        test "minimising keeps the smallest values" {
            let vs = [ 5.0; 1.0; 3.0; 2.0; 4.0; 6.0 ]
            let kept = vs |> List.filter (fun v -> Worker.Asha.keep Spec.Direction.Minimize 3 v vs)
            Expect.equal (List.sort kept) [ 1.0; 2.0 ] "the best third"
        }

        test "the first trial at a rung goes on" {
            Expect.isTrue (Worker.Asha.keep Spec.Direction.Maximize 3 10.0 [ 10.0 ]) "alone at its rung"
        }
    ]

[<Tests>]
let statsTests =
    testList "report statistics" [
        test "Welch's t-test matches a value computed independently" {
            // t = -3 / sqrt(2.5/5 + 10/5), df = 6.25 / (0.25/4 + 4/4); p by numerical integration of the t density.
            let w = (Stats.welch [ 1.0; 2.0; 3.0; 4.0; 5.0 ] [ 2.0; 4.0; 6.0; 8.0; 10.0 ]).Value
            Expect.floatClose Accuracy.veryHigh w.T -1.8973665961010275 "t"
            Expect.floatClose Accuracy.veryHigh w.Df 5.882352941176471 "df"
            Expect.floatClose { absolute = 1e-6; relative = 1e-5 } w.P 0.10753119459 "p"
        }

        test "Welch's test needs two values with spread on each side" {
            Expect.isNone (Stats.welch [ 1.0 ] [ 2.0; 3.0 ]) "one value"
            Expect.isNone (Stats.welch [ 1.0; 1.0 ] [ 2.0; 2.0 ]) "no spread"
        }

        test "sample standard deviation" {
            Expect.floatClose Accuracy.veryHigh (Stats.std [ 2.0; 4.0; 4.0; 4.0; 5.0; 5.0; 7.0; 9.0 ]) (sqrt (32.0 / 7.0)) "n - 1"
            Expect.equal (Stats.std [ 3.0 ]) 0.0 "one value"
        }
    ]

[<Tests>]
let tensorBoardTests =
    testList "TensorBoard event files" [
        test "CRC-32C of the standard check string" {
            Expect.equal (TensorBoard.crc32c (ReadOnlySpan(Text.Encoding.ASCII.GetBytes "123456789"))) 0xE3069283u "the check value"
        }

        test "scalars read back with both checksums verified; a record cut short at the end is skipped" {
            let dir, _ = tempDb ()
            let path =
                use w = TensorBoard.create dir
                w.Scalars(1L, [ "test/accuracy", 81.25; "train/energy", 0.5 ])
                w.Scalars(2L, [ "test/accuracy", 83.5 ])
                w.Path
            let read = TensorBoard.read path
            Expect.equal (read |> List.map (fun s -> s.Tag, s.Step, s.Value)) [ "test/accuracy", 1L, 81.25f; "train/energy", 1L, 0.5f; "test/accuracy", 2L, 83.5f ] "scalars"
            let bytes = File.ReadAllBytes path
            File.WriteAllBytes(path, bytes[.. bytes.Length - 5])
            Expect.equal (TensorBoard.read path |> List.length) 2 "the cut record is skipped"
            let damaged = Array.copy bytes
            damaged[damaged.Length - 8] <- damaged[damaged.Length - 8] ^^^ 0xFFuy
            File.WriteAllBytes(path, damaged)
            Expect.throws (fun () -> TensorBoard.read path |> ignore) "a damaged record is refused"
            Directory.Delete(dir, true)
        }
    ]

let private trialsOf (n: int) =
    [ for i in 0 .. n - 1 ->
          ({ Index = i; Method = "m"; Group = ""; Key = sprintf "k=%d" (i / 2); Seed = int64 (i % 2); Config = { Config.defaults with Seed = int64 (i % 2) } }: Spec.Trial) ]

/// Runs `f` on a fresh SQLite storage holding sweep "s" of `trials` trials (none: 0),
/// then removes it.
let private withStore (trials: int) (f: string -> Store.SweepStore -> unit) =
    let dir, db = tempDb ()
    let store = Store.connect db
    if trials > 0 then store.Create("s", "{}", trialsOf trials) |> ignore
    f db store
    Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools()
    Directory.Delete(dir, true)

[<Tests>]
let storeTests =
    testList "sweep storage (SQLite)" [
        test "migrations are versioned and idempotent; a newer schema is refused" {
            let dir, db = tempDb ()
            let store = Store.connect db
            Expect.equal (store.Version()) 0 "empty"
            store.Migrate()
            store.Migrate()
            Expect.equal (store.Version()) Store.schemaVersion "current version once"
            use c = new Microsoft.Data.Sqlite.SqliteConnection("Data Source=" + db)
            c.Open()
            use cmd = c.CreateCommand()
            cmd.CommandText <- "INSERT INTO schema_version (version) VALUES (99)"
            cmd.ExecuteNonQuery() |> ignore
            c.Close()
            Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools()
            try
                store.Migrate()
                failtest "a newer schema must be refused"
            with Store.StoreError msg -> Expect.stringContains msg "newer" "says why"
            Directory.Delete(dir, true)
        }

        test "a sweep is stored once; the same name with another spec is refused" {
            withStore 0 (fun _ store ->
                Expect.isTrue (store.Create("s", "{}", trialsOf 4)) "created"
                Expect.isFalse (store.Create("s", "{}", trialsOf 4)) "same spec: left as it is"
                Expect.throws (fun () -> store.Create("s", "{\"x\":1}", trialsOf 4) |> ignore) "another spec"
                Expect.equal (store.Trials "s" |> List.length) 4 "trials stored once")
        }

        test "concurrent claims from 8 threads hand out every trial exactly once" {
            withStore 40 (fun db store ->
                let claimed = Collections.Concurrent.ConcurrentBag<int * string>()
                let workers =
                    [ for w in 1..8 ->
                          Thread(fun () ->
                              let own = Store.connect db
                              let mutable go = true
                              while go do
                                  match own.Claim("s", sprintf "w%d" w, 60.0, 3) with
                                  | Some c ->
                                      claimed.Add(c.Index, c.Worker)
                                      Expect.isTrue (own.Finish(c, Store.Status.Completed, Some 1.0, 1, 0.0, None, None)) "the holder finishes"
                                  | None -> go <- false) ]
                for t in workers do t.Start()
                for t in workers do t.Join()
                Expect.equal (claimed |> Seq.map fst |> Seq.sort |> List.ofSeq) [ 0..39 ] "each trial claimed once"
                Expect.isTrue (store.Trials "s" |> List.forall (fun t -> t.Status = "completed" && t.Completions = 1)) "each completed once")
        }

        test "an expired lease is claimed again; the old holder can neither renew nor finish" {
            withStore 1 (fun _ store ->
                let first = (store.Claim("s", "a", 1.0, 3)).Value
                Expect.isNone (store.Claim("s", "b", 1.0, 3)) "held while the lease runs"
                Thread.Sleep 1300
                let second = (store.Claim("s", "b", 60.0, 3)).Value
                Expect.equal (second.Index, second.Attempt) (0, 2) "the same trial, attempt 2"
                Expect.isFalse (store.Heartbeat(first, 60.0)) "the old holder cannot renew"
                Expect.isFalse (store.Epoch(first, 1, 50.0, 1.0, 1.0, 50.0)) "nor record epochs"
                Expect.isFalse (store.Finish(first, Store.Status.Completed, Some 1.0, 1, 1.0, None, None)) "nor finish"
                Expect.isTrue (store.Finish(second, Store.Status.Completed, Some 2.0, 1, 1.0, None, None)) "the new holder finishes"
                let t = (store.Trials "s").Head
                Expect.equal (t.Status, t.Metric, t.Completions, t.Worker) ("completed", Some 2.0, 1, Some "b") "completed once, by b"
                let events = store.Events "s" |> List.map (fun e -> e.Event, e.Worker, e.Attempt)
                Expect.equal events [ "claimed", "a", 1; "claimed", "b", 2; "completed", "b", 2 ] "the log")
        }

        test "a trial whose workers keep vanishing fails after maxAttempts instead of running forever" {
            withStore 1 (fun _ store ->
                for attempt in 1..2 do
                    let c = (store.Claim("s", sprintf "w%d" attempt, 1.0, 2)).Value
                    Expect.equal c.Attempt attempt "attempt number"
                    Thread.Sleep 1200
                Expect.isNone (store.Claim("s", "w3", 1.0, 2)) "nothing left to claim"
                let t = (store.Trials "s").Head
                Expect.equal t.Status "failed" "failed"
                Expect.stringContains (defaultArg t.Error "") "lost 2 times" "says why"
                Expect.equal (store.Open "s") 0 "no open trial")
        }

        test "storage URLs" {
            match Store.parseUrl "postgres://u:p%40ss@db.example:6543/sweeps?Timeout=5" with
            | Store.Backend.Postgres cs ->
                let b = Npgsql.NpgsqlConnectionStringBuilder cs
                Expect.equal (b.Host, b.Port, b.Username, b.Password, b.Database, b.Timeout) ("db.example", 6543, "u", "p@ss", "sweeps", 5) "parts"
                Expect.equal (Store.describe (Store.Backend.Postgres cs)) "postgres://u@db.example:6543/sweeps" "no password when shown"
            | b -> failtestf "read as %A" b
            Expect.equal (Store.parseUrl "sqlite:/tmp/x.db") (Store.Backend.Sqlite "/tmp/x.db") "sqlite:"
            Expect.equal (Store.parseUrl "runs/x.db") (Store.Backend.Sqlite "runs/x.db") "a path"
            Expect.throws (fun () -> Store.parseUrl "redis://x" |> ignore) "unknown kind"
            Expect.throws (fun () -> Store.parseUrl "postgres://h/db?nosuchoption=1" |> ignore) "unknown option"
        }

        test "an unreachable PostgreSQL server is a StoreError naming it" {
            // Port 1 on loopback: nothing listens there.
            let store = Store.connect "postgres://nobody@127.0.0.1:1/none?Timeout=3"
            try
                store.Migrate()
                failtest "expected a StoreError"
            with Store.StoreError msg -> Expect.stringContains msg "127.0.0.1:1" "names the server"
        }
    ]

/// Holds an exclusive lock on an SQLite file for `seconds` on another thread; the
/// returned event is set once the lock is held.
let private holdLock (db: string) (seconds: float) =
    let held = new ManualResetEventSlim(false)
    let t =
        Thread(fun () ->
            use c = new Microsoft.Data.Sqlite.SqliteConnection("Data Source=" + db + ";Pooling=False")
            c.Open()
            use cmd = c.CreateCommand()
            cmd.CommandText <- "BEGIN EXCLUSIVE"
            cmd.ExecuteNonQuery() |> ignore
            held.Set()
            Thread.Sleep(TimeSpan.FromSeconds seconds)
            cmd.CommandText <- "COMMIT"
            cmd.ExecuteNonQuery() |> ignore)
    t.Start()
    held.Wait()
    t

[<Tests>]
let faultTests =
    testList "sweep faults" [
        test "storage errors never show the password" {
            for url in [ "postgres://postgres:secretpw@127.0.0.1:5999/hybrid?Bogus=1"
                         "postgres://postgres:secretpw@127.0.0.1:5999/hybrid?Timeout=abc"
                         "postgres://postgres:secret@pw@127.0.0.1:99999/hybrid"
                         "postgres://postgres:secretpw@127.0.0.1:5999/hybrid?Port"
                         "Host=127.0.0.1;Password=secretpw;Bogus=1" ] do
                try
                    Store.parseUrl url |> ignore
                    failtestf "%s must be refused" url
                with Store.StoreError msg ->
                    Expect.isFalse (msg.Contains "secret") (sprintf "no password in: %s" msg)
                    Expect.stringContains msg "***" "the password's place is shown"
            // A valid option with a bad value is named as such, not as unknown.
            try Store.parseUrl "postgres://u:p@h/db?Timeout=abc" |> ignore
            with Store.StoreError msg -> Expect.stringContains msg "option 'Timeout' cannot be 'abc'" "a bad value"
            Expect.equal (Store.redact "postgres://u:p:w@h:1/d") "postgres://u:***@h:1/d" "userinfo"
            Expect.equal (Store.redact "Host=h;Password=x y;Port=1") "Host=h;Password=***;Port=1" "connection string"
            Expect.equal (Store.redact "runs/sweeps.db") "runs/sweeps.db" "nothing to hide"
        }

        test "an SQLite lock held past the busy timeout is waited out, and the outage is kept" {
            withStore 2 (fun db _ ->
                let store = Store.connectWith { RetrySeconds = 30.0; BusyTimeoutSeconds = 0.3 } db
                store.Trials "s" |> ignore
                let holder = holdLock db 1.5
                let clock = Diagnostics.Stopwatch.StartNew()
                let claim = store.Claim("s", "w", 60.0, 3)
                holder.Join()
                Expect.isSome claim "claimed once the lock was released"
                Expect.isGreaterThan clock.Elapsed.TotalSeconds 1.0 "it waited for the lock"
                match store.TakeOutages() with
                | [ o ] ->
                    Expect.isGreaterThan o.Retries 0 "retried"
                    Expect.stringContains o.Cause "locked" "the cause"
                    store.LogOutage("s", "w", o)
                    Expect.equal (store.Events "s" |> List.filter (fun e -> e.Event = "outage") |> List.length) 1 "logged for sweep status"
                | os -> failtestf "expected one outage, got %A" os
                Expect.isEmpty (store.TakeOutages()) "taken once")
        }

        test "a lock held longer than the retry time fails in one line naming the storage" {
            withStore 1 (fun db _ ->
                let store = Store.connectWith { RetrySeconds = 0.5; BusyTimeoutSeconds = 0.2 } db
                let holder = holdLock db 2.0
                try
                    try
                        store.Claim("s", "w", 60.0, 3) |> ignore
                        failtest "expected a StoreError"
                    with Store.StoreError msg ->
                        Expect.stringContains msg "sqlite:" "names the storage"
                        Expect.stringContains msg "HYBRID_STORAGE_RETRY_SECONDS" "says how to wait longer"
                finally holder.Join())
        }

        test "a trial given back does not use up its attempts; lost leases do" {
            withStore 1 (fun _ store ->
                // Three claims given back (interrupted, or the worker's environment failed) ...
                for i in 1..3 do
                    let c = (store.Claim("s", sprintf "w%d" i, 60.0, 2)).Value
                    Expect.isTrue (store.Release c) "given back"
                // ... then a lease lost once: still claimed again with maxAttempts 2.
                store.Claim("s", "lost", 0.2, 2) |> ignore
                Thread.Sleep 400
                let again = store.Claim("s", "next", 60.0, 2)
                Expect.isSome again "claimed again after one lost lease"
                Expect.equal again.Value.Attempt 5 "the fifth claim"
                Expect.equal (store.Trials "s").Head.Status "running" "not failed")
        }

        test "sweep retry re-queues failed trials; others are refused by number" {
            withStore 3 (fun _ store ->
                let c0 = (store.Claim("s", "w", 60.0, 3)).Value
                store.Finish(c0, Store.Status.Failed, None, 0, 1.0, Some "boom", None) |> ignore
                let c1 = (store.Claim("s", "w", 60.0, 3)).Value
                store.Finish(c1, Store.Status.Diverged, None, 1, 1.0, Some "step size", None) |> ignore
                Expect.equal (store.Retry("s", [ Store.Status.Failed ], None, "me")) [ 0 ] "the failed one"
                let t0 = (store.Trials "s").Head
                Expect.equal (t0.Status, t0.Error, t0.Worker) ("pending", None, None) "pending again, its error cleared"
                Expect.isNonEmpty (store.Events "s" |> List.filter (fun e -> e.Event = "retried" && e.Index = 0)) "logged"
                try
                    store.Retry("s", [ Store.Status.Failed ], Some [ 2 ], "me") |> ignore
                    failtest "a pending trial cannot be retried"
                with Store.StoreError msg -> Expect.stringContains msg "trial 2 of sweep s is pending, not failed" "names it"
                Expect.equal (store.Retry("s", [ Store.Status.Failed; Store.Status.Diverged ], Some [ 1 ], "me")) [ 1 ] "diverged, by number"
                let c = (store.Claim("s", "w2", 60.0, 3)).Value
                Expect.equal c.Index 0 "claimed again"
                Expect.isTrue (store.Finish(c, Store.Status.Completed, Some 1.0, 1, 1.0, None, None)) "completes"
                Expect.equal (store.Trials "s").Head.Completions 1 "once")
        }

        test "reading a missing SQLite file creates nothing" {
            let dir, db = tempDb ()
            let store = Store.connect db
            Expect.isEmpty (store.Sweeps()) "no sweeps"
            Expect.isFalse store.Exists "not there"
            Expect.isFalse (File.Exists db) "not created"
            try
                Worker.work store Worker.defaults Worker.WorkerObserver.silent CancellationToken.None |> ignore
                failtest "a worker needs a sweep"
            with Store.StoreError msg -> Expect.stringContains msg "does not exist" "says so"
            Expect.isFalse (File.Exists db) "still not created"
            Directory.Delete(dir, true)
        }

        test "a worker's own failures are told from the trial's" {
            Expect.isTrue (Worker.environmental (IOException "No space left on device")) "a full disk"
            Expect.isTrue (Worker.environmental (UnauthorizedAccessException "denied")) "permissions"
            Expect.isTrue (Worker.environmental (Worker.DataUnavailable("dataset 'x' not found", exn "x"))) "data this machine lacks"
            Expect.isFalse (Worker.environmental (ConfigError "bad lr")) "the trial's configuration"
            Expect.isFalse (Worker.environmental (InvalidOperationException "a defect")) "a defect"
            let dir, _ = tempDb ()
            let blocker = Path.Combine(dir, "file")
            File.WriteAllText(blocker, "")
            Worker.checkWritable dir "s"
            Expect.isEmpty (Directory.GetFiles(Path.Combine(dir, "s"))) "the probe is removed"
            try
                Worker.checkWritable blocker "s"
                failtest "a file in the way"
            with :? IOException as e -> Expect.stringContains e.Message "cannot be written" "names the problem"
            Directory.Delete(dir, true)
        }

        test "hostile YAML: aliases and deep nesting are refused, quickly" {
            let bomb =
                String.Join("\n",
                    [ yield "a0: &a0 [x, x, x, x, x, x, x, x, x]"
                      for i in 1..9 -> sprintf "a%d: &a%d [%s]" i i (String.Join(", ", List.replicate 9 (sprintf "*a%d" (i - 1)))) ])
            configError (fun () -> Spec.yamlToJson bomb) "aliases (*a0) are not supported"
            let deep = "a: " + String.replicate 20000 "{b: " + "1" + String.replicate 20000 "}"
            configError (fun () -> Spec.yamlToJson deep) "nested deeper than 64 levels"
            let nested = String.Join("", [ for i in 0..99 -> String.replicate i "  " + "k:\n" ])
            configError (fun () -> Spec.yamlToJson nested) "nested deeper than 64"
            configError (fun () -> Spec.yamlToJson "a: 1\n---\nb: 2\n") "several documents"
            Expect.equal (Spec.yamlToJson "a: &x 1\nb: [2, '3', null]\n") "{\"a\":1,\"b\":[2,\"3\",null]}" "anchors without aliases are fine"
        }

        test "expansions, integers and names are bounded before anything is built" {
            let base' = "\"base\": { \"dataset\": \"fashion-mnist\", \"epochs\": 2 }"
            let clock = Diagnostics.Stopwatch.StartNew()
            configError (fun () -> spec (sprintf "{ %s, \"seeds\": 1000000000 }" base')) "more than the 100000 trials"
            let axis n = "[" + String.Join(", ", [ for i in 1..n -> string i ]) + "]"
            configError (fun () -> spec (sprintf "{ %s, \"axes\": { \"batchSize\": %s, \"epochs\": %s, \"inference.steps\": %s, \"evalEvery\": %s } }" base' (axis 100) (axis 100) (axis 100) (axis 100)))
                "expands into 100000000 trials"
            Expect.isLessThan clock.Elapsed.TotalSeconds 5.0 "refused without expanding"
            configError (fun () -> spec (sprintf "{ %s, \"axes\": { \"optimizer.lr\": { \"uniform\": [0.1, 0.2] } }, \"samples\": 3e9 }" base')) "'samples' must be an integer in [1, 100000]"
            configError (fun () -> spec (sprintf "{ %s, \"axes\": { \"optimizer.lr\": { \"uniform\": [0.1, 0.2] } }, \"samples\": 4294967297 }" base')) "'samples' must be an integer"
            configError (fun () -> spec (sprintf "{ %s, \"maxAttempts\": 3e9 }" base')) "'maxAttempts' must be an integer in [1, 1000]"
            configError (fun () -> spec (sprintf "{ %s, \"seeds\": [1e300] }" base')) "'seeds[0]' must be an integer within"
            configError (fun () -> spec (sprintf "{ %s, \"axes\": { \"batchSize\": { \"intUniform\": [1, 1e12] } } }" base')) "'axes.batchSize.intUniform' must lie within"
            configError (fun () -> spec (sprintf "{ %s, \"axes\": { \"optimizer.lr\": [null] } }" base')) "'axes.optimizer.lr[0]' is null"
            for name in [ "."; ".."; ".hidden" ] do
                configError (fun () -> spec (sprintf "{ \"name\": \"%s\", %s }" name base')) "must not start with '.'"
            configError (fun () -> spec (sprintf "{ \"name\": \"%s\", %s }" (String.replicate 300 "a") base')) "at most 100"
            configError (fun () -> spec (sprintf "{ \"name\": \"a/b\", %s }" base')) "letters, digits"
        }

        test "config and spec files over the size limit are refused before they are read" {
            let dir, _ = tempDb ()
            let file = Path.Combine(dir, "big.json")
            do
                use f = File.Create file
                f.SetLength(Codec.maxTextBytes () + 1L)
            configError (fun () -> Spec.load file) "more than the 16777216"
            configError (fun () -> Config.load file Config.defaults) "more than the 16777216"
            Directory.Delete(dir, true)
        }
    ]

/// A sweep of `spec` created in a fresh SQLite file (skipped without Fashion-MNIST): its folder, storage and creation.
let private sweepOn (spec: string) =
    if (Data.Dataset.locate None "fashion-mnist").IsNone then skiptest "fashion-mnist is not installed (CI installs it)"
    let dir, db = tempDb ()
    let file = Path.Combine(dir, "spec.json")
    File.WriteAllText(file, spec)
    let store = Store.connect db
    let created, _ = SweepReport.create store file None
    dir, store, created

[<Tests>]
let workerTests =
    testList "sweep workers" [
        test "a worker with a 1 s lease (a heartbeat every 0.33 s) completes 24 short trials" {
            let dir, store, _ =
                sweepOn """{ "name": "beats", "base": { "dataset": "fashion-mnist", "fraction": 0.01, "epochs": 1, "batchSize": 100,
                    "algorithm": "bp", "model": { "kind": "mlp", "widths": [16] } }, "axes": { "optimizer.lr": [0.001, 0.002, 0.003, 0.004] }, "seeds": 6 }"""
            // Heartbeats fire throughout trials of about their period. (A beat that raced the
            // end of its trial once cancelled a disposed token on the timer thread and ended
            // the process; beats now stop, under a lock, before the end is written. The race
            // is rare, so this is a smoke test of the ordering, not a reproduction.)
            let summary =
                Worker.work store { Worker.defaults with Out = Path.Combine(dir, "runs"); LeaseSeconds = 1.0; Name = Some "b" } Worker.WorkerObserver.silent CancellationToken.None
            Expect.equal (summary.Trials |> List.map (fun t -> t.Status) |> List.distinct) [ "completed" ] "every trial completed"
            Expect.equal summary.Trials.Length 24 "all 24"
            Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools()
            Directory.Delete(dir, true)
        }

        test "a trial claimed again after its worker died resumes from its checkpoint and ends with an uninterrupted run's metric" {
            let json name =
                sprintf """{ "name": "%s", "base": { "dataset": "fashion-mnist", "fraction": 0.02, "epochs": 3, "batchSize": 100,
                    "algorithm": "pc", "inference": { "steps": 3 }, "model": { "kind": "mlp", "widths": [16] } }, "seeds": [7] }""" name
            let dir, store, _ = sweepOn (json "crash")
            let runs = Path.Combine(dir, "runs")
            // The first worker dies after its first epoch: the storage still shows the trial running under its lease.
            let dies = { Worker.WorkerObserver.silent with Epoch = fun _ r -> if r.Epoch = 1 then raise (Store.StoreError "the worker died") }
            let options = { Worker.defaults with Out = runs; LeaseSeconds = 1.0; PollSeconds = 0.2 }
            Expect.throws (fun () -> Worker.work store { options with Name = Some "dies" } dies CancellationToken.None |> ignore) "the first worker dies"
            let summary = Worker.work store { options with Name = Some "next" } Worker.WorkerObserver.silent CancellationToken.None
            Expect.equal (summary.Trials |> List.map (fun t -> t.Status)) [ "completed" ] "the next worker completed it"
            let trial = (store.Trials "crash").Head
            Expect.equal trial.Attempts 2 "on its second attempt"
            Expect.equal trial.Completions 1 "completed once"
            let resumed = store.Events "crash" |> List.filter (fun e -> e.Event = "resumed")
            Expect.equal (resumed |> List.map (fun e -> e.Attempt, e.Detail)) [ 2, Some "from epoch 1" ] "the second attempt resumed after epoch 1"
            let folder = Path.Combine(runs, "crash", "trial-0000")
            Expect.equal trial.RunDir (Some folder) "in the trial's one folder"
            Expect.equal (File.ReadAllLines(Path.Combine(folder, "results.jsonl")).Length) 3 "each epoch once"
            Expect.equal (store.Epochs "crash" |> List.map (fun (_, e, _) -> e)) [ 1; 2; 3 ] "every epoch recorded for the attempt"
            // The same trial without a crash.
            let file = Path.Combine(dir, "plain.json")
            File.WriteAllText(file, json "plain")
            SweepReport.create store file None |> ignore
            Worker.work store { options with Sweep = Some "plain"; Name = Some "plain" } Worker.WorkerObserver.silent CancellationToken.None |> ignore
            let plain = (store.Trials "plain").Head
            Expect.equal trial.Metric plain.Metric "the resumed trial's metric is the uninterrupted run's"
            Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools()
            Directory.Delete(dir, true)
        }

        test "a worker runs every trial, reports epochs, and ASHA stops trials below the rung's quantile" {
            let dir, store, created =
                sweepOn """{ "name": "w", "base": { "dataset": "fashion-mnist", "fraction": 0.02, "epochs": 3, "batchSize": 100,
                    "algorithm": "bp", "model": { "kind": "mlp", "widths": [32] } },
                    "axes": { "optimizer.lr": [0.003, 0.01, 0.00001, 0.00003] }, "asha": { "minEpochs": 1, "reduction": 2 } }"""
            Expect.equal created.Trials 4 "4 trials"
            let summary = Worker.work store { Worker.defaults with Out = Path.Combine(dir, "runs"); Name = Some "t" } Worker.WorkerObserver.silent CancellationToken.None
            Expect.equal summary.Trials.Length 4 "the worker ran all"
            let trials = store.Trials "w"
            Expect.isTrue (trials |> List.forall (fun t -> t.Status = "completed" || t.Status = "pruned")) "every trial ended"
            // The tiny learning rates are far behind after one epoch: at least one of them stops there.
            let pruned = trials |> List.filter (fun t -> t.Status = "pruned")
            Expect.isNonEmpty pruned "successive halving stopped a trial"
            Expect.isTrue (pruned |> List.forall (fun t -> t.Epochs = 1)) "stopped at the rung"
            let best = trials |> List.filter (fun t -> t.Status = "completed") |> List.map (fun t -> t.Metric.Value) |> List.max
            Expect.isTrue (pruned |> List.forall (fun t -> t.Metric.Value < best)) "only worse trials stop"
            // Each trial's folder has its results and a TensorBoard file with one accuracy per epoch.
            for t in trials do
                let folder = t.RunDir.Value
                Expect.isTrue (File.Exists(Path.Combine(folder, "summary.json"))) "summary written"
                let events = Directory.GetFiles(folder, "events.out.tfevents.*") |> Array.exactlyOne
                let acc = TensorBoard.read events |> List.filter (fun s -> s.Tag = "test/accuracy")
                Expect.equal acc.Length t.Epochs "one accuracy per epoch"
            let report = SweepReport.report store None (Some(Path.Combine(dir, "report")))
            Expect.isTrue (File.Exists(Path.Combine(dir, "report", "best.csv"))) "best.csv"
            Expect.isTrue (File.Exists(Path.Combine(dir, "report", "bestAccuracy-vs-optimizer.lr.png"))) "plot"
            Expect.isNonEmpty report.Tables "a table"
            let exported = SweepReport.export store None (Path.Combine(dir, "export"))
            let cfg = Config.load exported.Head Config.defaults
            Expect.equal cfg.Optimizer.LearningRate (trials |> List.filter (fun t -> t.Status = "completed") |> List.maxBy (fun t -> t.Metric.Value) |> fun t -> (Config.parse t.Config Config.defaults).Optimizer.LearningRate) "the best config exported"
            Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools()
            Directory.Delete(dir, true)
        }
    ]
