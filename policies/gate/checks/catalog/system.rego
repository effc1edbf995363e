# CATALOG-SYSTEM: components belong to a system.
package gate.checks.catalog.system

import data.gate.lib

meta := {
	"id": "CATALOG-SYSTEM",
	"title": "Component belongs to a system",
	"severity": "low",
	"remediation": "Set spec.system to the System entity this component is part of.",
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
	lib.kind(item.entity) == "component"
	not lib.has_text(item.entity, ["spec", "system"])
	msg := concat("", [lib.entity_label(item), " has no spec.system"])
}
