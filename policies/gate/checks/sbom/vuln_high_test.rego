package gate.checks.sbom.vuln_high_test

import data.gate.checks.sbom.vuln_high
import data.gate.testing as t

test_fires_for_open_high if {
	vs := vuln_high.violation with input.sboms as [t.sbom([], [t.vuln("GHSA-xxxx", "high", "exploitable")])]
	vs == {{
		"msg": concat("", [
			"high vulnerability GHSA-xxxx affects pkg:npm/left-pad@1.0.0",
			" and is not marked not_affected, false_positive or resolved by VEX",
		]),
		"subject": {"kind": "sbom", "path": "sbom.cdx.json", "ref": "GHSA-xxxx", "line": null},
	}}
}

test_quiet_when_not_affected if {
	count(vuln_high.violation) == 0 with input.sboms as [t.sbom([], [t.vuln("GHSA-xxxx", "high", "not_affected")])]
}

test_quiet_for_critical_and_medium if {
	vulns := [t.vuln("CVE-1", "critical", null), t.vuln("CVE-2", "medium", null)]
	count(vuln_high.violation) == 0 with input.sboms as [t.sbom([], vulns)]
}
