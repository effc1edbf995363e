# SBOM-METADATA: an SBOM says when it was made and what it describes.
package gate.checks.sbom.metadata

import data.gate.lib

meta := {
	"id": "SBOM-METADATA",
	"title": "SBOM has a timestamp and names its subject",
	"severity": "low",
	"remediation": "Set metadata.timestamp and metadata.component (CycloneDX), or creationInfo.created and documentDescribes (SPDX).",
}

required := {"has_timestamp": "a timestamp", "has_component": "the component it describes"}

violation contains {"msg": msg, "subject": {"kind": "sbom", "path": sbom.path, "ref": null, "line": null}} if {
	some sbom in input.sboms
	missing := [what |
		some field
		what := required[field]
		sbom[field] != true
	]
	count(missing) > 0
	msg := concat("", ["SBOM ", sbom.path, " lacks ", concat(" and ", lib.sorted_strings(missing))])
}
