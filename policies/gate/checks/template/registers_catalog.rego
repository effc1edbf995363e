# METADATA
# title: Template registers its result in the catalog
# description: |-
#   What a template creates shows up in the catalog. A template that only opens a pull or merge
#   request against an existing repository (publish:github:pull-request,
#   publish:gitlab:merge-request, any publish:*:pull-request) creates nothing new to register.
# custom:
#   id: TEMPLATE-REGISTERS-CATALOG
#   severity: medium
#   remediation: >-
#     Add a final step with `action: catalog:register` pointing at the new repository's
#     catalog-info.yaml.
package gate.checks.template.registers_catalog

import data.gate.lib

meta := lib.check_meta(rego.metadata.chain())

violation contains {
	"msg": msg,
	"subject": {
		"kind": "template",
		"path": item.path,
		"ref": lib.entity_ref(item.entity),
		"line": lib.line_at(item, ["/spec/steps", "/spec"]),
	},
} if {
	some item in input.templates
	not registers(item)
	not only_change_requests(item)
	not unresolved_step(item)
	msg := concat("", [
		lib.entity_label(item),
		" has no catalog:register step, so what it creates never appears in the catalog",
	])
}

registers(item) if item.steps[_].action == "catalog:register"

# A step the gate could not read (a placeholder it did not resolve) may be the one that registers.
unresolved_step(item) if {
	some step in item.steps
	is_string(step.placeholder)
}

# Every publishing step opens a pull or merge request against a repository that exists already.
only_change_requests(item) if {
	not creates_repository(item)
	some step in item.steps
	change_request(step.action)
}

creates_repository(item) if {
	some step in item.steps
	is_string(step.action)
	startswith(step.action, "publish:")
	not change_request(step.action)
}

change_request(action) if {
	is_string(action)
	startswith(action, "publish:")
	endswith(action, ":pull-request")
}

change_request(action) if {
	is_string(action)
	startswith(action, "publish:")
	endswith(action, ":merge-request")
}
