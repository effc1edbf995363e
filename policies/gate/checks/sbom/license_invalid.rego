# METADATA
# title: Every license is a valid SPDX expression
# description: |-
#   Every license id and expression is valid SPDX, so none can slip past
#   SBOM-LICENSE-DENIED by being written oddly ("MIT/GPL-3.0-only", "MIT with GPL-3.0-only",
#   look-alike letters, unknown ids).
# custom:
#   id: SBOM-LICENSE-INVALID
#   severity: high
#   remediation: >-
#     Write the license as a valid SPDX expression: ids from the SPDX license list joined by
#     AND, OR and WITH (for example `MIT OR GPL-3.0-only`), or a `LicenseRef-` for a license the
#     list lacks.
package gate.checks.sbom.license_invalid

import data.gate.lib

meta := lib.check_meta(rego.metadata.chain())

# The collectors list what does not parse in invalid_licenses (value as written, and why); the
# known ids inside it are still in license_ids. Only components with such entries are visited
# past one lookup.
violation contains {"msg": msg, "subject": {"kind": "sbom", "path": sbom.path, "ref": ref, "line": null}} if {
	some sbom in input.sboms
	some c in sbom.components
	some bad in c.invalid_licenses
	ref := lib.component_ref(c)
	msg := concat("", [
		"component ", ref, " has the license ", lib.quote(bad.value),
		", which is not a valid SPDX expression (", bad.reason, ")",
	])
}
