namespace Hybrid.Cli;

/// <summary>The command line itself is wrong (a value that cannot be read as its option's type): exit code 2, like the
/// parser's own errors.</summary>
public sealed class UsageException(string message) : ArgumentException(message);
