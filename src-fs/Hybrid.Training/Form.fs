/// Configuration forms: a codec, its defaults and its checks under a name, and the
/// table of its settings derived from them. Every leaf of a form's JSON form is one
/// setting, with its path, type, default, range, description and command-line flag;
/// the JSON Schema, docs/config.md, the command line's options and help and the C#
/// facade's options all read this table, so that a field added to a codec appears in
/// each of them without being written again.
namespace Hybrid

open System
open System.Globalization
open System.Text
open System.Text.Json
open System.Text.Json.Nodes

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
    member this.Describe() =
        match this with
        | Integer
        | Integer64 -> "integer"
        | Number -> "number"
        | Boolean -> "boolean"
        | Text -> "string"
        | Choice(names, _) -> String.Join(" | ", names)
        | Items item -> sprintf "list of %s" (match item with Choice _ -> "(" + item.Describe() + ")" | _ -> item.Describe())
        | Json -> "JSON"

/// One setting of a form: a leaf of its JSON form.
type Setting =
    { /// Its JSON path, e.g. `inference.steps`.
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
      Description: string }

/// How a form's settings get their flags where the rule (`--` and the leaf key in
/// kebab case) does not do: another name, aliases, or no flag.
type FlagRule =
    { Path: string
      /// None: no flag.
      Flag: string option
      Aliases: string list }

    /// The setting at `path` is `--flag` (and answers to `aliases`).
    static member Named(path: string, flag: string, ?aliases: string list) = { Path = path; Flag = Some flag; Aliases = defaultArg aliases [] }
    /// The setting at `path` has no flag.
    static member NoFlag(path: string) = { Path = path; Flag = None; Aliases = [] }

/// A configuration form: what reads it, its codec, defaults and checks, and its flag rules.
type Form<'T> =
    { /// The form's name (`hybrid config schema NAME`).
      Name: string
      /// The title of its JSON Schema.
      Title: string
      /// What reads it, e.g. `hybrid train --config`.
      ReadBy: string
      Codec: Codec<'T>
      Defaults: 'T
      /// Checks a value read in full; a `ConfigError` names the field.
      Check: 'T -> unit
      Flags: FlagRule list }

/// A form with its type hidden: what registries, the command line and the C# facade hold.
type AnyForm =
    { Name: string
      Title: string
      ReadBy: string
      Settings: Setting list
      Schema: unit -> JsonObject
      Defaults: obj
      /// Reads JSON text onto a value and checks the result.
      Parse: string -> obj -> obj
      /// Reads a file onto a value and checks the result; errors name the file.
      Load: string -> obj -> obj
      /// Applies (flag or path, text) pairs to a value, as the command line does, and checks the result.
      Apply: (string * string) list -> obj -> obj
      /// Reads a JSON object onto a value and checks the result.
      Patch: JsonObject -> obj -> obj
      /// Reads a JSON object onto a value without checking the whole (more fields may follow).
      Read: JsonObject -> obj -> obj
      /// Checks a value read in full; a `ConfigError` names the field.
      Check: obj -> unit
      Write: obj -> JsonObject }

[<CompilationRepresentation(CompilationRepresentationFlags.ModuleSuffix)>]
module Form =
    let private fail fmt = Printf.kprintf (fun s -> raise (ConfigError s)) fmt

    /// A form; `check` runs on every value read in full.
    let create name title readBy (codec: Codec<'T>) (defaults: 'T) (check: 'T -> unit) (flags: FlagRule list) : Form<'T> =
        { Name = name; Title = title; ReadBy = readBy; Codec = codec; Defaults = defaults; Check = check; Flags = flags }

    /// `batchSize` -> `batch-size`.
    let kebab (key: string) =
        let b = StringBuilder()
        for c in key do
            if Char.IsUpper c then
                if b.Length > 0 then b.Append('-') |> ignore
                b.Append(Char.ToLowerInvariant c) |> ignore
            else b.Append c |> ignore
        b.ToString()

    let private text (n: JsonNode) =
        match n with
        | null -> "null"
        | n -> n.ToJsonString()

    let private str (o: JsonObject) (key: string) =
        match o[key] with
        | :? JsonValue as v when v.GetValueKind() = JsonValueKind.String -> Some(v.GetValue<string>())
        | _ -> None

    let private number (o: JsonObject) (key: string) =
        match o[key] with
        | :? JsonValue as v when v.GetValueKind() = JsonValueKind.Number -> Some(v.GetValue<double>())
        | _ -> None

    /// The kind of a leaf schema.
    let rec private kindOf (s: JsonObject) =
        match str s "type", s["enum"] with
        | _, (:? JsonArray as names) ->
            let aliases =
                match s["x-aliases"] with
                | :? JsonObject as a -> [ for kv in a -> kv.Key ]
                | _ -> []
            SettingKind.Choice([ for n in names -> n.GetValue<string>() ], aliases)
        | Some "integer", _ -> if str s "format" = Some "int64" then SettingKind.Integer64 else SettingKind.Integer
        | Some "number", _ -> SettingKind.Number
        | Some "boolean", _ -> SettingKind.Boolean
        | Some "string", _ -> SettingKind.Text
        | Some "array", _ ->
            match s["items"] with
            | :? JsonObject as items ->
                match kindOf items with
                | SettingKind.Json -> SettingKind.Json
                | k -> SettingKind.Items k
            | _ -> SettingKind.Json
        | _ -> SettingKind.Json

    /// The schema of a value that may be null: (true, the inner schema) for `anyOf [X, null]`.
    let private nullable (s: JsonObject) =
        match s["anyOf"] with
        | :? JsonArray as alts when alts.Count = 2 ->
            match alts[0], alts[1] with
            | (:? JsonObject as inner), (:? JsonObject as n) when str n "type" = Some "null" -> true, inner
            | _ -> false, s
        | _ -> false, s

    /// The node at a dotted path of a JSON object (None: absent).
    let private at (root: JsonObject) (path: string) =
        let rec go (node: JsonNode) (keys: string list) =
            match keys with
            | [] -> Some node
            | k :: rest ->
                match node with
                | :? JsonObject as o ->
                    let mutable n: JsonNode = null
                    if o.TryGetPropertyValue(k, &n) then go n rest else None
                | _ -> None
        go root (List.ofArray (path.Split '.'))

    /// The settings of a form, in the order of its schema. Two settings that would get
    /// the same flag are an error naming both (a flag rule resolves it).
    let settings (form: Form<'T>) : Setting list =
        let defaults = form.Codec.Write form.Defaults :?> JsonObject
        let rec leaves (prefix: string) (props: JsonObject) =
            [ for kv in props do
                  let path = if prefix = "" then kv.Key else prefix + "." + kv.Key
                  let isNull, s = nullable (kv.Value :?> JsonObject)
                  match str s "type", s["properties"] with
                  | Some "object", (:? JsonObject as inner) -> yield! leaves path inner
                  | _ ->
                      let rule = form.Flags |> List.tryFind (fun r -> r.Path = path)
                      let description =
                          match str s "description" with
                          | Some d -> d
                          | None -> (kv.Value :?> JsonObject) |> fun o -> defaultArg (str o "description") ""
                      yield
                          { Path = path
                            Flag =
                              match rule with
                              | Some r -> r.Flag
                              | None -> Some("--" + kebab kv.Key)
                            Aliases = rule |> Option.map (fun r -> r.Aliases) |> Option.defaultValue []
                            Kind = kindOf s
                            Nullable = isNull
                            Default = at defaults path |> Option.map text
                            Minimum = number s "minimum"
                            Maximum = number s "maximum"
                            Description = description } ]
        let all =
            match form.Codec.Schema()["properties"] with
            | :? JsonObject as props -> leaves "" props
            | _ -> []
        for r in form.Flags do
            if not (all |> List.exists (fun s -> s.Path = r.Path)) then
                invalidOp (sprintf "form %s: a flag rule names '%s', which is not one of its settings" form.Name r.Path)
        let names = all |> List.collect (fun s -> [ for f in Option.toList s.Flag @ s.Aliases -> f, s.Path ])
        for flag, paths in names |> List.groupBy fst do
            if paths.Length > 1 then
                invalidOp (sprintf "form %s: settings %s would all be %s (give one of them a flag rule)" form.Name (String.Join(", ", paths |> List.map snd)) flag)
        all

    /// The form's JSON Schema document.
    let schema (form: Form<'T>) = Codec.schemaDocument form.Title form.Codec

    let private verified (form: Form<'T>) (v: 'T) =
        form.Check v
        v

    /// Reads JSON text onto `current` and checks the result.
    let parse (form: Form<'T>) (json: string) (current: 'T) = Codec.read form.Codec current json |> verified form

    /// Reads a file onto `current` and checks the result; errors name the file.
    let load (form: Form<'T>) (path: string) (current: 'T) =
        let v = Codec.load form.Codec current path
        try verified form v with ConfigError msg -> fail "%s: %s" path msg

    /// Reads a JSON object onto `current` and checks the result.
    let patch (form: Form<'T>) (o: JsonObject) (current: 'T) = form.Codec.Read "" current o |> verified form

    /// The value's full JSON form.
    let write (form: Form<'T>) (v: 'T) = form.Codec.Write v :?> JsonObject

    /// The setting a flag (`--steps`, an alias, or a path such as `inference.steps`) names.
    let find (settings: Setting list) (name: string) =
        settings |> List.tryFind (fun s -> s.Path = name || s.Flag = Some name || List.contains name s.Aliases)

    /// A setting's value as the command line writes it, as JSON; the error names the flag.
    let rec private valueOf (flag: string) (kind: SettingKind) (nullable: bool) (inItems: bool) (token: string) : JsonNode =
        let t = if isNull token then "" else token.Trim()
        let bad what = fail "%s: '%s' is not %s" flag token what
        if nullable && (t = "null" || t = "none") then null
        else
            match kind with
            | SettingKind.Integer ->
                match Int32.TryParse(t, NumberStyles.Integer, CultureInfo.InvariantCulture) with
                | true, v -> JsonValue.Create v
                | _ -> bad (sprintf "an integer from %d to %d" Int32.MinValue Int32.MaxValue)
            | SettingKind.Integer64 ->
                match Int64.TryParse(t, NumberStyles.Integer, CultureInfo.InvariantCulture) with
                | true, v -> JsonValue.Create v
                | _ -> bad "a 64-bit integer"
            | SettingKind.Number ->
                match Double.TryParse(t, NumberStyles.Float, CultureInfo.InvariantCulture) with
                | true, v when Double.IsFinite v -> JsonValue.Create v
                // A lone non-finite number reaches the field's check, which names the field.
                | true, _ when not inItems -> JsonValue.Create t
                | true, _ -> bad "a finite number"
                | _ -> bad (if inItems then "a finite number" else "a number")
            | SettingKind.Boolean ->
                match t.ToLowerInvariant() with
                | ""
                | "true" -> JsonValue.Create true
                | "false" -> JsonValue.Create false
                | _ -> bad "true or false"
            | SettingKind.Choice(names, aliases) ->
                let key = t.ToLowerInvariant()
                if List.contains key names || List.contains key aliases then JsonValue.Create token
                else fail "%s: unknown value '%s' (expected %s)" flag token (Words.orList names)
            | SettingKind.Text -> JsonValue.Create token
            | SettingKind.Json ->
                try JsonNode.Parse t
                with :? JsonException as e -> fail "%s: not JSON (%s)" flag e.Message
            | SettingKind.Items _ when t.StartsWith "[" ->
                try JsonNode.Parse t
                with :? JsonException as e -> fail "%s: not a JSON list (%s)" flag e.Message
            | SettingKind.Items item ->
                let separator = match item with SettingKind.Items _ -> ';' | _ -> ','
                let parts = t.Split(separator, StringSplitOptions.RemoveEmptyEntries ||| StringSplitOptions.TrimEntries)
                JsonArray(parts |> Array.map (valueOf flag item false true))

    /// A setting's value as the command line writes it, as JSON (a `ConfigError` naming the
    /// flag when the text cannot be read as the setting's type).
    let readToken (s: Setting) (token: string) : JsonNode = valueOf (defaultArg s.Flag s.Path) s.Kind s.Nullable false token

    /// Sets `value` at a dotted path of a JSON object, creating the objects on the way.
    let private put (root: JsonObject) (path: string) (value: JsonNode) =
        let keys = path.Split '.'
        let mutable o = root
        for k in keys[.. keys.Length - 2] do
            match o[k] with
            | :? JsonObject as inner -> o <- inner
            | _ ->
                let inner = JsonObject()
                o[k] <- inner
                o <- inner
        o[keys[keys.Length - 1]] <- value

    /// The JSON object that (flag or path, text) pairs stand for; a later pair for the
    /// same setting wins. Unknown names are an error listing the flags.
    let flagsObject (settings: Setting list) (given: (string * string) list) =
        let o = JsonObject()
        for name, token in given do
            match find settings name with
            | Some s -> put o s.Path (valueOf (defaultArg s.Flag s.Path) s.Kind s.Nullable false token)
            | None ->
                let known = settings |> List.choose (fun s -> s.Flag)
                fail "unknown option '%s' (known: %s)" name (String.Join(", ", known))
        o

    /// Applies (flag or path, text) pairs to `current` through the form's JSON reader (as a
    /// file would set them) and checks the result; errors name the flag.
    let rec apply (form: Form<'T>) (given: (string * string) list) (current: 'T) = applyWith (settings form) form given current

    /// `apply` with the form's settings already derived.
    and private applyWith (all: Setting list) (form: Form<'T>) (given: (string * string) list) (current: 'T) =
        let o = flagsObject all given
        try patch form o current
        with ConfigError msg ->
            // Name the flag the user typed beside the field it sets.
            let renamed =
                all
                |> List.fold
                    (fun (m: string) s ->
                        match s.Flag with
                        | Some f when List.exists (fun (n, _) -> n = f || n = s.Path || List.contains n s.Aliases) given ->
                            m.Replace(sprintf "config field '%s'" s.Path, f)
                        | _ -> m)
                    msg
            raise (ConfigError renamed)

    /// The form with its type hidden.
    let boxed (form: Form<'T>) : AnyForm =
        let all = settings form
        { Name = form.Name
          Title = form.Title
          ReadBy = form.ReadBy
          Settings = all
          Schema = fun () -> schema form
          Defaults = box form.Defaults
          Parse = fun json v -> box (parse form json (unbox v))
          Load = fun path v -> box (load form path (unbox v))
          Apply = fun given v -> box (applyWith all form given (unbox v))
          Patch = fun o v -> box (patch form o (unbox v))
          Read = fun o v -> box (form.Codec.Read "" (unbox v) o)
          Check = fun v -> form.Check(unbox v)
          Write = fun v -> write form (unbox v) }

    /// A setting's default as documentation shows it.
    let defaultText (s: Setting) =
        match s.Default with
        | None -> "none"
        | Some json ->
            match JsonNode.Parse json with
            | null -> "null"
            | :? JsonValue as v when v.GetValueKind() = JsonValueKind.String -> v.GetValue<string>()
            | :? JsonArray as a when a |> Seq.forall (fun n -> n :? JsonValue) ->
                String.Join(",", a |> Seq.map (fun n -> match n.GetValueKind() with JsonValueKind.String -> n.GetValue<string>() | _ -> n.ToJsonString()))
            | n -> n.ToJsonString()

    /// A setting's range as documentation shows it (empty: none).
    let rangeText (s: Setting) =
        let show (x: float) = x.ToString("R", CultureInfo.InvariantCulture)
        match s.Minimum, s.Maximum with
        | Some lo, Some hi -> sprintf "%s..%s" (show lo) (show hi)
        | Some lo, None -> sprintf ">= %s" (show lo)
        | None, Some hi -> sprintf "<= %s" (show hi)
        | None, None -> ""

    /// The form's settings as a Markdown table (docs/config.md holds one per form).
    let markdown (form: AnyForm) =
        let b = StringBuilder()
        let cell (s: string) = s.Replace("|", "\\|")
        b.AppendLine(sprintf "### `%s` (%s)" form.Name form.ReadBy).AppendLine() |> ignore
        b.AppendLine("| field | flag | type | default | meaning |").AppendLine("| --- | --- | --- | --- | --- |") |> ignore
        for s in form.Settings do
            let flags = String.Join(", ", (Option.toList s.Flag @ s.Aliases) |> List.map (sprintf "`%s`"))
            let kind = s.Kind.Describe() + (if s.Nullable then " or null" else "")
            let range = match rangeText s with "" -> "" | r -> " (" + r + ")"
            b.AppendLine(sprintf "| `%s` | %s | %s%s | `%s` | %s |" s.Path (if flags = "" then "-" else flags) (cell kind) range (cell (defaultText s)) (cell s.Description))
            |> ignore
        b.ToString()
