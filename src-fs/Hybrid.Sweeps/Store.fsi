/// Where a sweep's trials live: an SQLite file (several workers on one machine) or a
/// PostgreSQL database (workers on many machines). Claims are atomic (an immediate
/// transaction on SQLite, `FOR UPDATE SKIP LOCKED` on PostgreSQL); a claim is a
/// lease that its worker renews, so a trial whose worker died is claimed again once
/// the lease runs out, and only the holder of the current lease can finish a trial,
/// so no trial completes twice. The schema is versioned; `migrate` brings a database
/// to the current version and refuses one written by a newer version.
module Hybrid.Sweeps.Store

/// The storage failed or refused (unreachable, a newer schema, a sweep that
/// exists with another spec). The message names the storage and the problem.
exception StoreError of string

val private fail: fmt: Printf.StringFormat<'a,'b> -> 'a

/// A storage location.
[<RequireQualifiedAccess>]
type Backend =
    | Sqlite of path: string
    | Postgres of connectionString: string

/// A storage URL with its password replaced by `***` (the userinfo of a URL, and a
/// `Password=` of a connection string): what messages show.
val redact: url: string -> string

/// Reads a storage URL: `postgres://USER:PASSWORD@HOST:PORT/DATABASE` (or
/// `postgresql://`, or an Npgsql connection string `Host=...`), `sqlite:PATH`, or a
/// plain file path (SQLite). Errors show the URL without its password.
val parseUrl: url: string -> Backend

/// The storage as text without its password.
val describe: b: Backend -> string

/// How a storage rides out failures: a restart of the server, a dropped connection or
/// another process's lock is retried with backoff for `RetrySeconds` before the call
/// fails (a server never reached by this process fails at once).
type StoreOptions =
    {
      /// How long a call retries transient failures.
      RetrySeconds: float
      /// SQLite: how long one statement waits for another connection's lock.
      BusyTimeoutSeconds: float
    }

val private envSeconds: name: string -> fallback: float -> float

/// Retry for 300 s, SQLite locks waited on for 60 s per statement; the environment
/// variables HYBRID_STORAGE_RETRY_SECONDS and HYBRID_SQLITE_BUSY_SECONDS change them.
val defaultOptions: unit -> StoreOptions

/// Whether a storage failure is worth retrying: the server restarting or shutting
/// down, a connection lost, a lock held by another connection.
val isTransient: e: exn -> bool

/// A time the storage could not be reached and was retried until it answered again.
type Outage =
    {
      At: float
      Seconds: float
      Retries: int
      Cause: string
    }

/// The schema version this code writes; migrations bring older databases to it.
val schemaVersion: int

/// The migrations, by the version they bring a database to.
val private migrations: (int * string list) list

/// A trial's states.
module Status =
    [<Literal>]
    val Pending: string = "pending"
    [<Literal>]
    val Running: string = "running"
    [<Literal>]
    val Completed: string = "completed"

    /// Stopped early by successive halving.
    [<Literal>]
    val Pruned: string = "pruned"
    [<Literal>]
    val Diverged: string = "diverged"
    [<Literal>]
    val Failed: string = "failed"

    /// Every state, in display order.
    val all: string list

/// A sweep as stored.
type SweepRow =
    {
      Name: string
      Spec: string
      Trials: int
      Created: float
    }

/// A trial as stored.
type TrialRow =
    {
      Index: int
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
      Completions: int
    }

/// A trial claimed by a worker: its attempt number identifies the lease.
type Claim =
    {
      Sweep: string
      Index: int
      Attempt: int
      Worker: string
      Method: string
      Group: string
      Bucket: string
      Key: string
      Config: string
    }

/// An entry of a sweep's log: claims and how each attempt ended.
type Event =
    {
      Index: int
      Attempt: int
      Worker: string
      Event: string
      At: float
      Detail: string option
    }

val private dbNull: x: obj -> objnull

val private optFloat: x: float option -> objnull

/// A trial's bucket: the trials successive halving compares (same method and group).
val bucket: methodName: string -> group: string -> string

/// Sweep storage on one backend. Connections are opened per operation (pooled); a
/// transient failure (see `isTransient`) is retried with backoff within
/// `options.RetrySeconds` once the storage has answered this process.
type SweepStore =
    new: backend: Backend * options: StoreOptions -> SweepStore

    /// Puts failed trials (and those of the other statuses given, e.g. diverged) of a
    /// sweep back to pending, all of them or those listed; their earlier attempts stay in
    /// the log and their run folders on disk (a new attempt continues from a checkpoint
    /// there). Returns the trials re-queued.
    member Retry: sweep: string * statuses: string list * indexes: int list option * by: string -> int list

    /// The outages this store rode out since the last call (the storage unreachable or
    /// locked, then answering again), oldest first.
    member TakeOutages: unit -> Outage list

    /// Logs an outage a worker rode out, so that `sweep status` shows it.
    member LogOutage: sweep: string * worker: string * o: Outage -> unit

    /// Whether the storage exists (an SQLite file is made by the first sweep created in it).
    member Exists: bool

    /// The options it runs with.
    member Options: StoreOptions

    /// Claims the first pending trial, or a running one whose lease ran out (its
    /// worker is gone); a trial whose lease ran out `maxAttempts` times is failed
    /// instead. None when there is nothing to claim.
    member
      Claim: sweep: string * worker: string * leaseSeconds: float *
             maxAttempts: int -> Claim option

    /// Stores a sweep and its trials, all pending. A sweep of the same name and the
    /// same spec is left as it is (false); one with another spec is refused.
    member
      Create: name: string * spec: string *
              trials: Hybrid.Sweeps.Spec.Trial list -> bool

    /// Records an epoch of a claimed trial and the metric so far; false when the claim is no longer this worker's.
    member
      Epoch: claim: Claim * epoch: int * accuracy: float * energy: float *
             seconds: float * metric: float -> bool

    /// The epochs recorded for a sweep's trials (latest attempt of each): trial, epoch, metric so far.
    member Epochs: sweep: string -> (int * int * float) list

    /// A sweep's log, in order.
    member Events: sweep: string -> Event list

    /// Ends a claimed trial (completed, pruned, diverged or failed) with its metric;
    /// false when the claim is no longer this worker's (then nothing is written).
    member
      Finish: claim: Claim * status: string * metric: float option * epochs: int *
              seconds: float * error: string option * runDir: string option ->
                bool

    /// Renews a claim's lease; false when the claim is no longer this worker's.
    member Heartbeat: claim: Claim * leaseSeconds: float -> bool

    /// Brings the database to the current schema version (each migration in one
    /// transaction, under a lock, so that workers starting together migrate once);
    /// refuses a database of a newer version.
    member Migrate: unit -> unit

    /// Logs an event of a claimed trial (e.g. `resumed`, with the epoch it continues from).
    member Note: claim: Claim * event: string * detail: string -> unit

    /// The storage's clock, in Unix seconds (leases are measured on it).
    member Now: unit -> float

    /// Trials still to run or running.
    member Open: sweep: string -> int

    /// Gives a claimed trial back (the worker was interrupted): pending again.
    member Release: claim: Claim -> bool

    /// The metric of every trial of a bucket at an epoch (the latest attempt of each), by trial.
    member
      RungValues: sweep: string * bucketName: string * epoch: int ->
                    (int * float) list

    /// The sweeps stored, oldest first.
    member Sweeps: unit -> SweepRow list

    /// Every trial of a sweep, in order.
    member Trials: sweep: string -> TrialRow list

    /// The schema version of the database (0: empty).
    member Version: unit -> int

    /// Whether the storage is PostgreSQL.
    member IsPostgres: bool

    /// The storage, without its password.
    member Where: string

/// Opens a storage URL (see `parseUrl`) with the default options.
val connect: url: string -> SweepStore

/// Opens a storage URL with options.
val connectWith: options: StoreOptions -> url: string -> SweepStore
