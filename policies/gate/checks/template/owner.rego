# METADATA
# title: Template has an owner
# description: |-
#   A scaffolder template names the team that maintains it.
# custom:
#   id: TEMPLATE-OWNER
#   severity: medium
#   remediation: >-
#     Set spec.owner to the group that maintains this template, e.g. `owner:
#     group:default/platform`.
package gate.checks.template.owner

import data.gate.lib

meta := lib.check_meta(rego.metadata.chain())

violation contains {
	"msg": msg,
	"subject": {
		"kind": "template",
		"path": item.path,
		"ref": lib.entity_ref(item.entity),
		"line": lib.line_at(item, ["/spec"]),
	},
} if {
	some item in input.templates
	not lib.has_text(item.entity, ["spec", "owner"])
	msg := concat("", [lib.entity_label(item), " has no spec.owner"])
}
