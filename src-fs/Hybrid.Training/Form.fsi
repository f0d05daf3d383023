/// Configuration forms: a codec, its defaults and its checks under a name, and the
/// table of its settings derived from them. Every leaf of a form's JSON form is one
/// setting, with its path, type, default, range, description and command-line flag;
/// the JSON Schema, docs/config.md, the command line's options and help and the C#
/// facade's options all read this table, so that a field added to a codec appears in
/// each of them without being written again.
namespace Hybrid

    /// The type of a setting's value.
    [<RequireQualifiedAccess>]
    type SettingKind =
        /// A 32-bit integer.
        | Integer

        /// A 64-bit integer (seeds).
        | Integer64

        /// A finite number.
        | Number

        /// true or false (a flag given alone means true).
        | Boolean

        /// Free text (a name, a path, an initializer's text form).
        | Text

        /// One of these canonical spellings (older spellings are read with a warning).
        | Choice of names: string list * aliases: string list

        /// A list; on the command line, items separated by commas (lists of lists: `;` between the lists).
        | Items of item: SettingKind

        /// A JSON value (objects, lists of objects); on the command line, its JSON text.
        | Json

        /// How the type reads in help and documentation.
        member Describe: unit -> string

    /// One setting of a form: a leaf of its JSON form.
    type Setting =
        {
          /// Its JSON path, e.g. `inference.steps`.
          Path: string

          /// Its command-line flag, e.g. `--steps` (None: set in files and code only).
          Flag: string option

          /// Other flags for it, e.g. `-T`.
          Aliases: string list
          Kind: SettingKind

          /// null is a value (written `null` on the command line).
          Nullable: bool

          /// The value in the form's defaults, as JSON text (None: not set by default).
          Default: string option
          Minimum: float option
          Maximum: float option
          Description: string
        }

    /// How a form's settings get their flags where the rule (`--` and the leaf key in
    /// kebab case) does not do: another name, aliases, or no flag.
    type FlagRule =
        {
          Path: string

          /// None: no flag.
          Flag: string option
          Aliases: string list
        }

        /// The setting at `path` is `--flag` (and answers to `aliases`).
        static member
          Named: path: string * flag: string * ?aliases: string list -> FlagRule

        /// The setting at `path` has no flag.
        static member NoFlag: path: string -> FlagRule

    /// A configuration form: what reads it, its codec, defaults and checks, and its flag rules.
    type Form<'T> =
        {
          /// The form's name (`hybrid config schema NAME`).
          Name: string

          /// The title of its JSON Schema.
          Title: string

          /// What reads it, e.g. `hybrid train --config`.
          ReadBy: string
          Codec: Codec<'T>
          Defaults: 'T

          /// Checks a value read in full; a `ConfigError` names the field.
          Check: ('T -> unit)
          Flags: FlagRule list
        }

    /// A form with its type hidden: what registries, the command line and the C# facade hold.
    type AnyForm =
        {
          Name: string
          Title: string
          ReadBy: string
          Settings: Setting list
          Schema: (unit -> System.Text.Json.Nodes.JsonObject)
          Defaults: obj

          /// Reads JSON text onto a value and checks the result.
          Parse: (string -> obj -> obj)

          /// Reads a file onto a value and checks the result; errors name the file.
          Load: (string -> obj -> obj)

          /// Applies (flag or path, text) pairs to a value, as the command line does, and checks the result.
          Apply: ((string * string) list -> obj -> obj)

          /// Reads a JSON object onto a value and checks the result.
          Patch: (System.Text.Json.Nodes.JsonObject -> obj -> obj)

          /// Reads a JSON object onto a value without checking the whole (more fields may follow).
          Read: (System.Text.Json.Nodes.JsonObject -> obj -> obj)

          /// Checks a value read in full; a `ConfigError` names the field.
          Check: (obj -> unit)
          Write: (obj -> System.Text.Json.Nodes.JsonObject)
        }
    [<CompilationRepresentation (enum<CompilationRepresentationFlags> (4))>]
    module Form =
        val private fail: fmt: Printf.StringFormat<'a,'b> -> 'a

        /// A form; `check` runs on every value read in full.
        val create:
          name: string ->
            title: string ->
            readBy: string ->
            codec: Codec<'T> ->
            defaults: 'T ->
            check: ('T -> unit) -> flags: FlagRule list -> Form<'T>

        /// `batchSize` -> `batch-size`.
        val kebab: key: string -> string
        val private text: n: System.Text.Json.Nodes.JsonNode -> string
        val private str:
          o: System.Text.Json.Nodes.JsonObject -> key: string -> string option
        val private number:
          o: System.Text.Json.Nodes.JsonObject -> key: string -> double option

        /// The kind of a leaf schema.
        val private kindOf: s: System.Text.Json.Nodes.JsonObject -> SettingKind

        /// The schema of a value that may be null: (true, the inner schema) for `anyOf [X, null]`.
        val private nullable:
          s: System.Text.Json.Nodes.JsonObject ->
            bool * System.Text.Json.Nodes.JsonObject

        /// The node at a dotted path of a JSON object (None: absent).
        val private at:
          root: System.Text.Json.Nodes.JsonObject ->
            path: string -> System.Text.Json.Nodes.JsonNode option

        /// The settings of a form, in the order of its schema. Two settings that would get
        /// the same flag are an error naming both (a flag rule resolves it).
        val settings: form: Form<'T> -> Setting list

        /// The form's JSON Schema document.
        val schema: form: Form<'T> -> System.Text.Json.Nodes.JsonObject
        val private verified: form: Form<'T> -> v: 'T -> 'T

        /// Reads JSON text onto `current` and checks the result.
        val parse: form: Form<'T> -> json: string -> current: 'T -> 'T

        /// Reads a file onto `current` and checks the result; errors name the file.
        val load: form: Form<'T> -> path: string -> current: 'T -> 'T

        /// Reads a JSON object onto `current` and checks the result.
        val patch:
          form: Form<'T> ->
            o: System.Text.Json.Nodes.JsonObject -> current: 'T -> 'T

        /// The value's full JSON form.
        val write: form: Form<'T> -> v: 'T -> System.Text.Json.Nodes.JsonObject

        /// The setting a flag (`--steps`, an alias, or a path such as `inference.steps`) names.
        val find: settings: Setting list -> name: string -> Setting option

        /// A setting's value as the command line writes it, as JSON; the error names the flag.
        val private valueOf:
          flag: string ->
            kind: SettingKind ->
            nullable: bool ->
            inItems: bool -> token: string -> System.Text.Json.Nodes.JsonNode

        /// A setting's value as the command line writes it, as JSON (a `ConfigError` naming the
        /// flag when the text cannot be read as the setting's type).
        val readToken:
          s: Setting -> token: string -> System.Text.Json.Nodes.JsonNode

        /// Sets `value` at a dotted path of a JSON object, creating the objects on the way.
        val private put:
          root: System.Text.Json.Nodes.JsonObject ->
            path: string -> value: System.Text.Json.Nodes.JsonNode -> unit

        /// The JSON object that (flag or path, text) pairs stand for; a later pair for the
        /// same setting wins. Unknown names are an error listing the flags.
        val flagsObject:
          settings: Setting list ->
            given: (string * string) list -> System.Text.Json.Nodes.JsonObject

        /// Applies (flag or path, text) pairs to `current` through the form's JSON reader (as a
        /// file would set them) and checks the result; errors name the flag.
        val apply:
          form: Form<'T> -> given: (string * string) list -> current: 'T -> 'T

        /// The form with its type hidden.
        val boxed: form: Form<'T> -> AnyForm

        /// A setting's default as documentation shows it.
        val defaultText: s: Setting -> string

        /// A setting's range as documentation shows it (empty: none).
        val rangeText: s: Setting -> string

        /// The form's settings as a Markdown table (docs/config.md holds one per form).
        val markdown: form: AnyForm -> string
