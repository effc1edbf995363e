# METADATA
# title: The gate's decision
# description: |
#   Every violation of every check under data.gate.checks.<area>.<name>, through the environment's
#   tier table, per-check overrides, effective dates and waivers.
#
#   How a finding's action is decided, in order:
#     1. the tier table: data.gate.config.environments[env][severity] ("block" | "warn" | "off");
#     2. a per-check override, data.gate.config.checks[CHECK-ID]: a string for every environment,
#        or an object {env: action}; "off" drops the finding entirely;
#     3. a check whose meta.effective_on is after input.context.date only warns;
#     4. a matching, unexpired waiver turns block/warn into "waived" (expired waivers are ignored
#        here and reported by WAIVER-EXPIRED).
#   Outcome: "block" if any finding blocks, else "warn" if any warns, else "pass".
#
#   Failing closed:
#     - An environment that is not in data.gate.config.environments (the gate refuses these
#       before evaluation; a central OPA server might not) makes every finding "block", ignores
#       overrides, effective dates and waivers, and makes the outcome "error" even with no
#       findings, so an unknown environment can never pass.
#     - A tier entry or override that is not block/warn/off counts as "block"; a severity outside
#       critical/high/medium/low (or none) counts as "critical".
#     - Without input.context.date no waiver applies and every check is in effect.
#
#   Violation items follow the check contract ({"msg", "subject"}); an item may carry "check",
#   "severity", "title" and "remediation", which win over the package's meta (conftest adapters
#   use this). A package without meta is reported under "<area>.<name>". A bare string item is a
#   message.
#
#   The findings are a set: the gate orders them (gate.decision.ordered), so the order never
#   depends on the engine.
package gate.main

import data.gate.lib

# METADATA
# title: The decision
# description: |
#   {"outcome", "environment", "findings", "summary"}. It only gathers (the violations,
#   data.gate.config, data.gate.waivers, input.context) and hands them to decide, a pure function
#   of its arguments that the unit tests call directly.
# entrypoint: true
decision := decide(raw_violations, lib.config, lib.waivers, context)

# input.context, or {} (also without an input document).
default context := {}

context := input.context if is_object(input.context)

# METADATA
# title: Every violation of every check package
# description: Each with the package's name ("<area>.<name>") and meta.
raw_violations contains {"package": pkg_name, "meta": meta, "item": item} if {
	some area, name
	pkg := data.gate.checks[area][name]
	pkg_name := concat(".", [area, name])
	meta := meta_of(pkg)
	some item in pkg.violation
}

meta_of(pkg) := pkg.meta if {
	is_object(pkg.meta)
} else := {}

# METADATA
# title: The decision for raw violations
# description: |
#   raws: {"package", "meta", "item"} as in raw_violations; config: the shape of
#   data.gate.config; waivers: the shape of data.gate.waivers; ctx: input.context.
decide(raws, config, waivers, ctx) := decision_of(findings_of(raws, config, waivers, ctx), config, ctx)

decision_of(fs, config, ctx) := {
	"outcome": outcome_of(summary, config, ctx),
	"environment": environment(ctx),
	"findings": fs,
	"summary": summary,
} if {
	summary := {a: count_action(fs, a) | some a in ["block", "warn", "waived"]}
}

count_action(fs, a) := count([f | some f in fs; f.action == a])

outcome_of(summary, config, ctx) := "error" if {
	not known_environment(config, ctx)
} else := "block" if {
	summary.block > 0
} else := "warn" if {
	summary.warn > 0
} else := "pass"

environment(ctx) := ctx.environment if {
	is_string(ctx.environment)
} else := null

today(ctx) := ctx.date if {
	is_string(ctx.date)
} else := null

default known_environment(_, _) := false

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
	lower(s) in severities
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

# What the actions and waivers of all findings depend on, worked out once per decision:
#   known: whether the environment is in the config; date: today, or null;
#   overrides: check id -> the action its per-check override gives in this environment (step 2);
#   tiers: severity -> the action of the environment's tier table (step 1);
#   waivers: the unexpired waivers, when waivers can apply; waived_checks: the checks they name.
settings(config, waivers, ctx) := {
	"known": known_environment(config, ctx),
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
	live := live_waivers(waivers, known_environment(config, ctx), date)
}

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
	a in actions
} else := "block"

# Steps 1 to 3: an override wins over the tier table.
action(v, s) := "block" if {
	not s.known
} else := "off" if {
	configured_action(v, s) == "off"
} else := "warn" if {
	not_yet_effective(v, s.date)
} else := configured_action(v, s)

configured_action(v, s) := s.overrides[v.check] if {
	s.overrides[v.check]
} else := s.tiers[v.severity]

not_yet_effective(v, date) if {
	is_string(date)
	is_string(v.effective_on)
	v.effective_on > date
}

# Step 4: the waiver for a finding, or null. A waiver matches when its check equals the finding's
# and its subject, a glob (`*` spans any characters, including `/`), matches the subject's ref, or
# its path when it has no ref. When several match, the one with the smallest id is recorded (the
# first of them in the waivers file, should ids repeat). Waivers apply only in a known
# environment, on a known date, until they expire.
waiver_for(v, s) := {"id": w.id, "owner": w.owner, "reason": w.reason, "expires": w.expires} if {
	v.check in s.waived_checks
	target := waiver_target(v.subject)
	matching := [w |
		some w in s.waivers
		w.check == v.check
		lib.matches_any([w.subject], target)
	]
	first := lib.sorted_strings([w.id | some w in matching])[0]
	w := [w | some w in matching; w.id == first][0]
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

# The findings, a set: equal findings (two packages reporting the same) are one.
findings_of(raws, config, waivers, ctx) := {f |
	s := settings(config, waivers, ctx)
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
}

final_action(a, w) := "waived" if {
	w != null
} else := a
