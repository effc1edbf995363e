# METADATA
# title: No component has a denied license
# description: |-
#   No component carries a license the organisation denies.
# custom:
#   id: SBOM-LICENSE-DENIED
#   severity: critical
#   remediation: >-
#     Replace the component with one under an acceptable license, or get legal approval and add
#     a waiver.
package gate.checks.sbom.license_denied

import data.gate.lib

meta := lib.check_meta(rego.metadata.chain())

# license_ids holds the current SPDX id of every license a component names, inside expressions
# too ("MIT OR GPL-3.0-only" names GPL-3.0-only): the collectors map deprecated ids, `+`, license
# names and look-alike characters through the SPDX license list (gate/collect/licenses.py), and
# the gate hands the denied ids over normalised the same way, an `-only` id with its `-or-later`
# twin. Ids are compared case-insensitively.
# The denied ids are lower-cased once, in `denied`.
violation contains finding(sbom.path, c, id) if {
	count(denied) > 0
	some sbom in input.sboms
	some c in sbom.components
	some id in c.license_ids
	is_string(id)
	denied[lower(id)]
}

# The denied ids, lower-cased.
denied contains lower(x) if some x in lib.config_strings("denied_licenses")

finding(path, c, id) := {"msg": msg, "subject": {"kind": "sbom", "path": path, "ref": ref, "line": null}} if {
	ref := lib.component_ref(c)
	msg := concat("", ["component ", ref, " is licensed ", id, ", which is denied", expression_note(c, id)])
}

# Names the first expression (in text order, for both engines) that mentions the id; else, when no
# entry is the id as written (a deprecated id, a name, look-alike characters), the entries as
# written, so the reader sees what was mapped to the id.
expression_note(c, id) := concat("", [" (in the expression ", lib.quote(exprs[0]), ")"]) if {
	exprs := lib.sorted_strings([l.value |
		some l in object.get(c, "licenses", [])
		l.kind == "expression"
		is_string(l.value)
		contains(lower(l.value), lower(id))
	])
	count(exprs) > 0
} else := concat("", [" (written ", concat(", ", [lib.quote(v) | some v in written]), ")"]) if {
	not written_as_is(c, id)
	written := lib.sorted_strings([l.value | some l in object.get(c, "licenses", []); is_string(l.value)])
	count(written) > 0
} else := ""

written_as_is(c, id) if {
	some l in c.licenses
	is_string(l.value)
	lower(trim_space(l.value)) == lower(id)
}
