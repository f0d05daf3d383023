/// Where a sweep's trials live: an SQLite file (several workers on one machine) or a
/// PostgreSQL database (workers on many machines). Claims are atomic (an immediate
/// transaction on SQLite, `FOR UPDATE SKIP LOCKED` on PostgreSQL); a claim is a
/// lease that its worker renews, so a trial whose worker died is claimed again once
/// the lease runs out, and only the holder of the current lease can finish a trial,
/// so no trial completes twice. The schema is versioned; `migrate` brings a database
/// to the current version and refuses one written by a newer version.
module Hybrid.Sweeps.Store

open System
open System.Data
open System.Data.Common
open Microsoft.Data.Sqlite
open Npgsql

/// The storage failed or refused (unreachable, a newer schema, a sweep that
/// exists with another spec). The message names the storage and the problem.
exception StoreError of string with
    override this.Message = this.Data0

let private fail fmt = Printf.kprintf (fun s -> raise (StoreError s)) fmt

/// A storage location.
[<RequireQualifiedAccess>]
type Backend =
    | Sqlite of path: string
    | Postgres of connectionString: string

/// A storage URL with its password replaced by `***` (the userinfo of a URL, and a
/// `Password=` of a connection string): what messages show.
let redact (url: string) : string =
    let url = Text.RegularExpressions.Regex.Replace(url, "(?<=://[^/@:]*:).*(?=@)", "***")
    Text.RegularExpressions.Regex.Replace(url, "(?i)((?:password|pwd)\\s*=\\s*)[^;]*", "$1***")

/// Reads a storage URL: `postgres://USER:PASSWORD@HOST:PORT/DATABASE` (or
/// `postgresql://`, or an Npgsql connection string `Host=...`), `sqlite:PATH`, or a
/// plain file path (SQLite). Errors show the URL without its password.
let parseUrl (url: string) : Backend =
    let url = url.Trim()
    let shown = redact url
    if url = "" then fail "the sweep storage URL is empty (give a file path, sqlite:PATH or postgres://...)"
    if url.StartsWith "postgres://" || url.StartsWith "postgresql://" then
        let u =
            try Uri url
            with :? UriFormatException as e -> fail "sweep storage %s is not a URL: %s" shown e.Message
        let b = NpgsqlConnectionStringBuilder()
        b.Host <- (if u.Host = "" then "127.0.0.1" else u.Host)
        b.Port <- (if u.Port > 0 then u.Port else 5432)
        match u.UserInfo.Split(':', 2) with
        | [| user |] when user <> "" -> b.Username <- Uri.UnescapeDataString user
        | [| user; password |] ->
            b.Username <- Uri.UnescapeDataString user
            b.Password <- Uri.UnescapeDataString password
        | _ -> ()
        let db = u.AbsolutePath.Trim('/')
        if db <> "" then b.Database <- Uri.UnescapeDataString db
        for part in u.Query.TrimStart('?').Split('&', StringSplitOptions.RemoveEmptyEntries) do
            match part.Split('=', 2) with
            | [| k; v |] ->
                let k = Uri.UnescapeDataString k
                if not (b.ContainsKey k) then fail "sweep storage %s: unknown option '%s' (Npgsql connection string keywords such as Timeout, SslMode, Pooling)" shown k
                elif String.Equals(k, "password", StringComparison.OrdinalIgnoreCase) then b.Password <- Uri.UnescapeDataString v
                else
                    try b[k] <- Uri.UnescapeDataString v
                    with :? ArgumentException | :? FormatException | :? OverflowException -> fail "sweep storage %s: option '%s' cannot be '%s'" shown k (Uri.UnescapeDataString v)
            | _ -> fail "sweep storage %s: option '%s' has no value" shown part
        Backend.Postgres b.ConnectionString
    elif url.StartsWith "Host=" || url.StartsWith "host=" then
        try Backend.Postgres (NpgsqlConnectionStringBuilder(url)).ConnectionString
        with :? ArgumentException | :? FormatException as e -> fail "sweep storage %s is not a connection string: %s" shown (redact e.Message)
    elif url.StartsWith "sqlite://" then Backend.Sqlite(url.Substring "sqlite://".Length)
    elif url.StartsWith "sqlite:" then Backend.Sqlite(url.Substring "sqlite:".Length)
    elif url.Contains "://" then fail "sweep storage %s: unknown kind (postgres://..., sqlite:PATH or a file path)" shown
    else Backend.Sqlite url

/// The storage as text without its password.
let describe (b: Backend) =
    match b with
    | Backend.Sqlite p -> "sqlite:" + p
    | Backend.Postgres cs ->
        let x = NpgsqlConnectionStringBuilder cs
        sprintf "postgres://%s@%s:%d/%s" x.Username x.Host x.Port x.Database

/// How a storage rides out failures: a restart of the server, a dropped connection or
/// another process's lock is retried with backoff for `RetrySeconds` before the call
/// fails (a server never reached by this process fails at once).
type StoreOptions =
    { /// How long a call retries transient failures.
      RetrySeconds: float
      /// SQLite: how long one statement waits for another connection's lock.
      BusyTimeoutSeconds: float }

let private envSeconds (name: string) (fallback: float) =
    match Environment.GetEnvironmentVariable name with
    | null | "" -> fallback
    | v ->
        match Double.TryParse(v, Globalization.NumberStyles.Float, Globalization.CultureInfo.InvariantCulture) with
        | true, x when x >= 0.0 && Double.IsFinite x -> x
        | _ -> fail "%s must be a number of seconds >= 0 (got '%s')" name v

/// Retry for 300 s, SQLite locks waited on for 60 s per statement; the environment
/// variables HYBRID_STORAGE_RETRY_SECONDS and HYBRID_SQLITE_BUSY_SECONDS change them.
let defaultOptions () =
    { RetrySeconds = envSeconds "HYBRID_STORAGE_RETRY_SECONDS" 300.0
      BusyTimeoutSeconds = envSeconds "HYBRID_SQLITE_BUSY_SECONDS" 60.0 }

/// Whether a storage failure is worth retrying: the server restarting or shutting
/// down, a connection lost, a lock held by another connection.
let isTransient (e: exn) : bool =
    let rec go (e: exn) =
        match e with
        | null -> false
        | :? PostgresException as p ->
            p.SqlState.StartsWith "08" || p.SqlState.StartsWith "57P" || p.SqlState.StartsWith "53"
            || p.SqlState = "40001" || p.SqlState = "40P01" || p.IsTransient
        | :? NpgsqlException as n -> n.IsTransient || go n.InnerException
        | :? SqliteException as s -> s.SqliteErrorCode = 5 || s.SqliteErrorCode = 6
        | :? Net.Sockets.SocketException | :? TimeoutException -> true
        | :? IO.IOException as io -> go io.InnerException || io.InnerException :? Net.Sockets.SocketException
        | _ -> false
    go e

/// A time the storage could not be reached and was retried until it answered again.
type Outage = { At: float; Seconds: float; Retries: int; Cause: string }

/// The schema version this code writes; migrations bring older databases to it.
let schemaVersion = 2

/// The migrations, by the version they bring a database to.
let private migrations: (int * string list) list =
    [ 1,
      [ "CREATE TABLE sweeps (name TEXT PRIMARY KEY, spec TEXT NOT NULL, trials INTEGER NOT NULL, created DOUBLE PRECISION NOT NULL)"
        "CREATE TABLE trials (sweep TEXT NOT NULL, idx INTEGER NOT NULL, method TEXT NOT NULL, grp TEXT NOT NULL, bucket TEXT NOT NULL,
           key TEXT NOT NULL, seed BIGINT NOT NULL, config TEXT NOT NULL, status TEXT NOT NULL, worker TEXT,
           attempts INTEGER NOT NULL DEFAULT 0, lease_until DOUBLE PRECISION, started DOUBLE PRECISION, finished DOUBLE PRECISION,
           seconds DOUBLE PRECISION, metric DOUBLE PRECISION, epochs INTEGER NOT NULL DEFAULT 0, error TEXT, run_dir TEXT,
           completions INTEGER NOT NULL DEFAULT 0, PRIMARY KEY (sweep, idx))"
        "CREATE INDEX trials_claim ON trials (sweep, status, idx)"
        "CREATE TABLE epochs (sweep TEXT NOT NULL, idx INTEGER NOT NULL, attempt INTEGER NOT NULL, epoch INTEGER NOT NULL,
           bucket TEXT NOT NULL, accuracy DOUBLE PRECISION, energy DOUBLE PRECISION, seconds DOUBLE PRECISION,
           metric DOUBLE PRECISION, PRIMARY KEY (sweep, idx, attempt, epoch))"
        "CREATE INDEX epochs_rung ON epochs (sweep, bucket, epoch)"
        "CREATE TABLE events (sweep TEXT NOT NULL, idx INTEGER NOT NULL, attempt INTEGER NOT NULL, worker TEXT NOT NULL,
           event TEXT NOT NULL, at DOUBLE PRECISION NOT NULL, detail TEXT)" ]
      // Attempts lost to an expired lease, counted apart from claims: a trial given back
      // (interrupted, or its worker's environment failed) does not use up its attempts.
      2, [ "ALTER TABLE trials ADD COLUMN losses INTEGER NOT NULL DEFAULT 0"; "UPDATE trials SET losses = CASE WHEN attempts > 0 THEN attempts - 1 ELSE 0 END" ] ]

/// A trial's states.
module Status =
    [<Literal>]
    let Pending = "pending"
    [<Literal>]
    let Running = "running"
    [<Literal>]
    let Completed = "completed"
    /// Stopped early by successive halving.
    [<Literal>]
    let Pruned = "pruned"
    [<Literal>]
    let Diverged = "diverged"
    [<Literal>]
    let Failed = "failed"
    /// Every state, in display order.
    let all = [ Pending; Running; Completed; Pruned; Diverged; Failed ]

/// A sweep as stored.
type SweepRow = { Name: string; Spec: string; Trials: int; Created: float }

/// A trial as stored.
type TrialRow =
    { Index: int
      Method: string
      Group: string
      Bucket: string
      Key: string
      Seed: int64
      Config: string
      Status: string
      Worker: string option
      Attempts: int
      LeaseUntil: float option
      Started: float option
      Finished: float option
      Seconds: float option
      Metric: float option
      Epochs: int
      Error: string option
      RunDir: string option
      Completions: int }

/// A trial claimed by a worker: its attempt number identifies the lease.
type Claim =
    { Sweep: string
      Index: int
      Attempt: int
      Worker: string
      Method: string
      Group: string
      Bucket: string
      Key: string
      Config: string }

/// An entry of a sweep's log: claims and how each attempt ended.
type Event = { Index: int; Attempt: int; Worker: string; Event: string; At: float; Detail: string option }

let private dbNull (x: obj) = if isNull x then box DBNull.Value else x
let private optFloat (x: float option) = match x with Some v when Double.IsFinite v -> box v | _ -> box DBNull.Value

/// A trial's bucket: the trials successive halving compares (same method and group).
let bucket (methodName: string) (group: string) = methodName + " | " + group

/// Sweep storage on one backend. Connections are opened per operation (pooled); a
/// transient failure (see `isTransient`) is retried with backoff within
/// `options.RetrySeconds` once the storage has answered this process.
type SweepStore(backend: Backend, options: StoreOptions) =
    let isPg = match backend with Backend.Postgres _ -> true | _ -> false
    let where = describe backend
    let now = if isPg then "extract(epoch from clock_timestamp())::double precision" else "((julianday('now') - 2440587.5) * 86400.0)"
    let mutable reached = false
    let outages = Collections.Concurrent.ConcurrentQueue<Outage>()

    let describeError (e: exn) =
        match e with
        | :? PostgresException as p -> sprintf "%s: %s" p.SqlState p.MessageText
        | e -> redact e.Message

    let guardOnce (f: unit -> 'a) : 'a =
        try f ()
        with
        | StoreError _ -> reraise ()
        | :? DbException as e -> fail "sweep storage %s: %s" where (describeError e)
        | :? Net.Sockets.SocketException as e -> fail "sweep storage %s: %s" where e.Message
        | :? TimeoutException as e -> fail "sweep storage %s: %s" where e.Message

    /// Runs `f`, retrying transient failures with backoff (0.1 s doubling to 5 s) for
    /// the options' retry time; an outage ridden out is kept for `TakeOutages`.
    let guardWith (retry: bool) (f: bool -> 'a) : 'a =
        guardOnce (fun () ->
            let clock = Diagnostics.Stopwatch.StartNew()
            let startedAt = float (DateTimeOffset.UtcNow.ToUnixTimeMilliseconds()) / 1000.0
            let mutable result = None
            let mutable retries = 0
            let mutable delay = 0.1
            let mutable first: exn = null
            while result.IsNone do
                let outcome =
                    try Ok(f (retries > 0))
                    with e when isTransient e -> Error e
                match outcome with
                | Ok v ->
                    if retries > 0 then
                        outages.Enqueue { At = startedAt; Seconds = clock.Elapsed.TotalSeconds; Retries = retries; Cause = describeError first }
                    result <- Some v
                | Error e ->
                    if isNull first then first <- e
                    // A lock held by another connection is always waited for; a server that never
                    // answered this process is most likely a wrong address, reported at once.
                    let isLock = e :? SqliteException
                    if not retry || not (reached || isLock) || clock.Elapsed.TotalSeconds + delay > options.RetrySeconds then
                        if retries > 0 || (retry && (reached || isLock)) then
                            fail "sweep storage %s: %s (still failing after %d retries in %.0f s; HYBRID_STORAGE_RETRY_SECONDS sets how long to retry)"
                                where (describeError e) retries clock.Elapsed.TotalSeconds
                        else raise e
                    if isPg then NpgsqlConnection.ClearAllPools()
                    Threading.Thread.Sleep(TimeSpan.FromSeconds delay)
                    retries <- retries + 1
                    delay <- min 5.0 (delay * 2.0)
            result.Value)

    let guard (f: unit -> 'a) : 'a = guardWith true (fun _ -> f ())

    let openConnection () : DbConnection =
        match backend with
        | Backend.Sqlite path ->
            let full = IO.Path.GetFullPath path
            match IO.Path.GetDirectoryName full with
            | d when not (IO.Directory.Exists d) -> fail "sweep storage %s: folder %s does not exist" where d
            | _ -> ()
            let busy = int (options.BusyTimeoutSeconds * 1000.0)
            let b = SqliteConnectionStringBuilder(DataSource = full, DefaultTimeout = max 1 (busy / 1000))
            let c = new SqliteConnection(b.ConnectionString)
            c.Open()
            use cmd = c.CreateCommand()
            cmd.CommandText <- sprintf "PRAGMA busy_timeout = %d; PRAGMA foreign_keys = ON;" busy
            cmd.ExecuteNonQuery() |> ignore
            reached <- true
            c
        | Backend.Postgres cs ->
            let c = new NpgsqlConnection(cs)
            c.Open()
            // Answered once: later failures are outages worth waiting out.
            reached <- true
            c

    let command (c: DbConnection) (tx: DbTransaction) (sql: string) (args: (string * obj) list) =
        let cmd = c.CreateCommand()
        cmd.CommandText <- sql
        cmd.Transaction <- tx
        for k, v in args do
            let p = cmd.CreateParameter()
            p.ParameterName <- k
            p.Value <- dbNull v
            cmd.Parameters.Add p |> ignore
        cmd

    let exec c tx sql args =
        use cmd = command c tx sql args
        cmd.ExecuteNonQuery()

    let scalar c tx sql args =
        use cmd = command c tx sql args
        cmd.ExecuteScalar()

    let rows (c: DbConnection) tx sql args (read: DbDataReader -> 'a) : 'a list =
        use cmd = command c tx sql args
        use r = cmd.ExecuteReader()
        [ while r.Read() do yield read r ]

    let str (r: DbDataReader) (i: int) = if r.IsDBNull i then None else Some(r.GetValue(i) |> string)
    let f64 (r: DbDataReader) (i: int) = if r.IsDBNull i then None else Some(Convert.ToDouble(r.GetValue i))
    let i64 (r: DbDataReader) (i: int) = Convert.ToInt64(r.GetValue i)

    /// A transaction; `f` learns whether this is a retry after a transient failure.
    let transactionRetrying (retry: bool) (f: bool -> DbConnection -> DbTransaction -> 'a) : 'a =
        guardWith retry (fun again ->
            use c = openConnection ()
            // SQLite: BEGIN IMMEDIATE (the write lock first, so that two claims cannot interleave).
            use tx = if isPg then c.BeginTransaction(IsolationLevel.ReadCommitted) else (c :?> SqliteConnection).BeginTransaction(false) :> DbTransaction
            let result = f again c tx
            tx.Commit()
            result)

    let transactionWith retry (f: DbConnection -> DbTransaction -> 'a) : 'a = transactionRetrying retry (fun _ c tx -> f c tx)
    let transaction f = transactionWith true f

    let sqliteMissing () =
        match backend with
        | Backend.Sqlite path -> not (IO.File.Exists path)
        | Backend.Postgres _ -> false

    let log c tx (sweep: string) (idx: int) (attempt: int) (worker: string) (event: string) (detail: string option) =
        exec c tx (sprintf "INSERT INTO events (sweep, idx, attempt, worker, event, at, detail) VALUES (@s, @i, @a, @w, @e, %s, @d)" now)
            [ "@s", box sweep; "@i", box idx; "@a", box attempt; "@w", box worker; "@e", box event; "@d", (match detail with Some d -> box d | None -> null) ]
        |> ignore

    let trialOf (r: DbDataReader) : TrialRow =
        { Index = int (i64 r 0)
          Method = r.GetString 1
          Group = r.GetString 2
          Bucket = r.GetString 3
          Key = r.GetString 4
          Seed = i64 r 5
          Config = r.GetString 6
          Status = r.GetString 7
          Worker = str r 8
          Attempts = int (i64 r 9)
          LeaseUntil = f64 r 10
          Started = f64 r 11
          Finished = f64 r 12
          Seconds = f64 r 13
          Metric = f64 r 14
          Epochs = int (i64 r 15)
          Error = str r 16
          RunDir = str r 17
          Completions = int (i64 r 18) }

    let trialColumns =
        "idx, method, grp, bucket, key, seed, config, status, worker, attempts, lease_until, started, finished, seconds, metric, epochs, error, run_dir, completions"

    /// The storage, without its password.
    member _.Where = where

    /// Whether the storage is PostgreSQL.
    member _.IsPostgres = isPg

    /// The schema version of the database (0: empty).
    member _.Version() =
        if sqliteMissing () then 0 else
        guard (fun () ->
            use c = openConnection ()
            let exists =
                if isPg then scalar c null "SELECT to_regclass('schema_version') IS NOT NULL" [] |> Convert.ToBoolean
                else scalar c null "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = 'schema_version'" [] |> Convert.ToInt64 > 0L
            if not exists then 0
            else match scalar c null "SELECT MAX(version) FROM schema_version" [] with :? DBNull -> 0 | v -> Convert.ToInt32 v)

    /// Brings the database to the current schema version (each migration in one
    /// transaction, under a lock, so that workers starting together migrate once);
    /// refuses a database of a newer version.
    member _.Migrate() =
        guard (fun () ->
            if not isPg then
                use c = openConnection ()
                // WAL: readers (status, report) do not block the workers' writes.
                exec c null "PRAGMA journal_mode = WAL" [] |> ignore)
        transaction (fun c tx ->
            if isPg then scalar c tx "SELECT pg_advisory_xact_lock(726354918)" [] |> ignore
            exec c tx "CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)" [] |> ignore
            let current = match scalar c tx "SELECT MAX(version) FROM schema_version" [] with :? DBNull -> 0 | v -> Convert.ToInt32 v
            if current > schemaVersion then
                fail "sweep storage %s has schema version %d, newer than this hybrid's %d: upgrade hybrid (nothing was changed)" where current schemaVersion
            for version, statements in migrations do
                if version > current then
                    for s in statements do exec c tx s [] |> ignore
                    exec c tx "INSERT INTO schema_version (version) VALUES (@v)" [ "@v", box version ] |> ignore)

    /// Stores a sweep and its trials, all pending. A sweep of the same name and the
    /// same spec is left as it is (false); one with another spec is refused.
    member this.Create(name: string, spec: string, trials: Spec.Trial list) : bool =
        this.Migrate()
        transaction (fun c tx ->
            // PostgreSQL: creators of one name wait for each other, so that the second sees
            // the first's sweep (READ COMMITTED reads it after the lock) and changes nothing.
            if isPg then scalar c tx "SELECT pg_advisory_xact_lock(726354919, hashtext(@n))" [ "@n", box name ] |> ignore
            match rows c tx "SELECT spec FROM sweeps WHERE name = @n" [ "@n", box name ] (fun r -> r.GetString 0) with
            | [ existing ] when existing = spec -> false
            | [ _ ] -> fail "sweep %s already exists in %s with another spec; give another name (--name) or another storage (nothing was changed)" name where
            | _ ->
                exec c tx (sprintf "INSERT INTO sweeps (name, spec, trials, created) VALUES (@n, @spec, @t, %s)" now)
                    [ "@n", box name; "@spec", box spec; "@t", box trials.Length ]
                |> ignore
                use cmd =
                    command c tx
                        "INSERT INTO trials (sweep, idx, method, grp, bucket, key, seed, config, status) VALUES (@s, @i, @m, @g, @b, @k, @seed, @c, 'pending')"
                        [ "@s", box name; "@i", box 0; "@m", box ""; "@g", box ""; "@b", box ""; "@k", box ""; "@seed", box 0L; "@c", box "" ]
                let set (name: string) (v: obj) =
                    (cmd.Parameters |> Seq.cast<DbParameter> |> Seq.find (fun p -> p.ParameterName = name)).Value <- v
                for t in trials do
                    set "@i" t.Index
                    set "@m" t.Method
                    set "@g" t.Group
                    set "@b" (bucket t.Method t.Group)
                    set "@k" t.Key
                    set "@seed" t.Seed
                    set "@c" (Hybrid.Config.toText t.Config)
                    cmd.ExecuteNonQuery() |> ignore
                true)

    /// The sweeps stored, oldest first.
    member this.Sweeps() : SweepRow list =
        let version = this.Version()
        if version > schemaVersion then
            fail "sweep storage %s has schema version %d, newer than this hybrid's %d: upgrade hybrid" where version schemaVersion
        if version = 0 then []
        else
            guard (fun () ->
                use c = openConnection ()
                rows c null "SELECT name, spec, trials, created FROM sweeps ORDER BY created, name" [] (fun r ->
                    { Name = r.GetString 0; Spec = r.GetString 1; Trials = int (i64 r 2); Created = Convert.ToDouble(r.GetValue 3) }))

    /// Claims the first pending trial, or a running one whose lease ran out (its
    /// worker is gone); a trial whose lease ran out `maxAttempts` times is failed
    /// instead. None when there is nothing to claim.
    member _.Claim(sweep: string, worker: string, leaseSeconds: float, maxAttempts: int) : Claim option =
        let claimOf (r: DbDataReader) =
            { Sweep = sweep
              Index = int (i64 r 0)
              Attempt = int (i64 r 1)
              Worker = worker
              Method = r.GetString 2
              Group = r.GetString 3
              Bucket = r.GetString 4
              Key = r.GetString 5
              Config = r.GetString 6 }
        transactionRetrying true (fun again c tx ->
            // Retried after a dropped connection: a claim whose commit succeeded but whose
            // answer was lost is this worker's already, and is taken up again rather than left
            // to expire.
            let held =
                if not again then [] else
                rows c tx
                    (sprintf "UPDATE trials SET lease_until = %s + @lease WHERE sweep = @s AND worker = @w AND status = 'running'
                              RETURNING idx, attempts, method, grp, bucket, key, config" now)
                    [ "@s", box sweep; "@w", box worker; "@lease", box leaseSeconds ] claimOf
            match held with
            | cl :: _ -> Some cl
            | [] ->
            let lost =
                rows c tx
                    (sprintf "UPDATE trials SET status = 'failed', error = @err, finished = %s, lease_until = NULL
                              WHERE sweep = @s AND status = 'running' AND lease_until < %s AND losses + 1 >= @max RETURNING idx, attempts, worker" now now)
                    [ "@s", box sweep; "@max", box maxAttempts; "@err", box (sprintf "its worker was lost %d times (lease expired); not retried" maxAttempts) ]
                    (fun r -> int (i64 r 0), int (i64 r 1), defaultArg (str r 2) "")
            for idx, attempt, w in lost do log c tx sweep idx attempt w Status.Failed (Some "lease expired; attempts exhausted")
            let pick =
                sprintf "SELECT idx FROM trials WHERE sweep = @s AND (status = 'pending' OR (status = 'running' AND lease_until < %s)) ORDER BY idx LIMIT 1%s"
                    now (if isPg then " FOR UPDATE SKIP LOCKED" else "")
            let claimed =
                rows c tx
                    (sprintf "UPDATE trials SET losses = losses + CASE WHEN status = 'running' THEN 1 ELSE 0 END, status = 'running', worker = @w,
                              attempts = attempts + 1, lease_until = %s + @lease, started = %s, epochs = 0 WHERE sweep = @s AND idx = (%s)
                              RETURNING idx, attempts, method, grp, bucket, key, config" now now pick)
                    [ "@s", box sweep; "@w", box worker; "@lease", box leaseSeconds ]
                    claimOf
            match claimed with
            | [ cl ] ->
                log c tx sweep cl.Index cl.Attempt worker "claimed" None
                Some cl
            | _ -> None)

    /// Renews a claim's lease; false when the claim is no longer this worker's.
    member _.Heartbeat(claim: Claim, leaseSeconds: float) : bool =
        transactionWith false (fun c tx ->
            let n =
                exec c tx
                    (sprintf "UPDATE trials SET lease_until = %s + @lease WHERE sweep = @s AND idx = @i AND worker = @w AND attempts = @a AND status = 'running'" now)
                    [ "@s", box claim.Sweep; "@i", box claim.Index; "@w", box claim.Worker; "@a", box claim.Attempt; "@lease", box leaseSeconds ]
            n = 1)

    /// Records an epoch of a claimed trial and the metric so far; false when the claim is no longer this worker's.
    member _.Epoch(claim: Claim, epoch: int, accuracy: float, energy: float, seconds: float, metric: float) : bool =
        transaction (fun c tx ->
            let n =
                exec c tx "UPDATE trials SET epochs = @e WHERE sweep = @s AND idx = @i AND worker = @w AND attempts = @a AND status = 'running'"
                    [ "@s", box claim.Sweep; "@i", box claim.Index; "@w", box claim.Worker; "@a", box claim.Attempt; "@e", box epoch ]
            let held = n = 1
            if held then
                exec c tx
                    "INSERT INTO epochs (sweep, idx, attempt, epoch, bucket, accuracy, energy, seconds, metric) VALUES (@s, @i, @a, @e, @b, @acc, @en, @sec, @m)
                     ON CONFLICT (sweep, idx, attempt, epoch) DO NOTHING"
                    [ "@s", box claim.Sweep; "@i", box claim.Index; "@a", box claim.Attempt; "@e", box epoch; "@b", box claim.Bucket
                      "@acc", optFloat (Some accuracy); "@en", optFloat (Some energy); "@sec", optFloat (Some seconds); "@m", optFloat (Some metric) ]
                |> ignore
            held)

    /// The metric of every trial of a bucket at an epoch (the latest attempt of each), by trial.
    member _.RungValues(sweep: string, bucketName: string, epoch: int) : (int * float) list =
        guard (fun () ->
            use c = openConnection ()
            rows c null
                "SELECT e.idx, e.metric FROM epochs e JOIN trials t ON t.sweep = e.sweep AND t.idx = e.idx AND t.attempts = e.attempt
                 WHERE e.sweep = @s AND e.bucket = @b AND e.epoch = @e AND e.metric IS NOT NULL ORDER BY e.idx"
                [ "@s", box sweep; "@b", box bucketName; "@e", box epoch ]
                (fun r -> int (i64 r 0), Convert.ToDouble(r.GetValue 1)))

    /// Ends a claimed trial (completed, pruned, diverged or failed) with its metric;
    /// false when the claim is no longer this worker's (then nothing is written).
    member _.Finish(claim: Claim, status: string, metric: float option, epochs: int, seconds: float, error: string option, runDir: string option) : bool =
        if not (List.contains status [ Status.Completed; Status.Pruned; Status.Diverged; Status.Failed ]) then
            invalidArg "status" (sprintf "not a final status: %s" status)
        transaction (fun c tx ->
            let n =
                exec c tx
                    (sprintf "UPDATE trials SET status = @st, metric = @m, epochs = @e, seconds = @sec, error = @err, run_dir = @dir,
                              finished = %s, lease_until = NULL, completions = completions + @done
                              WHERE sweep = @s AND idx = @i AND worker = @w AND attempts = @a AND status = 'running'" now)
                    [ "@s", box claim.Sweep; "@i", box claim.Index; "@w", box claim.Worker; "@a", box claim.Attempt; "@st", box status
                      "@m", optFloat metric; "@e", box epochs; "@sec", optFloat (Some seconds)
                      "@err", (match error with Some e -> box e | None -> null); "@dir", (match runDir with Some d -> box d | None -> null)
                      "@done", box (if status = Status.Completed then 1 else 0) ]
            if n = 1 then
                log c tx claim.Sweep claim.Index claim.Attempt claim.Worker status error
                true
            else
                // Written already by this very call, when a dropped connection hid its commit.
                scalar c tx "SELECT COUNT(*) FROM trials WHERE sweep = @s AND idx = @i AND worker = @w AND attempts = @a AND status = @st"
                    [ "@s", box claim.Sweep; "@i", box claim.Index; "@w", box claim.Worker; "@a", box claim.Attempt; "@st", box status ]
                |> Convert.ToInt64 = 1L)

    /// Puts failed trials (and those of the other statuses given, e.g. diverged) of a
    /// sweep back to pending, all of them or those listed; their earlier attempts stay in
    /// the log and their run folders on disk (a new attempt continues from a checkpoint
    /// there). Returns the trials re-queued.
    member _.Retry(sweep: string, statuses: string list, indexes: int list option, by: string) : int list =
        for st in statuses do
            if not (List.contains st [ Status.Failed; Status.Diverged; Status.Pruned ]) then
                invalidArg "statuses" (sprintf "only failed, diverged or pruned trials can be retried (not %s)" st)
        transaction (fun c tx ->
            let candidates =
                rows c tx "SELECT idx, status, attempts FROM trials WHERE sweep = @s ORDER BY idx" [ "@s", box sweep ]
                    (fun r -> int (i64 r 0), r.GetString 1, int (i64 r 2))
            match indexes with
            | Some wanted ->
                for i in wanted do
                    match candidates |> List.tryFind (fun (idx, _, _) -> idx = i) with
                    | None -> fail "sweep %s has no trial %d (trials 0..%d)" sweep i (candidates.Length - 1)
                    | Some(_, st, _) when not (List.contains st statuses) ->
                        fail "trial %d of sweep %s is %s, not %s: nothing was changed" i sweep st (String.Join(" or ", statuses))
                    | Some _ -> ()
            | None -> ()
            let chosen =
                candidates
                |> List.filter (fun (idx, st, _) -> List.contains st statuses && (match indexes with Some w -> List.contains idx w | None -> true))
            for idx, st, attempts in chosen do
                exec c tx
                    "UPDATE trials SET status = 'pending', worker = NULL, lease_until = NULL, error = NULL, metric = NULL, losses = 0,
                     finished = NULL WHERE sweep = @s AND idx = @i AND status = @st"
                    [ "@s", box sweep; "@i", box idx; "@st", box st ]
                |> ignore
                log c tx sweep idx attempts by "retried" (Some(sprintf "was %s" st))
            chosen |> List.map (fun (i, _, _) -> i))

    /// The outages this store rode out since the last call (the storage unreachable or
    /// locked, then answering again), oldest first.
    member _.TakeOutages() : Outage list =
        [ let mutable o = Unchecked.defaultof<Outage>
          while outages.TryDequeue(&o) do yield o ]

    /// Logs an outage a worker rode out, so that `sweep status` shows it.
    member _.LogOutage(sweep: string, worker: string, o: Outage) : unit =
        transaction (fun c tx ->
            log c tx sweep (-1) 0 worker "outage" (Some(sprintf "storage unreachable or locked for %.1f s, %d retries (%s)" o.Seconds o.Retries o.Cause)))

    /// Whether the storage exists (an SQLite file is made by the first sweep created in it).
    member _.Exists = not (sqliteMissing ())

    /// The options it runs with.
    member _.Options = options

    /// Logs an event of a claimed trial (e.g. `resumed`, with the epoch it continues from).
    member _.Note(claim: Claim, event: string, detail: string) : unit =
        transaction (fun c tx -> log c tx claim.Sweep claim.Index claim.Attempt claim.Worker event (Some detail))

    /// Gives a claimed trial back (the worker was interrupted): pending again.
    member _.Release(claim: Claim) : bool =
        transaction (fun c tx ->
            let n =
                exec c tx
                    "UPDATE trials SET status = 'pending', worker = NULL, lease_until = NULL
                     WHERE sweep = @s AND idx = @i AND worker = @w AND attempts = @a AND status = 'running'"
                    [ "@s", box claim.Sweep; "@i", box claim.Index; "@w", box claim.Worker; "@a", box claim.Attempt ]
            if n = 1 then log c tx claim.Sweep claim.Index claim.Attempt claim.Worker "released" None
            n = 1)

    /// Every trial of a sweep, in order.
    member _.Trials(sweep: string) : TrialRow list =
        guard (fun () ->
            use c = openConnection ()
            rows c null (sprintf "SELECT %s FROM trials WHERE sweep = @s ORDER BY idx" trialColumns) [ "@s", box sweep ] trialOf)

    /// The epochs recorded for a sweep's trials (latest attempt of each): trial, epoch, metric so far.
    member _.Epochs(sweep: string) : (int * int * float) list =
        guard (fun () ->
            use c = openConnection ()
            rows c null
                "SELECT e.idx, e.epoch, e.metric FROM epochs e JOIN trials t ON t.sweep = e.sweep AND t.idx = e.idx AND t.attempts = e.attempt
                 WHERE e.sweep = @s AND e.metric IS NOT NULL ORDER BY e.idx, e.epoch"
                [ "@s", box sweep ]
                (fun r -> int (i64 r 0), int (i64 r 1), Convert.ToDouble(r.GetValue 2)))

    /// A sweep's log, in order.
    member _.Events(sweep: string) : Event list =
        guard (fun () ->
            use c = openConnection ()
            rows c null "SELECT idx, attempt, worker, event, at, detail FROM events WHERE sweep = @s ORDER BY at, idx" [ "@s", box sweep ] (fun r ->
                { Index = int (i64 r 0); Attempt = int (i64 r 1); Worker = r.GetString 2; Event = r.GetString 3; At = Convert.ToDouble(r.GetValue 4); Detail = str r 5 }))

    /// Trials still to run or running.
    member _.Open(sweep: string) : int =
        guard (fun () ->
            use c = openConnection ()
            scalar c null "SELECT COUNT(*) FROM trials WHERE sweep = @s AND status IN ('pending', 'running')" [ "@s", box sweep ] |> Convert.ToInt32)

    /// The storage's clock, in Unix seconds (leases are measured on it).
    member _.Now() : float =
        guard (fun () ->
            use c = openConnection ()
            scalar c null ("SELECT " + now) [] |> Convert.ToDouble)

/// Opens a storage URL (see `parseUrl`) with the default options.
let connect (url: string) = SweepStore(parseUrl url, defaultOptions ())

/// Opens a storage URL with options.
let connectWith (options: StoreOptions) (url: string) = SweepStore(parseUrl url, options)
