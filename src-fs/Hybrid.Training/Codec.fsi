/// The one configuration system: every configuration type (runs, generative runs,
/// experiments) is read, written and described by a codec built from these
/// pieces. A codec reads a JSON node onto a value (fields that are absent keep
/// the value's), writes the value back in full, and gives the JSON Schema of its
/// form. Every error a reader raises is a `ConfigError` whose message names the
/// field by its path (`inference.steps`), and is raised here, once.
namespace Hybrid

    /// A configuration document or value is invalid. The message names the field.
    exception ConfigError of string

    /// Reads, writes and describes values of one type in their JSON form.
    type Codec<'T> =
        {
          /// `Read path current node`: the value `node` describes, starting from `current`
          /// (an object sets only the fields it holds); `path` names the field in errors.
          Read: (string -> 'T -> System.Text.Json.Nodes.JsonNode -> 'T)

          /// The full JSON form of a value.
          Write: ('T -> System.Text.Json.Nodes.JsonNode)

          /// The JSON Schema of the form.
          Schema: (unit -> System.Text.Json.Nodes.JsonObject)
        }

    /// A field of an object codec: the keys it owns, how it reads them from the object
    /// onto the record, how it writes them, and their schemas.
    type Field<'T> =
        {
          Keys: string list
          Read: (string -> 'T -> System.Text.Json.Nodes.JsonObject -> 'T)
          Write: ('T -> (string * System.Text.Json.Nodes.JsonNode) list)
          Schema: (unit -> (string * System.Text.Json.Nodes.JsonObject) list)
        }

    /// Phrases of error messages.
    module internal Words =
        /// "a, b or c".
        val orList: names: string list -> string

    /// Warnings about inputs that are accepted but should change (an old spelling). Each
    /// distinct message goes to the sink once per process; the default sink writes
    /// `warning: ...` to stderr, and an application may set its own.
    module Warnings =
        val private seen:
          System.Collections.Concurrent.ConcurrentDictionary<string,bool>

        /// Where warnings go (default: stderr).
        val mutable sink: (string -> unit)

        /// Reports a warning (once per distinct message).
        val warn: message: string -> unit

    /// A closed set of named values: one canonical spelling each (its `ToString`), and
    /// older or shorter spellings still read, each with a warning naming the canonical one.
    type Choice<'T when 'T: equality> =
        {
          /// What the values are, in error messages ("activation").
          What: string

          /// The values, each written as its canonical spelling.
          Values: (string * 'T) list

          /// Alias -> canonical spelling.
          Aliases: (string * string) list
        }

        /// The canonical spelling of a value.
        member Name: value: 'T -> string

        /// The value of a spelling; the error lists the canonical spellings.
        member Parse: text: string -> 'T

        /// The value of a spelling (case-insensitive; an old spelling is read with a warning
        /// that names the canonical one).
        member TryParse: text: string -> 'T option

    /// The readers, writers and schemas of the configuration system.
    [<CompilationRepresentation (enum<CompilationRepresentationFlags> (4))>]
    module Codec =
        val private fail: fmt: Printf.StringFormat<'a,'b> -> 'a

        /// The message of a validation error without .NET's " (Parameter 'x')" suffix.
        val message: e: exn -> string

        /// Runs a validation; an argument error becomes a `ConfigError` naming `path`.
        val wrap: path: string -> f: (unit -> 'a) -> 'a
        val private kindName: n: System.Text.Json.Nodes.JsonNode -> string
        val private schema:
          pairs: (string * System.Text.Json.Nodes.JsonNode) list ->
            System.Text.Json.Nodes.JsonObject
        val private jstr: s: string -> System.Text.Json.Nodes.JsonNode
        val private valueKind:
          n: System.Text.Json.Nodes.JsonNode ->
            System.Text.Json.JsonValueKind option

        /// A JSON number (or a string holding one); non-finite values are refused.
        val float: Codec<float>
        val private integral:
          path: string ->
            n: System.Text.Json.Nodes.JsonNode ->
            lo: float -> hi: float -> float

        /// A 32-bit integer.
        val int: Codec<int>

        /// A 64-bit integer (within +-2^53, where JSON numbers are exact).
        val int64: Codec<int64>

        /// true or false.
        val bool: Codec<bool>

        /// A string.
        val string: Codec<string>

        /// A value written as text: `parse` errors (argument errors) name the field.
        val text:
          what: string ->
            parse: (string -> 'T) -> print: ('T -> string) -> Codec<'T>

        /// One of a closed set of names.
        val choice: c: Choice<'T> -> Codec<'T> when 'T: equality

        /// null for None, else the value.
        val option: inner: Codec<'T> -> Codec<'T option>

        /// A JSON array whose elements are read onto `blank` (objects may leave fields out).
        val listOf: blank: 'T -> inner: Codec<'T> -> Codec<'T list>

        /// A JSON array of scalars.
        val list: inner: Codec<'T> -> Codec<'T list>

        /// A JSON array, or a string of comma-separated items (as flags write lists).
        val items: inner: Codec<'T> -> Codec<'T list>

        /// A checked value: `validate` runs after reading; its argument errors name the field.
        val check: validate: ('T -> unit) -> inner: Codec<'T> -> Codec<'T>

        /// A number between `lo` and `hi` (inclusive; None: unbounded on that side), checked
        /// on reading and written into the schema as `minimum`/`maximum`.
        val range:
          lo: float option -> hi: float option -> inner: Codec<'T> -> Codec<'T>

        /// An integer of at least `lo`.
        val atLeast: lo: int -> inner: Codec<'T> -> Codec<'T>
        val private child: path: string -> key: string -> string

        /// A field stored under one key.
        val field:
          key: string ->
            description: string ->
            codec: Codec<'F> ->
            get: ('T -> 'F) -> set: ('F -> 'T -> 'T) -> Field<'T>

        /// An optional field that is left out of the written form when None.
        val optional:
          key: string ->
            description: string ->
            codec: Codec<'F> ->
            get: ('T -> 'F option) -> set: ('F option -> 'T -> 'T) -> Field<'T>

        /// The fields of a part of a record, lifted to the record: the part's keys stand in
        /// the record's own object (a flat JSON form for nested records).
        val lift:
          get: ('T -> 'S) ->
            set: ('S -> 'T -> 'T) -> fields: Field<'S> list -> Field<'T> list

        /// Fields read from keys of the object they share: the first field that owns a key reads it.
        val private readFields:
          fields: Field<'T> list ->
            path: string ->
            current: 'T -> o: System.Text.Json.Nodes.JsonObject -> 'T

        /// A JSON object of fields. Unknown fields are refused with the list of known ones.
        val record: fields: Field<'T> list -> Codec<'T>

        /// The keys an object codec accepts, recursively (`model.kind`), for documentation checks.
        val keys: schema: System.Text.Json.Nodes.JsonObject -> string list

        /// The largest configuration or spec file read (16 MiB; HYBRID_MAX_CONFIG_BYTES changes it).
        val maxTextBytes: unit -> int64

        /// A configuration or spec file's text; `what` names it in errors ("config file").
        /// A file larger than `maxTextBytes` is refused before it is read.
        val readText: what: string -> path: string -> string

        /// JSON text as configurations are read: comments and trailing commas allowed.
        val parseText: json: string -> System.Text.Json.Nodes.JsonNode

        /// Reads a document onto `current`.
        val read: codec: Codec<'T> -> current: 'T -> json: string -> 'T

        /// Reads a file onto `current`; errors name the file.
        val load: codec: Codec<'T> -> current: 'T -> path: string -> 'T

        /// Indented JSON, as configurations are written.
        val writeText: node: System.Text.Json.Nodes.JsonNode -> string

        /// A JSON Schema document of a codec's form.
        val schemaDocument:
          title: string -> codec: Codec<'T> -> System.Text.Json.Nodes.JsonObject
