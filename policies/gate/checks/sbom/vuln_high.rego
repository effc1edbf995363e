# SBOM-VULN-HIGH: no open high-severity vulnerability.
package gate.checks.sbom.vuln_high

import data.gate.lib

meta := {
	"id": "SBOM-VULN-HIGH",
	"title": "No open high-severity vulnerability",
	"severity": "high",
	"remediation": concat(" ", [
		"Upgrade the affected component to a fixed version, or record a VEX analysis (not_affected,",
		"false_positive, resolved) if it does not apply.",
	]),
}

violation contains {"msg": msg, "subject": {"kind": "sbom", "path": sbom.path, "ref": v.id, "line": null}} if {
	some sbom in input.sboms
	some v in sbom.vulnerabilities
	v.severity == "high"
	lib.vuln_open(v)
	msg := lib.vuln_message(v)
}
