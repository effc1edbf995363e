# SBOM-METADATA: an SBOM says when it was made and what it describes.
package gate.checks.sbom.metadata

meta := {
	"id": "SBOM-METADATA",
	"title": "SBOM has a timestamp and names its subject",
	"severity": "low",
	"remediation": concat(" ", [
		"Set metadata.timestamp and metadata.component (CycloneDX),",
		"or creationInfo.created and documentDescribes (SPDX).",
	]),
}

# Each field is true when the SBOM has it. A missing field is not reported (the input schema
# requires both).
required := [
	{"field": "has_timestamp", "what": "a timestamp"},
	{"field": "has_component", "what": "the component it describes"},
]

violation contains {"msg": msg, "subject": {"kind": "sbom", "path": sbom.path, "ref": null, "line": null}} if {
	some sbom in input.sboms
	missing := [r.what | some r in required; sbom[r.field] != true]
	count(missing) > 0
	msg := concat("", ["SBOM ", sbom.path, " lacks ", concat(" and ", missing)])
}
