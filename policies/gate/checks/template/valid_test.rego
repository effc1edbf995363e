package gate.checks.template.valid_test

import data.gate.checks.template.valid
import data.gate.testing as t

test_fires_for_invalid_template if {
	errors := ["/spec/steps/0: must have required property 'action'"]
	item := object.union(t.template_item(t.template, t.good_steps), {"valid": false, "errors": errors})
	vs := valid.violation with input.templates as [item]
	count(vs) == 1
	some v in vs
	v.subject == {"kind": "template", "path": "template.yaml", "ref": "template:default/service", "line": 1}
	v.msg == concat("", [
		"template:default/service fails Backstage's Template schema: ",
		"/spec/steps/0: must have required property 'action'",
	])
}

test_quiet_for_valid_template if {
	count(valid.violation) == 0 with input.templates as [t.template_item(t.template, t.good_steps)]
}
