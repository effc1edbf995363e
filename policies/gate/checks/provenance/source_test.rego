package gate.checks.provenance.source_test

import data.gate.checks.provenance.source
import data.gate.testing as t

test_fires_for_other_repository if {
	ctx := t.context
	att := t.provenance("b", "git+https://github.com/evil/payments@refs/heads/main")
	vs := source.violation with input.attestations as [att] with input.context as ctx
	vs == {{
		"msg": concat("", [
			"provenance for app.tgz says it was built from git+https://github.com/evil/payments@refs/heads/main, ",
			"not from this repository https://github.com/acme/payments",
		]),
		"subject": {"kind": "attestation", "path": "app.intoto.jsonl", "ref": "app.tgz", "line": 3},
	}}
}

test_fires_without_source if {
	ctx := t.context
	vs := source.violation with input.attestations as [t.provenance("b", null)] with input.context as ctx
	some v in vs
	v.msg == "provenance for app.tgz names no source repository, so it cannot be tied to https://github.com/acme/payments"
}

test_quiet_for_same_repository_spelled_differently if {
	ctx := t.context
	atts := [t.provenance("b", repo) | some repo in [
		"git+https://github.com/acme/payments@refs/heads/main",
		"https://github.com/Acme/Payments.git",
		"github.com/acme/payments",
		"git@github.com:acme/payments.git",
		"acme/payments",
	]]
	count(source.violation) == 0 with input.attestations as atts with input.context as ctx
}

test_quiet_for_gitlab_project_url if {
	ctx := object.union(t.context, {"ci": "gitlab", "repository": "https://gitlab.com/acme/group/payments"})
	att := t.provenance("b", "git+https://gitlab.com/acme/group/payments.git@refs/heads/main")
	count(source.violation) == 0 with input.attestations as [att] with input.context as ctx
}

test_self_hosted_hosts_must_match if {
	ctx := object.union(t.context, {"repository": "https://git.acme.com/acme/payments"})
	att := t.provenance("b", "https://git.evil.com/acme/payments")
	count(source.violation) == 1 with input.attestations as [att] with input.context as ctx
}

test_quiet_without_ci_repository if {
	ctx := object.union(t.context, {"repository": null})
	att := t.provenance("b", "https://github.com/evil/x")
	count(source.violation) == 0 with input.attestations as [att] with input.context as ctx
}

test_quiet_for_other_predicates if {
	ctx := t.context
	att := object.union(t.provenance("b", "https://github.com/evil/x"), {"predicate_type": "https://spdx.dev/Document"})
	count(source.violation) == 0 with input.attestations as [att] with input.context as ctx
}
