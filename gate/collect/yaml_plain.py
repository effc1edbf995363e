"""Constructing a composed YAML document without aliases, the way PyYAML's SafeConstructor does,
in one recursive pass.

SafeConstructor builds every node through its generic machinery (a constructor look-up per node,
generators so that aliased nodes can refer to themselves, bookkeeping of what it built), which
costs more than composing the document in libyaml. A document without aliases needs none of
that: its mappings, sequences and strings are built here, other scalars (null, bool, int, float)
by SafeConstructor's own functions. Anything else (merge keys, `!!value`, timestamps, binary,
sets, explicit tags on the wrong kind of node, unhashable keys, deep nesting) is left to
SafeConstructor, whose values and errors stand: `construct` raises NotPlain and the caller
constructs the document the usual way.
"""

from __future__ import annotations

from collections.abc import Hashable
from typing import Any

import yaml

_STR = "tag:yaml.org,2002:str"
_MAP = "tag:yaml.org,2002:map"
_SEQ = "tag:yaml.org,2002:seq"
_SCALARS = frozenset(
    ("tag:yaml.org,2002:null", "tag:yaml.org,2002:bool", "tag:yaml.org,2002:int", "tag:yaml.org,2002:float")
)
_SPECIAL_KEYS = frozenset(("tag:yaml.org,2002:merge", "tag:yaml.org,2002:value"))
# Deeper than this, SafeConstructor decides (its recursion, and its RecursionError, stand).
MAX_PLAIN_DEPTH = 64


class NotPlain(Exception):
    """The document needs SafeConstructor."""


def construct(loader: Any, node: yaml.Node) -> Any:
    """The value SafeConstructor gives `node`, a document composed by `loader` (a safe loader)
    from a text without aliases; raises NotPlain where SafeConstructor must build it."""
    return _value(loader.yaml_constructors, loader, node, 0)


def _value(constructors: dict[str, Any], loader: Any, node: yaml.Node, depth: int) -> Any:
    tag = node.tag
    kind = type(node)
    if kind is yaml.ScalarNode:
        if tag == _STR:
            return node.value
        if tag in _SCALARS:
            return constructors[tag](loader, node)
        raise NotPlain(tag)
    if depth >= MAX_PLAIN_DEPTH:
        raise NotPlain("deep")
    if kind is yaml.MappingNode and tag == _MAP:
        out: dict[Any, Any] = {}
        for key_node, value_node in node.value:
            if key_node.tag in _SPECIAL_KEYS:
                raise NotPlain(key_node.tag)
            key = _value(constructors, loader, key_node, depth + 1)
            if not isinstance(key, Hashable):
                raise NotPlain("unhashable key")
            out[key] = _value(constructors, loader, value_node, depth + 1)
        return out
    if kind is yaml.SequenceNode and tag == _SEQ:
        return [_value(constructors, loader, child, depth + 1) for child in node.value]
    raise NotPlain(tag)
