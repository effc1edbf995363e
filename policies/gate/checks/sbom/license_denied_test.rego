package gate.checks.sbom.license_denied_test

import data.gate.checks.sbom.license_denied
import data.gate.testing as t

test_fires_for_denied_license if {
	cfg := t.config
	vs := license_denied.violation with input.sboms as [t.sbom([t.comp("foo", "pkg:npm/foo@1.0.0", ["GPL-3.0-only"])], [])]
		with data.gate.config as cfg
	vs == {{
		"msg": "component pkg:npm/foo@1.0.0 is licensed GPL-3.0-only, which is denied",
		"subject": {"kind": "sbom", "path": "sbom.cdx.json", "ref": "pkg:npm/foo@1.0.0", "line": null},
	}}
}

test_fires_for_id_inside_expression if {
	cfg := t.config
	c := {
		"name": "foo", "version": "1.0.0", "purl": "pkg:npm/foo@1.0.0", "hashes": {}, "type": "library",
		"licenses": [{"kind": "expression", "value": "MIT OR AGPL-3.0-only"}],
		"license_ids": ["MIT", "AGPL-3.0-only"],
	}
	vs := license_denied.violation with input.sboms as [t.sbom([c], [])] with data.gate.config as cfg
	count(vs) == 1
	some v in vs
	v.msg == concat("", [
		"component pkg:npm/foo@1.0.0 is licensed AGPL-3.0-only, which is denied ",
		"(in the expression \"MIT OR AGPL-3.0-only\")",
	])
}

test_ids_compare_case_insensitively if {
	sbom := t.sbom([t.comp("foo", "pkg:npm/foo@1.0.0", ["gpl-3.0-only"])], [])
	count(license_denied.violation) == 1 with input.sboms as [sbom]
		with data.gate.config as {"denied_licenses": ["GPL-3.0-ONLY"]}
}

test_component_without_purl_is_named if {
	cfg := t.config
	vs := license_denied.violation with input.sboms as [t.sbom([t.comp("foo", null, ["SSPL-1.0"])], [])]
		with data.gate.config as cfg
	some v in vs
	v.subject.ref == "foo@1.0.0"
}

test_quiet_for_allowed_license if {
	cfg := t.config
	sbom := t.sbom([t.comp("foo", "pkg:npm/foo@1.0.0", ["MIT", "Apache-2.0"])], [])
	count(license_denied.violation) == 0 with input.sboms as [sbom]
		with data.gate.config as cfg
}

test_quiet_when_nothing_is_denied if {
	sbom := t.sbom([t.comp("foo", "pkg:npm/foo@1.0.0", ["GPL-3.0-only"])], [])
	count(license_denied.violation) == 0 with input.sboms as [sbom]
		with data.gate.config as {"denied_licenses": []}
}

# The rule reads license_ids only, where the collectors put current ids: an entry as written
# ("GPL-2.0+") is for display, and matches nothing by itself.
test_reads_the_normalised_ids_not_the_entries_as_written if {
	c := object.union(
		t.comp("foo", "pkg:npm/foo@1.0.0", ["GPL-2.0-or-later"]),
		{"licenses": [{"kind": "id", "value": "GPL-2.0+"}]},
	)
	vs := license_denied.violation with input.sboms as [t.sbom([c], [])]
		with data.gate.config as {"denied_licenses": ["GPL-2.0-or-later"]}
	vs == {{
		"msg": "component pkg:npm/foo@1.0.0 is licensed GPL-2.0-or-later, which is denied (written \"GPL-2.0+\")",
		"subject": {"kind": "sbom", "path": "sbom.cdx.json", "ref": "pkg:npm/foo@1.0.0", "line": null},
	}}
	count(license_denied.violation) == 0 with input.sboms as [t.sbom([c], [])]
		with data.gate.config as {"denied_licenses": ["GPL-2.0+"]}
}

# A license mapped to its id (deprecated id, name, look-alike characters) is shown as written.
test_names_the_entries_as_written_when_mapped if {
	c := object.union(
		t.comp("foo", "pkg:npm/foo@1.0.0", ["GPL-3.0-only"]),
		{"licenses": [{"kind": "name", "value": "GNU General Public License v3.0 only"}]},
	)
	vs := license_denied.violation with input.sboms as [t.sbom([c], [])]
		with data.gate.config as {"denied_licenses": ["GPL-3.0-only"]}
	vs == {{
		"msg": concat("", [
			"component pkg:npm/foo@1.0.0 is licensed GPL-3.0-only, which is denied ",
			"(written \"GNU General Public License v3.0 only\")",
		]),
		"subject": {"kind": "sbom", "path": "sbom.cdx.json", "ref": "pkg:npm/foo@1.0.0", "line": null},
	}}
}
