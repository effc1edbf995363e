package gate.checks.sbom.valid_test

import data.gate.checks.sbom.valid
import data.gate.testing as t

test_fires_for_invalid_sbom if {
	bad := object.union(t.sbom([], []), {"valid": false, "errors": ["/components/0: 'name' is a required property"]})
	vs := valid.violation with input.sboms as [bad]
	vs == {{
		"msg": "SBOM sbom.cdx.json fails the CycloneDX 1.5 schema: /components/0: 'name' is a required property",
		"subject": {"kind": "sbom", "path": "sbom.cdx.json", "ref": null, "line": null},
	}}
}

test_names_spdx if {
	bad := object.union(t.sbom([], []), {"valid": false, "format": "spdx", "spec_version": "SPDX-2.3", "errors": []})
	vs := valid.violation with input.sboms as [bad]
	some v in vs
	v.msg == "SBOM sbom.cdx.json fails the SPDX SPDX-2.3 schema: no error detail was recorded"
}

test_quiet_for_valid_sbom if {
	count(valid.violation) == 0 with input.sboms as [t.sbom([], [])]
}

test_unknown_format_is_named_generically if {
	bad := object.union(t.sbom([], []), {"valid": false, "format": "swid", "errors": ["x"]})
	vs := valid.violation with input.sboms as [bad]
	some v in vs
	v.msg == "SBOM sbom.cdx.json fails the specification schema: x"
}
