package gate.checks.sbom.metadata_test

import data.gate.checks.sbom.metadata
import data.gate.testing as t

test_fires_without_timestamp_and_component if {
	bare := object.union(t.sbom([], []), {"has_timestamp": false, "has_component": false})
	vs := metadata.violation with input.sboms as [bare]
	count(vs) == 1
	some v in vs
	v.msg == "SBOM sbom.cdx.json lacks a timestamp and the component it describes"
}

test_fires_without_timestamp if {
	bare := object.union(t.sbom([], []), {"has_timestamp": false})
	vs := metadata.violation with input.sboms as [bare]
	some v in vs
	v.msg == "SBOM sbom.cdx.json lacks a timestamp"
}

test_quiet_with_metadata if {
	count(metadata.violation) == 0 with input.sboms as [t.sbom([], [])]
}
