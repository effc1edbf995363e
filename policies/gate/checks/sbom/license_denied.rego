# SBOM-LICENSE-DENIED: no component carries a license the organisation denies.
package gate.checks.sbom.license_denied

import data.gate.lib

meta := {
	"id": "SBOM-LICENSE-DENIED",
	"title": "No component has a denied license",
	"severity": "critical",
	"remediation": "Replace the component with one under an acceptable license, or get legal approval and add a waiver.",
}

# SPDX ids are compared case-insensitively. license_ids holds every id named, including those
# inside expressions ("MIT OR GPL-3.0-only" names GPL-3.0-only); plain `id` entries count as well
# (SPDX's "GPL-2.0+" is an `id` entry, listed as GPL-2.0 in license_ids).
#
# Written for SBOMs with thousands of components (see lib.indexes): the denied ids are lower-cased
# once, each component is visited once per source of ids, the set lookup that fails for almost
# every component comes first, and the message is built only for a violation.
violation contains finding(sbom.path, c, id) if {
	count(denied) > 0
	some i in lib.indexes(count(input.sboms))
	sbom := input.sboms[i]
	some c in sbom.components
	some id in c.license_ids
	is_string(id)
	denied[lower(id)]
}

violation contains finding(sbom.path, c, id) if {
	count(denied) > 0
	some i in lib.indexes(count(input.sboms))
	sbom := input.sboms[i]
	some c in sbom.components
	some l in c.licenses
	id := l.value
	is_string(id)
	denied[lower(id)]
	l.kind == "id"
	not in_license_ids(c, id)
}

# Found by the rule above. (Trying to add a violation again costs as much as adding a new one: the
# embedded engine takes O(n²) time to build a set of n violations.)
in_license_ids(c, id) if id in c.license_ids

# The denied ids, lower-cased.
denied contains lower(x) if some x in lib.config_strings("denied_licenses")

finding(path, c, id) := {"msg": msg, "subject": {"kind": "sbom", "path": path, "ref": ref, "line": null}} if {
	ref := lib.component_ref(c)
	msg := concat("", ["component ", ref, " is licensed ", id, ", which is denied", expression_note(c, id)])
}

# Names the first expression (in text order, for both engines) that mentions the id.
expression_note(c, id) := concat("", [" (in the expression ", lib.quote(exprs[0]), ")"]) if {
	exprs := lib.sorted_strings([l.value |
		some l in object.get(c, "licenses", [])
		l.kind == "expression"
		is_string(l.value)
		contains(lower(l.value), lower(id))
	])
	count(exprs) > 0
} else := ""
