package gate.main_test

import data.gate.checks.sbom.license_denied
import data.gate.checks.sbom.license_missing
import data.gate.checks.sbom.not_empty
import data.gate.checks.sbom.vuln_high
import data.gate.checks.waiver.expired
import data.gate.main
import data.gate.testing as t

# gate.main.decide is a pure function of (raw violations, config, waivers, context); these tests
# call it directly.

# A raw violation as gate.main gathers it from a check package.
raw(pkg, meta, ref) := {
	"package": pkg,
	"meta": meta,
	"item": {
		"msg": concat("", [meta.id, " fired"]),
		"subject": {"kind": "sbom", "path": "sbom.cdx.json", "ref": ref, "line": null},
	},
}

critical := raw("sbom.license_denied", license_denied.meta, "pkg:npm/left-pad@1.0.0")

high := raw("sbom.vuln_high", vuln_high.meta, "CVE-2026-1")

medium := raw("sbom.not_empty", not_empty.meta, null)

low := raw("sbom.license_missing", license_missing.meta, "pkg:npm/a@1.0.0")

in_env(env) := object.union(t.context, {"environment": env})

decide(env, raws, cfg, waivers) := main.decide(raws, cfg, waivers, in_env(env))

# [check, action] of each finding.
actions(d) := {[f.check, f.action] | some f in d.findings}

# The one finding of a decision.
only(d) := f if {
	count(d.findings) == 1
	some f in d.findings
}

# Tiers ----------------------------------------------------------------------------------------

test_tiers_in_dev if {
	actions(decide("dev", [critical, high, medium, low], t.config, [])) == {
		["SBOM-LICENSE-DENIED", "warn"], ["SBOM-VULN-HIGH", "warn"],
		["SBOM-NOT-EMPTY", "warn"], ["SBOM-LICENSE-MISSING", "warn"],
	}
}

test_tiers_in_staging if {
	actions(decide("staging", [critical, high, medium, low], t.config, [])) == {
		["SBOM-LICENSE-DENIED", "block"], ["SBOM-VULN-HIGH", "warn"],
		["SBOM-NOT-EMPTY", "warn"], ["SBOM-LICENSE-MISSING", "warn"],
	}
}

test_tiers_in_prod if {
	actions(decide("prod", [critical, high, medium, low], t.config, [])) == {
		["SBOM-LICENSE-DENIED", "block"], ["SBOM-VULN-HIGH", "block"],
		["SBOM-NOT-EMPTY", "warn"], ["SBOM-LICENSE-MISSING", "warn"],
	}
}

test_custom_environment_uses_its_own_tier_table if {
	qa := {"critical": "block", "high": "block", "medium": "block", "low": "warn"}
	cfg := object.union(t.config, {"environments": {"qa": qa}})
	actions(decide("qa", [medium, low], cfg, [])) == {["SBOM-NOT-EMPTY", "block"], ["SBOM-LICENSE-MISSING", "warn"]}
}

test_missing_or_bad_tier_entry_blocks if {
	cfg := object.union(t.config, {"environments": {"qa": {"critical": "warn", "high": "maybe"}}})
	actions(decide("qa", [high, low], cfg, [])) == {["SBOM-VULN-HIGH", "block"], ["SBOM-LICENSE-MISSING", "block"]}
}

# Finding shape ---------------------------------------------------------------------------------

test_finding_carries_meta_and_subject if {
	d := decide("prod", [critical], t.config, [])
	d == {
		"outcome": "block",
		"environment": "prod",
		"findings": {{
			"check": "SBOM-LICENSE-DENIED",
			"title": "No component has a denied license",
			"severity": "critical",
			"action": "block",
			"message": "SBOM-LICENSE-DENIED fired",
			"subject": {"kind": "sbom", "path": "sbom.cdx.json", "ref": "pkg:npm/left-pad@1.0.0", "line": null},
			"remediation": "Replace the component with one under an acceptable license, or get legal approval and add a waiver.",
			"waiver": null,
		}},
		"summary": {"block": 1, "warn": 0, "waived": 0},
	}
}

# Overrides ---------------------------------------------------------------------------------------

test_string_override_applies_everywhere if {
	cfg := object.union(t.config, {"checks": {"SBOM-LICENSE-MISSING": "block"}})
	actions(decide("dev", [low], cfg, [])) == {["SBOM-LICENSE-MISSING", "block"]}
	actions(decide("prod", [low], cfg, [])) == {["SBOM-LICENSE-MISSING", "block"]}
}

test_per_environment_override if {
	cfg := object.union(t.config, {"checks": {"SBOM-LICENSE-MISSING": {"prod": "block"}}})
	actions(decide("prod", [low], cfg, [])) == {["SBOM-LICENSE-MISSING", "block"]}
	actions(decide("staging", [low], cfg, [])) == {["SBOM-LICENSE-MISSING", "warn"]}
}

test_override_can_relax if {
	cfg := object.union(t.config, {"checks": {"SBOM-LICENSE-DENIED": {"prod": "warn"}}})
	actions(decide("prod", [critical], cfg, [])) == {["SBOM-LICENSE-DENIED", "warn"]}
}

test_off_drops_the_finding if {
	cfg := object.union(t.config, {"checks": {"SBOM-LICENSE-DENIED": "off"}})
	d := decide("prod", [critical], cfg, [])
	count(d.findings) == 0
	d.outcome == "pass"
}

test_off_per_environment if {
	cfg := object.union(t.config, {"checks": {"SBOM-LICENSE-DENIED": {"dev": "off"}}})
	count(decide("dev", [critical], cfg, []).findings) == 0
	actions(decide("prod", [critical], cfg, [])) == {["SBOM-LICENSE-DENIED", "block"]}
}

test_unknown_override_value_blocks if {
	cfg := object.union(t.config, {"checks": {"SBOM-LICENSE-MISSING": "disable"}})
	actions(decide("dev", [low], cfg, [])) == {["SBOM-LICENSE-MISSING", "block"]}
}

# effective_on ------------------------------------------------------------------------------------

future := raw("fixture.future", object.union(license_denied.meta, {"id": "FUTURE", "effective_on": "2026-06-01"}), "x")

test_check_before_effective_on_only_warns if {
	d := decide("prod", [future], t.config, [])
	actions(d) == {["FUTURE", "warn"]}
	d.outcome == "warn"
}

test_check_from_effective_on_applies_its_tier if {
	ctx := object.union(t.context, {"date": "2026-06-01"})
	actions(main.decide([future], t.config, [], ctx)) == {["FUTURE", "block"]}
}

test_off_wins_over_effective_on if {
	cfg := object.union(t.config, {"checks": {"FUTURE": "off"}})
	count(decide("prod", [future], cfg, []).findings) == 0
}

# Waivers ------------------------------------------------------------------------------------------

test_waiver_applies_to_matching_ref if {
	w := t.waiver("W-7", "SBOM-LICENSE-DENIED", "pkg:npm/left-pad@*", "2026-12-31")
	d := decide("prod", [critical], t.config, [w])
	f := only(d)
	f.action == "waived"
	f.waiver == {"id": "W-7", "owner": "team-payments", "reason": "approved exception", "expires": "2026-12-31"}
	d.summary == {"block": 0, "warn": 0, "waived": 1}
	d.outcome == "pass"
}

test_waiver_is_valid_on_its_expiry_day if {
	w := t.waiver("W-7", "SBOM-LICENSE-DENIED", "pkg:npm/left-pad@*", "2026-03-01")
	actions(decide("prod", [critical], t.config, [w])) == {["SBOM-LICENSE-DENIED", "waived"]}
}

test_expired_waiver_is_ignored_and_reported if {
	w := t.waiver("W-7", "SBOM-LICENSE-DENIED", "pkg:npm/left-pad@*", "2026-02-28")

	# WAIVER-EXPIRED's violation for this waiver (the check itself is tested in expired_test.rego).
	reported := {
		"msg": "waiver W-7 expired",
		"subject": {"kind": "waiver", "path": "waivers.yaml", "ref": "W-7", "line": null},
	}
	raws := [critical, {"package": "waiver.expired", "meta": expired.meta, "item": reported}]
	d := decide("prod", raws, t.config, [w])
	actions(d) == {["SBOM-LICENSE-DENIED", "block"], ["WAIVER-EXPIRED", "warn"]}
	d.outcome == "block"
	some f in d.findings
	f.check == "WAIVER-EXPIRED"
	f.subject == {"kind": "waiver", "path": "waivers.yaml", "ref": "W-7", "line": null}
}

test_waiver_for_another_check_does_not_apply if {
	w := t.waiver("W-7", "SBOM-PACKAGE-DENIED", "pkg:npm/left-pad@*", "2026-12-31")
	actions(decide("prod", [critical], t.config, [w])) == {["SBOM-LICENSE-DENIED", "block"]}
}

test_waiver_subject_glob_must_match if {
	w := t.waiver("W-7", "SBOM-LICENSE-DENIED", "pkg:npm/right-pad@*", "2026-12-31")
	actions(decide("prod", [critical], t.config, [w])) == {["SBOM-LICENSE-DENIED", "block"]}
}

test_waiver_matches_path_when_there_is_no_ref if {
	w := t.waiver("W-9", "SBOM-NOT-EMPTY", "*.cdx.json", "2026-12-31")
	actions(decide("prod", [medium], t.config, [w])) == {["SBOM-NOT-EMPTY", "waived"]}
}

test_waiver_glob_spans_slashes if {
	w := t.waiver("W-7", "SBOM-LICENSE-DENIED", "pkg:*", "2026-12-31")
	actions(decide("prod", [critical], t.config, [w])) == {["SBOM-LICENSE-DENIED", "waived"]}
}

test_waiver_subject_may_equal_the_ref if {
	w := t.waiver("W-7", "SBOM-LICENSE-DENIED", "pkg:npm/left-pad@1.0.0", "2026-12-31")
	actions(decide("prod", [critical], t.config, [w])) == {["SBOM-LICENSE-DENIED", "waived"]}
}

test_first_waiver_by_id_is_recorded if {
	ws := [
		t.waiver("W-B", "SBOM-LICENSE-DENIED", "pkg:npm/*", "2026-12-31"),
		t.waiver("W-A", "SBOM-LICENSE-DENIED", "pkg:npm/left-pad@1.0.0", "2026-04-30"),
	]
	only(decide("prod", [critical], t.config, ws)).waiver.id == "W-A"
}

test_no_waiver_applies_without_a_date if {
	ctx := object.remove(t.context, ["date"])
	ws := [t.waiver("W-7", "SBOM-LICENSE-DENIED", "*", "2026-12-31")]
	actions(main.decide([critical], t.config, ws, ctx)) == {["SBOM-LICENSE-DENIED", "block"]}
}

test_waiver_can_cover_a_warning if {
	w := t.waiver("W-1", "SBOM-LICENSE-MISSING", "pkg:npm/a@*", "2026-12-31")
	d := decide("prod", [low], t.config, [w])
	actions(d) == {["SBOM-LICENSE-MISSING", "waived"]}
	d.outcome == "pass"
}

# Outcome ------------------------------------------------------------------------------------------

test_outcome_pass_without_findings if {
	decide("prod", [], t.config, []) == {
		"outcome": "pass",
		"environment": "prod",
		"findings": set(),
		"summary": {"block": 0, "warn": 0, "waived": 0},
	}
}

test_outcome_warn_when_only_warnings if {
	d := decide("prod", [low, medium], t.config, [])
	d.outcome == "warn"
	d.summary == {"block": 0, "warn": 2, "waived": 0}
}

test_outcome_block_when_anything_blocks if {
	d := decide("prod", [low, critical], t.config, [])
	d.outcome == "block"
	d.summary == {"block": 1, "warn": 1, "waived": 0}
}

# Fail closed ----------------------------------------------------------------------------------------

test_unknown_environment_blocks_everything_and_errors if {
	w := t.waiver("W-1", "SBOM-LICENSE-MISSING", "*", "2026-12-31")
	d := decide("production", [low], t.config, [w])
	d.outcome == "error"
	d.environment == "production"
	actions(d) == {["SBOM-LICENSE-MISSING", "block"]}
}

test_unknown_environment_never_passes if {
	d := decide("qa", [], t.config, [])
	d.outcome == "error"
	count(d.findings) == 0
}

test_missing_environment_errors if {
	d := main.decide([], t.config, [], object.remove(t.context, ["environment"]))
	d.outcome == "error"
	d.environment == null
}

test_missing_config_errors if {
	main.decide([], {}, [], t.context).outcome == "error"
}

# Other check packages (conftest adapters, user policies) -----------------------------------------------

adapter(item) := {"package": "conftest.k8s", "meta": {}, "item": item}

test_item_fields_override_meta if {
	item := {
		"msg": "from a conftest deny rule", "check": "CONFTEST-K8S-DENY", "severity": "high",
		"title": "k8s", "remediation": "see the rule",
		"subject": {"kind": "input", "path": null, "ref": "k8s", "line": null},
	}
	d := decide("staging", [{"package": "conftest.k8s", "meta": license_denied.meta, "item": item}], t.config, [])
	d.findings == {{
		"check": "CONFTEST-K8S-DENY", "title": "k8s", "severity": "high", "action": "warn",
		"message": "from a conftest deny rule", "subject": {"kind": "input", "path": null, "ref": "k8s", "line": null},
		"remediation": "see the rule", "waiver": null,
	}}
}

test_package_without_meta_is_named_by_package if {
	d := decide("prod", [adapter({"msg": "m"})], t.config, [])
	f := only(d)
	f.check == "conftest.k8s"
	f.title == "conftest.k8s"
	f.severity == "critical"
	f.remediation == ""
	f.subject == {"kind": "input", "path": null, "ref": null, "line": null}
}

test_bare_string_item_is_a_message if {
	d := decide("prod", [adapter("a bare message")], t.config, [])
	only(d).message == "a bare message"
}

test_unknown_severity_counts_as_critical if {
	raws := [adapter({"msg": "m", "severity": "Severe"}), adapter({"msg": "n", "severity": "LOW"})]
	d := decide("dev", raws, t.config, [])
	{[f.message, f.severity] | some f in d.findings} == {["m", "critical"], ["n", "low"]}
}

# Two packages reporting the same finding (a copied check, say) give one finding.
test_equal_findings_are_reported_once if {
	twin := {"package": "copy.license_denied", "meta": critical.meta, "item": critical.item}
	d := decide("prod", [critical, high, twin], t.config, [])
	{f.check | some f in d.findings} == {"SBOM-LICENSE-DENIED", "SBOM-VULN-HIGH"}
	count(d.findings) == 2
	d.summary == {"block": 2, "warn": 0, "waived": 0}
}

# A finding with neither ref nor path is matched as "": only a pattern such as "*" waives it.
test_waiver_matches_empty_target if {
	w := t.waiver("W-3", "CONFTEST-BARE", "*", "2026-12-31")
	d := decide("prod", [adapter({"msg": "m", "check": "CONFTEST-BARE"})], t.config, [w])
	only(d).waiver.id == "W-3"
	other := t.waiver("W-4", "CONFTEST-BARE", "?*", "2026-12-31")
	only(decide("prod", [adapter({"msg": "m", "check": "CONFTEST-BARE"})], t.config, [other])).waiver == null
}

test_item_without_message if {
	d := decide("prod", [adapter({"check": "CONFTEST-NOMSG"})], t.config, [])
	only(d).message == "CONFTEST-NOMSG reported a violation without a message"
}

with_line(msg, line) := adapter({"msg": msg, "subject": {"kind": "input", "path": "a.yaml", "ref": null, "line": line}})

test_lines_are_integers_or_null if {
	d := decide("prod", [with_line("a", 7.0), with_line("b", 0), with_line("c", "3")], t.config, [])
	{[f.message, f.subject.line] | some f in d.findings} == {["a", 7], ["b", null], ["c", null]}
}

# Gathering: data.gate.checks.<area>.<name>.violation, two levels down --------------------------------
# The fixture packages (fixtures/*_test.rego) fire only when there is no input document, as here.

test_gathers_every_check_package if {
	main.raw_violations == {
		{
			"package": "fixture.with_meta",
			"meta": data.gate.checks.fixture.with_meta.meta,
			"item": {
				"msg": "fixture with meta",
				"subject": {"kind": "input", "path": "fixture.json", "ref": null, "line": 3},
			},
		},
		{"package": "fixture.without_meta", "meta": {}, "item": "fixture without meta"},
	}
}

test_decision_without_input_fails_closed if {
	d := main.decision
	d.outcome == "error"
	d.environment == null
	{[f.check, f.action] | some f in d.findings} == {["FIXTURE-META", "block"], ["fixture.without_meta", "block"]}
}

test_context_comes_from_the_input_document if {
	main.context == {}
	main.context == {} with input.context as "dev"
}

test_context_reads_input_context if {
	ctx := {"environment": "dev", "date": "2026-03-01"}
	main.context == ctx with input.context as ctx
}
