package gate.checks.catalog.techdocs_test

import data.gate.checks.catalog.techdocs
import data.gate.testing as t

annotated(annotations) := t.component_with({"name": "payments", "annotations": annotations}, t.component.spec)

test_fires_without_techdocs_ref if {
	vs := techdocs.violation with input.catalog as [t.catalog_item(annotated({"github.com/project-slug": "a/b"}))]
	count(vs) == 1
	some v in vs
	v.subject.line == 6
	v.msg == concat("", [
		"component:default/payments has no backstage.io/techdocs-ref annotation, ",
		"so it has no documentation in the portal",
	])
}

test_fires_without_annotations if {
	entity := t.component_with({"name": "payments"}, t.component.spec)
	vs := techdocs.violation with input.catalog as [t.catalog_item(entity)]
	some v in vs
	v.subject.line == 6
}

test_quiet_with_techdocs_ref if {
	count(techdocs.violation) == 0 with input.catalog as [t.catalog_item(t.component)]
}

test_quiet_with_techdocs_entity if {
	entity := annotated({"backstage.io/techdocs-entity": "component:default/docs"})
	count(techdocs.violation) == 0 with input.catalog as [t.catalog_item(entity)]
}

test_quiet_for_resources if {
	resource := {"kind": "Resource", "metadata": {"name": "db"}, "spec": {"owner": "group:a", "type": "database"}}
	count(techdocs.violation) == 0 with input.catalog as [t.catalog_item(resource)]
}
