# METADATA
# title: Catalog entity links its source repository
# description: |-
#   Software entities say where their source code lives.
# custom:
#   id: CATALOG-SOURCE
#   severity: low
#   remediation: >-
#     Add one of the annotations github.com/project-slug (owner/repo), gitlab.com/project-slug
#     (group/project) or backstage.io/source-location (url:https://…).
package gate.checks.catalog.source

import data.gate.lib

meta := lib.check_meta(rego.metadata.chain())

kinds := {"component", "api"}

repo_annotations := ["github.com/project-slug", "gitlab.com/project-slug", "backstage.io/source-location"]

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
	not has_source(item.entity)
	msg := concat("", [lib.entity_label(item), " has no source annotation (", concat(", ", repo_annotations), ")"])
}

has_source(entity) if {
	some key in repo_annotations
	lib.annotation(entity, key)
}
