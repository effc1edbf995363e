# METADATA
# title: Every component has a license
# description: |-
#   Every component states its license.
# custom:
#   id: SBOM-LICENSE-MISSING
#   severity: low
#   remediation: >-
#     Use an SBOM generator that records licenses (e.g. syft, cdxgen), or add the license by
#     hand.
package gate.checks.sbom.license_missing

import data.gate.lib

meta := lib.check_meta(rego.metadata.chain())

violation contains {"msg": msg, "subject": {"kind": "sbom", "path": sbom.path, "ref": ref, "line": null}} if {
	some sbom in input.sboms
	some c in sbom.components
	unlicensed(c)
	ref := lib.component_ref(c)
	msg := concat("", ["component ", ref, " has no license"])
}

# SPDX's NOASSERTION and NONE say that no license is known; they count as missing.
unknown := {"noassertion", "none", ""}

# No license entry and no license id names a license.
unlicensed(c) if {
	count([l | some l in c.licenses; v := l.value; is_string(v); not unknown[lower(trim_space(v))]]) == 0
	count([v | some v in c.license_ids; is_string(v); not unknown[lower(trim_space(v))]]) == 0
}
