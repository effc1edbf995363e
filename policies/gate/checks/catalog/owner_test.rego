package gate.checks.catalog.owner_test

import data.gate.checks.catalog.owner
import data.gate.testing as t

without_owner := t.component_with(t.component.metadata, {"type": "service", "lifecycle": "production"})

test_fires_without_owner if {
	vs := owner.violation with input.catalog as [t.catalog_item(without_owner)]
	count(vs) == 1
	some v in vs
	v.subject == {"kind": "catalog", "path": "catalog-info.yaml", "ref": "component:default/payments", "line": 9}
	v.msg == "component:default/payments has no spec.owner, so nobody is accountable for it"
}

test_fires_on_empty_owner if {
	entity := t.component_with(t.component.metadata, {"owner": "  ", "lifecycle": "production"})
	count(owner.violation) == 1 with input.catalog as [t.catalog_item(entity)]
}

test_quiet_with_owner if {
	count(owner.violation) == 0 with input.catalog as [t.catalog_item(t.component)]
}

test_quiet_for_kinds_without_owner if {
	group := {
		"apiVersion": "backstage.io/v1alpha1",
		"kind": "Group",
		"metadata": {"name": "team-a"},
		"spec": {"type": "team", "children": []},
	}
	count(owner.violation) == 0 with input.catalog as [t.catalog_item(group)]
}

test_unnamed_entity_is_named_by_document if {
	entity := {"kind": "API", "metadata": {}, "spec": {}}
	item := object.union(t.catalog_item(entity), {"document": 2})
	vs := owner.violation with input.catalog as [item]
	some v in vs
	v.subject.ref == null
	v.msg == "the API entity in document 3 has no spec.owner, so nobody is accountable for it"
}
