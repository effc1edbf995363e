# METADATA
# title: Template is valid for Backstage
# description: |-
#   The template passes Backstage's scaffolder Template schema (checked by the collector).
# custom:
#   id: TEMPLATE-VALID
#   severity: high
#   remediation: >-
#     Fix the fields named in the message; Backstage refuses to load templates that fail its
#     schema.
package gate.checks.template.valid

import data.gate.lib

meta := lib.check_meta(rego.metadata.chain())

violation contains {
	"msg": msg,
	"subject": {
		"kind": "template",
		"path": item.path,
		"ref": lib.entity_ref(item.entity),
		"line": lib.line_at(item, [""]),
	},
} if {
	some item in input.templates
	item.valid == false
	msg := concat("", [lib.entity_label(item), " fails Backstage's Template schema: ", lib.errors_summary(item.errors)])
}
