# METADATA
# title: Signer is an allowed identity
# description: |-
#   When signer identities are configured, every certificate (keyless) signer is one of them.
#   A signature verified with a key of signatures.keys is judged by that key instead.
# custom:
#   id: SIG-IDENTITY
#   severity: critical
#   remediation: >-
#     Sign from an allowed workflow/identity, or add the signer to signatures.identities in
#     gate.yaml (issuer and san_regex).
package gate.checks.signature.identity

import data.gate.lib

meta := lib.check_meta(rego.metadata.chain())

# A signature that a key of signatures.keys verified has a configured signer; identities are about
# certificate (keyless) signers.
key_verified(sig) if {
	sig.verified == true
	lib.has_text(sig, ["key"])
}

# An identity matches when the issuer is equal and the SAN matches san_regex (RE2; the gate refuses
# (?i), which the embedded engine lacks). Whether the signature verified is SIG-VERIFIED's concern.
violation contains {
	"msg": msg,
	"subject": {"kind": "signature", "path": sig.path, "ref": sig.artifact.path, "line": null},
} if {
	identities := lib.config_list("identities")
	count(identities) > 0
	some sig in input.signatures
	not key_verified(sig)
	not allowed(identities, sig)
	msg := concat("", [
		lib.artifact_label(sig), " is signed by ", shown(sig.identity.san), " (issuer ",
		shown(sig.identity.issuer), "), which matches none of the allowed identities",
	])
}

allowed(identities, sig) if {
	is_string(sig.identity.san)
	some id in identities
	id.issuer == sig.identity.issuer
	is_string(id.san_regex)
	regex.match(id.san_regex, sig.identity.san)
}

shown(x) := x if {
	lib.present(x)
} else := "an unknown identity"
