package gate.checks.sbom.not_empty_test

import data.gate.checks.sbom.not_empty
import data.gate.testing as t

test_fires_without_components if {
	vs := not_empty.violation with input.sboms as [t.sbom([], [])]
	vs == {{
		"msg": "SBOM sbom.cdx.json lists no components",
		"subject": {"kind": "sbom", "path": "sbom.cdx.json", "ref": null, "line": null},
	}}
}

test_quiet_with_components if {
	count(not_empty.violation) == 0 with input.sboms as [t.sbom([t.comp("a", "pkg:npm/a@1.0.0", ["MIT"])], [])]
}
