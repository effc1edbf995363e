package gate.checks.sbom.present_test

import data.gate.checks.sbom.present
import data.gate.testing as t

test_fires_when_required_and_missing if {
	vs := present.violation with input.require as ["sbom"] with input.sboms as []
	vs == {{
		"msg": "an SBOM is required (require: sbom) but none was given",
		"subject": {"kind": "input", "path": null, "ref": "require:sbom", "line": null},
	}}
}

test_quiet_when_given if {
	count(present.violation) == 0 with input.require as ["sbom"] with input.sboms as [t.sbom([], [])]
}

test_quiet_when_not_required if {
	count(present.violation) == 0 with input.require as ["signature"] with input.sboms as []
}
