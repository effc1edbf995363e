# METADATA
# title: Helpers shared by the shipped checks
# description: |
#   Open to user policies too (`import data.gate.lib`): the configuration's lists, text and
#   entity helpers, globs, and the labels messages use.
#
#   The shipped policies also run on the embedded engine's regopy runtime (when user policy
#   folders are added). What regopy lacks or does differently, and how the gate makes up for it,
#   is written down in gate/engine/regopy_adapter.py; only sorted_strings below is here for it.
package gate.lib

# METADATA
# title: A check's meta, from its package's METADATA annotations
# description: |-
#   The annotations' title and the custom fields id, severity, remediation and (optional)
#   effective_on. A check writes them above its `package` line and says
#   `meta := lib.check_meta(rego.metadata.chain())`. OPA reads an unquoted YAML date as a
#   time ("2026-01-01T00:00:00Z"): effective_on keeps its date.
check_meta(chain) := object.union_n([
	object.filter(custom, ["id", "severity", "remediation"]),
	{"title": entry.annotations.title},
	effective_on(custom),
]) if {
	some entry in chain
	entry.annotations.scope == "package"
	custom := object.get(entry.annotations, "custom", {})
}

effective_on(custom) := {"effective_on": substring(custom.effective_on, 0, 10)} if {
	is_string(custom.effective_on)
} else := {}

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

# The strings of `xs`, once each, in byte order. Not sort(xs): regopy orders strings by their
# JSON text, quotes included (there, "a b" sorts before "a"), so the shipped policies sort by the
# strings' hex encoding, whose characters order alike on every engine. The one place in the
# shipped Rego that is written for an engine.
sorted_strings(xs) := [by_hex[h] | some h in sort([h | some h in object.keys(by_hex)])] if {
	by_hex := {hex.encode(x): x | some x in xs; is_string(x)}
}

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

# Verification statuses (the collectors' `status`) of a signature that is not proven wrong, only
# not checked: the gate cannot judge the bundle, or no configured key checks it.
unjudged_statuses := {"unverifiable", "key-unknown"}

# Whether a signer identity ({"san", "issuer"}) is one of `identities` (data.gate.config's
# `identities`: the issuer is equal and the SAN matches san_regex).
identity_allowed(identities, identity) if {
	is_string(identity.san)
	some id in identities
	id.issuer == identity.issuer
	is_string(id.san_regex)
	regex.match(id.san_regex, identity.san)
}

# SLSA provenance whose signature verified and whose signer is configured: a key of
# signatures.keys, or a keyless signer that matches signatures.identities. Only such provenance
# satisfies `require: [provenance]`; PROV-VERIFIED reports the rest.
verified_provenance(att) if {
	is_provenance(att)
	att.verified == true
	signer_accepted(att)
}

signer_accepted(att) if has_text(att, ["key"])

signer_accepted(att) if {
	not has_text(att, ["key"])
	identity_allowed(config_list("identities"), att.identity)
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
