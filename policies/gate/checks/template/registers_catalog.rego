# TEMPLATE-REGISTERS-CATALOG: what a template creates shows up in the catalog.
package gate.checks.template.registers_catalog

import data.gate.lib

meta := {
	"id": "TEMPLATE-REGISTERS-CATALOG",
	"title": "Template registers its result in the catalog",
	"severity": "medium",
	"remediation": "Add a final step with `action: catalog:register` pointing at the new repository's catalog-info.yaml.",
}

violation contains {
	"msg": msg,
	"subject": {
		"kind": "template",
		"path": item.path,
		"ref": lib.entity_ref(item.entity),
		"line": lib.line_at(item, ["/spec/steps", "/spec"]),
	},
} if {
	some item in input.templates
	not registers(item)
	msg := concat("", [
		lib.entity_label(item),
		" has no catalog:register step, so what it creates never appears in the catalog",
	])
}

registers(item) if item.steps[_].action == "catalog:register"
