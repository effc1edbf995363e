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
