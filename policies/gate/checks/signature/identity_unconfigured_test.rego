package gate.checks.signature.identity_unconfigured_test

import data.gate.checks.signature.identity_unconfigured
import data.gate.testing as t

acme := [{"issuer": "https://token.actions.githubusercontent.com", "san_regex": "^https://github\\.com/acme/"}]

test_fires_for_a_verified_signature_without_identities if {
	vs := identity_unconfigured.violation with input.signatures as [t.signature("dist/app.tgz", true)]
		with data.gate.config as t.config
	vs == {{
		"msg": concat("", [
			"signature dist/app.tgz.sigstore.json for dist/app.tgz verifies, but signatures.identities in gate.yaml",
			" is empty, so any signer would pass (this one is",
			" https://github.com/acme/payments/.github/workflows/release.yml@refs/heads/main,",
			" issuer https://token.actions.githubusercontent.com)",
		]),
		"subject": {"kind": "signature", "path": "dist/app.tgz.sigstore.json", "ref": "dist/app.tgz", "line": null},
	}}
}

test_fires_for_a_key_signed_result_without_keys if {
	sig := object.union(t.signature("img", true), {"source": "cosign", "identity": {"san": null, "issuer": null}})
	vs := identity_unconfigured.violation with input.signatures as [sig] with data.gate.config as t.config
	some v in vs
	endswith(v.msg, "(this one is signed by a key that signatures.keys does not name)")
}

test_quiet_for_a_key_signed_result_with_keys if {
	sig := object.union(t.signature("img", true), {"source": "cosign", "identity": {"san": null, "issuer": null}})
	count(identity_unconfigured.violation) == 0 with input.signatures as [sig]
		with data.gate.config as {"identities": [], "keys": ["cosign.pub"]}
}

test_quiet_for_a_bundle_verified_with_a_configured_key if {
	sig := object.union(t.signature("dist/app.tgz", true), {"key": "/etc/gate/cosign.pub"})
	count(identity_unconfigured.violation) == 0 with input.signatures as [sig] with data.gate.config as t.config
}

test_quiet_when_identities_are_configured if {
	count(identity_unconfigured.violation) == 0 with input.signatures as [t.signature("dist/app.tgz", true)]
		with data.gate.config as {"identities": acme}
}

test_quiet_for_unverified_signatures if {
	count(identity_unconfigured.violation) == 0 with input.signatures as [t.signature("dist/app.tgz", false)]
		with data.gate.config as t.config
}
