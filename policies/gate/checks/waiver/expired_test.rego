package gate.checks.waiver.expired_test

import data.gate.checks.waiver.expired
import data.gate.testing as t

test_fires_for_expired_waiver if {
	ws := [t.waiver("W-7", "SBOM-LICENSE-DENIED", "pkg:npm/left-pad@*", "2026-02-28")]
	vs := expired.violation with input.context as {"date": "2026-03-01"} with data.gate.waivers as ws
	vs == {{
		"msg": concat("", [
			"waiver W-7 (SBOM-LICENSE-DENIED on pkg:npm/left-pad@*, owner team-payments)",
			" expired on 2026-02-28 and no longer applies",
		]),
		"subject": {"kind": "waiver", "path": "waivers.yaml", "ref": "W-7", "line": null},
	}}
}

test_valid_through_expiry_day if {
	ws := [t.waiver("W-7", "SBOM-LICENSE-DENIED", "*", "2026-03-01")]
	count(expired.violation) == 0 with input.context as {"date": "2026-03-01"} with data.gate.waivers as ws
}

test_quiet_for_future_waiver if {
	ws := [t.waiver("W-7", "SBOM-LICENSE-DENIED", "*", "2026-12-31")]
	count(expired.violation) == 0 with input.context as {"date": "2026-03-01"} with data.gate.waivers as ws
}

test_quiet_without_waivers if {
	count(expired.violation) == 0 with input.context as {"date": "2026-03-01"}
}

test_waiver_without_source_has_no_path if {
	w := object.remove(t.waiver("W-8", "X", "*", "2020-01-01"), ["source"])
	vs := expired.violation with input.context as {"date": "2026-03-01"} with data.gate.waivers as [w]
	some v in vs
	v.subject.path == null
}

test_malformed_waivers_are_ignored if {
	ws := ["W-1", {"id": "W-2", "check": "X", "subject": "*", "expires": "2020-01-01"}]
	count(expired.violation) == 0 with input.context as {"date": "2026-03-01"} with data.gate.waivers as ws
}
