package gate.checks.signature.verified_test

import data.gate.checks.signature.verified
import data.gate.testing as t

test_fires_for_failed_verification if {
	sig := object.union(t.signature("dist/app.tgz", false), {"error": "digest mismatch"})
	vs := verified.violation with input.signatures as [sig]
	vs == {{
		"msg": "signature dist/app.tgz.sigstore.json for dist/app.tgz did not verify: digest mismatch",
		"subject": {"kind": "signature", "path": "dist/app.tgz.sigstore.json", "ref": "dist/app.tgz", "line": null},
	}}
}

test_fires_without_reason if {
	vs := verified.violation with input.signatures as [t.signature("dist/app.tgz", false)]
	some v in vs
	v.msg == "signature dist/app.tgz.sigstore.json for dist/app.tgz did not verify: no reason was recorded"
}

test_unknown_artifact_is_named_by_digest if {
	sig := object.union(t.signature("x", false), {"artifact": {"path": null, "sha256": "ab12"}})
	vs := verified.violation with input.signatures as [sig]
	some v in vs
	v.subject.ref == null
	v.msg == "signature x.sigstore.json for the artifact with sha256 ab12 did not verify: no reason was recorded"
}

test_unknown_artifact_without_digest if {
	sig := object.union(t.signature("x", false), {"artifact": {"path": null, "sha256": null}})
	vs := verified.violation with input.signatures as [sig]
	some v in vs
	v.msg == "signature x.sigstore.json for an unnamed artifact did not verify: no reason was recorded"
}

test_quiet_when_verified if {
	count(verified.violation) == 0 with input.signatures as [t.signature("dist/app.tgz", true)]
}

test_quiet_for_signatures_it_cannot_judge if {
	sigs := [object.union(t.signature("dist/app.tgz", false), {"status": s}) | some s in ["unverifiable", "key-unknown"]]
	count(verified.violation) == 0 with input.signatures as sigs
}
