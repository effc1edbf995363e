package gate.checks.catalog.owner_group_test

import data.gate.checks.catalog.owner_group
import data.gate.testing as t

owned_by(o) := t.component_with(t.component.metadata, {"owner": o, "lifecycle": "production", "system": "s"})

test_fires_for_user_owner if {
	vs := owner_group.violation with input.catalog as [t.catalog_item(owned_by("user:default/alice"))]
	count(vs) == 1
	some v in vs
	v.subject.line == 11
	v.msg == "component:default/payments is owned by the user \"user:default/alice\" instead of a group"
}

test_fires_for_user_owner_any_case if {
	count(owner_group.violation) == 1 with input.catalog as [t.catalog_item(owned_by("User:alice"))]
}

test_quiet_for_group_owner if {
	count(owner_group.violation) == 0 with input.catalog as [t.catalog_item(owned_by("group:team-a"))]
}

test_quiet_for_bare_owner_which_defaults_to_group if {
	count(owner_group.violation) == 0 with input.catalog as [t.catalog_item(owned_by("team-a"))]
}
