# SBOM-PRESENT: when the configuration requires an SBOM (require: [sbom]), one was given.
package gate.checks.sbom.present

meta := {
	"id": "SBOM-PRESENT",
	"title": "Required SBOM is present",
	"severity": "high",
	"remediation": concat(" ", [
		"Generate an SBOM (CycloneDX or SPDX JSON, e.g. with syft or cdxgen) in the pipeline",
		"and pass it to `gate check`.",
	]),
}

violation contains {"msg": msg, "subject": {"kind": "input", "path": null, "ref": "require:sbom", "line": null}} if {
	"sbom" in input.require
	count(input.sboms) == 0
	msg := "an SBOM is required (require: sbom) but none was given"
}
