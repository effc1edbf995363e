# SBOM-NOT-EMPTY: an SBOM lists what is inside.
package gate.checks.sbom.not_empty

meta := {
	"id": "SBOM-NOT-EMPTY",
	"title": "SBOM lists components",
	"severity": "medium",
	"remediation": "Generate the SBOM from the built artifact or the lock files, so it lists the dependencies.",
}

violation contains {"msg": msg, "subject": {"kind": "sbom", "path": sbom.path, "ref": null, "line": null}} if {
	some sbom in input.sboms
	count(sbom.components) == 0
	msg := concat("", ["SBOM ", sbom.path, " lists no components"])
}
