# METADATA
# title: Provenance comes from an allowed builder
# description: |-
#   When allowed builders are configured, provenance comes from one of them.
# custom:
#   id: PROV-BUILDER
#   severity: high
#   remediation: >-
#     Build with an allowed builder (e.g. the SLSA GitHub generator), or add this builder id to
#     data.allowed_builders in gate.yaml.
package gate.checks.provenance.builder

import data.gate.lib

meta := lib.check_meta(rego.metadata.chain())

# Entries of allowed_builders are builder ids or globs (`*` spans any characters, e.g.
# "https://github.com/slsa-framework/slsa-github-generator/*"). An empty list means "not configured".
violation contains {
	"msg": msg,
	"subject": {
		"kind": "attestation",
		"path": att.path,
		"ref": lib.attestation_ref(att),
		"line": lib.attestation_line(att),
	},
} if {
	allowed := lib.config_strings("allowed_builders")
	count(allowed) > 0
	some att in input.attestations
	lib.is_provenance(att)
	not from_allowed_builder(allowed, att)
	msg := concat("", [
		"provenance for ", lib.attestation_label(att), " was built by ", shown(att.builder_id),
		", which is not in allowed_builders",
	])
}

from_allowed_builder(allowed, att) if {
	id := att.builder_id
	is_string(id)
	lib.matches_any(allowed, id)
}

shown(id) := id if {
	lib.present(id)
} else := "an unnamed builder"
