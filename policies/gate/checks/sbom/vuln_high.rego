# METADATA
# title: No open high-severity vulnerability
# description: |-
#   No open high-severity vulnerability.
# custom:
#   id: SBOM-VULN-HIGH
#   severity: high
#   remediation: >-
#     Upgrade the affected component to a fixed version, or record a VEX analysis (not_affected,
#     false_positive, resolved) if it does not apply.
package gate.checks.sbom.vuln_high

import data.gate.lib

meta := lib.check_meta(rego.metadata.chain())

violation contains {"msg": msg, "subject": {"kind": "sbom", "path": sbom.path, "ref": v.id, "line": null}} if {
	some sbom in input.sboms
	some v in sbom.vulnerabilities
	v.severity == "high"
	lib.vuln_open(v)
	msg := lib.vuln_message(v)
}
