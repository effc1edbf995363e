package gate.checks.sbom.package_denied_test

import data.gate.checks.sbom.package_denied
import data.gate.testing as t

test_fires_for_denied_package_glob if {
	sbom := t.sbom([t.comp("event-stream", "pkg:npm/event-stream@3.3.6", ["MIT"])], [])
	vs := package_denied.violation with input.sboms as [sbom]
		with data.gate.config as {"denied_packages": ["pkg:npm/event-stream@*"]}
	vs == {{
		"msg": "component pkg:npm/event-stream@3.3.6 is a denied package (matches pkg:npm/event-stream@*)",
		"subject": {"kind": "sbom", "path": "sbom.cdx.json", "ref": "pkg:npm/event-stream@3.3.6", "line": null},
	}}
}

test_fires_for_exact_purl if {
	count(package_denied.violation) == 1 with input.sboms as [t.sbom([t.comp("x", "pkg:pypi/x@1.0", ["MIT"])], [])]
		with data.gate.config as {"denied_packages": ["pkg:pypi/x@1.0"]}
}

test_glob_spans_slashes if {
	count(package_denied.violation) == 1 with input.sboms as [t.sbom([t.comp("x", "pkg:npm/%40acme/x@1.0", ["MIT"])], [])]
		with data.gate.config as {"denied_packages": ["pkg:npm/*"]}
}

test_quiet_for_other_packages if {
	count(package_denied.violation) == 0 with input.sboms as [t.sbom([t.comp("event", "pkg:npm/event@1.0", ["MIT"])], [])]
		with data.gate.config as {"denied_packages": ["pkg:npm/event-stream@*"]}
}

test_quiet_by_default if {
	cfg := t.config
	count(package_denied.violation) == 0 with input.sboms as [t.sbom([t.comp("event", "pkg:npm/event@1.0", ["MIT"])], [])]
		with data.gate.config as cfg
}
