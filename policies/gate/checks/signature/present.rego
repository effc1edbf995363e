# METADATA
# title: Required signatures are present
# description: |-
#   When the configuration requires signatures (require: [signature]), what is gated is signed.
#
#   What counts as signed: the input has no separate list of artifacts, so the things that must carry
#   a signature are the SBOMs (each must be the artifact of some signature result, matched by path or
#   by sha256 — paths may be written differently by the collector and the user). Artifacts named
#   with --artifact or paired with a bundle appear only through their signature results, so they
#   have one by construction. When there is nothing at all — no SBOM and no signature — one finding
#   says signatures are required and none was given. A signature that failed to verify still counts
#   as present here; SIG-VERIFIED reports it.
# custom:
#   id: SIG-PRESENT
#   severity: high
#   remediation: >-
#     Sign the artifact and the SBOM in the pipeline (e.g. `cosign sign-blob --bundle
#     X.sigstore.json X`) and pass the bundles to `gate check`.
package gate.checks.signature.present

import data.gate.lib

meta := lib.check_meta(rego.metadata.chain())

violation contains {
	"msg": msg,
	"subject": {"kind": "input", "path": null, "ref": "require:signature", "line": null},
} if {
	"signature" in input.require
	count(input.signatures) == 0
	count(input.sboms) == 0
	msg := "signatures are required (require: signature) but no signature was given"
}

violation contains {"msg": msg, "subject": {"kind": "sbom", "path": sbom.path, "ref": null, "line": null}} if {
	"signature" in input.require
	some sbom in input.sboms
	not signed(sbom)
	msg := concat("", [
		"SBOM ", sbom.path, " has no signature (require: signature); expected a bundle such as ",
		sbom.path, ".sigstore.json",
	])
}

signed(sbom) if input.signatures[_].artifact.path == sbom.path

signed(sbom) if input.signatures[_].artifact.sha256 == sbom.sha256
