# The decision: every violation of every check under data.gate.checks.<area>.<name>, through the
# environment's tier table, per-check overrides, effective dates and waivers.
#
# How a finding's action is decided, in order:
#   1. the tier table: data.gate.config.environments[env][severity] ("block" | "warn" | "off");
#   2. a per-check override, data.gate.config.checks[CHECK-ID]: a string for every environment, or
#      an object {env: action}; "off" drops the finding entirely;
#   3. a check whose meta.effective_on is after input.context.date only warns;
#   4. a matching, unexpired waiver turns block/warn into "waived" (expired waivers are ignored
#      here and reported by WAIVER-EXPIRED).
# Outcome: "block" if any finding blocks, else "warn" if any warns, else "pass".
#
# Failing closed:
#   - An environment that is not in data.gate.config.environments (the gate refuses these before
#     evaluation; a central OPA server might not) makes every finding "block", ignores overrides,
#     effective dates and waivers, and makes the outcome "error" even with no findings, so an
#     unknown environment can never pass.
#   - A tier entry or override that is not block/warn/off counts as "block"; a severity outside
#     critical/high/medium/low (or none) counts as "critical".
#   - Without input.context.date no waiver applies and every check is in effect.
#
# Violation items follow the check contract ({"msg", "subject"}); an item may carry "check",
# "severity", "title" and "remediation", which win over the package's meta (conftest adapters use
# this). A package without meta is reported under "<area>.<name>". A bare string item is a message.
#
# Shape: `decision` only gathers (the violations, data.gate.config, data.gate.waivers,
# input.context) and hands them to `decide`, a pure function of its arguments. The unit tests call
# `decide` directly: regopy 1.5.2 cannot evaluate gate.main.decision under `with` (each `with`
# reaching it cost 0.5 to 5 GB and seconds, and rule values leaked between `with` contexts, giving
# wrong answers).
package gate.main

import data.gate.lib

decision := decide(raw_violations, lib.config, lib.waivers, context)

# input.context, or {} (also without an input document). Not context_of(input): on the embedded
# engine, handing the whole input to a function costs ~0.5 s for an SBOM of 10,000 components.
default context := {}

context := c if {
	c := input.context
	is_object(c)
}

context_of(doc) := c if {
	c := doc.context
	is_object(c)
} else := {}

# Every violation of every check package, with the package's name and meta, in no particular order.
# Lists, not sets, from here on: the embedded engine takes O(n²) time to build a set or an object
# of n items (745 findings took minutes); equal findings are dropped when they are ordered.
#
# Each package document is looked up once: on the embedded engine, `data.gate.checks[area][name]...`
# with area and name bound evaluates every package of the area again (it took 0.2 s per violation
# on a 900-component SBOM), and so does `...violation[_]` with area and name unbound.
raw_violations := [{"package": concat(".", [area, name]), "meta": meta, "item": item} |
	some area, name
	pkg := data.gate.checks[area][name]
	violations := pkg.violation
	meta := meta_of(pkg)
	some item in violations
]

meta_of(pkg) := m if {
	m := pkg.meta
	is_object(m)
} else := {}

# The decision for raw violations ({"package", "meta", "item"}), a configuration (the shape of
# data.gate.config), waivers (the shape of data.gate.waivers) and a CI context (input.context).
decide(raws, config, waivers, ctx) := decision_of(findings_of(raws, config, waivers, ctx), config, ctx)

decision_of(fs, config, ctx) := {
	"outcome": outcome_of(summary, config, ctx),
	"environment": environment(ctx),
	"findings": fs,
	"summary": summary,
} if {
	summary := summary_of(fs)
}

# Spelled out: regopy miscounts a comprehension nested in another that uses the outer one's variable.
summary_of(fs) := {
	"block": count_action(fs, "block"),
	"warn": count_action(fs, "warn"),
	"waived": count_action(fs, "waived"),
}

count_action(fs, a) := count([f | some f in fs; f.action == a])

outcome_of(summary, config, ctx) := "error" if {
	not known_environment(config, ctx)
} else := "block" if {
	summary.block > 0
} else := "warn" if {
	summary.warn > 0
} else := "pass"

environment(ctx) := e if {
	e := ctx.environment
	is_string(e)
} else := null

today(ctx) := d if {
	d := ctx.date
	is_string(d)
} else := null

known_environment(config, ctx) if is_object(config.environments[environment(ctx)])

severities := {"critical", "high", "medium", "low"}

actions := {"block", "warn", "off"}

# A raw violation as a finding without its action: check id, title, severity, message, subject,
# remediation, and the check's effective date (or null).
normalise(raw) := {
	"check": check,
	"title": lib.str(item, "title", lib.str(m, "title", check)),
	"severity": severity(lib.str(item, "severity", lib.str(m, "severity", "critical"))),
	"message": message(item, check),
	"subject": subject(item),
	"remediation": lib.str(item, "remediation", lib.str(m, "remediation", "")),
	"effective_on": lib.str(m, "effective_on", null),
} if {
	item := raw.item
	m := raw.meta
	check := lib.str(item, "check", lib.str(m, "id", raw.package))
}

severity(s) := lower(s) if {
	severities[lower(s)]
} else := "critical"

message(item, check) := item if {
	lib.present(item)
} else := lib.str(item, "msg", concat("", [check, " reported a violation without a message"]))

subject(item) := {
	"kind": lib.str(s, "kind", "input"),
	"path": lib.str(s, "path", null),
	"ref": lib.str(s, "ref", null),
	"line": line(s),
} if {
	s := item.subject
	is_object(s)
} else := {"kind": "input", "path": null, "ref": null, "line": null}

# A 1-based line as an integer, else null.
line(s) := to_number(format_int(s.line, 10)) if {
	is_number(s.line)
	s.line >= 1
} else := null

# What the actions and waivers of all findings depend on, worked out once per decision: the
# per-finding steps below read only this small object (on the embedded engine, a comprehension
# copies every outer value it reads, on every pass: reading the whole config per finding cost
# milliseconds).
#   known: whether the environment is in the config; date: today, or null;
#   overrides: check id -> the action its per-check override gives in this environment (step 2);
#   tiers: severity -> the action of the environment's tier table (step 1);
#   waivers: the unexpired waivers, when waivers can apply; waived_checks: the checks they name.
settings(config, waivers, ctx) := {
	"known": known,
	"date": date,
	"overrides": {check: a |
		some check
		o := config.checks[check]
		a := override_action(o, env)
	},
	"tiers": {severity: tier_action(config, env, severity) | some severity in severities},
	"waivers": live,
	"waived_checks": {w.check | some w in live},
} if {
	env := environment(ctx)
	date := today(ctx)
	known := is_known_environment(config, ctx)
	live := live_waivers(waivers, known, date)
}

is_known_environment(config, ctx) if {
	known_environment(config, ctx)
} else := false

override_action(o, env) := valid_action(o) if {
	is_string(o)
} else := valid_action(o[env]) if {
	is_object(o)
	o[env]
}

tier_action(config, env, severity) := valid_action(config.environments[env][severity]) if {
	config.environments[env][severity]
} else := "block"

valid_action(a) := a if {
	actions[a]
} else := "block"

# Steps 1 to 3: an override wins over the tier table.
action(v, s) := "block" if {
	not s.known
} else := "off" if {
	configured_action(v, s) == "off"
} else := "warn" if {
	not_yet_effective(v, s.date)
} else := configured_action(v, s)

configured_action(v, s) := a if {
	a := s.overrides[v.check]
} else := s.tiers[v.severity]

not_yet_effective(v, date) if {
	is_string(date)
	is_string(v.effective_on)
	v.effective_on > date
}

# Step 4: the waiver for a finding, or null. A waiver matches when its check equals the finding's
# and its subject, a glob (`*` spans any characters, including `/`), matches the subject's ref, or
# its path when it has no ref. When several match, the one with the smallest id is recorded.
# Waivers apply only in a known environment, on a known date, until they expire.
waiver_for(v, s) := matching[first] if {
	s.waived_checks[v.check]
	target := waiver_target(v.subject)
	matching := {lib.order_fields([w.id, w.expires, w.owner, w.reason]): {
		"id": w.id,
		"owner": w.owner,
		"reason": w.reason,
		"expires": w.expires,
	} |
		some w in s.waivers
		w.check == v.check
		lib.matches_any([w.subject], target)
	}
	count(matching) > 0
	first := sort([key | some key in object.keys(matching)])[0]
} else := null

live_waivers(waivers, known, date) := [w | some w in waivers; w.expires >= date] if {
	known == true
	is_string(date)
} else := []

waiver_target(s) := s.ref if {
	is_string(s.ref)
} else := s.path if {
	is_string(s.path)
} else := ""

# The findings, in a fixed order on every engine: blocks, then warnings, then waived; by severity,
# check, file, line, ref, message (see lib.rego on ordering strings), each once.
findings_of(raws, config, waivers, ctx) := in_order(finding_list(raws, settings(config, waivers, ctx)))

finding_list(raws, s) := [f |
	some raw in raws
	v := normalise(raw)
	a := action(v, s)
	a != "off"
	w := waiver_for(v, s)
	f := {
		"check": v.check,
		"title": v.title,
		"severity": v.severity,
		"action": final_action(a, w),
		"message": v.message,
		"subject": v.subject,
		"remediation": v.remediation,
		"waiver": w,
	}
]

# The findings fs sorted by sort_key, each once: findings with equal keys are equal (the waiver
# follows from the other fields). Where the engine orders by bytes (lib.byte_order), the set of
# keys is sorted (lib.sorted_set: O(n log n) on OPA's Wasm build too, whose sort() is O(n²)) and
# each key looked up (the keys are gathered by iterating the object: the Wasm build's
# object.keys sorts them by insertion). regopy takes O(n²) time to build a set or an object of n
# items in Rego: there, when no two findings share a key (the usual case), the pairs
# [key, index in fs] are sorted. That order is the same on both engines although regopy orders
# arrays by their JSON text: the keys differ, hold only hex digits and dots (lib.order_key), and a
# key's closing quote sorts before those. Otherwise findings are gathered by key (O(n²) on regopy).
# regal ignore:use-object-keys
in_order(fs) := [by_key[k] | some k in lib.sorted_set({k | some k; by_key[k]})] if {
	lib.byte_order
	by_key := {sort_key(f): f | some f in fs}
} else := [fs[pair[1]] | some pair in sort(pairs)] if {
	pairs := [[sort_key(f), i] | some i; f := fs[i]]
	count(distinct_keys(pairs)) == count(pairs)
} else := [by_key[k] | some k in sort([key | some key in object.keys(by_key)])] if {
	by_key := {sort_key(f): f | some f in fs}
}

# The keys of the pairs, once each, as the keys of an object built by json.unmarshal (in linear
# time, where an object comprehension takes O(n²) on regopy). Keys need no escaping in JSON.
distinct_keys(pairs) := json.unmarshal(concat("", [
	"{",
	concat(", ", [concat("", ["\"", pair[0], "\": 0"]) | some pair in pairs]),
	"}",
]))

final_action(a, w) := "waived" if {
	w != null
} else := a

action_rank := {"block": "0", "warn": "1", "waived": "2"}

severity_rank := {"critical": "0", "high": "1", "medium": "2", "low": "3"}

sort_key(f) := lib.order_fields([
	action_rank[f.action],
	severity_rank[f.severity],
	f.check,
	f.subject.kind,
	or_empty(f.subject.path),
	padded_line(f.subject.line),
	or_empty(f.subject.ref),
	f.message,
	f.title,
	f.remediation,
])

or_empty(x) := x if {
	is_string(x)
} else := ""

padded_line(n) := concat("", [substring("0000000000", 0, 10 - count(s)), s]) if {
	is_number(n)
	s := format_int(n, 10)
	count(s) < 10
} else := format_int(n, 10) if {
	is_number(n)
} else := ""
