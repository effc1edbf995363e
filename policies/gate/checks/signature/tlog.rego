# METADATA
# title: Signature is in a transparency log
# description: |-
#   Every signature is recorded in a transparency log, so it can be audited and revoked.
# custom:
#   id: SIG-TLOG
#   severity: medium
#   remediation: >-
#     Sign with transparency-log upload enabled (cosign's default; do not pass
#     --tlog-upload=false).
package gate.checks.signature.tlog

import data.gate.lib

meta := lib.check_meta(rego.metadata.chain())

violation contains {
	"msg": msg,
	"subject": {"kind": "signature", "path": sig.path, "ref": sig.artifact.path, "line": null},
} if {
	some sig in input.signatures
	count(object.get(sig, "tlog_entries", [])) == 0
	msg := concat("", ["signature ", sig.path, " for ", lib.artifact_label(sig), " has no transparency-log entry"])
}
