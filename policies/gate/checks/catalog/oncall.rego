# METADATA
# title: Production component has an on-call rotation
# description: |-
#   Production components that run (spec.type in oncall_types: service and website by default) can
#   page someone; libraries and other components that do not run are not paged.
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

# The component types that run, and so can page someone; data.gate.config.oncall_types sets them.
default_running_types := ["service", "website"]

running_types contains lower(t) if {
	some t in object.get(lib.config, "oncall_types", default_running_types)
	is_string(t)
}

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
	is_string(item.entity.spec.type)
	lower(item.entity.spec.type) in running_types
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
