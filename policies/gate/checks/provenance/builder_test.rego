package gate.checks.provenance.builder_test

import data.gate.checks.provenance.builder
import data.gate.testing as t

generator := concat("", [
	"https://github.com/slsa-framework/slsa-github-generator",
	"/.github/workflows/generator_generic_slsa3.yml@refs/tags/v2.0.0",
])

test_fires_for_unlisted_builder if {
	att := t.provenance("https://example.com/homemade-builder", "git+https://github.com/acme/payments")
	vs := builder.violation with input.attestations as [att]
		with data.gate.config as {"allowed_builders": ["https://github.com/slsa-framework/slsa-github-generator/*"]}
	vs == {{
		"msg": "provenance for app.tgz was built by https://example.com/homemade-builder, which is not in allowed_builders",
		"subject": {"kind": "attestation", "path": "app.intoto.jsonl", "ref": "app.tgz", "line": 3},
	}}
}

test_fires_without_builder_id if {
	att := t.provenance(null, "git+https://github.com/acme/payments")
	vs := builder.violation with input.attestations as [att] with data.gate.config as {"allowed_builders": ["x"]}
	some v in vs
	v.msg == "provenance for app.tgz was built by an unnamed builder, which is not in allowed_builders"
}

test_quiet_for_allowed_builder_glob if {
	att := t.provenance(generator, "git+https://github.com/acme/payments")
	count(builder.violation) == 0 with input.attestations as [att]
		with data.gate.config as {"allowed_builders": ["https://github.com/slsa-framework/slsa-github-generator/*"]}
}

test_quiet_for_exact_builder if {
	att := t.provenance(generator, "git+https://github.com/acme/payments")
	allowed := {"allowed_builders": [generator]}
	count(builder.violation) == 0 with input.attestations as [att] with data.gate.config as allowed
}

test_quiet_when_not_configured if {
	cfg := t.config
	att := t.provenance("https://example.com/homemade-builder", null)
	count(builder.violation) == 0 with input.attestations as [att] with data.gate.config as cfg
}

test_quiet_for_other_predicates if {
	att := object.union(t.provenance("x", null), {"predicate_type": "https://cyclonedx.org/bom"})
	count(builder.violation) == 0 with input.attestations as [att] with data.gate.config as {"allowed_builders": ["y"]}
}
