package gate.checks.catalog.oncall_test

import data.gate.checks.catalog.oncall
import data.gate.testing as t

entity(lifecycle, annotations) := typed("service", lifecycle, annotations)

typed(type, lifecycle, annotations) := t.component_with(
	{"name": "payments", "annotations": annotations},
	{"type": type, "owner": "group:a", "lifecycle": lifecycle},
)

test_fires_for_production_without_pagerduty if {
	vs := oncall.violation with input.catalog as [t.catalog_item(entity("production", {}))]
	count(vs) == 1
	some v in vs
	v.subject.ref == "component:default/payments"
	v.msg == concat("", [
		"component:default/payments is in production but has no pagerduty.com/service-id or ",
		"pagerduty.com/integration-key annotation",
	])
}

test_quiet_with_service_id if {
	count(oncall.violation) == 0 with input.catalog as [t.catalog_item(t.component)]
}

test_quiet_with_integration_key if {
	e := entity("production", {"pagerduty.com/integration-key": "abc"})
	count(oncall.violation) == 0 with input.catalog as [t.catalog_item(e)]
}

test_quiet_when_not_in_production if {
	count(oncall.violation) == 0 with input.catalog as [t.catalog_item(entity("experimental", {}))]
}

test_fires_for_a_production_website if {
	vs := oncall.violation with input.catalog as [t.catalog_item(typed("website", "production", {}))]
	count(vs) == 1
}

test_quiet_for_a_production_library if {
	count(oncall.violation) == 0 with input.catalog as [t.catalog_item(typed("library", "production", {}))]
}

test_quiet_without_a_type if {
	e := t.component_with({"name": "payments"}, {"owner": "group:a", "lifecycle": "production"})
	count(oncall.violation) == 0 with input.catalog as [t.catalog_item(e)]
}

test_oncall_types_from_config if {
	lib_item := t.catalog_item(typed("Library", "production", {}))
	svc_item := t.catalog_item(typed("service", "production", {}))
	vs := oncall.violation with input.catalog as [lib_item, svc_item]
		with data.gate.config.oncall_types as ["library"]
	count(vs) == 1
}
