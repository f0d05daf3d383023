using Microsoft.FSharp.Core;

namespace Hybrid.Facade;

/// <summary>Conversions between the facade's .NET values and the core's: names of choices read through the
/// configuration system's one table, optional values, and configuration errors as argument errors.</summary>
internal static class Names
{
    /// <summary>The value of a name; an unknown name is an <see cref="ArgumentException"/> that lists the known ones.</summary>
    public static T Parse<T>(Hybrid.Choice<T> choice, string name)
    {
        try { return choice.Parse(name); }
        catch (Hybrid.ConfigError e) { throw new ArgumentException(e.Message, choice.What, e); }
    }

    /// <summary>An initializer from its text form.</summary>
    public static Hybrid.Initializer Init(string text) => Config(() => Hybrid.InitText.parse(text));

    /// <summary>Runs a configuration-system call; its errors become <see cref="ArgumentException"/>s.</summary>
    public static T Config<T>(Func<T> f) => Guard.Run(f);

    /// <summary>None for null.</summary>
    public static FSharpOption<string>? Option(string? s) => s is null ? null : FSharpOption<string>.Some(s);

    /// <summary>None for null.</summary>
    public static FSharpOption<T>? Option<T>(T? v) where T : struct => v is { } x ? FSharpOption<T>.Some(x) : null;

    /// <summary>null for None.</summary>
    public static T? Value<T>(FSharpOption<T>? o) where T : struct => o is null ? null : o.Value;
}

/// <summary>Calls into the core with the facade's documented exceptions: configuration errors are
/// <see cref="ArgumentException"/>s, damaged checkpoints and data files <see cref="InvalidDataException"/>s, divergences
/// <see cref="TrainingDivergedException"/>s, and no native (libtorch) exception escapes: one is reported as an
/// <see cref="ArgumentException"/> with its first line.</summary>
internal static class Guard
{
    public static T Run<T>(Func<T> f)
    {
        try { return f(); }
        catch (Exception e) when (Translate(e) is { } t) { throw t; }
    }

    public static void Run(Action f) => Run(() => { f(); return 0; });

    /// <summary>A missing file is a <see cref="FileNotFoundException"/> that names it.</summary>
    public static void FileExists(string path, string what)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        if (!File.Exists(path)) throw new FileNotFoundException($"{what} {path} not found", path);
    }

    static Exception? Translate(Exception e) => e switch
    {
        Hybrid.ConfigError => new ArgumentException(Hybrid.CodecModule.message(e), e),
        Hybrid.Checkpoint.CheckpointError c => new InvalidDataException(c.Message, e),
        Hybrid.Data.DataError d => new InvalidDataException(d.Message, e),
        Hybrid.DivergenceError d => new TrainingDivergedException(d.Message, e),
        Hybrid.Data.Download.DownloadError d => new DownloadFailedException(d.Message, e),
        Hybrid.Runs.RunFolderError r => new RunFolderException(r.Message, e),
        System.Runtime.InteropServices.ExternalException x =>
            new ArgumentException("libtorch refused the input: " + x.Message.Split('\n', 2)[0].Trim(), x),
        _ => null,
    };
}

/// <summary>Which failures are a user's to fix (a bad option, file or dataset), and their one-line description.</summary>
public static class HybridErrors
{
    /// <summary>True for the documented errors that a user can fix: bad options and configurations (<see cref="ArgumentException"/>),
    /// damaged data files and checkpoints (<see cref="InvalidDataException"/>), run folders (<see cref="RunFolderException"/>) and the
    /// file system (<see cref="IOException"/>, <see cref="UnauthorizedAccessException"/>), and the core's own types of the same. Anything
    /// else is a bug in Hybrid (an <see cref="InvalidOperationException"/> included), never the user's mistake.</summary>
    public static bool IsUserError(Exception e) => Unwrap(e) is ArgumentException or Hybrid.Data.DataError or IOException
        or Hybrid.ConfigError or Hybrid.Checkpoint.CheckpointError or Hybrid.Runs.RunFolderError or UnauthorizedAccessException;

    static Exception Unwrap(Exception e) =>
        e is System.Reflection.TargetInvocationException or AggregateException && e.InnerException is not null ? Unwrap(e.InnerException) : e;

    /// <summary>The error's message in one line, without .NET's " (Parameter '...')" suffix (libtorch's messages
    /// carry a native backtrace after their first line; it is left out).</summary>
    public static string Describe(Exception e)
    {
        var message = Hybrid.CodecModule.message(Unwrap(e));
        var first = message.Split('\n', 2)[0].Trim();
        return first.Length > 0 ? first : e.GetType().Name;
    }
}

/// <summary>The exit codes of the command line (and of scripts that follow it), by what happened.</summary>
public static class ExitCodes
{
    /// <summary>Everything completed.</summary>
    public const int Success = Hybrid.Reporting.ExitCode.Success;
    /// <summary>An unexpected failure.</summary>
    public const int Failure = Hybrid.Reporting.ExitCode.Failure;
    /// <summary>A usage error: the command line itself (an unknown command or option, a value that cannot be read as its type).</summary>
    public const int Usage = Hybrid.Reporting.ExitCode.Usage;
    /// <summary>Bad input: a value out of range, a configuration, file, dataset, checkpoint, run folder or file system problem
    /// (named in one line).</summary>
    public const int BadInput = Hybrid.Reporting.ExitCode.BadInput;
    /// <summary>A run diverged.</summary>
    public const int Diverged = Hybrid.Reporting.ExitCode.Diverged;
    /// <summary>A download failed (no network, an HTTP error, a transfer cut short, a checksum mismatch): <see cref="DownloadFailedException"/>.</summary>
    public const int Download = Hybrid.Reporting.ExitCode.Download;
    /// <summary>The sweep storage failed or refused (unreachable, a newer schema, a sweep name taken by another spec, no
    /// such sweep): <see cref="SweepStorageException"/>.</summary>
    public const int Storage = Hybrid.Reporting.ExitCode.Storage;
    /// <summary>Interrupted (Ctrl-C, SIGTERM): the runs stopped after their current step, saved and summarised.</summary>
    public const int Interrupted = Hybrid.Reporting.ExitCode.Interrupted;
}
