# METADATA
# title: No open vulnerability without a severity rating
# description: |-
#   Every open vulnerability has a severity the gate can judge: a CycloneDX rating's severity, or
#   a CVSS score or vector it comes from. One with none (no ratings, only `unknown`, a method
#   scored on its own scale, or an SPDX security advisory reference, which carries no rating)
#   could hide a critical one, so it is reported rather than passed.
# custom:
#   id: SBOM-VULN-UNRATED
#   severity: high
#   remediation: >-
#     Rate the vulnerability in the SBOM or its VEX (a rating with a severity, a CVSS score or a
#     CVSS vector), upgrade the affected component to a fixed version, or record a VEX analysis
#     (not_affected, false_positive, resolved) if it does not apply.
package gate.checks.sbom.vuln_unrated

import data.gate.lib

meta := lib.check_meta(rego.metadata.chain())

violation contains {"msg": msg, "subject": {"kind": "sbom", "path": sbom.path, "ref": v.id, "line": null}} if {
	some sbom in input.sboms
	some v in sbom.vulnerabilities
	v.severity == "unknown"
	lib.vuln_open(v)
	msg := concat("", [
		"vulnerability ", v.id, " affects ", lib.affected(v),
		", has no severity rating (no severity, CVSS score or CVSS vector)",
		" and is not marked not_affected, false_positive or resolved by VEX",
	])
}
