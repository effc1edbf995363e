# METADATA
# title: SBOM lists components
# description: |-
#   An SBOM lists what is inside.
# custom:
#   id: SBOM-NOT-EMPTY
#   severity: medium
#   remediation: >-
#     Generate the SBOM from the built artifact or the lock files, so it lists the dependencies.
package gate.checks.sbom.not_empty

import data.gate.lib

meta := lib.check_meta(rego.metadata.chain())

violation contains {"msg": msg, "subject": {"kind": "sbom", "path": sbom.path, "ref": null, "line": null}} if {
	some sbom in input.sboms
	count(sbom.components) == 0
	msg := concat("", ["SBOM ", sbom.path, " lists no components"])
}
