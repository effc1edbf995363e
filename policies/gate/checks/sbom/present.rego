# METADATA
# title: Required SBOM is present
# description: |-
#   When the configuration requires an SBOM (require: [sbom]), one was given.
# custom:
#   id: SBOM-PRESENT
#   severity: high
#   remediation: >-
#     Generate an SBOM (CycloneDX or SPDX JSON, e.g. with syft or cdxgen) in the pipeline and
#     pass it to `gate check`.
package gate.checks.sbom.present

import data.gate.lib

meta := lib.check_meta(rego.metadata.chain())

violation contains {"msg": msg, "subject": {"kind": "input", "path": null, "ref": "require:sbom", "line": null}} if {
	"sbom" in input.require
	count(input.sboms) == 0
	msg := "an SBOM is required (require: sbom) but none was given"
}
