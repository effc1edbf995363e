# SBOM-PURL-MISSING: every component has a package URL, so scanners and policies can identify it.
package gate.checks.sbom.purl_missing

import data.gate.lib

meta := {
	"id": "SBOM-PURL-MISSING",
	"title": "Every component has a purl",
	"severity": "low",
	"remediation": "Use an SBOM generator that records package URLs (purl), or add `purl` to the component.",
}

violation contains {"msg": msg, "subject": {"kind": "sbom", "path": sbom.path, "ref": lib.component_ref(c), "line": null}} if {
	some sbom in input.sboms
	some c in sbom.components
	not lib.has_text(c, ["purl"])
	msg := concat("", ["component ", lib.component_ref(c), " has no purl"])
}
