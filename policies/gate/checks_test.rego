# The contract of every shipped check package: meta, ids, severities, and the baseline set of checks
# DESIGN.md lists (plus CATALOG-VALID, TEMPLATE-VALID, PROV-PRESENT, PROV-VERIFIED, SIG-UNVERIFIABLE
# and SIG-IDENTITY-UNCONFIGURED).
package gate.checks_test

baseline := {
	"CATALOG-OWNER": "high",
	"CATALOG-OWNER-GROUP": "medium",
	"CATALOG-LIFECYCLE": "low",
	"CATALOG-DESCRIPTION": "low",
	"CATALOG-TECHDOCS": "low",
	"CATALOG-SOURCE": "low",
	"CATALOG-ONCALL": "medium",
	"CATALOG-SYSTEM": "low",
	"CATALOG-VALID": "high",
	"CATALOG-PLACEHOLDER-UNCHECKED": "low",
	"CATALOG-LOCATION-TARGET": "low",
	"TEMPLATE-OWNER": "medium",
	"TEMPLATE-ACTIONS-ALLOWED": "high",
	"TEMPLATE-REGISTERS-CATALOG": "medium",
	"TEMPLATE-PREPUBLISH-CHECK": "medium",
	"TEMPLATE-VALID": "high",
	"SBOM-PRESENT": "high",
	"SBOM-VALID": "high",
	"SBOM-NOT-EMPTY": "medium",
	"SBOM-METADATA": "low",
	"SBOM-LICENSE-DENIED": "critical",
	"SBOM-LICENSE-MISSING": "low",
	"SBOM-LICENSE-INVALID": "high",
	"SBOM-PURL-MISSING": "low",
	"SBOM-PURL-INVALID": "high",
	"SBOM-PACKAGE-DENIED": "critical",
	"SBOM-VULN-CRITICAL": "critical",
	"SBOM-VULN-HIGH": "high",
	"SBOM-VULN-UNRATED": "high",
	"SIG-PRESENT": "high",
	"SIG-VERIFIED": "critical",
	"SIG-IDENTITY": "critical",
	"SIG-TLOG": "medium",
	"SIG-UNVERIFIABLE": "critical",
	"SIG-IDENTITY-UNCONFIGURED": "high",
	"PROV-VERIFIED": "critical",
	"PROV-BUILDER": "high",
	"PROV-SOURCE": "medium",
	"PROV-PRESENT": "high",
	"WAIVER-EXPIRED": "medium",
}

areas := {"catalog", "template", "sbom", "signature", "provenance", "waiver"}

# meta of every shipped check package (test fixtures live under data.gate.checks.fixture).
metas contains [area, name, m] if {
	some area, name
	areas[area]
	m := data.gate.checks[area][name].meta
}

test_every_baseline_check_is_shipped_with_its_severity if {
	{entry[2].id: entry[2].severity | some entry in metas} == baseline
}

test_ids_are_unique if {
	count(metas) == count(baseline)
}

test_meta_is_well_formed if {
	every entry in metas {
		well_formed(entry[2])
	}
}

well_formed(m) if {
	regex.match(`^[A-Z][A-Z0-9]*(-[A-Z0-9]+)+$`, m.id)
	trim_space(m.title) != ""
	trim_space(m.remediation) != ""
	count(object.keys(m) - {"id", "title", "severity", "remediation", "effective_on"}) == 0
	regex.match(`^\d{4}-\d{2}-\d{2}$`, object.get(m, "effective_on", "2026-01-01"))
}
