# METADATA
# title: No open critical vulnerability
# description: |-
#   No open critical vulnerability.
# custom:
#   id: SBOM-VULN-CRITICAL
#   severity: critical
#   remediation: >-
#     Upgrade the affected component to a fixed version, or record a VEX analysis (not_affected,
#     false_positive, resolved) if it does not apply.
package gate.checks.sbom.vuln_critical

import data.gate.lib

meta := lib.check_meta(rego.metadata.chain())

violation contains {"msg": msg, "subject": {"kind": "sbom", "path": sbom.path, "ref": v.id, "line": null}} if {
	some sbom in input.sboms
	some v in sbom.vulnerabilities
	v.severity == "critical"
	lib.vuln_open(v)
	msg := lib.vuln_message(v)
}
