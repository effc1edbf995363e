package gate.checks.sbom.vuln_unrated_test

import data.gate.checks.sbom.vuln_unrated
import data.gate.testing as t

test_fires_for_open_unrated if {
	vs := vuln_unrated.violation with input.sboms as [t.sbom([], [t.vuln("CVE-2021-44228", "unknown", "exploitable")])]
	vs == {{
		"msg": concat("", [
			"vulnerability CVE-2021-44228 affects pkg:npm/left-pad@1.0.0",
			", has no severity rating (no severity, CVSS score or CVSS vector)",
			" and is not marked not_affected, false_positive or resolved by VEX",
		]),
		"subject": {"kind": "sbom", "path": "sbom.cdx.json", "ref": "CVE-2021-44228", "line": null},
	}}
}

test_fires_without_a_vex_state if {
	count(vuln_unrated.violation) == 1 with input.sboms as [t.sbom([], [t.vuln("CVE-1", "unknown", null)])]
}

test_quiet_when_vex_closes_it if {
	states := ["not_affected", "false_positive", "resolved", "resolved_with_pedigree"]
	vulns := [t.vuln(concat("", ["CVE-", s]), "unknown", s) | some s in states]
	count(vuln_unrated.violation) == 0 with input.sboms as [t.sbom([], vulns)]
}

test_quiet_for_rated_ones if {
	vulns := [t.vuln(concat("", ["CVE-", s]), s, null) | some s in ["critical", "high", "medium", "low", "info", "none"]]
	count(vuln_unrated.violation) == 0 with input.sboms as [t.sbom([], vulns)]
}
