// Checks the packages `dotnet pack` wrote into a folder feed: metadata, readme, licence,
// repository, symbols with Source Link, natives left to the application, and a tool
// package without Python or test libraries. Prints each package's size and ends with
// `N passed, N failed`.
//
//   dotnet fsi .ci/check-packages.fsx FEED
open System
open System.IO
open System.IO.Compression
open System.Text
open System.Xml.Linq

let feed = fsi.CommandLineArgs |> Array.tryItem 1 |> Option.defaultWith (fun () -> failwith "usage: check-packages.fsx FEED")
let mutable passed = 0
let mutable failed = 0
let check ok (what: string) =
    printfn "%s %s" (if ok then "ok  " else "FAIL") what
    if ok then passed <- passed + 1 else failed <- failed + 1

let libraries = [ "Hybrid.Runtime"; "Hybrid.Core"; "Hybrid.Data"; "Hybrid.Training"; "Hybrid.Reporting"; "Hybrid.Sweeps"; "Hybrid.Experiments"; "Hybrid.Verification"; "Hybrid.Facade" ]
let tool = "hybrid"
let version = "0.1.0"

let entries (path: string) =
    use zip = ZipFile.OpenRead path
    [ for e in zip.Entries -> e.FullName, e.Length ]

let read (path: string) (name: string) =
    use zip = ZipFile.OpenRead path
    let e = zip.GetEntry name
    if isNull e then None
    else
        use s = e.Open()
        use m = new MemoryStream()
        s.CopyTo m
        Some(m.ToArray())

let contains (bytes: byte[]) (text: string) =
    let needle = Encoding.UTF8.GetBytes text
    bytes.AsSpan().IndexOf(ReadOnlySpan needle) >= 0

let nuspec (path: string) (id: string) =
    let xml = read path (id + ".nuspec") |> Option.defaultWith (fun () -> failwithf "%s has no nuspec" path)
    let doc = XDocument.Parse(Encoding.UTF8.GetString(xml).TrimStart('\uFEFF'))
    let ns = doc.Root.Name.Namespace
    doc.Root.Element(ns + "metadata"), ns

printfn "%-28s %12s %12s" "package" "nupkg bytes" "snupkg bytes"
for id in libraries @ [ tool ] do
    let nupkg = Path.Combine(feed, sprintf "%s.%s.nupkg" id version)
    let snupkg = Path.Combine(feed, sprintf "%s.%s.snupkg" id version)
    if not (File.Exists nupkg && File.Exists snupkg) then
        check false (sprintf "%s: %s and its symbols package are in the feed" id (Path.GetFileName nupkg))
    else
        printfn "%-28s %12d %12d" id (FileInfo(nupkg).Length) (FileInfo(snupkg).Length)
        let meta, ns = nuspec nupkg id
        let value (name: string) = match meta.Element(ns + name) with null -> "" | e -> e.Value
        let files = entries nupkg |> List.map fst
        check (value "license" = "MIT" && meta.Element(ns + "license").Attribute(XName.Get "type").Value = "expression") (id + ": MIT licence expression")
        check (value "readme" = "README.md" && List.contains "README.md" files) (id + ": readme")
        check (value "description" <> "" && value "authors" <> "") (id + ": description and authors")
        let repo = meta.Element(ns + "repository")
        let attr (n: string) = match repo with null -> "" | r -> match r.Attribute(XName.Get n) with null -> "" | a -> a.Value
        check (attr "type" = "git" && attr "url" <> "" && (attr "commit").Length = 40) (sprintf "%s: repository %s at commit %s" id (attr "url") (attr "commit"))
        // Symbols: one portable PDB per assembly, each with a Source Link document.
        let pdbs = entries snupkg |> List.map fst |> List.filter (fun f -> f.EndsWith ".pdb")
        check (not pdbs.IsEmpty && pdbs |> List.forall (fun p -> contains (read snupkg p).Value "{\"documents\":")) (sprintf "%s: symbols with Source Link (%s)" id (String.Join(", ", pdbs)))
        if id = tool then
            let types = meta.Descendants(ns + "packageType") |> Seq.map (fun e -> e.Attribute(XName.Get "name").Value) |> List.ofSeq
            check (types = [ "DotnetTool" ]) "hybrid: a dotnet tool package"
            let names = files |> List.map Path.GetFileName
            check (List.contains "DotnetToolSettings.xml" names && List.contains "hybrid.dll" names) "hybrid: the tool's entry point"
            check (List.contains "libtorch_cpu.so" names && List.contains "libLibTorchSharp.so" names) "hybrid: libtorch's CPU natives inside"
            let unwanted =
                names |> List.filter (fun n ->
                    n = "libtorch_python.so" || n = "libshm.so" || n.Contains "_test" || n.StartsWith "xunit" || n.StartsWith "Expecto"
                    || n.StartsWith "FsCheck" || n.StartsWith "Microsoft.TestPlatform" || n.StartsWith "Hybrid.Tests")
            check unwanted.IsEmpty (sprintf "hybrid: no Python or test libraries (found: %s)" (String.Join(", ", unwanted)))
            check (files |> List.forall (fun f -> not (f.Contains "/configs/") && not (f.StartsWith "content"))) "hybrid: no loose configuration files"
        else
            let deps = meta.Descendants(ns + "dependency") |> Seq.map (fun e -> e.Attribute(XName.Get "id").Value) |> List.ofSeq
            check (deps |> List.forall (fun d -> not (d.StartsWith("libtorch", StringComparison.OrdinalIgnoreCase)) && not (d.StartsWith("TorchSharp-", StringComparison.OrdinalIgnoreCase))))
                (sprintf "%s: natives left to the application (depends on %s)" id (String.Join(", ", deps)))
            check (id = "Hybrid.Runtime" || deps |> List.exists (fun d -> d.StartsWith "Hybrid.")) (id + ": depends on the layer below")
            check (files |> List.exists (fun f -> f = sprintf "lib/net10.0/%s.xml" id)) (id + ": XML documentation")
            if id = "Hybrid.Reporting" then
                let dll = (read nupkg "lib/net10.0/Hybrid.Reporting.dll").Value
                check (contains dll "configs/table1/pc-avg.json" && contains dll "configs/reconstruction/mem.json" && contains dll "configs/sweeps/table1-mlp.json") "Hybrid.Reporting: configurations and sweep specs embedded as resources"

printfn "%d passed, %d failed" passed failed
exit (if failed = 0 then 0 else 1)
