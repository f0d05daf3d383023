module Hybrid.AtomicFile

open System
open System.IO
open System.Text

let write (path: string) (write: Stream -> unit) =
    let full = Path.GetFullPath path
    let dir = Path.GetDirectoryName full
    Directory.CreateDirectory dir |> ignore
    let tmp = Path.Combine(dir, sprintf ".%s.%d.tmp" (Path.GetFileName full) Environment.ProcessId)
    try
        do
            use fs = new FileStream(tmp, FileMode.Create, FileAccess.Write)
            write fs
            fs.Flush(true)
        File.Move(tmp, full, true)
    with _ ->
        (try File.Delete tmp with _ -> ())
        reraise ()

let writeBytes (path: string) (bytes: byte[]) = write path (fun s -> s.Write(bytes, 0, bytes.Length))

let writeText (path: string) (text: string) = writeBytes path (UTF8Encoding(false).GetBytes text)
