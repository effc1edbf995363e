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
# inside expressions ("MIT OR GPL-3.0-only" names GPL-3.0-only); plain `id` entries count as well.
violation contains {"msg": msg, "subject": {"kind": "sbom", "path": sbom.path, "ref": lib.component_ref(c), "line": null}} if {
	some sbom in input.sboms
	some c in sbom.components
	some id in license_ids(c)
	some denied in lib.config_strings("denied_licenses")
	is_string(denied)
	lower(id) == lower(denied)
	msg := concat("", ["component ", lib.component_ref(c), " is licensed ", id, ", which is denied", expression_note(c, id)])
}

license_ids(c) := {id |
	some id in object.get(c, "license_ids", [])
	is_string(id)
} | {l.value |
	some l in object.get(c, "licenses", [])
	l.kind == "id"
	is_string(l.value)
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
