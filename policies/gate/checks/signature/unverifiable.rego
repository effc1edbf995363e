# METADATA
# title: Signature can be verified
# description: |-
#   Every signature given is one the gate can check. A bundle it cannot judge (the message says
#   why in words, and which tool can: cosign verify-blob, sigstore-go), one whose artifact is not
#   there, or one signed by a key that signatures.keys does not hold is not known to be wrong, and
#   it is no evidence either: it is reported here, apart from SIG-VERIFIED (a signature proven
#   wrong).
# custom:
#   id: SIG-UNVERIFIABLE
#   severity: critical
#   remediation: >-
#     The signature is not known to be wrong, only not checked: do what the message says (pass
#     the signed artifact with --artifact, or verify the bundle with the tool it names, such as
#     cosign verify-blob or sigstore-go), or sign again with a current cosign or sigstore client,
#     whose bundles the gate verifies.
package gate.checks.signature.unverifiable

import data.gate.lib

meta := lib.check_meta(rego.metadata.chain())

violation contains {
	"msg": msg,
	"subject": {"kind": "signature", "path": sig.path, "ref": sig.artifact.path, "line": null},
	"remediation": fix,
} if {
	some sig in input.signatures
	sig.verified != true
	status := object.get(sig, "status", null)
	lib.unjudged_statuses[status]
	fix := fixes[status]
	msg := concat("", ["signature ", sig.path, " for ", lib.artifact_label(sig), " ", reason(sig)])
}

reason(sig) := sig.error if {
	lib.present(sig.error)
} else := "could not be verified: no reason was recorded"

fixes := {
	"unverifiable": meta.remediation,
	"key-unknown": concat("", [
		"Add the signer's public key (a PEM file such as cosign.pub) to signatures.keys in gate.yaml; ",
		"the gate then verifies the bundle with it.",
	]),
}
