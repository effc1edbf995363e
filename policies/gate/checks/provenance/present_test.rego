package gate.checks.provenance.present_test

import data.gate.checks.provenance.present
import data.gate.testing as t

test_fires_when_required_and_missing if {
	other := object.union(t.provenance("b", null), {"predicate_type": "https://cyclonedx.org/bom"})
	vs := present.violation with input.require as ["provenance"] with input.attestations as [other]
	vs == {{
		"msg": "SLSA provenance is required (require: provenance) but no provenance attestation was given",
		"subject": {"kind": "input", "path": null, "ref": "require:provenance", "line": null},
	}}
}

test_quiet_when_given if {
	count(present.violation) == 0 with input.require as ["provenance"] with input.attestations as [t.provenance("b", null)]
}

test_quiet_when_not_required if {
	count(present.violation) == 0 with input.require as ["sbom"] with input.attestations as []
}

test_unverified_provenance_does_not_satisfy_require if {
	att := object.union(t.provenance("b", null), {"verified": false, "status": "unsigned", "key": null})
	vs := present.violation with input.require as ["provenance"] with input.attestations as [att]
	vs == {{
		"msg": concat("", [
			"SLSA provenance is required (require: provenance) but none of the 1 provenance attestations",
			" given is verified (PROV-VERIFIED says why)",
		]),
		"subject": {"kind": "input", "path": null, "ref": "require:provenance", "line": null},
	}}
}

test_keyless_provenance_counts_with_an_allowed_identity if {
	san := "https://github.com/acme/payments/.github/workflows/release.yml@refs/heads/main"
	issuer := "https://token.actions.githubusercontent.com"
	att := object.union(t.provenance("b", null), {"key": null, "identity": {"san": san, "issuer": issuer}})
	ids := [{"issuer": issuer, "san_regex": "^https://github\\.com/acme/"}]
	count(present.violation) == 0 with input.require as ["provenance"] with input.attestations as [att]
		with data.gate.config as {"identities": ids}
	count(present.violation) == 1 with input.require as ["provenance"] with input.attestations as [att]
		with data.gate.config as {"identities": []}
}
