package gate.checks.template.actions_allowed_test

import data.gate.checks.template.actions_allowed
import data.gate.testing as t

test_fires_for_unlisted_action if {
	cfg := t.config
	steps := array.concat(t.good_steps, [t.step(4, "shell", "acme:run-shell")])
	vs := actions_allowed.violation with input.templates as [t.template_item(t.template, steps)]
		with data.gate.config as cfg
	count(vs) == 1
	some v in vs
	v.subject == {"kind": "template", "path": "template.yaml", "ref": "shell", "line": 36}
	v.msg == "step \"shell\" of template:default/service uses the action acme:run-shell, which is not in allowed_actions"
}

test_step_without_id_is_named_by_position if {
	cfg := t.config
	vs := actions_allowed.violation with input.templates as [t.template_item(t.template, [t.step(0, null, "acme:x")])]
		with data.gate.config as cfg
	some v in vs
	v.subject.ref == null
	v.msg == "step #1 of template:default/service uses the action acme:x, which is not in allowed_actions"
}

test_quiet_for_allowed_actions if {
	cfg := t.config
	count(actions_allowed.violation) == 0 with input.templates as [t.template_item(t.template, t.good_steps)]
		with data.gate.config as cfg
}

test_globs_allow_families_of_actions if {
	steps := [t.step(0, "a", "acme:deploy"), t.step(1, "b", "acme:notify:slack")]
	count(actions_allowed.violation) == 0 with input.templates as [t.template_item(t.template, steps)]
		with data.gate.config as {"allowed_actions": ["acme:*"]}
}

test_everything_fires_without_allowed_actions if {
	count(actions_allowed.violation) == 4 with input.templates as [t.template_item(t.template, t.good_steps)]
		with data.gate.config as {}
}

test_steps_without_action_are_left_to_template_valid if {
	cfg := t.config
	count(actions_allowed.violation) == 0 with input.templates as [t.template_item(t.template, [t.step(0, "a", null)])]
		with data.gate.config as cfg
}
