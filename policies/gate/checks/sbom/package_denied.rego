# METADATA
# title: No component is a denied package
# description: |-
#   No component is a package the organisation denies.
# custom:
#   id: SBOM-PACKAGE-DENIED
#   severity: critical
#   remediation: Remove the package or replace it; see why it is denied with the platform team.
package gate.checks.sbom.package_denied

import data.gate.lib

meta := lib.check_meta(rego.metadata.chain())

# denied_packages holds purls or purl globs (`*` spans any characters: "pkg:npm/event-stream@*").
# Both sides are normalised per the purl spec before they get here (gate/collect/purls.py): a
# component's purl_normalised is `pkg:type/namespace/name@version` with the type's case rules and
# canonical percent-encoding, without qualifiers or subpath, and the gate hands the patterns over
# normalised the same way (a pattern with version `*` or none also matches the purl without a
# version). A component matches a pattern as in lib.matches_any: equal to it, or matched by it as
# a glob. The message names the purl as written.
# Equality is one set lookup per component; only the patterns that can be globs (decided once)
# are tried as globs.
violation contains finding(sbom.path, c, c.purl_normalised) if {
	count(patterns) > 0
	some sbom in input.sboms
	some c in sbom.components
	patterns[c.purl_normalised]
}

violation contains finding(sbom.path, c, pattern) if {
	some pattern in globs
	some sbom in input.sboms
	some c in sbom.components
	is_string(c.purl_normalised)
	glob.match(pattern, null, c.purl_normalised)
}

patterns contains p if some p in lib.config_strings("denied_packages")

# The patterns lib.matches_any tries as globs.
globs contains p if {
	some p in patterns
	not regex.match(`[\[\]{}\\]`, p)
}

finding(path, c, pattern) := {
	"msg": concat("", ["component ", ref, " is a denied package (matches ", pattern, ")"]),
	"subject": {"kind": "sbom", "path": path, "ref": ref, "line": null},
} if {
	ref := lib.component_ref(c)
}
