package gate.checks.sbom.purl_invalid_test

import data.gate.checks.sbom.purl_invalid
import data.gate.testing as t

test_fires_for_a_purl_that_does_not_parse if {
	c := object.union(
		t.comp("foo", "npm/foo@1.0.0", ["MIT"]),
		{"purl_normalised": null, "purl_error": "purl is missing the required \"pkg\" scheme component"},
	)
	vs := purl_invalid.violation with input.sboms as [t.sbom([c], [])]
	vs == {{
		"msg": concat("", [
			"component foo@1.0.0 has the purl \"npm/foo@1.0.0\", which is not a valid package URL ",
			"(purl is missing the required \"pkg\" scheme component)",
		]),
		"subject": {"kind": "sbom", "path": "sbom.cdx.json", "ref": "foo@1.0.0", "line": null},
	}}
}

test_quiet_for_a_valid_or_missing_purl if {
	ok := object.union(t.comp("foo", "pkg:npm/foo@1.0.0", ["MIT"]), {"purl_normalised": "pkg:npm/foo@1.0.0"})
	none := object.union(t.comp("bar", null, ["MIT"]), {"purl_normalised": null})
	count(purl_invalid.violation) == 0 with input.sboms as [t.sbom([ok, none], [])]
}
