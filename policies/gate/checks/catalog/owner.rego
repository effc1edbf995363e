# METADATA
# title: Catalog entity has an owner
# description: |-
#   Every owned catalog entity names its owner.
# custom:
#   id: CATALOG-OWNER
#   severity: high
#   remediation: >-
#     Set spec.owner to the group that answers for this entity, e.g. `owner:
#     group:default/team-payments`.
package gate.checks.catalog.owner

import data.gate.lib

meta := lib.check_meta(rego.metadata.chain())

# Kinds whose Backstage schema has spec.owner. Groups, Users and Locations have no owner.
owned_kinds := {"component", "api", "resource", "system", "domain"}

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
	owned_kinds[lib.kind(item.entity)]
	not lib.has_text(item.entity, ["spec", "owner"])
	msg := concat("", [lib.entity_label(item), " has no spec.owner, so nobody is accountable for it"])
}
