using System.CommandLine;

namespace Hybrid.Cli;

// Inside the namespace: the facade's names win over the core's namespace Hybrid.
using Hybrid.Facade;

/// <summary>`hybrid completion bash|zsh|fish`: a script that completes commands, options and option values by asking
/// `hybrid "[suggest:POSITION]" "LINE"` (System.CommandLine's suggest directive).</summary>
public static class CompletionCommand
{
    const string Bash = """
        # hybrid completion for bash. Load it with: source <(hybrid completion bash)
        _hybrid_complete() {
            local IFS=$'\n'
            local candidates
            candidates=$(hybrid "[suggest:${COMP_POINT}]" "${COMP_LINE}" 2>/dev/null)
            COMPREPLY=( $(compgen -W "${candidates}" -- "${COMP_WORDS[COMP_CWORD]}") )
        }
        complete -o default -F _hybrid_complete hybrid
        """;

    const string Zsh = """
        # hybrid completion for zsh. Load it with: source <(hybrid completion zsh)
        _hybrid_complete() {
            local -a candidates
            candidates=("${(@f)$(hybrid "[suggest:${CURSOR}]" "${BUFFER}" 2>/dev/null)}")
            compadd -- "${candidates[@]}"
        }
        compdef _hybrid_complete hybrid
        """;

    const string Fish = """
        # hybrid completion for fish. Load it with: hybrid completion fish | source
        complete -c hybrid -f -a '(hybrid "[suggest:"(commandline -C)"]" (commandline) 2>/dev/null)'
        """;

    public static Command Create()
    {
        var shell = new Argument<string>("shell") { Description = "bash, zsh or fish." };
        shell.CompletionSources.Add("bash", "zsh", "fish");
        var cmd = new Command("completion", "Print a shell script that completes hybrid's commands, options and their values (source it from your shell's startup file).");
        cmd.Arguments.Add(shell);
        cmd.SetAction(pr =>
        {
            var name = pr.GetValue(shell) ?? "";
            Console.Out.WriteLine(name.Trim().ToLowerInvariant() switch
            {
                "bash" => Bash,
                "zsh" => Zsh,
                "fish" => Fish,
                _ => throw new UsageException($"completion: unknown shell '{name}' (known: bash, zsh, fish)"),
            });
            return ExitCodes.Success;
        });
        return cmd;
    }
}
