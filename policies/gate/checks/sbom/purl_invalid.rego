# METADATA
# title: Every purl is a valid package URL
# description: |-
#   Every purl is a package URL, so SBOM-PACKAGE-DENIED can match it.
# custom:
#   id: SBOM-PURL-INVALID
#   severity: high
#   remediation: >-
#     Write the purl as the purl spec says (`pkg:type/namespace/name@version`, for example
#     `pkg:npm/left-pad@1.3.0`), or regenerate the SBOM.
package gate.checks.sbom.purl_invalid

import data.gate.lib

meta := lib.check_meta(rego.metadata.chain())

# The collectors set purl_error only for a purl that does not parse (and then no purl_normalised).
# The component is named by name and version: its purl is what is wrong.
violation contains {"msg": msg, "subject": {"kind": "sbom", "path": sbom.path, "ref": ref, "line": null}} if {
	some sbom in input.sboms
	some c in sbom.components
	reason := c.purl_error
	ref := lib.component_ref(object.remove(c, ["purl"]))
	msg := concat("", [
		"component ", ref, " has the purl ", lib.quote(c.purl),
		", which is not a valid package URL (", reason, ")",
	])
}
