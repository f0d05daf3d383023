/// Initializers as text (their form in configuration files, flags and tables):
/// pieces `kind[a..b]` joined by `+`, e.g. `forward[1..3] + avg[4..]`. Kinds:
/// `random(mean,std)`, `zero`, `keep`, `forward`, `avg` and
/// `mem(slots=p,delta=d,dim=e,heads=a,lr=r)`; the aliases are in `Choices`.
/// `Initializer.ToString` writes the canonical text, which this module reads back.
module Hybrid.InitText

val private bad: text: string -> why: string -> 'a

val private number: text: string -> v: string -> float

val private whole: v: string -> text: string -> int

/// The arguments between the parentheses of `name(args)`, or None without parentheses.
val private arguments: text: string -> piece: string -> string array option

val private random: text: string -> piece: string -> InitKind

/// Positional settings of `mem(...)` in order.
val private memoryPositions: string array

val private memorySetting:
  text: string -> spec: MemorySpec -> key: string -> value: string -> MemorySpec

val private memory: text: string -> piece: string -> InitKind

/// One kind, e.g. `forward`, `random(0,1)`, `mem(slots=16)`.
val kind: text: string -> piece: string -> InitKind

/// Splits on '+' outside parentheses.
val private pieces: text: string -> string list

/// A piece: its kind and its layer range `[first..last]` (`[first..]` open), if any.
val private piece:
  text: string -> p: string -> InitKind * (int * int option) option

/// The segments of ranged pieces: contiguous from the first range's start, only the last open.
val private segments:
  text: string ->
    parsed: (InitKind * (int * int option) option) list -> Initializer

/// Parses the text form of an initializer.
val parse: text: string -> Initializer

/// The configuration codec of an initializer (its text form).
val codec: Codec<Initializer>
