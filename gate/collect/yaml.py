"""YAML: the safe loader (libyaml where PyYAML has it), bounded against alias bombs, huge integers
and deep nesting, with a pointer-to-line map of each document for messages."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from functools import cache
from typing import TYPE_CHECKING, Any

from gate.collect.base import CollectError
from gate.collect.read import DEFAULT_MAX_BYTES, MAX_INT_DIGITS, check_depth

if TYPE_CHECKING:
    import yaml

MAX_YAML_NODES = 2_000_000
LINE_DEPTH = 5

_INT_CEILING = 10**MAX_INT_DIGITS
# An integer's text, underscores left out, is read only up to this length: enough for the binary
# digits of the largest integer allowed, and no base-60 (`1:20:30`) number costs much to read.
_MAX_INT_TEXT = 15_000


class _HugeInt(Exception):
    """A YAML integer of more than MAX_INT_DIGITS digits, at `line` (1-based)."""

    def __init__(self, line: int) -> None:
        super().__init__(line)
        self.line = line


class _Refused(CollectError):
    """A verdict on a composed YAML document (an alias bomb, a huge integer): libyaml's and
    PyYAML's parsers compose the same nodes, so the other parser is not asked."""


def _bounded_int(loader: Any, node: Any) -> int:
    """SafeConstructor's integer, refused (_HugeInt) beyond MAX_INT_DIGITS decimal digits."""
    import yaml

    if len(node.value) > _MAX_INT_TEXT and len(node.value.replace("_", "")) > _MAX_INT_TEXT:
        raise _HugeInt(node.start_mark.line + 1)
    try:
        value: int = yaml.constructor.SafeConstructor.construct_yaml_int(loader, node)
    except ValueError:  # more decimal digits than Python reads
        raise _HugeInt(node.start_mark.line + 1) from None
    if abs(value) >= _INT_CEILING:
        raise _HugeInt(node.start_mark.line + 1)
    return value


def _finite_float(loader: Any, node: Any) -> float | str:
    """SafeConstructor's float, except NaN and the infinities, which JSON cannot hold: they are
    kept as their YAML spelling (`.nan`, `.inf`, `-.inf`), a string, so every parsed value has a
    JSON spelling and the input document's encoder need not look for them."""
    import yaml

    value: float = yaml.constructor.SafeConstructor.construct_yaml_float(loader, node)
    if math.isfinite(value):
        return value
    if math.isnan(value):
        return ".nan"
    return ".inf" if value > 0 else "-.inf"


@cache
def _loaders() -> tuple[type[Any], type[Any] | None]:
    """PyYAML's safe loader (composition is checked for alias expansion before construction), and
    libyaml's parser with the same safe constructor and resolver (so the same values, 10x faster)
    where PyYAML was built with it. Both refuse integers of more than MAX_INT_DIGITS digits and
    spell NaN and the infinities as strings.
    Imported on first use: a check of JSON files needs no YAML."""
    import yaml

    class BoundedLoader(yaml.SafeLoader):
        """PyYAML's safe loader."""

    BoundedLoader.add_constructor("tag:yaml.org,2002:int", _bounded_int)
    BoundedLoader.add_constructor("tag:yaml.org,2002:float", _finite_float)
    fast = getattr(yaml, "CSafeLoader", None)
    if fast is None:
        return BoundedLoader, None

    class BoundedCLoader(fast):  # type: ignore[valid-type,misc]
        """libyaml's parser with PyYAML's safe constructor."""

    BoundedCLoader.add_constructor("tag:yaml.org,2002:int", _bounded_int)
    BoundedCLoader.add_constructor("tag:yaml.org,2002:float", _finite_float)
    return BoundedLoader, BoundedCLoader


# What PyYAML's reader refuses (yaml.reader.Reader.NON_PRINTABLE), and libyaml may not.
_NON_PRINTABLE = re.compile("[^\x09\x0a\x0d\x20-\x7e\x85\xa0-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


@dataclass
class _Expansion:
    """How much the documents of a file composed so far expand to, every alias expanded: nodes,
    and bytes (UTF-8) of scalar text."""

    nodes: int = 0
    text: int = 0


def _scalar_bytes(value: str) -> int:
    return len(value) if value.isascii() else len(value.encode("utf-8", "surrogatepass"))


def _expanded_size(node: yaml.Node, name: str, spent: _Expansion, max_text: int | None) -> None:
    """Add to `spent` what `node` expands to, every alias expanded: nodes (at most MAX_YAML_NODES
    in all) and, unless `max_text` is None, bytes of scalar text (at most `max_text` in all).
    Memoised so shared subtrees cost once: linear in the nodes written, however far they expand."""
    import yaml

    nodes_left = MAX_YAML_NODES - spent.nodes
    text_left = (max_text - spent.text) if max_text is not None else 0
    memo: dict[int, int] = {}
    text: dict[int, int] = {}
    stack: list[tuple[yaml.Node, bool]] = [(node, False)]
    while stack:
        current, done = stack.pop()
        key = id(current)
        if key in memo:
            continue
        children: list[yaml.Node] = []
        if isinstance(current, yaml.MappingNode):
            for k, v in current.value:
                children.extend((k, v))
        elif isinstance(current, yaml.SequenceNode):
            children = list(current.value)
        if done or not children:
            total = 1 + sum(memo[id(c)] for c in children)
            if total > nodes_left:
                raise _Refused(
                    f"YAML expands to more than {MAX_YAML_NODES} nodes (an alias bomb?)",
                    "remove the nested anchors and aliases",
                    path=name,
                )
            memo[key] = total
            if max_text is not None:
                if children:
                    size = sum(text[id(c)] for c in children)
                elif isinstance(current, yaml.ScalarNode):
                    size = _scalar_bytes(current.value)
                else:
                    size = 0
                if size > text_left:
                    raise _Refused(
                        f"YAML aliases expand to more than {max_text} bytes of text (an alias bomb?)",
                        "remove the nested anchors and aliases: expanded, a YAML file may hold no"
                        " more text than `limits.max_file_bytes`",
                        path=name,
                    )
                text[key] = size
            continue
        stack.append((current, True))
        stack.extend((c, False) for c in children if id(c) not in memo)
    spent.nodes += memo[id(node)]
    spent.text += text.get(id(node), 0)


def _record_lines(node: yaml.Node, lines: dict[str, int]) -> None:
    """Map JSON Pointers of nodes near the top of a document to their 1-based lines."""
    import yaml

    stack: list[tuple[yaml.Node, str, int]] = [(node, "", 0)]
    while stack:
        current, pointer, depth = stack.pop()
        lines.setdefault(pointer, current.start_mark.line + 1)
        if depth >= LINE_DEPTH:
            continue
        if isinstance(current, yaml.MappingNode):
            for k, v in current.value:
                if isinstance(k, yaml.ScalarNode):
                    token = str(k.value).replace("~", "~0").replace("/", "~1")
                    lines.setdefault(f"{pointer}/{token}", k.start_mark.line + 1)
                    stack.append((v, f"{pointer}/{token}", depth + 1))
        elif isinstance(current, yaml.SequenceNode):
            for i, v in enumerate(current.value):
                stack.append((v, f"{pointer}/{i}", depth + 1))


def parse_yaml(
    text: str, name: str, max_text: int = DEFAULT_MAX_BYTES
) -> tuple[list[Any], list[dict[str, int]], list[int]]:
    """Parse (multi-document) YAML with the safe loader, bounded against alias bombs: expanded,
    the documents of a text with aliases hold at most MAX_YAML_NODES nodes and `max_text` bytes of
    scalar text in all (no more than a file may hold: the expansion is what a policy engine gets).

    Returns the documents, a pointer-to-line map per document, and each document's first line.
    Empty documents (a stray `---`) are dropped. libyaml parses first where PyYAML has it; a text
    it fails on, or that holds a character PyYAML's reader refuses, is parsed again by PyYAML's
    own parser, whose verdict and messages stand.
    """
    python_loader, fast_loader = _loaders()
    if fast_loader is not None and not _NON_PRINTABLE.search(text):
        try:
            return _parse_yaml_with(fast_loader, text, name, max_text)
        except _Refused:
            raise
        except CollectError:
            pass
    return _parse_yaml_with(python_loader, text, name, max_text)


def _parse_yaml_with(
    loader_class: type[Any], text: str, name: str, max_text: int = DEFAULT_MAX_BYTES
) -> tuple[list[Any], list[dict[str, int]], list[int]]:
    import yaml

    docs: list[Any] = []
    lines: list[dict[str, int]] = []
    starts: list[int] = []
    loader: Any = None
    # Without an alias (`*name`) every node is written out in the text, at most two per character:
    # only a text with an alias, or a huge one, can reach MAX_YAML_NODES; and only a text with an
    # alias can hold more scalar text than the file. With aliases the bounds hold for the file's
    # documents in all (a thousand small bombs are one big one); without, per document.
    aliased = "*" in text
    may_expand = aliased or 2 * len(text) + 1 > MAX_YAML_NODES
    spent = _Expansion()
    try:
        loader = loader_class(text)  # the reader refuses some characters (C1 controls) at once
        while loader.check_node():
            node = loader.get_node()
            if node is None:
                continue
            if may_expand:
                _expanded_size(node, name, spent if aliased else _Expansion(), max_text if aliased else None)
            doc_lines: dict[str, int] = {}
            _record_lines(node, doc_lines)
            value = _construct(loader, node, aliased)
            if value is None:
                continue
            check_depth(value, name)
            docs.append(value)
            lines.append(doc_lines)
            starts.append(node.start_mark.line + 1)
    except CollectError:
        raise
    except _HugeInt as exc:
        raise _Refused(
            f"YAML holds an integer of more than {MAX_INT_DIGITS} digits at line {exc.line}",
            "quote it to make it a string: numbers this long are not real metadata",
            path=name,
        ) from None
    except yaml.constructor.ConstructorError as exc:
        raise CollectError(_yaml_tag_message(exc), _yaml_remediation(text), path=name) from None
    except yaml.reader.ReaderError as exc:
        raise CollectError(
            f"YAML does not allow the character U+{exc.character:04X} (at character {exc.position + 1})"
            if isinstance(exc.character, int)
            else f"YAML does not allow a character in it ({exc.reason})",
            "remove the control character, or escape it in a double-quoted string",
            path=name,
        ) from None
    except yaml.YAMLError as exc:
        where = ""
        mark = getattr(exc, "problem_mark", None)
        if mark is not None:
            where = f" at line {mark.line + 1} column {mark.column + 1}"
        problem = getattr(exc, "problem", None) or "syntax error"
        raise CollectError(f"malformed YAML{where}: {problem}", _yaml_remediation(text), path=name) from None
    except RecursionError:
        raise CollectError(
            "YAML nested too deeply", "inputs this deep are not real metadata", path=name
        ) from None
    finally:
        if loader is not None:
            loader.dispose()
    if not docs:
        raise CollectError("file holds no YAML document", "give a non-empty input file", path=name)
    return docs, lines, starts


def _construct(loader: Any, node: yaml.Node, aliased: bool) -> Any:
    """The document's value: by gate.collect.yaml_plain when the text has no alias and the
    document needs nothing else of SafeConstructor, else by the loader's SafeConstructor."""
    if not aliased:
        from gate.collect.yaml_plain import NotPlain, construct

        try:
            return construct(loader, node)
        except NotPlain:
            pass
    return loader.construct_document(node)


def _yaml_tag_message(exc: yaml.constructor.ConstructorError) -> str:
    problem = exc.problem or "unsupported YAML construct"
    mark = exc.problem_mark
    where = f" at line {mark.line + 1}" if mark is not None else ""
    if "tag" in problem:
        return f"YAML uses a custom tag{where} ({problem.split('tag')[-1].strip(' :')}), which plain YAML refuses"
    return f"YAML cannot be loaded safely{where}: {problem}"


def _yaml_remediation(text: str) -> str:
    if "{%" in text or "${{" in text or "{{" in text:
        return (
            "this looks like a template skeleton (Nunjucks `${{ }}`/`{% %}`): the scaffolder renders it; "
            "check the rendered file instead, or leave skeleton folders out of the paths"
        )
    if "!Ref" in text or "!GetAtt" in text or "!Sub" in text or "AWSTemplateFormatVersion" in text:
        return "this looks like an AWS CloudFormation/SAM template, not a Backstage file; leave it out of the paths"
    return "fix the YAML syntax (a YAML linter shows where)"
