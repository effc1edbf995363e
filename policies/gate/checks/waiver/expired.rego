# METADATA
# title: Waiver has expired
# description: |-
#   A waiver past its expiry no longer applies (gate.main ignores it) and is reported,
#   so somebody renews or removes it.
# custom:
#   id: WAIVER-EXPIRED
#   severity: medium
#   remediation: >-
#     Fix what the waiver covered and delete the waiver, or renew it with a new expiry and a
#     fresh reason.
package gate.checks.waiver.expired

import data.gate.lib

meta := lib.check_meta(rego.metadata.chain())

# Dates are compared as YYYY-MM-DD strings; a waiver is valid through its `expires` day.
violation contains {
	"msg": msg,
	"subject": {"kind": "waiver", "path": object.get(w, "source", null), "ref": w.id, "line": null},
} if {
	today := input.context.date
	is_string(today)
	some w in lib.waivers
	w.expires < today
	msg := concat("", [
		"waiver ", w.id, " (", w.check, " on ", w.subject, ", owner ", w.owner, ") expired on ", w.expires,
		" and no longer applies",
	])
}
