# SBOM-LICENSE-MISSING: every component states its license.
package gate.checks.sbom.license_missing

import data.gate.lib

meta := {
	"id": "SBOM-LICENSE-MISSING",
	"title": "Every component has a license",
	"severity": "low",
	"remediation": "Use an SBOM generator that records licenses (e.g. syft, cdxgen), or add the license by hand.",
}

# SPDX's NOASSERTION and NONE say that no license is known; they count as missing.
violation contains {"msg": msg, "subject": {"kind": "sbom", "path": sbom.path, "ref": lib.component_ref(c), "line": null}} if {
	some sbom in input.sboms
	some c in sbom.components
	count(known(c)) == 0
	msg := concat("", ["component ", lib.component_ref(c), " has no license"])
}

unknown := {"noassertion", "none", ""}

known(c) := {v |
	some l in array.concat(object.get(c, "licenses", []), [{"value": id} | some id in object.get(c, "license_ids", [])])
	v := l.value
	is_string(v)
	not unknown[lower(trim_space(v))]
}
