package gate.checks.template.registers_catalog_test

import data.gate.checks.template.registers_catalog
import data.gate.testing as t

test_fires_without_catalog_register if {
	steps := [t.step(0, "fetch", "fetch:template"), t.step(1, "publish", "publish:github")]
	vs := registers_catalog.violation with input.templates as [t.template_item(t.template, steps)]
	count(vs) == 1
	some v in vs
	v.subject == {"kind": "template", "path": "template.yaml", "ref": "template:default/service", "line": 15}
	v.msg == "template:default/service has no catalog:register step, so what it creates never appears in the catalog"
}

test_quiet_with_catalog_register if {
	count(registers_catalog.violation) == 0 with input.templates as [t.template_item(t.template, t.good_steps)]
}

test_quiet_when_it_only_opens_a_pull_request if {
	steps := [t.step(0, "fetch", "fetch:template"), t.step(1, "pr", "publish:github:pull-request")]
	count(registers_catalog.violation) == 0 with input.templates as [t.template_item(t.template, steps)]
}

test_quiet_when_it_only_opens_a_merge_request if {
	steps := [t.step(0, "fetch", "fetch:template"), t.step(1, "mr", "publish:gitlab:merge-request")]
	count(registers_catalog.violation) == 0 with input.templates as [t.template_item(t.template, steps)]
}

test_quiet_for_other_pull_request_actions if {
	steps := [t.step(0, "pr", "publish:bitbucketServer:pull-request"), t.step(1, "log", "debug:log")]
	count(registers_catalog.violation) == 0 with input.templates as [t.template_item(t.template, steps)]
}

test_fires_when_it_also_creates_a_repository if {
	steps := [
		t.step(0, "publish", "publish:github"),
		t.step(1, "pr", "publish:github:pull-request"),
	]
	count(registers_catalog.violation) == 1 with input.templates as [t.template_item(t.template, steps)]
}

test_quiet_when_a_step_was_not_read if {
	unread := object.union(t.step(1, "steps", null), {"placeholder": "$yaml"})
	steps := [t.step(0, "fetch", "fetch:template"), unread]
	count(registers_catalog.violation) == 0 with input.templates as [t.template_item(t.template, steps)]
}
