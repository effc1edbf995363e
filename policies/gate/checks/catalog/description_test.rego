package gate.checks.catalog.description_test

import data.gate.checks.catalog.description
import data.gate.testing as t

test_fires_without_description if {
	entity := t.component_with({"name": "payments"}, t.component.spec)
	vs := description.violation with input.catalog as [t.catalog_item(entity)]
	count(vs) == 1
	some v in vs
	v.subject.line == 3
	v.msg == "component:default/payments has no metadata.description"
}

test_quiet_with_description if {
	count(description.violation) == 0 with input.catalog as [t.catalog_item(t.component)]
}

test_quiet_for_locations if {
	location := {"kind": "Location", "metadata": {"name": "all"}, "spec": {"targets": ["./a.yaml"]}}
	count(description.violation) == 0 with input.catalog as [t.catalog_item(location)]
}
