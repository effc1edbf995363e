package gate.checks.catalog.source_test

import data.gate.checks.catalog.source
import data.gate.testing as t

annotated(annotations) := t.component_with({"name": "payments", "annotations": annotations}, t.component.spec)

test_fires_without_source_annotation if {
	vs := source.violation with input.catalog as [t.catalog_item(annotated({"backstage.io/techdocs-ref": "dir:."}))]
	count(vs) == 1
	some v in vs
	v.msg == concat("", [
		"component:default/payments has no source annotation ",
		"(github.com/project-slug, gitlab.com/project-slug, backstage.io/source-location)",
	])
}

test_fires_on_empty_slug if {
	count(source.violation) == 1 with input.catalog as [t.catalog_item(annotated({"github.com/project-slug": ""}))]
}

test_quiet_with_github_slug if {
	count(source.violation) == 0 with input.catalog as [t.catalog_item(t.component)]
}

test_quiet_with_gitlab_slug if {
	count(source.violation) == 0 with input.catalog as [t.catalog_item(annotated({"gitlab.com/project-slug": "g/p"}))]
}

test_quiet_with_source_location if {
	entity := annotated({"backstage.io/source-location": "url:https://git.example.com/a/b"})
	count(source.violation) == 0 with input.catalog as [t.catalog_item(entity)]
}
