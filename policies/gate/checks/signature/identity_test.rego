package gate.checks.signature.identity_test

import data.gate.checks.signature.identity
import data.gate.testing as t

acme := {"identities": [{"issuer": "https://token.actions.githubusercontent.com", "san_regex": "^https://github\\.com/acme/"}]}

test_fires_for_foreign_signer if {
	cfg := acme
	sig := object.union(t.signature("dist/app.tgz", true), {"identity": {"san": "https://github.com/evil/x/.github/workflows/r.yml@refs/heads/main", "issuer": "https://token.actions.githubusercontent.com"}})
	vs := identity.violation with input.signatures as [sig] with data.gate.config as cfg
	vs == {{
		"msg": "dist/app.tgz is signed by https://github.com/evil/x/.github/workflows/r.yml@refs/heads/main (issuer https://token.actions.githubusercontent.com), which matches none of the allowed identities",
		"subject": {"kind": "signature", "path": "dist/app.tgz.sigstore.json", "ref": "dist/app.tgz", "line": null},
	}}
}

test_fires_for_wrong_issuer if {
	cfg := acme
	sig := object.union(t.signature("dist/app.tgz", true), {"identity": {"san": "https://github.com/acme/x", "issuer": "https://accounts.google.com"}})
	count(identity.violation) == 1 with input.signatures as [sig] with data.gate.config as cfg
}

test_fires_for_unknown_signer if {
	cfg := acme
	sig := object.union(t.signature("dist/app.tgz", false), {"identity": {"san": null, "issuer": null}})
	vs := identity.violation with input.signatures as [sig] with data.gate.config as cfg
	some v in vs
	v.msg == "dist/app.tgz is signed by an unknown identity (issuer an unknown identity), which matches none of the allowed identities"
}

test_quiet_for_allowed_signer if {
	cfg := acme
	count(identity.violation) == 0 with input.signatures as [t.signature("dist/app.tgz", true)] with data.gate.config as cfg
}

test_quiet_when_no_identities_are_configured if {
	cfg := t.config
	sig := object.union(t.signature("dist/app.tgz", true), {"identity": {"san": "someone", "issuer": "x"}})
	count(identity.violation) == 0 with input.signatures as [sig] with data.gate.config as cfg
}
