# METADATA
# title: Every placeholder of an entity was checked
# description: |-
#   The catalog substitutes $text, $json, $yaml, $openapi and $asyncapi placeholders before it
#   validates an entity; the gate does the same for the files they name inside the checked folder.
#   A placeholder it could not resolve (a URL, which it never fetches, a missing file, a path
#   outside the checked folder) is left out of the checks, and this says which one.
# custom:
#   id: CATALOG-PLACEHOLDER-UNCHECKED
#   severity: low
#   remediation: >-
#     Point the placeholder at a file in the repository with a relative path (./api/openapi.yaml),
#     or check the file it names separately; the catalog refuses the entity if it cannot read it.
package gate.checks.catalog.placeholder

import data.gate.lib

meta := lib.check_meta(rego.metadata.chain())

violation contains {
	"msg": msg,
	"subject": {
		"kind": kind,
		"path": item.path,
		"ref": lib.entity_ref(item.entity),
		"line": p.line,
	},
} if {
	some section, kind in section_kind
	some item in input[section]
	some p in item.placeholders
	p.resolved == false
	msg := concat("", [
		lib.entity_label(item), ": the ", p.placeholder, " placeholder at ", p.where, " (", p.target,
		") was not checked: ", p.reason,
	])
}

section_kind := {"catalog": "catalog", "templates": "template"}
