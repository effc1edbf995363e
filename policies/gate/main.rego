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
package gate.main

import data.gate.lib

severities := {"critical", "high", "medium", "low"}

actions := {"block", "warn", "off"}

environment := e if {
	e := input.context.environment
	is_string(e)
} else := null

today := d if {
	d := input.context.date
	is_string(d)
} else := null

tiers := t if {
	t := lib.config.environments[environment]
	is_object(t)
}

known_environment if is_object(tiers)

overrides := o if {
	o := lib.config.checks
	is_object(o)
} else := {}

# One normalised record per violation of every check package.
violations contains v if {
	some area, name
	item := data.gate.checks[area][name].violation[_]
	m := check_meta(area, name)
	check := lib.str(item, "check", lib.str(m, "id", concat("", [area, ".", name])))
	v := {
		"check": check,
		"title": lib.str(item, "title", lib.str(m, "title", check)),
		"severity": severity(lib.str(item, "severity", lib.str(m, "severity", "critical"))),
		"message": message(item, check),
		"subject": subject(item),
		"remediation": lib.str(item, "remediation", lib.str(m, "remediation", "")),
		"effective_on": lib.str(m, "effective_on", null),
	}
}

check_meta(area, name) := m if {
	m := data.gate.checks[area][name].meta
	is_object(m)
} else := {}

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

# The action the configuration gives a check in this environment (steps 1 and 2).
configured_action(v) := valid_action(o) if {
	o := overrides[v.check]
	is_string(o)
} else := valid_action(o[environment]) if {
	o := overrides[v.check]
	is_object(o)
	o[environment]
} else := valid_action(tiers[v.severity]) if {
	tiers[v.severity]
} else := "block"

valid_action(a) := a if {
	actions[a]
} else := "block"

# Steps 1 to 3.
action(v) := "block" if {
	not known_environment
} else := "off" if {
	configured_action(v) == "off"
} else := "warn" if {
	not_yet_effective(v)
} else := configured_action(v)

not_yet_effective(v) if {
	is_string(today)
	is_string(v.effective_on)
	v.effective_on > today
}

# Step 4: the waiver for a finding, or null. A waiver matches when its check equals the finding's
# and its subject, a glob (`*` spans any characters, including `/`), matches the subject's ref, or
# its path when it has no ref. When several match, the one with the smallest id is recorded.
waiver_for(v) := {"id": w[0], "owner": w[1], "reason": w[2], "expires": w[3]} if {
	known_environment
	is_string(today)
	target := waiver_target(v.subject)
	matching := sort([[w.id, w.owner, w.reason, w.expires] |
		some w in lib.waivers
		w.check == v.check
		w.expires >= today
		lib.matches_any([w.subject], target)
	])
	count(matching) > 0
	w := matching[0]
} else := null

waiver_target(s) := s.ref if {
	is_string(s.ref)
} else := s.path if {
	is_string(s.path)
} else := ""

findings_set contains f if {
	some v in violations
	a := action(v)
	a != "off"
	w := waiver_for(v)
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

# Findings in a fixed order on every engine: blocks, then warnings, then waived; by severity, check,
# file, line, ref, message. The key holds strings only (see lib.rego on sorting).
findings := [pair[1] | some pair in sort([[sort_key(f), f] | some f in findings_set])]

action_rank := {"block": "0", "warn": "1", "waived": "2"}

severity_rank := {"critical": "0", "high": "1", "medium": "2", "low": "3"}

sort_key(f) := [
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
]

or_empty(x) := x if {
	is_string(x)
} else := ""

padded_line(n) := sprintf("%010d", [n]) if {
	is_number(n)
} else := ""

summary := {a: count([f | some f in findings; f.action == a]) | some a in ["block", "warn", "waived"]}

outcome := "error" if {
	not known_environment
} else := "block" if {
	summary.block > 0
} else := "warn" if {
	summary.warn > 0
} else := "pass"

decision := {
	"outcome": outcome,
	"environment": environment,
	"findings": findings,
	"summary": summary,
}
