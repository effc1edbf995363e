# METADATA
# title: Every component has a purl
# description: |-
#   Every component has a package URL, so scanners and policies can identify it.
# custom:
#   id: SBOM-PURL-MISSING
#   severity: low
#   remediation: >-
#     Use an SBOM generator that records package URLs (purl), or add `purl` to the component.
package gate.checks.sbom.purl_missing

import data.gate.lib

meta := lib.check_meta(rego.metadata.chain())

violation contains {"msg": msg, "subject": {"kind": "sbom", "path": sbom.path, "ref": ref, "line": null}} if {
	some sbom in input.sboms
	some c in sbom.components
	not has_purl(c)
	ref := lib.component_ref(c)
	msg := concat("", ["component ", ref, " has no purl"])
}

has_purl(c) if {
	is_string(c.purl)
	trim_space(c.purl) != ""
}
