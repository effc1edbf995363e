# Builders for the Rego unit tests: minimal, schema-shaped input items (schemas/input.schema.json)
# and the default configuration. Loaded only with the tests (the file name ends in _test.rego).
package gate.testing

# The gate's built-in configuration (gate/config.py), as handed to the policies.
config := {
	"denied_licenses": ["AGPL-3.0-only", "AGPL-3.0-or-later", "GPL-3.0-only", "GPL-3.0-or-later", "SSPL-1.0"],
	"allowed_actions": [
		"fetch:template", "fetch:plain", "publish:github", "publish:gitlab",
		"catalog:register", "debug:log", "govgate:check",
	],
	"prepublish_actions": ["govgate:check", "http:backstage:request"],
	"denied_packages": [],
	"allowed_builders": [],
	"lifecycles": ["experimental", "production", "deprecated"],
	"identities": [],
	"environments": {
		"dev": {"critical": "warn", "high": "warn", "medium": "warn", "low": "warn"},
		"staging": {"critical": "block", "high": "warn", "medium": "warn", "low": "warn"},
		"prod": {"critical": "block", "high": "block", "medium": "warn", "low": "warn"},
	},
	"checks": {},
}

context := {
	"environment": "prod",
	"ci": "github",
	"repository": "https://github.com/acme/payments",
	"commit": null,
	"ref": null,
	"change_id": null,
	"run_id": null,
	"actor": null,
	"service": null,
	"time_ns": 1772323200000000000,
	"date": "2026-03-01",
}

empty := {
	"apiVersion": "gate.input/v1",
	"context": context,
	"require": [],
	"templates": [],
	"catalog": [],
	"sboms": [],
	"signatures": [],
	"attestations": [],
}

# The empty input with some top-level keys replaced (object.union is shallow in regopy).
input_with(fields) := {k: v |
	some k
	empty[k]
	v := object.get(fields, k, empty[k])
}

sha := "0000000000000000000000000000000000000000000000000000000000000000"

# A catalog item around an entity, with the source lines a collector records.
catalog_item(entity) := {
	"path": "catalog-info.yaml",
	"sha256": sha,
	"document": 0,
	"line": 1,
	"lines": {"": 1, "/metadata": 3, "/metadata/annotations": 6, "/spec": 9, "/spec/owner": 11, "/spec/lifecycle": 12},
	"entity": entity,
	"valid": true,
	"errors": [],
}

# A complete, well-governed Component; tests remove or change what they exercise.
component := {
	"apiVersion": "backstage.io/v1alpha1",
	"kind": "Component",
	"metadata": {
		"name": "payments",
		"description": "Takes payments.",
		"annotations": {
			"backstage.io/techdocs-ref": "dir:.",
			"github.com/project-slug": "acme/payments",
			"pagerduty.com/service-id": "PX1",
		},
	},
	"spec": {"type": "service", "owner": "group:default/team-payments", "lifecycle": "production", "system": "checkout"},
}

# `component` with metadata / spec / annotations replaced by the given objects.
component_with(metadata, spec) := {
	"apiVersion": component.apiVersion,
	"kind": component.kind,
	"metadata": metadata,
	"spec": spec,
}

step(index, id, action) := {"index": index, "id": id, "name": id, "action": action, "line": 20 + (4 * index)}

template_item(entity, steps) := {
	"path": "template.yaml",
	"sha256": sha,
	"document": 0,
	"line": 1,
	"lines": {"": 1, "/spec": 8, "/spec/steps": 15},
	"entity": entity,
	"parameters": ["name"],
	"steps": steps,
	"valid": true,
	"errors": [],
}

template := {
	"apiVersion": "scaffolder.backstage.io/v1beta3",
	"kind": "Template",
	"metadata": {"name": "service"},
	"spec": {"owner": "group:default/platform", "type": "service"},
}

good_steps := [
	step(0, "fetch", "fetch:template"),
	step(1, "check", "govgate:check"),
	step(2, "publish", "publish:github"),
	step(3, "register", "catalog:register"),
]

comp(name, purl, ids) := {
	"name": name,
	"version": "1.0.0",
	"purl": purl,
	"licenses": [{"kind": "id", "value": id} | some id in ids],
	"license_ids": ids,
	"hashes": {},
	"type": "library",
}

vuln(id, severity, state) := {"id": id, "severity": severity, "state": state, "affects": ["pkg:npm/left-pad@1.0.0"]}

sbom(components, vulns) := {
	"path": "sbom.cdx.json",
	"sha256": sha,
	"format": "cyclonedx",
	"encoding": "json",
	"spec_version": "1.5",
	"valid": true,
	"errors": [],
	"has_timestamp": true,
	"has_component": true,
	"components": components,
	"vulnerabilities": vulns,
}

signature(artifact, verified) := {
	"path": concat("", [artifact, ".sigstore.json"]),
	"sha256": sha,
	"source": "sigstore",
	"artifact": {"path": artifact, "sha256": null},
	"verified": verified,
	"status": status_of(verified),
	"error": null,
	"key": null,
	"identity": {
		"san": "https://github.com/acme/payments/.github/workflows/release.yml@refs/heads/main",
		"issuer": "https://token.actions.githubusercontent.com",
	},
	"tlog_entries": [{"log_index": 1, "integrated_time": 1700000000, "kind": "hashedrekord"}],
	"trust_root": "production",
}

status_of(verified) := "verified" if {
	verified == true
} else := "failed"

provenance(builder, repo) := {
	"path": "app.intoto.jsonl",
	"sha256": sha,
	"index": 2,
	"envelope": "dsse",
	"predicate_type": "https://slsa.dev/provenance/v1",
	"subjects": [{"name": "app.tgz", "digest": {"sha256": sha}}],
	"builder_id": builder,
	"source": {"repo": repo, "ref": "refs/heads/main"},
	"verified": true,
	"status": "verified",
	"error": null,
	"identity": {"san": null, "issuer": null},
	"key": "keys/release.pub",
}

waiver(id, check, subject, expires) := {
	"id": id,
	"check": check,
	"subject": subject,
	"owner": "team-payments",
	"reason": "approved exception",
	"expires": expires,
	"source": "waivers.yaml",
}
