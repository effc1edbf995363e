package gate.checks.signature.identity_test

import data.gate.checks.signature.identity
import data.gate.testing as t

# The allowed identities: acme's GitHub Actions workflows.
acme := [{"issuer": "https://token.actions.githubusercontent.com", "san_regex": "^https://github\\.com/acme/"}]

signed_by(san, issuer) := object.union(t.signature("dist/app.tgz", true), {"identity": {"san": san, "issuer": issuer}})

test_fires_for_foreign_signer if {
	san := "https://github.com/evil/x/.github/workflows/r.yml@refs/heads/main"
	cfg := {"identities": acme}
	sig := signed_by(san, "https://token.actions.githubusercontent.com")
	vs := identity.violation with input.signatures as [sig] with data.gate.config as cfg
	vs == {{
		"msg": concat("", [
			"dist/app.tgz is signed by https://github.com/evil/x/.github/workflows/r.yml@refs/heads/main",
			" (issuer https://token.actions.githubusercontent.com), which matches none of the allowed identities",
		]),
		"subject": {"kind": "signature", "path": "dist/app.tgz.sigstore.json", "ref": "dist/app.tgz", "line": null},
	}}
}

test_fires_for_wrong_issuer if {
	cfg := {"identities": acme}
	sig := signed_by("https://github.com/acme/x", "https://accounts.google.com")
	count(identity.violation) == 1 with input.signatures as [sig] with data.gate.config as cfg
}

test_fires_for_unknown_signer if {
	cfg := {"identities": acme}
	sig := object.union(t.signature("dist/app.tgz", false), {"identity": {"san": null, "issuer": null}})
	vs := identity.violation with input.signatures as [sig] with data.gate.config as cfg
	some v in vs
	v.msg == concat("", [
		"dist/app.tgz is signed by an unknown identity (issuer an unknown identity),",
		" which matches none of the allowed identities",
	])
}

test_quiet_for_allowed_signer if {
	cfg := {"identities": acme}
	sig := t.signature("dist/app.tgz", true)
	count(identity.violation) == 0 with input.signatures as [sig] with data.gate.config as cfg
}

test_quiet_when_no_identities_are_configured if {
	cfg := t.config
	sig := object.union(t.signature("dist/app.tgz", true), {"identity": {"san": "someone", "issuer": "x"}})
	count(identity.violation) == 0 with input.signatures as [sig] with data.gate.config as cfg
}

test_quiet_for_a_signature_verified_with_a_configured_key if {
	cfg := {"identities": acme}
	key_signed := {"key": "/etc/gate/cosign.pub", "identity": {"san": null, "issuer": null}}
	sig := object.union(t.signature("dist/app.tgz", true), key_signed)
	count(identity.violation) == 0 with input.signatures as [sig] with data.gate.config as cfg
}
