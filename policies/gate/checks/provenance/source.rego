# METADATA
# title: Provenance source matches the CI repository
# description: |-
#   Provenance was built from the repository this pipeline runs for.
# custom:
#   id: PROV-SOURCE
#   severity: medium
#   remediation: >-
#     Gate the artifact in the pipeline of the repository it was built from, or rebuild it from
#     this repository.
package gate.checks.provenance.source

import data.gate.lib

meta := lib.check_meta(rego.metadata.chain())

# Repositories are compared after lib.normalize_repo (scheme, git+, .git, @ref and the
# github.com/gitlab.com host dropped). Without a CI repository (a local run) there is nothing to
# compare against and the check stays quiet.
violation contains {
	"msg": msg,
	"subject": {
		"kind": "attestation",
		"path": att.path,
		"ref": lib.attestation_ref(att),
		"line": lib.attestation_line(att),
	},
} if {
	ci := input.context.repository
	lib.present(ci)
	some att in input.attestations
	lib.is_provenance(att)
	lib.present(att.source.repo)
	lib.normalize_repo(att.source.repo) != lib.normalize_repo(ci)
	msg := concat("", [
		"provenance for ", lib.attestation_label(att), " says it was built from ", att.source.repo,
		", not from this repository ", ci,
	])
}

violation contains {
	"msg": msg,
	"subject": {
		"kind": "attestation",
		"path": att.path,
		"ref": lib.attestation_ref(att),
		"line": lib.attestation_line(att),
	},
} if {
	ci := input.context.repository
	lib.present(ci)
	some att in input.attestations
	lib.is_provenance(att)
	not lib.has_text(att, ["source", "repo"])
	msg := concat("", [
		"provenance for ", lib.attestation_label(att),
		" names no source repository, so it cannot be tied to ", ci,
	])
}
