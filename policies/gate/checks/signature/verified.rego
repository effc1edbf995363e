# METADATA
# title: Signature verifies
# description: |-
#   No signature given is proven wrong: every signature the gate can check verifies. A bundle
#   the gate cannot judge, or one signed by a key that is not configured, is SIG-UNVERIFIABLE.
# custom:
#   id: SIG-VERIFIED
#   severity: critical
#   remediation: >-
#     Re-sign the artifact as it is now; a signature that does not verify means the artifact or
#     the bundle changed, or the wrong trust root or key is configured (signatures.trust_root,
#     signatures.keys).
package gate.checks.signature.verified

import data.gate.lib

meta := lib.check_meta(rego.metadata.chain())

violation contains {
	"msg": msg,
	"subject": {"kind": "signature", "path": sig.path, "ref": sig.artifact.path, "line": null},
} if {
	some sig in input.signatures
	sig.verified != true
	not lib.unjudged_statuses[object.get(sig, "status", null)]
	msg := concat("", ["signature ", sig.path, " for ", lib.artifact_label(sig), " did not verify: ", reason(sig)])
}

reason(sig) := sig.error if {
	lib.present(sig.error)
} else := "no reason was recorded"
