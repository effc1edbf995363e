package gate.checks.sbom.purl_missing_test

import data.gate.checks.sbom.purl_missing
import data.gate.testing as t

test_fires_without_purl if {
	vs := purl_missing.violation with input.sboms as [t.sbom([t.comp("foo", null, ["MIT"])], [])]
	vs == {{
		"msg": "component foo@1.0.0 has no purl",
		"subject": {"kind": "sbom", "path": "sbom.cdx.json", "ref": "foo@1.0.0", "line": null},
	}}
}

test_unversioned_component_is_named if {
	c := object.union(t.comp("foo", "", ["MIT"]), {"version": null})
	vs := purl_missing.violation with input.sboms as [t.sbom([c], [])]
	some v in vs
	v.subject.ref == "foo"
}

test_quiet_with_purl if {
	count(purl_missing.violation) == 0 with input.sboms as [t.sbom([t.comp("foo", "pkg:npm/foo@1.0.0", ["MIT"])], [])]
}
