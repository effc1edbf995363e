# METADATA
# title: Required provenance is present
# description: |-
#   When the configuration requires provenance (require: [provenance]), an SLSA
#   provenance attestation was given. Not in the design's baseline table: without it,
#   `require: [provenance]` would be accepted and silently ignored.
# custom:
#   id: PROV-PRESENT
#   severity: high
#   remediation: >-
#     Generate SLSA provenance in the pipeline (e.g. slsa-github-generator or
#     actions/attest-build-provenance) and pass the .intoto.jsonl file to `gate check`.
package gate.checks.provenance.present

import data.gate.lib

meta := lib.check_meta(rego.metadata.chain())

violation contains {
	"msg": msg,
	"subject": {"kind": "input", "path": null, "ref": "require:provenance", "line": null},
} if {
	"provenance" in input.require
	not any_provenance
	msg := "SLSA provenance is required (require: provenance) but no provenance attestation was given"
}

any_provenance if {
	some att in input.attestations
	lib.is_provenance(att)
}
