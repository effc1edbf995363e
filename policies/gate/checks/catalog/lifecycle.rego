# METADATA
# title: Component or API lifecycle is a known value
# description: |-
#   Components and APIs use one of the lifecycles the organisation defines.
# custom:
#   id: CATALOG-LIFECYCLE
#   severity: low
#   remediation: >-
#     Set spec.lifecycle to one of the configured lifecycles (data.lifecycles in gate.yaml;
#     default experimental, production, deprecated).
package gate.checks.catalog.lifecycle

import data.gate.lib

meta := lib.check_meta(rego.metadata.chain())

kinds := {"component", "api"}

allowed := concat(", ", lib.config_strings("lifecycles"))

violation contains {
	"msg": msg,
	"subject": {
		"kind": "catalog",
		"path": item.path,
		"ref": lib.entity_ref(item.entity),
		"line": lib.line_at(item, ["/spec/lifecycle", "/spec"]),
	},
} if {
	some item in input.catalog
	kinds[lib.kind(item.entity)]
	lifecycle := item.entity.spec.lifecycle
	not lifecycle in lib.config_strings("lifecycles")
	msg := concat("", [
		lib.entity_label(item), " has lifecycle ", lib.quote(lifecycle),
		", which is not one of: ", allowed,
	])
}

violation contains {
	"msg": msg,
	"subject": {
		"kind": "catalog",
		"path": item.path,
		"ref": lib.entity_ref(item.entity),
		"line": lib.line_at(item, ["/spec"]),
	},
} if {
	some item in input.catalog
	kinds[lib.kind(item.entity)]
	not item.entity.spec.lifecycle
	msg := concat("", [lib.entity_label(item), " has no spec.lifecycle (expected one of: ", allowed, ")"])
}
