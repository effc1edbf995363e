# METADATA
# title: Production component has an on-call rotation
# description: |-
#   Production components can page someone.
# custom:
#   id: CATALOG-ONCALL
#   severity: medium
#   remediation: >-
#     Add the annotation pagerduty.com/service-id (or pagerduty.com/integration-key) naming the
#     PagerDuty service that is paged for this component.
package gate.checks.catalog.oncall

import data.gate.lib

meta := lib.check_meta(rego.metadata.chain())

paging_annotations := ["pagerduty.com/service-id", "pagerduty.com/integration-key"]

violation contains {
	"msg": msg,
	"subject": {
		"kind": "catalog",
		"path": item.path,
		"ref": lib.entity_ref(item.entity),
		"line": lib.line_at(item, ["/metadata/annotations", "/metadata"]),
	},
} if {
	some item in input.catalog
	lib.kind(item.entity) == "component"
	item.entity.spec.lifecycle == "production"
	not has_oncall(item.entity)
	msg := concat("", [
		lib.entity_label(item),
		" is in production but has no pagerduty.com/service-id or pagerduty.com/integration-key annotation",
	])
}

has_oncall(entity) if {
	some key in paging_annotations
	lib.annotation(entity, key)
}
