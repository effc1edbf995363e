"""gate.collect.yaml_plain builds what SafeConstructor builds, or leaves the document to it."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest
import yaml

from gate.collect import yaml as collect_yaml
from gate.collect.base import CollectError
from gate.collect.parse import parse_bytes
from gate.collect.yaml_plain import MAX_PLAIN_DEPTH, NotPlain, construct
from tests.helpers import corpus_yaml_texts

SNIPPETS = [
    "a: 1\nb: [x, 2.5, null, true, ~, 0x1f, 0o17, 1_000, 1:20, .inf, -.nan, yes, Off]\n",
    "? [a]\n: 1\n",  # an unhashable key: SafeConstructor's error
    "a: &x {b: 1}\nc: 2\n",  # an anchor without an alias is plain
    "a: 1\na: 2\nb: {a: 1, a: 3}\n",  # duplicate keys: the last wins
    "1: int\nnull: none\ntrue: bool\n2.5: float\n",
    "<<: {a: 1}\nb: 2\n",  # a merge key
    "a: !!binary aGVsbG8=\n",
    "d: 2026-01-31\nt: 2026-01-31T10:00:00Z\n",
    "s: !!set {a, b}\no: !!omap [{a: 1}]\n",
    "x: !!str 12\ny: !!int '7'\nz: !!float '1'\n",
    "m: !!map [a]\n",  # an explicit tag on the wrong kind of node
    "k: !!str {a: 1}\n",
    "e: !custom x\n",
    "- [[[[[]]]]]\n- {a: {b: {c: []}}}\n- ''\n- 'multi\n\n  line'\n",
    "v: !!value x\n",
    "=: x\n",
]


def _nodes(loader: Any) -> list[yaml.Node]:
    nodes = []
    while loader.check_node():
        nodes.append(loader.get_node())
    return nodes


def _safe(loader_class: type[Any], text: str) -> tuple[str, Any]:
    loader = loader_class(text)
    try:
        return "ok", [loader.construct_document(n) for n in _nodes(loader)]
    except yaml.YAMLError as exc:
        return "error", str(exc)
    finally:
        loader.dispose()


def _plain(loader_class: type[Any], text: str) -> tuple[str, Any] | None:
    loader = loader_class(text)
    try:
        return "ok", [construct(loader, n) for n in _nodes(loader)]
    except NotPlain:
        return None
    finally:
        loader.dispose()


@pytest.mark.parametrize("text", SNIPPETS)
@pytest.mark.parametrize("which", ["python", "libyaml"])
def test_plain_construction_is_safe_construction(text: str, which: str) -> None:
    python_loader, fast_loader = collect_yaml._loaders()
    loader_class = python_loader if which == "python" else fast_loader
    assert loader_class is not None
    plain = _plain(loader_class, text)
    if plain is not None:
        assert plain == _safe(loader_class, text)
        assert [type(v) for v in plain[1]] == [type(v) for v in _safe(loader_class, text)[1]]


def test_what_is_left_to_safeconstructor() -> None:
    left = [t for t in SNIPPETS if _plain(yaml.SafeLoader, t) is None]
    assert len(left) == 10
    assert list(parse_bytes(b"d: 2026-01-31\n", "t.yaml").documents) == [{"d": dt.date(2026, 1, 31)}]
    assert list(parse_bytes(b"b: 2\n<<: {a: 1}\n", "m.yaml").documents) == [{"a": 1, "b": 2}]
    with pytest.raises(CollectError, match=r"unhashable key"):
        parse_bytes(b"a: 1\n? [b]\n: 2\n", "k.yaml")


def test_deep_documents_go_to_safeconstructor() -> None:
    text = "[" * (MAX_PLAIN_DEPTH + 1) + "]" * (MAX_PLAIN_DEPTH + 1)
    assert _plain(yaml.SafeLoader, text) is None
    text = "[" * (MAX_PLAIN_DEPTH - 1) + "]" * (MAX_PLAIN_DEPTH - 1)
    assert _plain(yaml.SafeLoader, text) == _safe(yaml.SafeLoader, text)


@pytest.mark.corpus
def test_the_corpus_builds_alike(corpus_dir: Path) -> None:
    python_loader, fast_loader = collect_yaml._loaders()
    plain = 0
    for path, text in corpus_yaml_texts(corpus_dir):
        for loader_class in (python_loader, fast_loader):
            assert loader_class is not None
            try:
                built = _plain(loader_class, text)
            except yaml.YAMLError:
                continue  # the parser refuses the text: no document to build
            if built is not None:
                assert built == _safe(loader_class, text), path.relative_to(corpus_dir)
                plain += 1
    assert plain > 50
