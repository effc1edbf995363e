# METADATA
# title: Provenance is verified
# description: |-
#   Every SLSA provenance attestation carries a signature that verified, by a key of
#   signatures.keys or keyless by a signer that matches signatures.identities. The message says
#   why one is not: no signature (a bare statement), key unknown (signed by a key that is not
#   configured), signature wrong (it does not verify), signature not checked (the gate cannot
#   check it; the message names the tool that can), or signer not accepted. Unverified provenance
#   does not satisfy `require: [provenance]` either.
# custom:
#   id: PROV-VERIFIED
#   severity: critical
#   remediation: >-
#     Pass the signed provenance (the DSSE envelope or sigstore bundle your builder produced) and
#     configure who may sign it (signatures.keys or signatures.identities in gate.yaml).
package gate.checks.provenance.verified

import data.gate.lib

meta := lib.check_meta(rego.metadata.chain())

violation contains {
	"msg": msg,
	"subject": {
		"kind": "attestation",
		"path": att.path,
		"ref": lib.attestation_ref(att),
		"line": lib.attestation_line(att),
	},
	"remediation": fix,
} if {
	some att in input.attestations
	lib.is_provenance(att)
	not lib.verified_provenance(att)
	why := reason(att)
	fix := fixes[why]
	msg := concat("", ["provenance for ", lib.attestation_label(att), " is not verified (", why, "): ", detail(att)])
}

reason(att) := "signer not accepted" if {
	att.verified == true
} else := kinds[object.get(att, "status", null)] if {
	kinds[object.get(att, "status", null)]
} else := "signature not checked"

kinds := {
	"unsigned": "no signature",
	"key-unknown": "key unknown",
	"failed": "signature wrong",
	"unverifiable": "signature not checked",
}

detail(att) := concat("", [
	"it is signed by ", shown(att.identity.san), " (issuer ", shown(att.identity.issuer), "), which ",
	unaccepted_words,
]) if {
	att.verified == true
} else := att.error if {
	lib.present(att.error)
} else := "no verification result was recorded"

default unaccepted_words := "no identity in signatures.identities accepts (none is configured)"

unaccepted_words := "matches none of signatures.identities" if count(lib.config_list("identities")) > 0

shown(x) := x if {
	lib.present(x)
} else := "an unknown identity"

fixes := {
	"no signature": concat("", [
		"Pass the signed provenance instead of the bare statement: the .intoto.jsonl DSSE envelope or the ",
		"sigstore bundle the builder produced (e.g. slsa-github-generator, `gh attestation download`).",
	]),
	"key unknown": concat("", [
		"Add the public key that signs the provenance (a PEM file) to signatures.keys in gate.yaml, ",
		"or pass the provenance as a sigstore bundle.",
	]),
	"signature wrong": concat("", [
		"Regenerate the provenance from the build: its signature does not match its content, so the ",
		"statement or the envelope was changed (or signatures.keys / signatures.trust_root is not the ",
		"signer's).",
	]),
	"signature not checked": concat("", [
		"Verify the provenance with the tool the message names (slsa-verifier, `cosign ",
		"verify-blob-attestation`), or pass it in a form the gate checks: a sigstore bundle, or a DSSE ",
		"envelope signed by a key in signatures.keys.",
	]),
	"signer not accepted": concat("", [
		"Add the builder's signing identity to signatures.identities in gate.yaml (issuer and ",
		"san_regex), or build the provenance from an identity listed there.",
	]),
}
