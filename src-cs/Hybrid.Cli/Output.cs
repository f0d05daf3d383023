using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Nodes;
using Spectre.Console;

namespace Hybrid.Cli;

// Inside the namespace: the facade's names win over the core's namespace Hybrid.
using Hybrid.Facade;

/// <summary>Console output: human tables on a terminal, plain lines when redirected,
/// and one JSON document on stdout with --json.</summary>
public static class Output
{
    static readonly JsonSerializerOptions JsonOptions = new()
    {
        WriteIndented = true,
        Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
        NumberHandling = System.Text.Json.Serialization.JsonNumberHandling.AllowNamedFloatingPointLiterals,
    };

    /// <summary>Writes one JSON document to stdout.</summary>
    public static void Json(JsonNode? node) => Console.Out.WriteLine(node is null ? "null" : node.ToJsonString(JsonOptions));

    /// <summary>Messages for humans go to stderr when --json owns stdout.</summary>
    public static void Info(bool json, string message)
    {
        if (json) Console.Error.WriteLine(message);
        else AnsiConsole.WriteLine(message);
    }

    /// <summary>Prints a table with a header row.</summary>
    public static void Table(string? title, IReadOnlyList<string> header, IEnumerable<IReadOnlyList<string>> rows)
    {
        var table = new Table().Border(TableBorder.Rounded);
        if (title is not null) table.Title(Markup.Escape(title));
        foreach (var h in header) table.AddColumn(new TableColumn(Markup.Escape(h)));
        foreach (var r in rows) table.AddRow(r.Select(c => new Markup(Markup.Escape(c))).ToArray());
        AnsiConsole.Write(table);
    }

    /// <summary>Prints an error in a way that survives redirection.</summary>
    public static void Error(string message) => Console.Error.WriteLine($"error: {message}");

    /// <summary>Prints an experiment's report (its JSON document with --json, else its tables and lines) and returns its exit code.</summary>
    public static int Report(bool json, ExperimentReport report)
    {
        if (json) Json(report.Json);
        else
        {
            foreach (var t in report.Tables) Table(t.Title, t.Header, t.Rows);
            foreach (var line in report.Lines) Console.WriteLine(line);
        }
        foreach (var note in report.Notes) Info(json, note);
        foreach (var error in report.Errors) Error(error);
        return report.ExitCode;
    }
}
