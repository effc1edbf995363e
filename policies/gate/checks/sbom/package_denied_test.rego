package gate.checks.sbom.package_denied_test

import data.gate.checks.sbom.package_denied
import data.gate.testing as t

# A component as the collectors give it: purl as written, purl_normalised for matching.
comp(name, purl, normalised) := object.union(t.comp(name, purl, ["MIT"]), {"purl_normalised": normalised})

test_fires_for_denied_package_glob if {
	sbom := t.sbom([comp("event-stream", "pkg:npm/event-stream@3.3.6", "pkg:npm/event-stream@3.3.6")], [])
	vs := package_denied.violation with input.sboms as [sbom]
		with data.gate.config as {"denied_packages": ["pkg:npm/event-stream@*"]}
	vs == {{
		"msg": "component pkg:npm/event-stream@3.3.6 is a denied package (matches pkg:npm/event-stream@*)",
		"subject": {"kind": "sbom", "path": "sbom.cdx.json", "ref": "pkg:npm/event-stream@3.3.6", "line": null},
	}}
}

# The normalised purl is matched; the message and the subject name the purl as written.
test_matches_the_normalised_purl if {
	sbom := t.sbom([comp("Event-Stream", "pkg:NPM/%45vent-Stream@3.3.6?x=1", "pkg:npm/event-stream@3.3.6")], [])
	vs := package_denied.violation with input.sboms as [sbom]
		with data.gate.config as {"denied_packages": ["pkg:npm/event-stream@*"]}
	vs == {{
		"msg": "component pkg:NPM/%45vent-Stream@3.3.6?x=1 is a denied package (matches pkg:npm/event-stream@*)",
		"subject": {"kind": "sbom", "path": "sbom.cdx.json", "ref": "pkg:NPM/%45vent-Stream@3.3.6?x=1", "line": null},
	}}
}

test_fires_for_exact_purl if {
	sboms := [t.sbom([comp("x", "pkg:pypi/x@1.0", "pkg:pypi/x@1.0")], [])]
	count(package_denied.violation) == 1 with input.sboms as sboms
		with data.gate.config as {"denied_packages": ["pkg:pypi/x@1.0"]}
}

test_glob_spans_slashes if {
	sboms := [t.sbom([comp("x", "pkg:npm/%40acme/x@1.0", "pkg:npm/%40acme/x@1.0")], [])]
	count(package_denied.violation) == 1 with input.sboms as sboms
		with data.gate.config as {"denied_packages": ["pkg:npm/*"]}
}

test_quiet_for_other_packages if {
	sboms := [t.sbom([comp("event", "pkg:npm/event@1.0", "pkg:npm/event@1.0")], [])]
	count(package_denied.violation) == 0 with input.sboms as sboms
		with data.gate.config as {"denied_packages": ["pkg:npm/event-stream@*"]}
}

test_quiet_without_a_normalised_purl if {
	sboms := [t.sbom([comp("x", "pkg:npm/x@1.0", null), t.comp("y", "pkg:npm/y@1.0", [])], [])]
	count(package_denied.violation) == 0 with input.sboms as sboms
		with data.gate.config as {"denied_packages": ["pkg:npm/*", "pkg:npm/y@1.0"]}
}

test_quiet_by_default if {
	cfg := t.config
	sboms := [t.sbom([comp("event", "pkg:npm/event@1.0", "pkg:npm/event@1.0")], [])]
	count(package_denied.violation) == 0 with input.sboms as sboms
		with data.gate.config as cfg
}
