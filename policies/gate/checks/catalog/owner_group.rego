# METADATA
# title: Catalog entity is owned by a group
# description: |-
#   Owners are groups, not single people who change teams or leave.
# custom:
#   id: CATALOG-OWNER-GROUP
#   severity: medium
#   remediation: >-
#     Make a team (a Group entity) the owner, e.g. `owner: group:default/team-payments`, and
#     keep people as its members.
package gate.checks.catalog.owner_group

import data.gate.lib

meta := lib.check_meta(rego.metadata.chain())

violation contains {
	"msg": msg,
	"subject": {
		"kind": "catalog",
		"path": item.path,
		"ref": lib.entity_ref(item.entity),
		"line": lib.line_at(item, ["/spec/owner", "/spec"]),
	},
} if {
	some item in input.catalog
	owner := item.entity.spec.owner
	is_string(owner)
	startswith(lower(trim_space(owner)), "user:")
	msg := concat("", [lib.entity_label(item), " is owned by the user ", lib.quote(owner), " instead of a group"])
}
