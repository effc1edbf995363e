package gate.checks.signature.tlog_test

import data.gate.checks.signature.tlog
import data.gate.testing as t

test_fires_without_tlog_entry if {
	sig := object.union(t.signature("dist/app.tgz", true), {"tlog_entries": []})
	vs := tlog.violation with input.signatures as [sig]
	vs == {{
		"msg": "signature dist/app.tgz.sigstore.json for dist/app.tgz has no transparency-log entry",
		"subject": {"kind": "signature", "path": "dist/app.tgz.sigstore.json", "ref": "dist/app.tgz", "line": null},
	}}
}

test_quiet_with_tlog_entry if {
	count(tlog.violation) == 0 with input.signatures as [t.signature("dist/app.tgz", true)]
}
