# METADATA
# title: Catalog entity has a description
# description: |-
#   Entities say what they are, for the people browsing the catalog.
# custom:
#   id: CATALOG-DESCRIPTION
#   severity: low
#   remediation: "Add metadata.description: one sentence on what this is and who uses it."
package gate.checks.catalog.description

import data.gate.lib

meta := lib.check_meta(rego.metadata.chain())

# Location entities only point at other files; they are not browsed, so they need no description.
violation contains {
	"msg": msg,
	"subject": {
		"kind": "catalog",
		"path": item.path,
		"ref": lib.entity_ref(item.entity),
		"line": lib.line_at(item, ["/metadata"]),
	},
} if {
	some item in input.catalog
	lib.kind(item.entity) != "location"
	not lib.has_text(item.entity, ["metadata", "description"])
	msg := concat("", [lib.entity_label(item), " has no metadata.description"])
}
