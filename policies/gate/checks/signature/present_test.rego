package gate.checks.signature.present_test

import data.gate.checks.signature.present
import data.gate.testing as t

test_fires_when_required_and_nothing_is_signed if {
	vs := present.violation with input.require as ["signature"] with input.sboms as [] with input.signatures as []
	vs == {{
		"msg": "signatures are required (require: signature) but no signature was given",
		"subject": {"kind": "input", "path": null, "ref": "require:signature", "line": null},
	}}
}

test_fires_for_unsigned_sbom if {
	sboms := [t.sbom([], [])]
	sigs := [t.signature("dist/app.tgz", true)]
	vs := present.violation with input.require as ["signature"]
		with input.sboms as sboms
		with input.signatures as sigs
	vs == {{
		"msg": concat("", [
			"SBOM sbom.cdx.json has no signature (require: signature);",
			" expected a bundle such as sbom.cdx.json.sigstore.json",
		]),
		"subject": {"kind": "sbom", "path": "sbom.cdx.json", "ref": null, "line": null},
	}}
}

test_quiet_for_sbom_signed_by_path if {
	sboms := [t.sbom([], [])]
	sigs := [t.signature("sbom.cdx.json", true)]
	count(present.violation) == 0 with input.require as ["signature"]
		with input.sboms as sboms
		with input.signatures as sigs
}

test_quiet_for_sbom_signed_by_digest if {
	sboms := [t.sbom([], [])]
	artifact := {"path": "elsewhere/sbom.json", "sha256": t.sha}
	sig := object.union(t.signature("elsewhere/sbom.json", true), {"artifact": artifact})
	count(present.violation) == 0 with input.require as ["signature"]
		with input.sboms as sboms
		with input.signatures as [sig]
}

test_quiet_for_signed_artifacts_without_sbom if {
	sigs := [t.signature("dist/app.tgz", true)]
	count(present.violation) == 0 with input.require as ["signature"] with input.sboms as [] with input.signatures as sigs
}

test_quiet_when_not_required if {
	sboms := [t.sbom([], [])]
	count(present.violation) == 0 with input.require as [] with input.sboms as sboms with input.signatures as []
}
