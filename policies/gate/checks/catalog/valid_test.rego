package gate.checks.catalog.valid_test

import data.gate.checks.catalog.valid
import data.gate.testing as t

invalid(errors) := object.union(t.catalog_item(t.component), {"valid": false, "errors": errors})

test_fires_for_invalid_entity if {
	vs := valid.violation with input.catalog as [invalid(["/spec: must have required property 'type'"])]
	count(vs) == 1
	some v in vs
	v.subject == {"kind": "catalog", "path": "catalog-info.yaml", "ref": "component:default/payments", "line": 1}
	v.msg == "component:default/payments fails Backstage's Component schema: /spec: must have required property 'type'"
}

test_message_shortens_many_errors if {
	vs := valid.violation with input.catalog as [invalid(["a", "b", "c", "d", "e"])]
	some v in vs
	v.msg == "component:default/payments fails Backstage's Component schema: a; b; c (and 2 more)"
}

test_message_without_errors if {
	vs := valid.violation with input.catalog as [invalid([])]
	some v in vs
	v.msg == "component:default/payments fails Backstage's Component schema: no error detail was recorded"
}

test_quiet_for_valid_entity if {
	count(valid.violation) == 0 with input.catalog as [t.catalog_item(t.component)]
}
