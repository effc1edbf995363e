package gate.checks.catalog.placeholder_test

import data.gate.checks.catalog.placeholder
import data.gate.testing as t

unread := {
	"pointer": "/spec/definition",
	"where": "spec.definition",
	"placeholder": "$text",
	"target": "https://example.com/openapi.yaml",
	"resolved": false,
	"reason": "it names a URL, and the gate fetches nothing",
	"line": 12,
}

read := object.union(unread, {"target": "./openapi.yaml", "resolved": true, "reason": null})

with_placeholders(item, ps) := object.union(item, {"placeholders": ps})

test_fires_for_an_unresolved_placeholder if {
	item := with_placeholders(t.catalog_item(t.component), [unread, read])
	vs := placeholder.violation with input.catalog as [item]
	count(vs) == 1
	some v in vs
	v.subject == {"kind": "catalog", "path": "catalog-info.yaml", "ref": "component:default/payments", "line": 12}
	v.msg == concat("", [
		"component:default/payments: the $text placeholder at spec.definition (https://example.com/openapi.yaml) ",
		"was not checked: it names a URL, and the gate fetches nothing",
	])
}

test_fires_for_a_template_step if {
	step := object.union(unread, {"pointer": "/spec/steps/1", "where": "spec.steps[1]", "placeholder": "$yaml"})
	item := with_placeholders(t.template_item(t.template, t.good_steps), [step])
	vs := placeholder.violation with input.templates as [item]
	count(vs) == 1
	some v in vs
	v.subject.kind == "template"
}

test_quiet_when_every_placeholder_was_read if {
	item := with_placeholders(t.catalog_item(t.component), [read])
	count(placeholder.violation) == 0 with input.catalog as [item]
}

test_quiet_without_placeholders if {
	count(placeholder.violation) == 0 with input.catalog as [t.catalog_item(t.component)]
}
