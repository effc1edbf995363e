# The baseline bench/compare.py measures govgate against: a subset of govgate's shipped checks,
# written as conftest rules over the raw files (Backstage YAML, CycloneDX JSON), run with
# `conftest test`. Each message starts with "[CHECK-ID] ref ", naming the same check id and subject
# ref as govgate's finding, so the two reports can be compared one to one.
#
# The organisation's lists (allowed actions, denied licenses, lifecycles) come from
# data.govgate, which bench/compare.py writes from govgate's built-in defaults (--data).
# Block-level checks (severity high or critical) are deny rules; the others are warn rules.
package main

import rego.v1

# conftest gives a multi-document YAML file as a list of documents, a single document as itself.
documents := input if is_array(input)

documents := [input] if not is_array(input)

is_bom if input.bomFormat == "CycloneDX"

entities contains doc if {
	some doc in documents
	is_object(doc)
	is_string(doc.apiVersion)
	startswith(doc.apiVersion, "backstage.io/")
}

templates contains doc if {
	some doc in documents
	is_object(doc)
	is_string(doc.apiVersion)
	startswith(doc.apiVersion, "scaffolder.backstage.io/")
	doc.kind == "Template"
}

present(x) if {
	is_string(x)
	trim_space(x) != ""
}

has_text(obj, path) if present(object.get(obj, path, null))

kind(doc) := lower(doc.kind) if is_string(doc.kind)

else := ""

ref(doc) := concat("", [lower(doc.kind), ":", lower(ns), "/", doc.metadata.name]) if {
	ns := object.get(doc.metadata, "namespace", "default")
	present(ns)
} else := concat("", [lower(doc.kind), ":default/", doc.metadata.name])

report(check, subject, text) := concat("", ["[", check, "] ", subject, " ", text])

# ------------------------------------------------------------------ catalog

deny contains report("CATALOG-OWNER", ref(doc), "has no spec.owner") if {
	some doc in entities
	kind(doc) in {"component", "api", "resource", "system", "domain"}
	not has_text(doc, ["spec", "owner"])
}

warn contains report("CATALOG-LIFECYCLE", ref(doc), "has no spec.lifecycle") if {
	some doc in entities
	kind(doc) in {"component", "api"}
	not doc.spec.lifecycle
}

warn contains report("CATALOG-LIFECYCLE", ref(doc), concat("", ["has the unknown lifecycle ", lc])) if {
	some doc in entities
	kind(doc) in {"component", "api"}
	lc := doc.spec.lifecycle
	not lc in data.govgate.lifecycles
}

warn contains report("CATALOG-DESCRIPTION", ref(doc), "has no metadata.description") if {
	some doc in entities
	kind(doc) != "location"
	not has_text(doc, ["metadata", "description"])
}

# ------------------------------------------------------------------ templates

deny contains report("TEMPLATE-ACTIONS-ALLOWED", step.id, concat("", ["uses the action ", step.action, ", which is not allowed"])) if {
	some doc in templates
	some step in doc.spec.steps
	is_string(step.action)
	not allowed_action(step.action)
}

allowed_action(action) if action in data.govgate.allowed_actions

allowed_action(action) if {
	some pattern in data.govgate.allowed_actions
	contains(pattern, "*")
	glob.match(pattern, [], action)
}

warn contains report("TEMPLATE-OWNER", ref(doc), "has no spec.owner") if {
	some doc in templates
	not has_text(doc, ["spec", "owner"])
}

# ------------------------------------------------------------------ CycloneDX SBOMs

severity_rank := {"critical": 0, "high": 1, "medium": 2, "low": 3, "info": 4, "none": 5, "unknown": 6}

severity_names := ["critical", "high", "medium", "low", "info", "none", "unknown"]

# The highest severity among a vulnerability's ratings ("unknown" without one).
severity(v) := severity_names[min(ranks)] if {
	ranks := {severity_rank[lower(r.severity)] | some r in v.ratings; is_string(r.severity); severity_rank[lower(r.severity)]}
	count(ranks) > 0
} else := "unknown"

vex_closed := {"not_affected", "false_positive", "resolved", "resolved_with_pedigree"}

open_vulnerability(v) if not vex_closed[object.get(v, ["analysis", "state"], "")]

deny contains report("SBOM-VULN-CRITICAL", v.id, "is an open critical vulnerability") if {
	is_bom
	some v in input.vulnerabilities
	severity(v) == "critical"
	open_vulnerability(v)
}

deny contains report("SBOM-VULN-HIGH", v.id, "is an open high vulnerability") if {
	is_bom
	some v in input.vulnerabilities
	severity(v) == "high"
	open_vulnerability(v)
}

denied_licenses := {lower(x) | some x in data.govgate.denied_licenses}

# SPDX ids a component names: license ids, and the ids inside license expressions.
license_ids(c) := {lower(id) | some l in c.licenses; id := l.license.id; is_string(id)} | {lower(t) |
	some l in c.licenses
	is_string(l.expression)
	some t in regex.split(`[\s()]+`, l.expression)
	not upper(t) in {"AND", "OR", "WITH", ""}
}

component_ref(c) := c.purl if has_text(c, ["purl"])

else := concat("", [c.name, "@", c.version]) if {
	present(c.name)
	present(c.version)
}

else := c.name

deny contains report("SBOM-LICENSE-DENIED", component_ref(c), concat("", ["is licensed ", id, ", which is denied"])) if {
	is_bom
	some c in input.components
	some id in license_ids(c)
	denied_licenses[id]
}

warn contains report("SBOM-PURL-MISSING", component_ref(c), "has no purl") if {
	is_bom
	some c in input.components
	not has_text(c, ["purl"])
}
