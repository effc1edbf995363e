# METADATA
# title: Signer identities are configured
# description: |-
#   Signatures are judged against a configured signer: when a signature verifies and
#   signatures.identities is empty (and, for a key-signed one, signatures.keys too), any validly
#   signed artifact would pass, whoever signed it. Key-signed bundles the gate verified with a key
#   of signatures.keys have a configured signer by construction.
# custom:
#   id: SIG-IDENTITY-UNCONFIGURED
#   severity: high
#   remediation: >-
#     List the signers you accept under signatures.identities in gate.yaml (issuer and san_regex,
#     e.g. your release workflow), or signatures.keys for key-signed artifacts.
package gate.checks.signature.identity_unconfigured

import data.gate.lib

meta := lib.check_meta(rego.metadata.chain())

violation contains {
	"msg": msg,
	"subject": {"kind": "signature", "path": sig.path, "ref": sig.artifact.path, "line": null},
} if {
	count(lib.config_list("identities")) == 0
	some sig in input.signatures
	sig.verified == true
	not lib.has_text(sig, ["key"])
	unconfigured(sig)
	msg := concat("", [
		"signature ", sig.path, " for ", lib.artifact_label(sig), " verifies, but signatures.identities ",
		"in gate.yaml is empty, so any signer would pass (this one is ", signer(sig), ")",
	])
}

# A keyless signer (a certificate identity) needs an identity; a key-signed one (no identity) needs
# a configured key.
unconfigured(sig) if lib.has_text(sig, ["identity", "san"])

unconfigured(sig) if lib.has_text(sig, ["identity", "issuer"])

unconfigured(sig) if {
	not lib.has_text(sig, ["identity", "san"])
	not lib.has_text(sig, ["identity", "issuer"])
	count(lib.config_list("keys")) == 0
}

signer(sig) := concat("", [sig.identity.san, ", issuer ", lib.str(sig.identity, "issuer", "unknown")]) if {
	lib.has_text(sig, ["identity", "san"])
} else := "signed by a key that signatures.keys does not name"
