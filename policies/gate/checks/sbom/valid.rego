# METADATA
# title: SBOM is valid for its specification
# description: |-
#   The SBOM passes its specification's JSON Schema (checked by the collector).
# custom:
#   id: SBOM-VALID
#   severity: high
#   remediation: >-
#     Regenerate the SBOM with an up-to-date tool, or fix the fields named in the message.
package gate.checks.sbom.valid

import data.gate.lib

meta := lib.check_meta(rego.metadata.chain())

violation contains {"msg": msg, "subject": {"kind": "sbom", "path": sbom.path, "ref": null, "line": null}} if {
	some sbom in input.sboms
	sbom.valid == false
	msg := concat("", ["SBOM ", sbom.path, " fails the ", spec_name(sbom), " schema: ", lib.errors_summary(sbom.errors)])
}

spec_names := {"cyclonedx": "CycloneDX", "spdx": "SPDX"}

spec_name(sbom) := concat(" ", [name, sbom.spec_version]) if {
	is_string(sbom.spec_version)
	name := spec_names[sbom.format]
} else := "specification"
