package gate.checks.provenance.verified_test

import data.gate.checks.provenance.verified
import data.gate.testing as t

acme := [{"issuer": "https://token.actions.githubusercontent.com", "san_regex": "^https://github\\.com/acme/"}]

acme_san := "https://github.com/acme/payments/.github/workflows/release.yml@refs/heads/main"

unverified(status, error) := object.union(
	t.provenance("b", "git+https://github.com/acme/payments"),
	{"verified": false, "status": status, "error": error, "key": null},
)

keyless(san) := object.union(
	t.provenance("b", "git+https://github.com/acme/payments"),
	{"key": null, "identity": {"san": san, "issuer": "https://token.actions.githubusercontent.com"}},
)

test_fires_for_a_bare_statement if {
	att := unverified("unsigned", "it is a bare in-toto statement, with no signature")
	vs := verified.violation with input.attestations as [att]
	[v] := [v | some v in vs]
	v.msg == "provenance for app.tgz is not verified (no signature): it is a bare in-toto statement, with no signature"
	v.subject == {"kind": "attestation", "path": "app.intoto.jsonl", "ref": "app.tgz", "line": 3}
	contains(v.remediation, "bare statement")
}

test_each_reason_has_its_own_fix if {
	ku := verified.violation with input.attestations as [unverified("key-unknown", "w")]
	{v.msg | some v in ku} == {"provenance for app.tgz is not verified (key unknown): w"}
	sw := verified.violation with input.attestations as [unverified("failed", "w")]
	{v.msg | some v in sw} == {"provenance for app.tgz is not verified (signature wrong): w"}
	nc := verified.violation with input.attestations as [unverified("unverifiable", "w")]
	{v.msg | some v in nc} == {"provenance for app.tgz is not verified (signature not checked): w"}
	count({v.remediation | some v in ((ku | sw) | nc)}) == 3
}

test_missing_status_is_not_checked if {
	att := object.remove(unverified("x", null), ["status", "error"])
	vs := verified.violation with input.attestations as [att]
	some v in vs
	v.msg == "provenance for app.tgz is not verified (signature not checked): no verification result was recorded"
}

test_keyless_signer_needs_a_configured_identity if {
	vs := verified.violation with input.attestations as [keyless(acme_san)] with data.gate.config as t.config
	some v in vs
	v.msg == concat("", [
		"provenance for app.tgz is not verified (signer not accepted): it is signed by ", acme_san,
		" (issuer https://token.actions.githubusercontent.com), which no identity in signatures.identities",
		" accepts (none is configured)",
	])
}

test_keyless_signer_outside_the_identities if {
	att := keyless("https://github.com/evil/x/.github/workflows/r.yml@refs/heads/malicious")
	vs := verified.violation with input.attestations as [att] with data.gate.config as {"identities": acme}
	some v in vs
	endswith(v.msg, "which matches none of signatures.identities")
}

test_quiet_for_an_allowed_keyless_signer if {
	count(verified.violation) == 0 with input.attestations as [keyless(acme_san)]
		with data.gate.config as {"identities": acme}
}

test_quiet_for_a_key_verified_statement if {
	count(verified.violation) == 0 with input.attestations as [t.provenance("b", null)]
}

test_quiet_for_other_predicates if {
	att := object.union(unverified("unsigned", "x"), {"predicate_type": "https://cyclonedx.org/bom"})
	count(verified.violation) == 0 with input.attestations as [att]
}
