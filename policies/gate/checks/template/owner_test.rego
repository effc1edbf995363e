package gate.checks.template.owner_test

import data.gate.checks.template.owner
import data.gate.testing as t

test_fires_without_owner if {
	entity := {"kind": "Template", "metadata": {"name": "service"}, "spec": {"type": "service"}}
	vs := owner.violation with input.templates as [t.template_item(entity, t.good_steps)]
	count(vs) == 1
	some v in vs
	v.subject == {"kind": "template", "path": "template.yaml", "ref": "template:default/service", "line": 8}
	v.msg == "template:default/service has no spec.owner"
}

test_quiet_with_owner if {
	count(owner.violation) == 0 with input.templates as [t.template_item(t.template, t.good_steps)]
}
