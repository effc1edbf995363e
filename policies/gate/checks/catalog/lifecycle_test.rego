package gate.checks.catalog.lifecycle_test

import data.gate.checks.catalog.lifecycle
import data.gate.testing as t

with_lifecycle(l) := t.component_with(t.component.metadata, {"owner": "group:a", "lifecycle": l})

test_fires_outside_configured_set if {
	cfg := t.config
	vs := lifecycle.violation with input.catalog as [t.catalog_item(with_lifecycle("beta"))]
		with data.gate.config as cfg
	count(vs) == 1
	some v in vs
	v.subject.line == 12
	v.msg == "component:default/payments has lifecycle \"beta\", which is not one of: experimental, production, deprecated"
}

test_fires_without_lifecycle if {
	cfg := t.config
	entity := t.component_with(t.component.metadata, {"owner": "group:a"})
	vs := lifecycle.violation with input.catalog as [t.catalog_item(entity)]
		with data.gate.config as cfg
	some v in vs
	v.msg == "component:default/payments has no spec.lifecycle (expected one of: experimental, production, deprecated)"
}

test_fires_for_non_string_lifecycle if {
	cfg := t.config
	vs := lifecycle.violation with input.catalog as [t.catalog_item(with_lifecycle(3))]
		with data.gate.config as cfg
	some v in vs
	v.msg == "component:default/payments has lifecycle 3, which is not one of: experimental, production, deprecated"
}

test_quiet_inside_configured_set if {
	cfg := t.config
	count(lifecycle.violation) == 0 with input.catalog as [t.catalog_item(with_lifecycle("experimental"))]
		with data.gate.config as cfg
}

test_configured_set_is_read_from_config if {
	count(lifecycle.violation) == 0 with input.catalog as [t.catalog_item(with_lifecycle("beta"))]
		with data.gate.config as {"lifecycles": ["beta"]}
}

test_quiet_for_other_kinds if {
	cfg := t.config
	system := {"kind": "System", "metadata": {"name": "s"}, "spec": {"owner": "group:a", "lifecycle": "beta"}}
	count(lifecycle.violation) == 0 with input.catalog as [t.catalog_item(system)]
		with data.gate.config as cfg
}
