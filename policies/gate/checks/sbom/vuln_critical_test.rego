package gate.checks.sbom.vuln_critical_test

import data.gate.checks.sbom.vuln_critical
import data.gate.testing as t

test_fires_for_open_critical if {
	vs := vuln_critical.violation with input.sboms as [t.sbom([], [t.vuln("CVE-2024-1", "critical", null)])]
	vs == {{
		"msg": concat("", [
			"critical vulnerability CVE-2024-1 affects pkg:npm/left-pad@1.0.0",
			" and is not marked not_affected, false_positive or resolved by VEX",
		]),
		"subject": {"kind": "sbom", "path": "sbom.cdx.json", "ref": "CVE-2024-1", "line": null},
	}}
}

test_fires_while_in_triage if {
	count(vuln_critical.violation) == 1 with input.sboms as [t.sbom([], [t.vuln("CVE-2024-1", "critical", "in_triage")])]
}

test_quiet_when_vex_closes_it if {
	states := ["not_affected", "false_positive", "resolved", "resolved_with_pedigree"]
	vulns := [t.vuln(concat("", ["CVE-", s]), "critical", s) | some s in states]
	count(vuln_critical.violation) == 0 with input.sboms as [t.sbom([], vulns)]
}

test_quiet_for_lower_severities if {
	count(vuln_critical.violation) == 0 with input.sboms as [t.sbom([], [t.vuln("CVE-2024-2", "high", null)])]
}

test_message_lists_few_affected if {
	v := object.union(t.vuln("CVE-9", "critical", null), {"affects": ["a", "b", "c", "d", "e"]})
	vs := vuln_critical.violation with input.sboms as [t.sbom([], [v])]
	some x in vs
	x.msg == concat("", [
		"critical vulnerability CVE-9 affects a; b; c (and 2 more)",
		" and is not marked not_affected, false_positive or resolved by VEX",
	])
}

test_message_without_affected if {
	v := object.union(t.vuln("CVE-9", "critical", null), {"affects": []})
	vs := vuln_critical.violation with input.sboms as [t.sbom([], [v])]
	some x in vs
	x.msg == concat("", [
		"critical vulnerability CVE-9 affects a listed component",
		" and is not marked not_affected, false_positive or resolved by VEX",
	])
}
