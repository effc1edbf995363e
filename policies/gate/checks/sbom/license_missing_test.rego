package gate.checks.sbom.license_missing_test

import data.gate.checks.sbom.license_missing
import data.gate.testing as t

test_fires_without_license if {
	vs := license_missing.violation with input.sboms as [t.sbom([t.comp("foo", "pkg:npm/foo@1.0.0", [])], [])]
	vs == {{
		"msg": "component pkg:npm/foo@1.0.0 has no license",
		"subject": {"kind": "sbom", "path": "sbom.cdx.json", "ref": "pkg:npm/foo@1.0.0", "line": null},
	}}
}

test_noassertion_counts_as_missing if {
	sbom := t.sbom([t.comp("foo", "pkg:npm/foo@1.0.0", ["NOASSERTION"])], [])
	count(license_missing.violation) == 1 with input.sboms as [sbom]
}

test_quiet_with_license if {
	count(license_missing.violation) == 0 with input.sboms as [t.sbom([t.comp("foo", "pkg:npm/foo@1.0.0", ["MIT"])], [])]
}

test_quiet_with_license_name if {
	c := object.union(t.comp("foo", "pkg:npm/foo@1.0.0", []), {"licenses": [{"kind": "name", "value": "Acme Commercial"}]})
	count(license_missing.violation) == 0 with input.sboms as [t.sbom([c], [])]
}
