# METADATA
# title: Template runs a governance check before publishing
# description: |-
#   A governance step (e.g. this gate) runs before anything is published.
# custom:
#   id: TEMPLATE-PREPUBLISH-CHECK
#   severity: medium
#   remediation: >-
#     Add a step using one of data.prepublish_actions (e.g. govgate:check) before the first
#     publish:* step.
package gate.checks.template.prepublish_check

import data.gate.lib

meta := lib.check_meta(rego.metadata.chain())

# The first publish:* step (by step index), reported when no prepublish action runs before it.
# A template that publishes nothing needs no check.
violation contains {
	"msg": msg,
	"subject": {"kind": "template", "path": item.path, "ref": first.id, "line": first.line},
} if {
	some item in input.templates
	some first in item.steps
	publishes(first)
	not earlier_publish(item, first)
	not checked_before(item, first)
	msg := concat("", [
		lib.entity_label(item), " publishes at step ", lib.step_label(first), " (", first.action,
		") without first running a governance step (one of: ",
		concat(", ", lib.config_strings("prepublish_actions")), ")",
	])
}

publishes(step) if {
	is_string(step.action)
	startswith(step.action, "publish:")
}

earlier_publish(item, step) if {
	some other in item.steps
	publishes(other)
	other.index < step.index
}

checked_before(item, step) if {
	some other in item.steps
	is_string(other.action)
	other.action in lib.config_strings("prepublish_actions")
	other.index < step.index
}
