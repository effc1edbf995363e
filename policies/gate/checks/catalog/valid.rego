# METADATA
# title: Catalog entity is valid for Backstage
# description: |-
#   The entity passes Backstage's own JSON Schema for its kind (checked by the collector).
# custom:
#   id: CATALOG-VALID
#   severity: high
#   remediation: >-
#     Fix the fields named in the message; Backstage refuses to ingest entities that fail its
#     schema.
package gate.checks.catalog.valid

import data.gate.lib

meta := lib.check_meta(rego.metadata.chain())

violation contains {
	"msg": msg,
	"subject": {
		"kind": "catalog",
		"path": item.path,
		"ref": lib.entity_ref(item.entity),
		"line": lib.line_at(item, [""]),
	},
} if {
	some item in input.catalog
	item.valid == false
	msg := concat("", [
		lib.entity_label(item), " fails Backstage's ", lib.kind_label(item.entity), " schema: ",
		lib.errors_summary(item.errors),
	])
}
