# METADATA
# title: Catalog entity has TechDocs
# description: |-
#   Software entities link their documentation.
# custom:
#   id: CATALOG-TECHDOCS
#   severity: low
#   remediation: >-
#     Add the annotation `backstage.io/techdocs-ref: dir:.` and a mkdocs.yml with a docs/ folder
#     beside catalog-info.yaml.
package gate.checks.catalog.techdocs

import data.gate.lib

meta := lib.check_meta(rego.metadata.chain())

# The kinds people read documentation for. `backstage.io/techdocs-entity` (docs served from another
# entity) counts as well.
kinds := {"component", "api", "system"}

violation contains {
	"msg": msg,
	"subject": {
		"kind": "catalog",
		"path": item.path,
		"ref": lib.entity_ref(item.entity),
		"line": lib.line_at(item, ["/metadata/annotations", "/metadata"]),
	},
} if {
	some item in input.catalog
	kinds[lib.kind(item.entity)]
	not lib.annotation(item.entity, "backstage.io/techdocs-ref")
	not lib.annotation(item.entity, "backstage.io/techdocs-entity")
	msg := concat("", [
		lib.entity_label(item),
		" has no backstage.io/techdocs-ref annotation, so it has no documentation in the portal",
	])
}
