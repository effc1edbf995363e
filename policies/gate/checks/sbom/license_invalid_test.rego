package gate.checks.sbom.license_invalid_test

import data.gate.checks.sbom.license_invalid
import data.gate.testing as t

with_invalid(c, entries) := object.union(c, {"invalid_licenses": entries})

test_fires_for_each_invalid_entry if {
	c := with_invalid(
		t.comp("foo", "pkg:npm/foo@1.0.0", ["MIT", "GPL-3.0-only"]),
		[{"value": "MIT/GPL-3.0-only", "reason": "unknown license id 'MIT/GPL-3.0-only'"}],
	)
	sboms := [t.sbom([c], [])]
	vs := license_invalid.violation with input.sboms as sboms
	vs == {{
		"msg": concat("", [
			"component pkg:npm/foo@1.0.0 has the license \"MIT/GPL-3.0-only\", which is not a valid SPDX ",
			"expression (unknown license id 'MIT/GPL-3.0-only')",
		]),
		"subject": {"kind": "sbom", "path": "sbom.cdx.json", "ref": "pkg:npm/foo@1.0.0", "line": null},
	}}
}

test_names_a_component_without_purl if {
	c := with_invalid(t.comp("foo", null, []), [{"value": "(MIT", "reason": "Invalid expression"}])
	sboms := [t.sbom([c], [])]
	vs := license_invalid.violation with input.sboms as sboms
	[v.subject.ref | some v in vs] == ["foo@1.0.0"]
}

test_quiet_without_invalid_entries if {
	plain := [t.sbom([t.comp("foo", "pkg:npm/foo@1.0.0", ["MIT"])], [])]
	count(license_invalid.violation) == 0 with input.sboms as plain
	empty := [t.sbom([with_invalid(t.comp("foo", null, ["MIT"]), [])], [])]
	count(license_invalid.violation) == 0 with input.sboms as empty
}
