package gate.checks.signature.unverifiable_test

import data.gate.checks.signature.unverifiable
import data.gate.testing as t

unjudged(status, error) := object.union(t.signature("dist/app.tgz", false), {"status": status, "error": error})

test_fires_for_a_bundle_the_gate_cannot_judge if {
	sig := unjudged("unverifiable", "could not be verified: its log entry is of kind rekord/0.0.1")
	vs := unverifiable.violation with input.signatures as [sig]
	[v] := [v | some v in vs]
	v.msg == concat("", [
		"signature dist/app.tgz.sigstore.json for dist/app.tgz",
		" could not be verified: its log entry is of kind rekord/0.0.1",
	])
	v.subject == {"kind": "signature", "path": "dist/app.tgz.sigstore.json", "ref": "dist/app.tgz", "line": null}
	not contains(v.remediation, "Re-sign")
}

test_key_unknown_says_to_configure_the_key if {
	sig := unjudged("key-unknown", "could not be verified: the bundle is signed with a public key")
	vs := unverifiable.violation with input.signatures as [sig]
	some v in vs
	contains(v.remediation, "signatures.keys")
}

test_without_reason if {
	vs := unverifiable.violation with input.signatures as [unjudged("unverifiable", null)]
	some v in vs
	v.msg == "signature dist/app.tgz.sigstore.json for dist/app.tgz could not be verified: no reason was recorded"
}

test_quiet_for_proven_wrong_and_verified if {
	sigs := [t.signature("dist/app.tgz", false), t.signature("dist/b.tgz", true)]
	count(unverifiable.violation) == 0 with input.signatures as sigs
}
