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
# A component matches a pattern as in lib.matches_any: equal to it, or matched by it as a glob.
#
# Written for SBOMs with thousands of components (see lib.indexes): nothing is visited when no
# package is denied, equality is one set lookup per component, and only the patterns that can be
# globs (decided once) are tried as globs.
violation contains finding(sbom.path, c.purl, c.purl) if {
	count(patterns) > 0
	some i in lib.indexes(count(input.sboms))
	sbom := input.sboms[i]
	some c in sbom.components
	patterns[c.purl]
	lib.present(c.purl)
}

violation contains finding(sbom.path, c.purl, pattern) if {
	some pattern in globs
	some i in lib.indexes(count(input.sboms))
	sbom := input.sboms[i]
	some c in sbom.components
	is_string(c.purl)
	glob.match(pattern, null, c.purl)
	lib.present(c.purl)
}

patterns contains p if some p in lib.config_strings("denied_packages")

# The patterns lib.matches_any tries as globs.
globs contains p if {
	some p in patterns
	not regex.match(`[\[\]{}\\]`, p)
}

finding(path, purl, pattern) := {
	"msg": concat("", ["component ", purl, " is a denied package (matches ", pattern, ")"]),
	"subject": {"kind": "sbom", "path": path, "ref": purl, "line": null},
}
