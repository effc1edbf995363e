# SBOM-METADATA: an SBOM says when it was made and what it describes.
package gate.checks.sbom.metadata

import data.gate.lib

meta := {
	"id": "SBOM-METADATA",
	"title": "SBOM has a timestamp and names its subject",
	"severity": "low",
	"remediation": concat(" ", [
		"Set metadata.timestamp and metadata.component (CycloneDX),",
		"or creationInfo.created and documentDescribes (SPDX).",
	]),
}

# Looked up with object.get: on the embedded engine `sbom[field]` walks the whole SBOM (~0.3 s for
# 10,000 components). A missing field is not reported (the input schema requires both).
required := {"has_timestamp": "a timestamp", "has_component": "the component it describes"}

violation contains {"msg": msg, "subject": {"kind": "sbom", "path": sbom.path, "ref": null, "line": null}} if {
	some i in lib.indexes(count(input.sboms))
	sbom := input.sboms[i]
	is_object(sbom)
	missing := [what |
		some field
		what := required[field]
		object.get(sbom, field, true) != true
	]
	count(missing) > 0
	msg := concat("", ["SBOM ", sbom.path, " lacks ", concat(" and ", lib.sorted_strings(missing))])
}
