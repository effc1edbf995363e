# METADATA
# title: Template registers its result in the catalog
# description: |-
#   What a template creates shows up in the catalog.
# custom:
#   id: TEMPLATE-REGISTERS-CATALOG
#   severity: medium
#   remediation: >-
#     Add a final step with `action: catalog:register` pointing at the new repository's
#     catalog-info.yaml.
package gate.checks.template.registers_catalog

import data.gate.lib

meta := lib.check_meta(rego.metadata.chain())

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
