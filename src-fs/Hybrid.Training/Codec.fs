/// The one configuration system: every configuration type (runs, generative runs,
/// experiments) is read, written and described by a codec built from these
/// pieces. A codec reads a JSON node onto a value (fields that are absent keep
/// the value's), writes the value back in full, and gives the JSON Schema of its
/// form. Every error a reader raises is a `ConfigError` whose message names the
/// field by its path (`inference.steps`), and is raised here, once.
namespace Hybrid

open System
open System.Globalization
open System.IO
open System.Text.Json
open System.Text.Json.Nodes

/// A configuration document or value is invalid. The message names the field.
exception ConfigError of string with
    override this.Message = this.Data0

/// Reads, writes and describes values of one type in their JSON form.
type Codec<'T> =
    { /// `Read path current node`: the value `node` describes, starting from `current`
      /// (an object sets only the fields it holds); `path` names the field in errors.
      Read: string -> 'T -> JsonNode -> 'T
      /// The full JSON form of a value.
      Write: 'T -> JsonNode
      /// The JSON Schema of the form.
      Schema: unit -> JsonObject }

/// A field of an object codec: the keys it owns, how it reads them from the object
/// onto the record, how it writes them, and their schemas.
type Field<'T> =
    { Keys: string list
      Read: string -> 'T -> JsonObject -> 'T
      Write: 'T -> (string * JsonNode) list
      Schema: unit -> (string * JsonObject) list }

/// Phrases of error messages.
module internal Words =
    /// "a, b or c".
    let orList (names: string list) =
        match List.rev names with
        | [] -> ""
        | [ one ] -> one
        | last :: rest -> sprintf "%s or %s" (String.Join(", ", List.rev rest)) last

/// Warnings about inputs that are accepted but should change (an old spelling). Each
/// distinct message goes to the sink once per process; the default sink writes
/// `warning: ...` to stderr, and an application may set its own.
module Warnings =
    let private seen = System.Collections.Concurrent.ConcurrentDictionary<string, bool>()

    /// Where warnings go (default: stderr).
    let mutable sink: string -> unit = fun message -> eprintfn "warning: %s" message

    /// Reports a warning (once per distinct message).
    let warn (message: string) =
        if seen.TryAdd(message, true) then sink message

/// A closed set of named values: one canonical spelling each (its `ToString`), and
/// older or shorter spellings still read, each with a warning naming the canonical one.
type Choice<'T when 'T: equality> =
    { /// What the values are, in error messages ("activation").
      What: string
      /// The values, each written as its canonical spelling.
      Values: (string * 'T) list
      /// Alias -> canonical spelling.
      Aliases: (string * string) list }

    /// The value of a spelling (case-insensitive; an old spelling is read with a warning
    /// that names the canonical one).
    member this.TryParse(text: string) =
        let key = if isNull text then "" else text.Trim().ToLowerInvariant()
        let canonical =
            match this.Aliases |> List.tryFind (fun (a, _) -> a = key) with
            | Some(_, c) ->
                Warnings.warn (sprintf "%s '%s' is an old spelling: write '%s'" this.What text c)
                c
            | None -> key
        this.Values |> List.tryFind (fun (n, _) -> n = canonical) |> Option.map snd

    /// The value of a spelling; the error lists the canonical spellings.
    member this.Parse(text: string) =
        match this.TryParse text with
        | Some v -> v
        | None ->
            let names = this.Values |> List.map fst
            raise (ConfigError(sprintf "unknown %s '%s' (expected %s)" this.What text (Words.orList names)))

    /// The canonical spelling of a value.
    member this.Name(value: 'T) =
        match this.Values |> List.tryFind (fun (_, v) -> v = value) with
        | Some(n, _) -> n
        | None -> invalidArg "value" (sprintf "%A is not a %s" value this.What)

/// The readers, writers and schemas of the configuration system.
[<CompilationRepresentation(CompilationRepresentationFlags.ModuleSuffix)>]
module Codec =
    let private fail fmt = Printf.kprintf (fun s -> raise (ConfigError s)) fmt

    /// The message of a validation error without .NET's " (Parameter 'x')" suffix.
    let message (e: exn) =
        match e with
        | :? ArgumentException as a when not (isNull a.ParamName) -> a.Message.Replace(sprintf " (Parameter '%s')" a.ParamName, "")
        | _ -> e.Message

    /// Runs a validation; an argument error becomes a `ConfigError` naming `path`.
    let wrap (path: string) (f: unit -> 'a) =
        try f ()
        with
        | :? ArgumentException as e ->
            if path = "" then raise (ConfigError(message e)) else fail "config field '%s': %s" path (message e)

    let private kindName (n: JsonNode) =
        match n with
        | null -> "null"
        | :? JsonObject -> "an object"
        | :? JsonArray -> "an array"
        | v ->
            match v.GetValueKind() with
            | JsonValueKind.String -> "a string"
            | JsonValueKind.Number -> "a number"
            | JsonValueKind.True | JsonValueKind.False -> "a boolean"
            | k -> string k

    let private schema (pairs: (string * JsonNode) list) =
        let o = JsonObject()
        for k, v in pairs do o[k] <- v
        o

    let private jstr (s: string) : JsonNode = JsonValue.Create s

    let private valueKind (n: JsonNode) =
        match n with
        | :? JsonValue as v -> Some(v.GetValueKind())
        | _ -> None

    /// A JSON number (or a string holding one); non-finite values are refused.
    let float: Codec<float> =
        { Read =
            fun path _ n ->
                let x =
                    match valueKind n with
                    | Some JsonValueKind.Number -> JsonNode.Parse(n.ToJsonString()).GetValue<double>()
                    | Some JsonValueKind.String ->
                        let s = n.GetValue<string>()
                        match Double.TryParse(s, NumberStyles.Float, CultureInfo.InvariantCulture) with
                        | true, x -> x
                        | _ -> fail "config field '%s' must be a number, got \"%s\"" path s
                    | _ -> fail "config field '%s' must be a number, got %s" path (kindName n)
                if not (Double.IsFinite x) then fail "config field '%s' must be a finite number, got %s" path (x.ToString(CultureInfo.InvariantCulture))
                x
          Write = fun x -> JsonValue.Create x
          Schema = fun () -> schema [ "type", jstr "number" ] }

    let private integral (path: string) (n: JsonNode) (lo: float) (hi: float) =
        let x = float.Read path 0.0 n
        if x <> Math.Floor x then fail "config field '%s' must be an integer, got %s" path (x.ToString(CultureInfo.InvariantCulture))
        if x < lo || x > hi then
            fail "config field '%s' is out of range: %s (expected %s..%s)" path (x.ToString(CultureInfo.InvariantCulture)) (lo.ToString("R", CultureInfo.InvariantCulture)) (hi.ToString("R", CultureInfo.InvariantCulture))
        x

    /// A 32-bit integer.
    let int: Codec<int> =
        { Read = fun path _ n -> Operators.int (integral path n (Operators.float Int32.MinValue) (Operators.float Int32.MaxValue))
          Write = fun x -> JsonValue.Create x
          Schema = fun () -> schema [ "type", jstr "integer" ] }

    /// A 64-bit integer (within +-2^53, where JSON numbers are exact).
    let int64: Codec<int64> =
        { Read = fun path _ n -> Operators.int64 (integral path n -9007199254740992.0 9007199254740992.0)
          Write = fun x -> JsonValue.Create x
          Schema = fun () -> schema [ "type", jstr "integer"; "format", jstr "int64" ] }

    /// true or false.
    let bool: Codec<bool> =
        { Read =
            fun path _ n ->
                match valueKind n with
                | Some JsonValueKind.True -> true
                | Some JsonValueKind.False -> false
                | _ -> fail "config field '%s' must be true or false, got %s" path (kindName n)
          Write = fun x -> JsonValue.Create x
          Schema = fun () -> schema [ "type", jstr "boolean" ] }

    /// A string.
    let string: Codec<string> =
        { Read =
            fun path _ n ->
                match valueKind n with
                | Some JsonValueKind.String -> n.GetValue<string>()
                | _ -> fail "config field '%s' must be a string, got %s" path (kindName n)
          Write = fun s -> JsonValue.Create s
          Schema = fun () -> schema [ "type", jstr "string" ] }

    /// A value written as text: `parse` errors (argument errors) name the field.
    let text (what: string) (parse: string -> 'T) (print: 'T -> string) : Codec<'T> =
        { Read =
            fun path _ n ->
                let s = string.Read path "" n
                try parse s
                with
                | ConfigError msg -> fail "config field '%s': %s" path msg
                | :? ArgumentException as e -> fail "config field '%s': %s" path (message e)
          Write = fun v -> JsonValue.Create(print v)
          Schema = fun () -> schema [ "type", jstr "string"; "description", jstr what ] }

    /// One of a closed set of names.
    let choice (c: Choice<'T>) : Codec<'T> =
        { Read =
            fun path _ n ->
                let s = string.Read path "" n
                match c.TryParse s with
                | Some v -> v
                | None -> fail "config field '%s': unknown %s '%s' (expected %s)" path c.What s (Words.orList (c.Values |> List.map fst))
          Write = fun v -> JsonValue.Create(c.Name v)
          Schema =
            fun () ->
                let names = c.Values |> List.map fst
                let aliases = JsonObject()
                for a, canonical in c.Aliases do aliases[a] <- canonical
                let s = schema [ "type", jstr "string"; "enum", JsonArray(names |> List.map (fun n -> JsonValue.Create n :> JsonNode) |> Array.ofList) ]
                // Old spellings, still read (with a warning); editors ignore the keyword.
                if aliases.Count > 0 then s["x-aliases"] <- aliases
                s }

    /// null for None, else the value.
    let option (inner: Codec<'T>) : Codec<'T option> =
        { Read =
            fun path current n ->
                match n with
                | null -> None
                | _ -> Some(inner.Read path (match current with Some c -> c | None -> Unchecked.defaultof<'T>) n)
          Write = fun v -> match v with Some x -> inner.Write x | None -> null
          Schema = fun () -> schema [ "anyOf", JsonArray(inner.Schema() :> JsonNode, schema [ "type", jstr "null" ]) ] }

    /// A JSON array whose elements are read onto `blank` (objects may leave fields out).
    let listOf (blank: 'T) (inner: Codec<'T>) : Codec<'T list> =
        { Read =
            fun path _ n ->
                match n with
                | :? JsonArray as a -> [ for i in 0 .. a.Count - 1 -> inner.Read (sprintf "%s[%d]" path i) blank a[i] ]
                | _ -> fail "config field '%s' must be an array, got %s" path (kindName n)
          Write = fun xs -> JsonArray(xs |> List.map inner.Write |> Array.ofList)
          Schema = fun () -> schema [ "type", jstr "array"; "items", inner.Schema() ] }

    /// A JSON array of scalars.
    let list (inner: Codec<'T>) : Codec<'T list> = listOf Unchecked.defaultof<'T> inner

    /// A JSON array, or a string of comma-separated items (as flags write lists).
    let items (inner: Codec<'T>) : Codec<'T list> =
        let asArray = list inner
        { asArray with
            Read =
                fun path current n ->
                    match valueKind n with
                    | Some JsonValueKind.String ->
                        let parts = n.GetValue<string>().Split(',', StringSplitOptions.RemoveEmptyEntries ||| StringSplitOptions.TrimEntries)
                        let element (s: string) : JsonNode =
                            match Double.TryParse(s, NumberStyles.Float, CultureInfo.InvariantCulture) with
                            | true, x -> JsonValue.Create x
                            | _ -> JsonValue.Create s
                        asArray.Read path current (JsonArray(parts |> Array.map element))
                    | _ -> asArray.Read path current n }

    /// A checked value: `validate` runs after reading; its argument errors name the field.
    let check (validate: 'T -> unit) (inner: Codec<'T>) : Codec<'T> =
        { inner with Read = fun path current n -> let v = inner.Read path current n in wrap path (fun () -> validate v); v }

    /// A number between `lo` and `hi` (inclusive; None: unbounded on that side), checked
    /// on reading and written into the schema as `minimum`/`maximum`.
    let range (lo: float option) (hi: float option) (inner: Codec<'T>) : Codec<'T> =
        let show (x: float) = x.ToString("R", CultureInfo.InvariantCulture)
        let within (x: float) = (match lo with Some l -> x >= l | None -> true) && (match hi with Some h -> x <= h | None -> true)
        let expected () =
            match lo, hi with
            | Some l, Some h -> sprintf "from %s to %s" (show l) (show h)
            | Some l, None -> sprintf "at least %s" (show l)
            | None, Some h -> sprintf "at most %s" (show h)
            | None, None -> "a number"
        { Read =
            fun path current n ->
                let v = inner.Read path current n
                let x = Convert.ToDouble(box v, CultureInfo.InvariantCulture)
                if not (within x) then fail "config field '%s' must be %s, got %s" path (expected ()) (show x)
                v
          Write = inner.Write
          Schema =
            fun () ->
                let s = inner.Schema()
                lo |> Option.iter (fun l -> s["minimum"] <- l)
                hi |> Option.iter (fun h -> s["maximum"] <- h)
                s }

    /// An integer of at least `lo`.
    let atLeast (lo: int) (inner: Codec<'T>) : Codec<'T> = range (Some(Operators.float lo)) None inner

    let private child (path: string) (key: string) = if path = "" then key else path + "." + key

    /// A field stored under one key.
    let field (key: string) (description: string) (codec: Codec<'F>) (get: 'T -> 'F) (set: 'F -> 'T -> 'T) : Field<'T> =
        { Keys = [ key ]
          Read =
            fun path current o ->
                let mutable n: JsonNode = null
                if o.TryGetPropertyValue(key, &n) then set (codec.Read (child path key) (get current) n) current
                else current
          Write = fun v -> [ key, codec.Write(get v) ]
          Schema =
            fun () ->
                let s = codec.Schema()
                if description <> "" then s["description"] <- description
                [ key, s ] }

    /// An optional field that is left out of the written form when None.
    let optional (key: string) (description: string) (codec: Codec<'F>) (get: 'T -> 'F option) (set: 'F option -> 'T -> 'T) : Field<'T> =
        let f = field key description (option codec) get set
        { f with Write = fun v -> match get v with Some x -> [ key, codec.Write x ] | None -> [] }

    /// The fields of a part of a record, lifted to the record: the part's keys stand in
    /// the record's own object (a flat JSON form for nested records).
    let lift (get: 'T -> 'S) (set: 'S -> 'T -> 'T) (fields: Field<'S> list) : Field<'T> list =
        [ for f in fields ->
              { Keys = f.Keys
                Read = fun path t o -> set (f.Read path (get t) o) t
                Write = fun t -> f.Write(get t)
                Schema = f.Schema } ]

    /// Fields read from keys of the object they share: the first field that owns a key reads it.
    let private readFields (fields: Field<'T> list) (path: string) (current: 'T) (o: JsonObject) =
        let known = fields |> List.collect (fun f -> f.Keys)
        for kv in o do
            if not (List.contains kv.Key known) then
                let where = if path = "" then "" else sprintf " in '%s'" path
                fail "unknown config field '%s'%s (known: %s)" kv.Key where (String.Join(", ", known))
        fields |> List.fold (fun acc f -> f.Read path acc o) current

    /// A JSON object of fields. Unknown fields are refused with the list of known ones.
    let record (fields: Field<'T> list) : Codec<'T> =
        { Read =
            fun path current n ->
                match n with
                | :? JsonObject as o -> readFields fields path current o
                | _ -> fail "config field '%s' must be an object, got %s" (if path = "" then "(document)" else path) (kindName n)
          Write =
            fun v ->
                let o = JsonObject()
                for f in fields do
                    for k, x in f.Write v do o[k] <- x
                o
          Schema =
            fun () ->
                let props = JsonObject()
                for f in fields do
                    for k, s in f.Schema() do props[k] <- s
                schema [ "type", jstr "object"; "properties", props; "additionalProperties", JsonValue.Create false ] }

    /// The keys an object codec accepts, recursively (`model.kind`), for documentation checks.
    let rec keys (schema: JsonObject) : string list =
        let nested (s: JsonNode) =
            match s with
            | :? JsonObject as o -> keys o
            | _ -> []
        [ match schema["properties"] with
          | :? JsonObject as props ->
              for kv in props do
                  yield kv.Key
                  yield! nested kv.Value
          | _ -> ()
          match schema["items"] with
          | null -> ()
          | items -> yield! nested items
          match schema["anyOf"] with
          | :? JsonArray as alts -> for a in alts do yield! nested a
          | _ -> () ]

    /// JSON text as configurations are read: comments and trailing commas allowed.
    /// The largest configuration or spec file read (16 MiB; HYBRID_MAX_CONFIG_BYTES changes it).
    let maxTextBytes () : int64 =
        match Environment.GetEnvironmentVariable "HYBRID_MAX_CONFIG_BYTES" with
        | null | "" -> 16L * 1024L * 1024L
        | v ->
            match Int64.TryParse v with
            | true, n when n > 0L -> n
            | _ -> fail "HYBRID_MAX_CONFIG_BYTES must be a positive number of bytes (got '%s')" v

    /// A configuration or spec file's text; `what` names it in errors ("config file").
    /// A file larger than `maxTextBytes` is refused before it is read.
    let readText (what: string) (path: string) : string =
        let limit = maxTextBytes ()
        try
            let length = FileInfo(path).Length
            if length > limit then
                fail "%s %s is %d bytes, more than the %d a configuration may have (HYBRID_MAX_CONFIG_BYTES)" what path length limit
            use stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read)
            use reader = new StreamReader(stream)
            let buffer = Array.zeroCreate<char> (Operators.int (min limit (max 0L length)) + 1)
            let text = Text.StringBuilder()
            let mutable n = reader.Read(buffer, 0, buffer.Length)
            while n > 0 do
                text.Append(buffer, 0, n) |> ignore
                if Operators.int64 text.Length > limit then fail "%s %s grew past the %d bytes a configuration may have while it was read" what path limit
                n <- reader.Read(buffer, 0, buffer.Length)
            text.ToString()
        with
        | :? IOException
        | :? UnauthorizedAccessException as e -> fail "%s %s cannot be read: %s" what path e.Message

    let parseText (json: string) : JsonNode =
        try JsonNode.Parse(json, documentOptions = JsonDocumentOptions(CommentHandling = JsonCommentHandling.Skip, AllowTrailingCommas = true))
        with :? JsonException as e -> fail "malformed JSON: %s" e.Message

    /// Reads a document onto `current`.
    let read (codec: Codec<'T>) (current: 'T) (json: string) : 'T = codec.Read "" current (parseText json)

    /// Reads a file onto `current`; errors name the file.
    let load (codec: Codec<'T>) (current: 'T) (path: string) : 'T =
        if not (File.Exists path) then fail "config file %s not found" path
        let text = readText "config file" path
        try read codec current text
        with ConfigError msg -> fail "%s: %s" path msg

    /// Indented JSON, as configurations are written.
    let writeText (node: JsonNode) =
        node.ToJsonString(JsonSerializerOptions(WriteIndented = true, Encoder = Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping))

    /// A JSON Schema document of a codec's form.
    let schemaDocument (title: string) (codec: Codec<'T>) : JsonObject =
        let s = codec.Schema()
        let doc = JsonObject()
        doc["$schema"] <- "https://json-schema.org/draft/2020-12/schema"
        doc["title"] <- title
        for kv in List.ofSeq s do
            s.Remove kv.Key |> ignore
            doc[kv.Key] <- kv.Value
        doc
