package gate.lib_test

import data.gate.lib

test_config_defaults_to_an_empty_object if {
	lib.config == {}
	lib.config_list("lifecycles") == []
}

test_config_lists_keep_strings if {
	lib.config_strings("lifecycles") == ["a", "b"] with data.gate.config as {"lifecycles": ["a", 3, "b", null]}
	lib.config_list("lifecycles") == [] with data.gate.config as {"lifecycles": "a"}
}

test_present if {
	lib.present("x")
	not lib.present(" ")
	not lib.present(3)
	not lib.present(null)
}

test_has_text if {
	lib.has_text({"a": {"b": "x"}}, ["a", "b"])
	not lib.has_text({"a": {"b": ""}}, ["a", "b"])
	not lib.has_text({"a": 1}, ["a", "b"])
	not lib.has_text("a", ["a"])
}

test_str if {
	lib.str({"a": "x"}, "a", "d") == "x"
	lib.str({"a": 1}, "a", "d") == "d"
	lib.str("x", "a", null) == null
}

test_line_at_prefers_pointers_in_order if {
	item := {"line": 2, "lines": {"/a": 5, "/b": 7}}
	lib.line_at(item, ["/x", "/b", "/a"]) == 7
	lib.line_at(item, ["/x"]) == 2
	lib.line_at({"lines": {}}, ["/x"]) == null
	lib.line_at({"line": 4, "lines": "bad"}, ["/x"]) == 4
}

test_entity_ref if {
	lib.entity_ref({"kind": "API", "metadata": {"name": "pay", "namespace": "Billing"}}) == "api:billing/pay"
	lib.entity_ref({"kind": "Component", "metadata": {"name": "pay"}}) == "component:default/pay"
	lib.entity_ref({"kind": "Component", "metadata": {}}) == null
	lib.entity_ref({"metadata": {"name": "pay"}}) == null
}

test_entity_label_falls_back_to_kind_and_document if {
	resource := {"entity": {"kind": "Resource", "metadata": {}}, "document": 0}
	lib.entity_label(resource) == "the Resource entity in document 1"
	lib.entity_label({"entity": {"metadata": {"name": "x"}}}) == "the unnamed entity in document 1"
}

test_kind if {
	lib.kind({"kind": "Component"}) == "component"
	lib.kind({"kind": 3}) == ""
	lib.kind({}) == ""
}

test_component_ref if {
	lib.component_ref({"purl": "pkg:npm/a@1", "name": "a", "version": "1"}) == "pkg:npm/a@1"
	lib.component_ref({"purl": null, "name": "a", "version": "1"}) == "a@1"
	lib.component_ref({"purl": null, "name": "a", "version": null}) == "a"
	lib.component_ref({"purl": null, "name": "", "version": null}) == "(unnamed component)"
}

test_first_few if {
	lib.first_few([], "none") == "none"
	lib.first_few(["a", "b", "c"], "none") == "a; b; c"
	lib.first_few(["a", "b", "c", "d"], "none") == "a; b; c (and 1 more)"
	lib.errors_summary(["a", 3]) == "a"
}

test_normalize_repo if {
	lib.normalize_repo("https://github.com/Acme/App.git") == "acme/app"
	lib.normalize_repo("git+https://github.com/acme/app@refs/heads/main") == "acme/app"
	lib.normalize_repo("git@github.com:acme/app.git") == "acme/app"
	lib.normalize_repo("https://www.github.com/acme/app/") == "acme/app"
	lib.normalize_repo("https://gitlab.com/group/sub/app") == "group/sub/app"
	lib.normalize_repo("ssh://git@git.example.com/team/app.git") == "git.example.com/team/app"
	lib.normalize_repo("https://git.example.com/team/app") == "git.example.com/team/app"
	lib.normalize_repo("acme/app") == "acme/app"
	not lib.normalize_repo(3)
}

test_matches_any if {
	lib.matches_any(["a", "b*"], "bcd")
	lib.matches_any(["x[", "y"], "x[")
	not lib.matches_any(["x[ab]"], "xa")
	not lib.matches_any(["{a,b}"], "a")
	lib.matches_any(["pkg:npm/*"], "pkg:npm/@scope/x@1")
	lib.matches_any(["fetch:?lain"], "fetch:plain")
	not lib.matches_any(["a"], "b")
	not lib.matches_any([3], "3")
	not lib.matches_any(["*"], 3)
}

test_quote if {
	lib.quote("x") == "\"x\""
	lib.quote(3) == "3"
	lib.quote(null) == "null"
}

test_step_label if {
	lib.step_label({"index": 0, "id": "fetch"}) == "\"fetch\""
	lib.step_label({"index": 2, "id": null}) == "#3"
}

test_attestation_helpers if {
	one := {"path": "a.intoto.jsonl", "index": 0, "subjects": [{"name": "b.tgz", "digest": {}}]}
	lib.attestation_ref(one) == "b.tgz"
	lib.attestation_label(one) == "b.tgz"
	lib.attestation_line(one) == 1
	two := {"path": "p.json", "index": 0, "subjects": [{"name": "z", "digest": {}}, {"name": "a", "digest": {}}]}
	lib.attestation_ref(two) == "a"
	lib.attestation_label(two) == "a and 1 other subjects"
	lib.attestation_line(two) == null
	none := {"path": "p.json", "index": 0, "subjects": []}
	lib.attestation_ref(none) == null
	lib.attestation_label(none) == "the statement in p.json"
}

test_is_provenance if {
	lib.is_provenance({"predicate_type": "https://slsa.dev/provenance/v0.2"})
	lib.is_provenance({"predicate_type": "https://slsa.dev/provenance/v1"})
	not lib.is_provenance({"predicate_type": "https://slsa.dev/verification_summary/v1"})
	not lib.is_provenance({"predicate_type": null})
}

test_vuln_open if {
	lib.vuln_open({"state": null})
	lib.vuln_open({"state": "exploitable"})
	not lib.vuln_open({"state": "resolved"})
}

test_waivers_keep_well_formed_entries if {
	ok := {"id": "W", "check": "C", "subject": "*", "expires": "2026-01-01", "owner": "o", "reason": "r"}
	lib.waivers == [ok] with data.gate.waivers as [ok, "x", {"id": "W2"}, object.union(ok, {"owner": 1})]
}

test_sorted_strings_in_byte_order if {
	lib.sorted_strings(["é", "z", "a b", "a", "a!", "a", 3]) == ["a", "a b", "a!", "z", "é"]
	lib.sorted_strings([]) == []
}

test_check_meta_reads_the_package_annotations if {
	chain := [
		{"path": ["gate", "checks", "a", "b", "meta"]},
		{"path": ["gate", "checks", "a", "b"], "annotations": {
			"scope": "package", "title": "T", "description": "D",
			"custom": {
				"id": "A-B", "severity": "low", "remediation": "R",
				"effective_on": "2026-01-01T00:00:00Z", "x": 1,
			},
		}},
	]
	meta := {"id": "A-B", "title": "T", "severity": "low", "remediation": "R", "effective_on": "2026-01-01"}
	lib.check_meta(chain) == meta
	lib.check_meta([{"path": [], "annotations": {"scope": "package", "title": "T"}}]) == {"title": "T"}
}
