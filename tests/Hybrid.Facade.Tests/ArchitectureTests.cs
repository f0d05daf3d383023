using System.Reflection;
using Hybrid.Facade;
using Xunit;

namespace Hybrid.Facade.Tests;

/// <summary>The assemblies depend one way (runtime &lt;- core &lt;- data/training &lt;- reporting (runs, reports, plots) &lt;- sweeps &lt;- experiments &lt;- facade &lt;- CLI),
/// the CLI uses the facade only, and the facade's public surface has no F# types.</summary>
public class ArchitectureTests
{
    static readonly string[] Layers = ["Hybrid.Runtime", "Hybrid.Core", "Hybrid.Data", "Hybrid.Training", "Hybrid.Reporting", "Hybrid.Sweeps", "Hybrid.Experiments", "Hybrid.Facade", "hybrid"];

    static Assembly Load(string name) => name == "hybrid" ? typeof(Hybrid.Cli.Output).Assembly : Assembly.Load(name);

    static HashSet<string> HybridReferences(string name) =>
        Load(name).GetReferencedAssemblies().Select(a => a.Name!).Where(n => Layers.Contains(n)).ToHashSet();

    [Fact]
    public void TheCliReferencesTheFacadeAndNoFSharpOrCoreAssembly()
    {
        var refs = typeof(Hybrid.Cli.Output).Assembly.GetReferencedAssemblies().Select(a => a.Name!).ToList();
        Assert.Contains("Hybrid.Facade", refs);
        foreach (var forbidden in new[] { "FSharp.Core", "Hybrid.Runtime", "Hybrid.Core", "Hybrid.Data", "Hybrid.Training", "Hybrid.Reporting", "Hybrid.Experiments", "Hybrid.Sweeps", "TorchSharp", "Npgsql", "Microsoft.Data.Sqlite" })
            Assert.DoesNotContain(forbidden, refs);
    }

    [Fact]
    public void AssembliesReferenceOnlyLayersBelowThem()
    {
        var allowed = new Dictionary<string, string[]>
        {
            ["Hybrid.Runtime"] = [],
            ["Hybrid.Core"] = ["Hybrid.Runtime"],
            ["Hybrid.Data"] = ["Hybrid.Runtime"],
            ["Hybrid.Training"] = ["Hybrid.Runtime", "Hybrid.Core", "Hybrid.Data"],
            ["Hybrid.Reporting"] = ["Hybrid.Runtime", "Hybrid.Core", "Hybrid.Data", "Hybrid.Training"],
            ["Hybrid.Sweeps"] = ["Hybrid.Runtime", "Hybrid.Core", "Hybrid.Data", "Hybrid.Training", "Hybrid.Reporting"],
            ["Hybrid.Experiments"] = ["Hybrid.Runtime", "Hybrid.Core", "Hybrid.Data", "Hybrid.Training", "Hybrid.Reporting", "Hybrid.Sweeps"],
            ["Hybrid.Facade"] = ["Hybrid.Runtime", "Hybrid.Core", "Hybrid.Data", "Hybrid.Training", "Hybrid.Reporting", "Hybrid.Sweeps", "Hybrid.Experiments"],
            ["hybrid"] = ["Hybrid.Facade"],
        };
        foreach (var (name, below) in allowed)
        {
            var extra = HybridReferences(name).Except(below).ToList();
            Assert.True(extra.Count == 0, $"{name} references {string.Join(", ", extra)}, which is not below it");
        }
        // The core is the mathematics: no JSON, no files of its own, no processes.
        var core = Load("Hybrid.Core").GetReferencedAssemblies().Select(a => a.Name!).ToList();
        foreach (var forbidden in new[] { "System.Text.Json", "System.Diagnostics.Process", "System.Formats.Tar", "System.IO.Compression" })
            Assert.DoesNotContain(forbidden, core);
    }

    [Fact]
    public void NoExitCodeIsTheSkipCodeOfCi()
    {
        // .ci/run reads 77 as "skipped (dataset missing)": no command may return it, so that nothing else passes for a skip.
        var codes = typeof(ExitCodes).GetFields(BindingFlags.Public | BindingFlags.Static).Select(f => (int)f.GetValue(null)!).ToList();
        Assert.True(codes.Count >= 8, "the exit codes");
        Assert.DoesNotContain(77, codes);
    }

    [Fact]
    public void TheFacadesPublicSurfaceHasNoFSharpTypes()
    {
        static IEnumerable<Type> Mentioned(MemberInfo m) => m switch
        {
            MethodInfo mi => mi.GetParameters().Select(p => p.ParameterType).Append(mi.ReturnType),
            ConstructorInfo ci => ci.GetParameters().Select(p => p.ParameterType),
            PropertyInfo pi => [pi.PropertyType],
            FieldInfo fi => [fi.FieldType],
            EventInfo ei => ei.EventHandlerType is { } t ? [t] : [],
            _ => [],
        };
        static IEnumerable<Type> Expand(Type t) =>
            t.IsGenericType ? t.GetGenericArguments().SelectMany(Expand).Append(t) : t.HasElementType ? Expand(t.GetElementType()!) : [t];
        var leaks = typeof(Trainer).Assembly.GetExportedTypes()
            .SelectMany(t => t.GetMembers(BindingFlags.Public | BindingFlags.Instance | BindingFlags.Static | BindingFlags.DeclaredOnly)
                .SelectMany(m => Mentioned(m).SelectMany(Expand).Select(x => (Where: $"{t.Name}.{m.Name}", Type: x))))
            .Where(p => p.Type.Assembly.GetName().Name is "FSharp.Core" || (p.Type.Namespace ?? "").StartsWith("Hybrid") && p.Type.Assembly != typeof(Trainer).Assembly)
            .Select(p => $"{p.Where}: {p.Type}").Distinct().ToList();
        Assert.True(leaks.Count == 0, "F# or core types in the facade's public surface: " + string.Join("; ", leaks));
    }
}
