# METADATA
# title: Required provenance is present
# description: |-
#   When the configuration requires provenance (require: [provenance]), a verified SLSA
#   provenance attestation was given: its signature verified with a key of signatures.keys, or
#   keyless by a signer that matches signatures.identities. Unsigned or unverified provenance does
#   not count (PROV-VERIFIED says why each one is not verified). Not in the design's baseline table:
#   without it, `require: [provenance]` would be accepted and silently ignored.
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
	count(given) == 0
	msg := "SLSA provenance is required (require: provenance) but no provenance attestation was given"
}

violation contains {
	"msg": msg,
	"subject": {"kind": "input", "path": null, "ref": "require:provenance", "line": null},
} if {
	"provenance" in input.require
	count(given) > 0
	not any_verified
	msg := concat("", [
		"SLSA provenance is required (require: provenance) but none of the ", format_int(count(given), 10),
		" provenance attestations given is verified (PROV-VERIFIED says why)",
	])
}

given := [att | some att in input.attestations; lib.is_provenance(att)]

any_verified if {
	some att in input.attestations
	lib.verified_provenance(att)
}
