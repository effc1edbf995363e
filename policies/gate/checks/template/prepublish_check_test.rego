package gate.checks.template.prepublish_check_test

import data.gate.checks.template.prepublish_check
import data.gate.testing as t

test_fires_when_publishing_unchecked if {
	cfg := t.config
	steps := [
		t.step(0, "fetch", "fetch:template"),
		t.step(1, "publish", "publish:github"),
		t.step(2, "register", "catalog:register"),
	]
	vs := prepublish_check.violation with input.templates as [t.template_item(t.template, steps)]
		with data.gate.config as cfg
	count(vs) == 1
	some v in vs
	v.subject == {"kind": "template", "path": "template.yaml", "ref": "publish", "line": 24}
	v.msg == concat("", [
		"template:default/service publishes at step \"publish\" (publish:github) without first running ",
		"a governance step (one of: govgate:check, http:backstage:request)",
	])
}

test_fires_when_check_comes_after_publish if {
	cfg := t.config
	steps := [t.step(0, "publish", "publish:gitlab"), t.step(1, "check", "govgate:check")]
	count(prepublish_check.violation) == 1 with input.templates as [t.template_item(t.template, steps)]
		with data.gate.config as cfg
}

test_reports_only_the_first_publish_step if {
	cfg := t.config
	steps := [
		t.step(0, "pr", "publish:github:pull-request"),
		t.step(1, "gh", "publish:github"),
		t.step(2, "check", "govgate:check"),
	]
	vs := prepublish_check.violation with input.templates as [t.template_item(t.template, steps)]
		with data.gate.config as cfg
	count(vs) == 1
	some v in vs
	v.subject.ref == "pr"
}

test_step_order_is_by_index_not_by_position if {
	cfg := t.config
	steps := [t.step(2, "publish", "publish:github"), t.step(1, "check", "govgate:check")]
	count(prepublish_check.violation) == 0 with input.templates as [t.template_item(t.template, steps)]
		with data.gate.config as cfg
}

test_quiet_when_checked_before_publish if {
	cfg := t.config
	count(prepublish_check.violation) == 0 with input.templates as [t.template_item(t.template, t.good_steps)]
		with data.gate.config as cfg
}

test_quiet_when_nothing_is_published if {
	cfg := t.config
	steps := [t.step(0, "fetch", "fetch:template"), t.step(1, "log", "debug:log")]
	count(prepublish_check.violation) == 0 with input.templates as [t.template_item(t.template, steps)]
		with data.gate.config as cfg
}
