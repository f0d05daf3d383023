using Hybrid.Data;

namespace Hybrid.Cli;

/// <summary>Turns the core's validation and data errors into one clear line.</summary>
public static class Errors
{
    public static bool IsUserError(Exception e) => Unwrap(e) is ArgumentException or InvalidOperationException or DataError
        or IOException or FormatException or ConfigError or System.Text.Json.JsonException or NotSupportedException;

    static Exception Unwrap(Exception e) =>
        e is System.Reflection.TargetInvocationException or AggregateException && e.InnerException is not null ? Unwrap(e.InnerException) : e;

    public static string Describe(Exception e)
    {
        var u = Unwrap(e);
        return u switch
        {
            ArgumentException a when a.ParamName is not null => a.Message.Replace($" (Parameter '{a.ParamName}')", ""),
            _ => u.Message,
        };
    }
}
