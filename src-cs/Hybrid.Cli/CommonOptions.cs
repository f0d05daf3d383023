using System.CommandLine;
using Microsoft.FSharp.Core;

namespace Hybrid.Cli;

/// <summary>Options every command understands.</summary>
public static class CommonOptions
{
    public static readonly Option<bool> Json = new("--json")
    {
        Description = "Print the results as one JSON document on stdout (progress goes to stderr).",
        Recursive = true,
    };

    public static readonly Option<string?> Data = new("--data")
    {
        Description = "Dataset root folder (default: $HYBRID_DATA, then ~/.local/share/hybrid/datasets, then /usr/share/datasets).",
        Recursive = true,
    };

    public static readonly Option<string> Device = new("--device")
    {
        Description = "Compute device: auto (CUDA if available, else CPU), cpu or cuda.",
        DefaultValueFactory = _ => "auto",
        Recursive = true,
    };

    public static readonly Option<int> Threads = new("--threads")
    {
        Description = "libtorch intra-op threads (0: libtorch's default, all cores).",
        DefaultValueFactory = _ => 0,
        Recursive = true,
    };

    public static FSharpOption<string> Root(string? data) =>
        string.IsNullOrWhiteSpace(data) ? FSharpOption<string>.None : FSharpOption<string>.Some(data);
}
