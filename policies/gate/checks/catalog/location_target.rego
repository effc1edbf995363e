# METADATA
# title: Location names a target
# description: |-
#   A Location adds the catalog files its spec.target or spec.targets name. Backstage's schema
#   accepts a Location with neither (it is valid, and adds nothing), so this is a separate rule.
# custom:
#   id: CATALOG-LOCATION-TARGET
#   severity: low
#   remediation: >-
#     Set spec.target (one path or URL) or spec.targets (a list) to the catalog files the Location
#     should add, or remove the Location.
package gate.checks.catalog.location_target

import data.gate.lib

meta := lib.check_meta(rego.metadata.chain())

violation contains {
	"msg": msg,
	"subject": {
		"kind": "catalog",
		"path": item.path,
		"ref": lib.entity_ref(item.entity),
		"line": lib.line_at(item, ["/spec", ""]),
	},
} if {
	some item in input.catalog
	lib.kind(item.entity) == "location"
	not has_target(item.entity)
	msg := concat("", [lib.entity_label(item), " names no spec.target or spec.targets, so it adds nothing to the catalog"])
}

has_target(entity) if lib.has_text(entity, ["spec", "target"])

has_target(entity) if {
	some target in entity.spec.targets
	lib.present(target)
}
