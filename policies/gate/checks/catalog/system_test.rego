package gate.checks.catalog.system_test

import data.gate.checks.catalog.system
import data.gate.testing as t

test_fires_without_system if {
	entity := t.component_with(t.component.metadata, {"owner": "group:a", "lifecycle": "production"})
	vs := system.violation with input.catalog as [t.catalog_item(entity)]
	count(vs) == 1
	some v in vs
	v.subject.line == 9
	v.msg == "component:default/payments has no spec.system"
}

test_quiet_with_system if {
	count(system.violation) == 0 with input.catalog as [t.catalog_item(t.component)]
}

test_quiet_for_apis if {
	api := {"kind": "API", "metadata": {"name": "payments-api"}, "spec": {"owner": "group:a"}}
	count(system.violation) == 0 with input.catalog as [t.catalog_item(api)]
}
