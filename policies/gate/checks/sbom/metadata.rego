# METADATA
# title: SBOM has a timestamp and names its subject
# description: |-
#   An SBOM says when it was made and what it describes.
# custom:
#   id: SBOM-METADATA
#   severity: low
#   remediation: >-
#     Set metadata.timestamp and metadata.component (CycloneDX), or creationInfo.created and
#     documentDescribes (SPDX).
package gate.checks.sbom.metadata

import data.gate.lib

meta := lib.check_meta(rego.metadata.chain())

# Each field is true when the SBOM has it. A missing field is not reported (the input schema
# requires both).
required := [
	{"field": "has_timestamp", "what": "a timestamp"},
	{"field": "has_component", "what": "the component it describes"},
]

violation contains {"msg": msg, "subject": {"kind": "sbom", "path": sbom.path, "ref": null, "line": null}} if {
	some sbom in input.sboms
	missing := [r.what | some r in required; object.get(sbom, r.field, true) != true]
	count(missing) > 0
	msg := concat("", ["SBOM ", sbom.path, " lacks ", concat(" and ", missing)])
}
