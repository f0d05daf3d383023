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
