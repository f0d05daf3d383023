module Hybrid.Tests.NativeTests

open System.IO
open Expecto
open TorchSharp
open Hybrid

[<Tests>]
let tests =
    testList "Native" [
        test "the shim that is loaded runs a tensor op and an autograd gradient" {
            let r = Native.ensureLoaded ()
            Expect.isTrue (File.Exists r.Loaded) "a shim was loaded"
            use _ = torch.NewDisposeScope()
            let x = torch.tensor([| 1.0; -2.0; 3.0 |], requires_grad = true)
            let y = (x * x * x).sum()
            y.backward()
            // d/dx x^3 = 3x^2, exact in float64.
            let g = x.grad.data<float>().ToArray()
            Expect.sequenceEqual g [| 3.0; 12.0; 27.0 |] "gradient of sum x^3"
            let m = torch.mm(torch.eye(3L, dtype = torch.float64), x.detach().reshape(3L, 1L))
            Expect.sequenceEqual (m.data<float>().ToArray()) [| 1.0; -2.0; 3.0 |] "identity matmul"
        }

        test "version requirements are read from the shim and only missing ones are weakened" {
            let r = Native.ensureLoaded ()
            let bytes = File.ReadAllBytes r.Original
            let reqs = Native.Elf.requirements bytes r.Original
            Expect.isTrue (reqs |> List.exists (fun q -> q.File.StartsWith "libstdc++" && q.Name.StartsWith "GLIBCXX_")) "shim needs GLIBCXX versions"
            let host = Native.Elf.definitions (File.ReadAllBytes r.HostLibStdCxx) r.HostLibStdCxx
            Expect.isTrue (host.Contains "GLIBCXX_3.4") "host libstdc++ defines GLIBCXX_3.4"
            let missing = reqs |> List.filter (fun q -> q.File.StartsWith "libstdc++" && not (host.Contains q.Name)) |> List.map (fun q -> q.Name)
            Expect.equal (Set.ofList r.Weakened) (Set.ofList missing) "exactly the versions the host lacks are weakened"
            // A host that provides everything needs no patch: marking nothing changes nothing.
            let copy = Array.copy bytes
            Expect.equal (Native.Elf.markWeak copy r.Original Set.empty) 0 "no names, no change"
            Expect.sequenceEqual copy bytes "bytes unchanged"
            // Weakening sets exactly the VER_FLG_WEAK bit of the named entries.
            if not missing.IsEmpty then
                let n = Native.Elf.markWeak copy r.Original (Set.ofList missing)
                Expect.equal n (List.length (List.distinct missing)) "one entry per missing version"
                let after = Native.Elf.requirements copy r.Original
                for q in after do
                    let weak = q.Flags &&& Native.Elf.VerFlagWeak <> 0us
                    Expect.equal weak (List.contains q.Name missing) (sprintf "%s weak flag" q.Name)
                let diff = Array.zip bytes copy |> Array.filter (fun (a, b) -> a <> b) |> Array.length
                Expect.equal diff n "only the flag bytes changed"
        }

        test "the original shim is never modified" {
            let r = Native.ensureLoaded ()
            let reqs = Native.Elf.requirements (File.ReadAllBytes r.Original) r.Original
            Expect.isTrue (reqs |> List.forall (fun q -> q.Flags &&& Native.Elf.VerFlagWeak = 0us || not (List.contains q.Name r.Weakened))) "original flags intact"
        }

        test "a non-ELF file is reported by name" {
            let f = Path.GetTempFileName()
            File.WriteAllText(f, "not an elf")
            let e = Util.throws<exn> (fun () -> Native.Elf.requirements (File.ReadAllBytes f) f |> ignore)
            Expect.stringContains e.Message f "message names the file"
            File.Delete f
        }
    ]
