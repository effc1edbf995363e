package gate.checks.catalog.location_target_test

import data.gate.checks.catalog.location_target
import data.gate.testing as t

location(spec) := {
	"apiVersion": "backstage.io/v1alpha1",
	"kind": "Location",
	"metadata": {"name": "org"},
	"spec": spec,
}

test_fires_for_an_empty_spec if {
	vs := location_target.violation with input.catalog as [t.catalog_item(location({}))]
	count(vs) == 1
	some v in vs
	v.subject.ref == "location:default/org"
	v.subject.line == 9
	v.msg == "location:default/org names no spec.target or spec.targets, so it adds nothing to the catalog"
}

test_fires_for_empty_targets if {
	count(location_target.violation) == 1 with input.catalog as [t.catalog_item(location({"targets": [""]}))]
}

test_quiet_with_a_target if {
	count(location_target.violation) == 0 with input.catalog as [t.catalog_item(location({"target": "./a.yaml"}))]
}

test_quiet_with_targets if {
	count(location_target.violation) == 0 with input.catalog as [t.catalog_item(location({"targets": ["./a.yaml"]}))]
}

test_quiet_for_other_kinds if {
	count(location_target.violation) == 0 with input.catalog as [t.catalog_item(t.component)]
}
