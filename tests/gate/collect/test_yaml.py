"""libyaml and PyYAML's own parser give the same documents and lines; PyYAML's verdict stands on errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from gate.collect import yaml as collect_yaml
from gate.collect.base import CollectError
from gate.collect.parse import parse_bytes
from tests.helpers import corpus_yaml_texts


@pytest.mark.corpus
def test_libyaml_agrees_with_pyyaml_on_the_corpus(corpus_dir: Path) -> None:
    python_loader, fast_loader = collect_yaml._loaders()
    assert fast_loader is not None, "PyYAML was built without libyaml"
    compared = 0
    for path, text in corpus_yaml_texts(corpus_dir):
        try:
            slow = collect_yaml._parse_yaml_with(python_loader, text, str(path))
        except CollectError:
            continue
        fast = collect_yaml._parse_yaml_with(fast_loader, text, str(path))
        assert fast == slow, path.relative_to(corpus_dir)
        compared += 1
    assert compared > 25


def test_errors_keep_pyyaml_messages() -> None:
    with pytest.raises(CollectError, match=r"malformed YAML at line 2 column"):
        parse_bytes(b"a: [1, 2\nb: c\n", "bad.yaml")
    with pytest.raises(CollectError, match=r"U\+0085|U\+0080|does not allow"):
        parse_bytes("a: b\u0080\n".encode(), "c1.yaml")
