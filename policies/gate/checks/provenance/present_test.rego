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
