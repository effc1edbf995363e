# METADATA
# title: Template uses only allowed scaffolder actions
# description: |-
#   Templates only run scaffolder actions the platform team allows.
# custom:
#   id: TEMPLATE-ACTIONS-ALLOWED
#   severity: high
#   remediation: >-
#     Use an allowed action instead, or ask the platform team to add this one to
#     data.allowed_actions in gate.yaml.
package gate.checks.template.actions_allowed

import data.gate.lib

meta := lib.check_meta(rego.metadata.chain())

# Entries of allowed_actions are action ids or globs (`*` spans any characters, e.g. "acme:*").
# A step without an action is a schema error, reported by TEMPLATE-VALID.
violation contains {
	"msg": msg,
	"subject": {"kind": "template", "path": item.path, "ref": step.id, "line": step.line},
} if {
	some item in input.templates
	some step in item.steps
	is_string(step.action)
	not lib.matches_any(lib.config_strings("allowed_actions"), step.action)
	msg := concat("", [
		"step ", lib.step_label(step), " of ", lib.entity_label(item), " uses the action ", step.action,
		", which is not in allowed_actions",
	])
}
