# Helpers shared by the shipped checks (and open to user policies: `import data.gate.lib`).
#
# Portability rules every shipped policy follows, so OPA and the embedded engine (regopy /
# rego-cpp 1.5.2) give the same answers. Each one is a difference we measured:
#   - Tests never write `with input as {...}`: regopy 1.5.2 crashes (segfault) when a rule
#     evaluated under it calls any builtin (is_string, lower, `in`, ...). Replace the top-level
#     keys instead: `with input.catalog as [...] with input.context as {...}` works on both.
#   - A call argument may not be `x[_]` (regopy: "Invalid bracket argument"); bind it first.
#   - Never `not f(x.maybe_missing)`: when the argument is undefined, OPA makes the expression
#     undefined, regopy makes it true. Look the value up inside: `not has_text(x, ["a", "b"])`.
#   - No `some k, v in coll` inside set/array comprehensions: regopy cannot parse it.
#     Write `some k; v := coll[k]`.
#   - No comprehension inside another that uses the outer one's variable
#     ({a: count([f | ...; f.x == a]) | some a in ...}): regopy evaluates it wrongly. Call a
#     function per value instead.
#   - object.union is shallow on regopy and deep on OPA: only merge objects whose shared keys do
#     not both hold objects.
#   - Never sort numbers or arrays, nor take min/max of them, and never order strings with `<`,
#     `>` or sort(): regopy orders terms by their JSON text, quotes included (sort([9, 10]) is
#     [10, 9]; "a" < "a b" is false, since ' ' sorts before '"'). Order strings with
#     sorted_strings() or by order_key(). `<` and `>` on numbers, and on strings of one fixed
#     shape (YYYY-MM-DD dates), are fine. (gate.main sorts pairs [order_key(...), n] whose keys
#     all differ: the keys alone decide that order, alike on both engines.)
#   - sort() a list, not a set: on regopy the strings sort() returns for a set do not work as
#     object keys (`{"a": 1}[sort({"a"})[0]]` is undefined).
#   - Iteration order over objects and sets differs between engines: never rely on it.
#   - No sprintf for text: regopy's %s wraps strings made by some builtins (lower, upper,
#     replace, json.marshal) in quotes, has no %q, and prints %s of a number differently. Build
#     messages with concat, numbers with format_int, and quote(x) for JSON text.
#     sprintf("%010d", [n]) of an integer is the same on both.
#   - glob.match takes null delimiters (`[]` behaves differently between the engines).
#   - No rego.metadata.*, net.*, json.match_schema, http.send, time.parse_rfc3339_ns with `Z`,
#     `(?i)` regexes. Dates are compared as YYYY-MM-DD strings (input.context.date).
#   - Builtins that can fail on bad types are guarded with is_string/is_number first: the gate
#     runs regopy with strict builtin errors, where one failing call fails the whole decision
#     (OPA, not strict, makes the expression undefined).
#   - In tests, `with data.x as r` where r is a rule of the test package does not take on regopy:
#     bind the value to a local variable first (`v := r` ... `with data.x as v`).
#   - No `not` inside `every`: regopy evaluates it wrongly (`every v in [1, 2] { not v > 1 }` is
#     true there).
#   - Do not round-trip input text through json.marshal/json.unmarshal: regopy's json.unmarshal
#     leaves control characters raw, and the decision can no longer be read. json.marshal of an
#     input object or array fails on regopy (the terms regopy.Input() builds), so quote() only
#     strings or values the policy built.
#
# Speed on the embedded engine. rego-cpp 1.5.2 is several times slower than OPA on these policies
# (a 10,000-component SBOM: 1.4 s against 0.4 s; 745 findings: 8 s against 0.4 s), and some
# constructs cost far more than they look:
#   - Building a set or an object of n items in Rego (a partial set rule, a set or object
#     comprehension) takes O(n²) time, more for larger items: 700 violations of one check take
#     ~3 s, 6,000 several minutes. Gather into lists; a set must stay small. Adding an item that is
#     already in the set costs as much as a new one: avoid producing a violation twice.
#   - `some x in xs` copies each item: an SBOM of 10,000 components costs ~0.1 s per rule that
#     iterates input.sboms. Iterate large input lists by index (indexes() below).
#   - Per component, each builtin or function call costs microseconds, each `not f(x)` more:
#     put the test that fails for almost every item first, and build messages only for
#     violations. Compute what the config gives (denied lists, lower-cased) once, in a rule.
#   - `obj[k]` with k a variable walks obj (`sbom[field]` walks the SBOM); use object.get.
#   - Handing `input` to a function (`f(input)`) costs ~0.5 s on a large input; read what is
#     needed (`input.context`).
#   - Inside a comprehension, reading an item of a large list or object bound outside it, by
#     key (`xs[j]`), costs time in proportion to its size (enumerating it does not), except for
#     a function's arguments.
#   - `data.gate.checks[area][name].x` with area and name bound evaluates every package of the
#     area again: look each package up once.
package gate.lib

# data.gate.config, or an empty object when it is absent.
default config := {}

config := c if {
	c := data.gate.config
	is_object(c)
}

# A list from data.gate.config; [] when absent or not a list.
config_list(key) := v if {
	v := config[key]
	is_array(v)
} else := []

# The strings of a list in data.gate.config (other elements are dropped; the gate validates them).
config_strings(key) := [x | some x in config_list(key); is_string(x)]

# The indexes 0 .. n-1 of a list of n items ([] when n is 0). Iterate the SBOMs as
# `some i in lib.indexes(count(input.sboms))` and read input.sboms[i]: the embedded engine copies
# every item `some x in xs` binds, and an SBOM with 10,000 components costs ~0.1 s to copy.
indexes(n) := numbers.range(0, n - 1) if {
	n > 0
} else := []

# A non-empty string (after trimming white space).
present(x) if {
	is_string(x)
	trim_space(x) != ""
}

# True when the value at `path` (a list of keys) inside obj is a non-empty string. Use it with `not`
# instead of `not present(obj.a.b)`: OPA evaluates a call's undefined argument outside the negation
# (the whole expression is undefined) while regopy makes `not` true.
has_text(obj, path) if {
	is_object(obj)
	present(object.get(obj, path, null))
}

# The string at obj[key], or `default_value` when obj is not an object or the value is not a
# non-empty string.
str(obj, key, default_value) := v if {
	is_object(obj)
	v := obj[key]
	present(v)
} else := default_value

# The 1-based line of the first JSON Pointer in `ptrs` found in item.lines, else item.line, else null.
line_at(item, ptrs) := n if {
	lines := item.lines
	is_object(lines)
	found := [l | some p in ptrs; l := lines[p]; is_number(l)]
	count(found) > 0
	n := found[0]
} else := n if {
	n := item.line
	is_number(n)
} else := null

# The lower-cased kind of a Backstage entity ("" when missing).
kind(entity) := lower(entity.kind) if {
	is_string(entity.kind)
} else := ""

# Backstage's entity reference "kind:namespace/name" (kind and namespace lower-cased, the namespace
# defaulting to "default"), or null when the entity has no kind or name.
entity_ref(entity) := ref if {
	present(entity.kind)
	name := entity.metadata.name
	present(name)
	ns := str(entity.metadata, "namespace", "default")
	ref := concat("", [lower(entity.kind), ":", lower(ns), "/", name])
} else := null

# How a message names a catalog or template item: its entity ref, else its kind and document number.
entity_label(item) := ref if {
	ref := entity_ref(item.entity)
	is_string(ref)
} else := concat("", ["the ", kind_label(item.entity), " entity in document ", format_int(doc_number(item), 10)])

kind_label(entity) := entity.kind if {
	present(entity.kind)
} else := "unnamed"

doc_number(item) := item.document + 1 if {
	is_number(item.document)
} else := 1

# Whether the engine orders strings by their bytes and arrays item by item, as OPA (and its Wasm
# build) does; regopy orders terms by their JSON text, and there this is false. Where it is true
# the helpers below order natively: OPA's Wasm build runs hex.encode as a call out to its host.
default byte_order := false

byte_order if sort(["a b", "a"]) == ["a", "a b"]

# The strings of `xs` in byte order, the same on both engines: on regopy sorted by their hex
# encoding, whose characters all order alike on both (regopy's hex.encode differs from OPA's for
# bytes >= 0x80, but both keep the byte order). Duplicates are dropped.
sorted_strings(xs) := sort({x | some x in xs; is_string(x)}) if {
	byte_order
} else := [by_key[k] | some k in sort([key | some key in object.keys(by_key)])] if {
	by_key := {hex.encode(x): x | some x in xs; is_string(x)}
}

# The items of a set of strings, or of arrays of strings, in OPA's order: sort(s), in O(n log n)
# time on OPA and its Wasm build alike. OPA's Wasm runtime sorts by insertion (O(n²): 16,000 items
# took 2 s, 100,000 would take minutes); json.marshal_with_options marshals a set in OPA's order,
# and the Wasm build leaves it to its host (gate.engine.wasm_builtins), which sorts in O(n log n).
# Only where lib.byte_order holds: regopy orders differently.
sorted_set(s) := json.unmarshal(json.marshal_with_options(s, {}))

# A string that orders like the list of strings `fields` (field by field) on both engines.
order_key(fields) := concat(".", [hex.encode(f) | some f in fields])

# A value that orders like the list of strings `fields` (field by field) on both engines, and
# equals another only when the lists are equal: the list itself where the engine orders by bytes,
# else its order_key. Comparable only with values it made.
order_fields(fields) := fields if {
	byte_order
} else := order_key(fields)

# An annotation of an entity, when it is a non-empty string.
annotation(entity, key) := v if {
	v := entity.metadata.annotations[key]
	present(v)
}

# The identifier of an SBOM component: its purl, else name@version, else its name.
component_ref(c) := c.purl if {
	present(c.purl)
} else := concat("", [c.name, "@", c.version]) if {
	present(c.name)
	present(c.version)
} else := c.name if {
	present(c.name)
} else := "(unnamed component)"

# The first few schema errors of an item, joined for a one-line message.
errors_summary(errors) := first_few([e | some e in errors; is_string(e)], "no error detail was recorded")

# "a; b; c (and 2 more)", or `none` for an empty list of strings.
first_few(texts, none) := none if {
	count(texts) == 0
} else := concat("; ", texts) if {
	count(texts) <= 3
} else := concat("", [concat("; ", array.slice(texts, 0, 3)), " (and ", format_int(count(texts) - 3, 10), " more)"])

# A repository URL reduced to a comparable form: lower case, without scheme, `git+`, user, an `@ref`
# suffix, a trailing `.git` or `/`, and without a github.com/ or gitlab.com/ host, so that
# "https://github.com/Acme/App.git", "git+https://github.com/acme/app@refs/heads/main" and
# "acme/app" all compare equal.
normalize_repo(url) := out if {
	is_string(url)
	a := trim_prefix(trim_space(lower(url)), "git+")
	b := strip_scheme(a)
	c := strip_user(b)
	d := split(c, "@")[0]
	e := trim_suffix(trim_suffix(d, "/"), ".git")
	out := strip_host(trim_suffix(e, "/"))
}

strip_scheme(s) := substring(s, indexof(s, "://") + 3, -1) if {
	indexof(s, "://") >= 0
} else := s

# git@github.com:acme/app -> github.com/acme/app
strip_user(s) := replace(substring(s, 4, -1), ":", "/") if {
	startswith(s, "git@")
} else := s

strip_host(s) := substring(s, count(host), -1) if {
	some host in ["github.com/", "www.github.com/", "gitlab.com/"]
	startswith(s, host)
} else := s

# True when `value` equals one of `patterns` or matches it as a glob: `*` spans any characters
# (including `/`), `?` is one character. A pattern holding [ ] { } or \ is only compared for
# equality: glob.match fails on a malformed class or group, which strict builtin errors (the
# embedded engine) turn into a failed evaluation and OPA into no match.
matches_any(patterns, value) if {
	some p in patterns
	is_string(p)
	p == value
}

matches_any(patterns, value) if {
	is_string(value)
	some p in patterns
	is_string(p)
	not regex.match(`[\[\]{}\\]`, p)
	glob.match(p, null, value)
}

# A value for messages: a string in double quotes (not escaped: json.marshal escapes non-ASCII
# text on regopy and not on OPA), anything else as JSON text.
quote(x) := concat("", ["\"", x, "\""]) if {
	is_string(x)
} else := json.marshal(x)

# How a message names a template step: its id, else its 1-based position.
step_label(step) := quote(step.id) if {
	present(step.id)
} else := concat("", ["#", format_int(step.index + 1, 10)])

# VEX analysis states under which a listed vulnerability does not need action (CycloneDX
# analysis.state; resolved_with_pedigree is a kind of resolved).
vex_closed := {"not_affected", "false_positive", "resolved", "resolved_with_pedigree"}

# A vulnerability that VEX has not closed.
vuln_open(v) if not vex_closed[object.get(v, "state", null)]

# "critical vulnerability CVE-1 affects pkg:a; pkg:b and is not marked … by VEX"
vuln_message(v) := concat("", [
	v.severity, " vulnerability ", v.id, " affects ", affected(v),
	" and is not marked not_affected, false_positive or resolved by VEX",
])

affected(v) := first_few([a | some a in v.affects; is_string(a)], "a listed component")

# How a message names the artifact of a signature result.
artifact_label(sig) := sig.artifact.path if {
	present(sig.artifact.path)
} else := concat("", ["the artifact with sha256 ", sig.artifact.sha256]) if {
	present(sig.artifact.sha256)
} else := "an unnamed artifact"

# An SLSA provenance attestation (v0.1, v0.2, v1).
is_provenance(att) if {
	is_string(att.predicate_type)
	startswith(att.predicate_type, "https://slsa.dev/provenance/")
}

# The identifier of an attestation: the name of its first subject (by name), or null.
attestation_ref(att) := names[0] if {
	names := sorted_strings([s.name | some s in att.subjects; present(s.name)])
	count(names) > 0
} else := null

# How a message names what an attestation is about.
attestation_label(att) := ref if {
	ref := attestation_ref(att)
	is_string(ref)
	count(att.subjects) == 1
} else := concat("", [ref, " and ", format_int(count(att.subjects) - 1, 10), " other subjects"]) if {
	ref := attestation_ref(att)
	is_string(ref)
} else := concat("", ["the statement in ", att.path])

# The 1-based line of an attestation in a .jsonl file (`index` is 0-based there), else null.
attestation_line(att) := att.index + 1 if {
	is_number(att.index)
	is_string(att.path)
	endswith(att.path, ".jsonl")
} else := null

# The waivers in data.gate.waivers whose fields have the expected types (the gate validates them;
# `source`, the waivers file, is optional).
waivers := [w |
	some w in data.gate.waivers
	is_object(w)
	present(w.id)
	present(w.check)
	present(w.subject)
	present(w.expires)
	is_string(object.get(w, "owner", null))
	is_string(object.get(w, "reason", null))
]
