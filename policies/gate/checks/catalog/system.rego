# METADATA
# title: Component belongs to a system
# description: |-
#   Components belong to a system.
# custom:
#   id: CATALOG-SYSTEM
#   severity: low
#   remediation: Set spec.system to the System entity this component is part of.
package gate.checks.catalog.system

import data.gate.lib

meta := lib.check_meta(rego.metadata.chain())

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
	lib.kind(item.entity) == "component"
	not lib.has_text(item.entity, ["spec", "system"])
	msg := concat("", [lib.entity_label(item), " has no spec.system"])
}
