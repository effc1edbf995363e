# SBOM-PACKAGE-DENIED: no component is a package the organisation denies.
package gate.checks.sbom.package_denied

import data.gate.lib

meta := {
	"id": "SBOM-PACKAGE-DENIED",
	"title": "No component is a denied package",
	"severity": "critical",
	"remediation": "Remove the package or replace it; see why it is denied with the platform team.",
}

# denied_packages holds purls or purl globs (`*` spans any characters: "pkg:npm/event-stream@*").
violation contains {"msg": msg, "subject": {"kind": "sbom", "path": sbom.path, "ref": c.purl, "line": null}} if {
	some sbom in input.sboms
	some c in sbom.components
	lib.present(c.purl)
	some pattern in lib.config_strings("denied_packages")
	lib.matches_any([pattern], c.purl)
	msg := concat("", ["component ", c.purl, " is a denied package (matches ", pattern, ")"])
}
