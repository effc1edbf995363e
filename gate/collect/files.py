"""Read and parse input files safely: size, encoding, nesting and YAML/XML hostility are bounded here."""

from __future__ import annotations

import codecs
import errno
import hashlib
import json
import os
import re
import stat
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cache
from itertools import accumulate
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, NoReturn
from xml.etree.ElementTree import Element

from gate.collect.base import CollectError
from gate.report.escape import terminal_safe

if TYPE_CHECKING:
    import yaml

DEFAULT_MAX_BYTES = 64 * 1024 * 1024
MAX_YAML_NODES = 2_000_000
MAX_DEPTH = 256
LINE_DEPTH = 5

Syntax = Literal["json", "jsonl", "yaml", "xml"]


@dataclass(frozen=True)
class ParsedFile:
    """One input file, read once: raw bytes, digest and its parsed documents.

    `documents` holds one item for JSON and XML, one per YAML document, one per JSON Lines line.
    `lines` (YAML only) maps JSON Pointers inside each document to 1-based source lines.
    `xml_root` is the parsed XML element tree for XML files.
    `sole_reader` says that one collector alone reads the documents: it may release the parts
    it has read as it goes (a large SBOM's components), so that the raw and the normalised
    components are not held at once.
    """

    path: str
    sha256: str
    data: bytes
    syntax: Syntax
    documents: tuple[Any, ...]
    lines: tuple[dict[str, int], ...] = ()
    doc_lines: tuple[int, ...] = ()
    xml_root: Element | None = field(default=None, compare=False)
    sole_reader: bool = field(default=False, compare=False)

    @property
    def text(self) -> str:
        """The file's text (it was checked to be UTF-8 when read)."""
        return self.data.decode("utf-8-sig")


_KINDS = (
    (stat.S_ISDIR, "a directory"),
    (stat.S_ISFIFO, "a named pipe (FIFO)"),
    (stat.S_ISSOCK, "a socket"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
)


def file_kind(mode: int) -> str:
    """What a file that is not a regular file is, for messages ("a named pipe (FIFO)", ...)."""
    return next((name for test, name in _KINDS if test(mode)), "not a regular file")


def _not_regular(mode: int, shown: str) -> NoReturn:
    raise CollectError(
        f"{file_kind(mode)}, not a regular file: refused (reading it may never end)",
        "pass regular files only",
        path=shown,
    )


def _unreadable(exc: OSError, shown: str) -> NoReturn:
    if exc.errno == errno.ELOOP:
        raise CollectError(
            "symbolic link loop (the link leads back to itself)",
            "remove the link, or point it at a file",
            path=shown,
        ) from None
    raise CollectError(f"cannot read: {exc.strerror}", "check the path and permissions", path=shown) from None


# Opening never waits: not for a writer of a FIFO swapped in since the stat, nor for a device.
_OPEN_FLAGS = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0)


def read_bytes(path: Path, max_bytes: int = DEFAULT_MAX_BYTES, shown: str | None = None) -> bytes:
    """Read a regular file, refusing what is missing, unreadable, a symbolic link loop, not a
    regular file (a FIFO, socket or device, whose reading may never end) or over the size limit.

    The file is checked before it is opened and again once it is open (it may have been swapped),
    and opened without waiting, so no read blocks. Messages name the file `shown` (the path by
    default).
    """
    shown = shown if shown is not None else str(path)
    try:
        st = os.stat(path)
    except FileNotFoundError:
        raise CollectError("no such file or directory", "check the path", path=shown) from None
    except OSError as exc:
        _unreadable(exc, shown)
    if not stat.S_ISREG(st.st_mode):
        _not_regular(st.st_mode, shown)
    if st.st_size > max_bytes:
        raise CollectError(
            f"file is {st.st_size} bytes, over the {max_bytes}-byte limit",
            "raise `limits.max_file_bytes` in gate.yaml if this file is legitimate",
            path=shown,
        )
    try:
        fd = os.open(path, _OPEN_FLAGS)
    except OSError as exc:
        _unreadable(exc, shown)
    try:
        with os.fdopen(fd, "rb") as fh:
            st = os.fstat(fh.fileno())
            if not stat.S_ISREG(st.st_mode):
                _not_regular(st.st_mode, shown)
            # A buffer of the file's size (read(n) allocates n bytes up front), then the rest of
            # a file that grew since.
            data = fh.read(st.st_size + 1)
            if len(data) > st.st_size:
                data += fh.read(max_bytes + 1 - len(data))
    except OSError as exc:
        _unreadable(exc, shown)
    if len(data) > max_bytes:
        raise CollectError(f"file grew over the {max_bytes}-byte limit while read", "", path=shown)
    return data


def decode_text(data: bytes, path: str) -> str:
    """Decode UTF-8 text, refusing empty, binary and non-UTF-8 content."""
    if not data or data.isspace():  # not data.strip(): no copy of a large file
        raise CollectError(
            "file is empty", "give a non-empty input file or remove it from the paths", path=path
        )
    if b"\x00" in data[:8192]:
        raise CollectError(
            "binary content, not a text input", "pass only YAML, JSON or XML inputs", path=path
        )
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise CollectError(
            f"not valid UTF-8 (byte {exc.start})", "save the file as UTF-8", path=path
        ) from None


_SIGNIFICANT = re.compile(r"\S")


def sniff(text: str) -> Syntax:
    """Guess the syntax of a text from its first significant character (and, for JSON Lines, the
    first one after the first line). Reads around those characters only: no copy of the text."""
    first = _SIGNIFICANT.search(text)
    head = text[first.start() : first.start() + 2] if first else ""
    if head.startswith("<"):
        return "xml"
    if head.startswith(("{%", "{{", "{#")):
        return "yaml"  # a Nunjucks/Jinja skeleton, reported as such by the YAML parser
    if head.startswith(("{", "[")):
        assert first is not None
        newline = text.find("\n", first.start())
        after = _SIGNIFICANT.search(text, newline) if newline >= 0 else None
        if after and after.group() == "{" and text[:newline].rstrip().endswith("}"):
            return "jsonl"
        return "json"
    return "yaml"


def parse_file(path: Path, max_bytes: int = DEFAULT_MAX_BYTES, shown: str | None = None) -> ParsedFile:
    """Read and parse one file into a ParsedFile, or raise CollectError naming what is wrong."""
    name = shown if shown is not None else str(path)
    data = read_bytes(path, max_bytes, name)
    return parse_bytes(data, name, max_bytes)


def parse_bytes(data: bytes, name: str, max_bytes: int = DEFAULT_MAX_BYTES) -> ParsedFile:
    """Parse bytes that were read under `name` (used in messages and the input document).

    `max_bytes` (the file-size limit) also bounds the text YAML aliases expand to."""
    text = decode_text(data, name)
    digest = hashlib.sha256(data).hexdigest()
    syntax = sniff(text)
    if syntax == "xml":
        root = parse_xml(data, name)
        return ParsedFile(name, digest, data, "xml", (None,), xml_root=root)
    if syntax == "json":
        del text  # parsed from the bytes: the text would be a second copy of the file beside the tree
        body = data[3:] if data.startswith(codecs.BOM_UTF8) else data
        return ParsedFile(name, digest, data, "json", (parse_json(body, name),))
    if syntax == "jsonl":
        docs = tuple(
            parse_json(line, f"{name}:{n}") for n, line in enumerate(text.splitlines(), 1) if line.strip()
        )
        return ParsedFile(name, digest, data, "jsonl", docs)
    docs_, lines, starts = parse_yaml(text, name, max_bytes)
    return ParsedFile(name, digest, data, "yaml", tuple(docs_), tuple(lines), tuple(starts))


_DIGITS_AS_ZERO = bytes.maketrans(b"123456789", b"000000000")
_LONG_RUN = b"0" * 19
_BEFORE_NUMBER = frozenset(b":[, \t\r\n")


def _has_long_number(encoded: bytes) -> bool:
    """Whether a JSON text (UTF-8) may hold a number of 19 or more digits: a run of 19 digits that
    follows what can stand before a number (runs inside strings, as in hex hashes, mostly follow
    letters). With every digit made a 0, runs are found by a plain substring search."""
    data = encoded.translate(_DIGITS_AS_ZERO)
    at = data.find(_LONG_RUN)
    while at >= 0:
        before = at - 1
        if before >= 0 and data[before] == 0x2D:  # a minus sign
            before -= 1
        if before < 0 or data[before] in _BEFORE_NUMBER:
            return True
        end = at + len(_LONG_RUN)
        while end < len(data) and data[end] == 0x30:
            end += 1
        at = data.find(_LONG_RUN, end)
    return False


def parse_json(text: str | bytes, name: str) -> Any:
    """Parse JSON (a str, or UTF-8 already checked), refusing malformed or too deeply nested
    documents.

    orjson parses first (twice as fast); what it refuses (NaN, lone surrogates, syntax errors)
    goes to the json module, whose verdicts and messages stand, and so does a text with a run of
    19 or more digits, since orjson reads integers beyond 64 bits as floats. The checks on the
    text run before the parse, so that their copies of it are gone before the parsed tree exists.
    """
    import orjson

    encoded = text.encode("utf-8", "surrogatepass") if isinstance(text, str) else text
    deep = json_text_depth(encoded) > MAX_DEPTH  # exact for well-formed JSON; a malformed text fails below
    if _has_long_number(encoded):
        value = _json_module_loads(encoded.decode("utf-8", "surrogatepass"), name)
    else:
        try:
            value = orjson.loads(encoded)
        except orjson.JSONDecodeError:
            value = _json_module_loads(encoded.decode("utf-8", "surrogatepass"), name)
    if deep:
        _too_deep(name)
    return value


def _json_module_loads(text: str, name: str) -> Any:
    try:
        value = json.loads(text)
    except RecursionError:
        raise CollectError(
            "JSON nested too deeply", "inputs may nest at most a few hundred levels", path=name
        ) from None
    except json.JSONDecodeError as exc:
        raise CollectError(
            f"malformed JSON at line {exc.lineno} column {exc.colno}: {exc.msg}",
            "fix the syntax (a JSON linter shows where)",
            path=name,
        ) from None
    except ValueError:  # an integer of more digits than Python converts (sys.get_int_max_str_digits)
        raise CollectError(
            f"JSON holds an integer of more than {sys.get_int_max_str_digits() or MAX_INT_DIGITS} digits",
            "quote it to make it a string: numbers this long are not real metadata",
            path=name,
        ) from None
    return value


# What json_text_depth keeps of a text: brackets and quotes; the brackets as nesting steps
# (opening ones to 1, +1; closing ones to 2, -1).
_NOT_STRUCTURE = bytes(c for c in range(256) if chr(c) not in '{}[]"')
_STEP_CODES = bytes.maketrans(b"{[}]", b"\x01\x01\x02\x02")
_STEPS = (0, 1, -1)
_STRING = re.compile(rb'"[^"]*"')
_LEAF = b"\x01\x02"  # an empty container, once its contents are gone
_LEAF_PASSES = 16


def json_text_depth(text: str | bytes) -> int:
    """How deeply the containers of a well-formed JSON text (str, or bytes in UTF-8) nest (0 for a
    scalar); some number for any other text.

    Computed with string operations instead of a walk over the parsed value (5x faster on large
    SBOMs): escaped backslashes and quotes are dropped, then every character but brackets and
    quotes, then the strings; the deepest running sum of the remaining brackets is the depth.
    Strings hold no brackets in nearly every document: each is then two adjacent quotes, removed
    in one pass (were a string to hold one, its opening quote would stay, and a regular
    expression removes the strings instead).
    """
    encoded = text.encode("utf-8", "surrogatepass") if isinstance(text, str) else text
    plain = encoded.replace(b"\\\\", b"").replace(b'\\"', b"") if b"\\" in encoded else encoded
    marks = plain.translate(None, _NOT_STRUCTURE)
    brackets = marks.replace(b'""', b"")
    if b'"' in brackets:
        brackets = _STRING.sub(b"", marks)
    steps = brackets.translate(_STEP_CODES, b'"')  # a quote left over: the text is not JSON
    # Each pass removes the innermost containers, one level of the nesting: real documents are a
    # few levels deep, done in a few passes in C. What is left after _LEAF_PASSES is summed up.
    passes = 0
    while steps and passes < _LEAF_PASSES:
        steps = steps.replace(_LEAF, b"")
        passes += 1
    return passes + max(accumulate(map(_STEPS.__getitem__, steps)), default=0)


def _too_deep(name: str) -> NoReturn:
    raise CollectError(
        f"nested more than {MAX_DEPTH} levels deep",
        "inputs this deep are not real metadata",
        path=name,
    )


def check_depth(value: Any, name: str) -> None:
    """Refuse structures nested deeper than MAX_DEPTH, iteratively (no recursion)."""
    stack: list[tuple[Any, int]] = [(value, 0)]
    while stack:
        node, depth = stack.pop()
        if depth > MAX_DEPTH:
            _too_deep(name)
        if isinstance(node, dict):
            stack.extend((v, depth + 1) for v in node.values() if isinstance(v, dict | list))
        elif isinstance(node, list):
            stack.extend((v, depth + 1) for v in node if isinstance(v, dict | list))


def parse_xml(data: bytes, name: str) -> Element:
    """Parse XML with defusedxml: DTDs, entities and external references are refused, never resolved."""
    import defusedxml.ElementTree as safe_et
    from defusedxml import DefusedXmlException

    try:
        return safe_et.fromstring(data, forbid_dtd=True, forbid_entities=True, forbid_external=True)
    except DefusedXmlException as exc:
        raise CollectError(
            f"XML declares a DTD or entities ({type(exc).__name__}); refused, nothing was resolved",
            "remove the DOCTYPE declaration: CycloneDX XML never needs one",
            path=name,
        ) from None
    except Exception as exc:  # xml.etree.ElementTree.ParseError and expat errors
        raise CollectError(f"malformed XML: {exc}", "fix the XML syntax", path=name) from None


# Python refuses to convert an integer of more digits than this (its default
# sys.get_int_max_str_digits()) to or from decimal text: the input document could not be written.
MAX_INT_DIGITS = 4300
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


@cache
def _loaders() -> tuple[type[Any], type[Any] | None]:
    """PyYAML's safe loader (composition is checked for alias expansion before construction), and
    libyaml's parser with the same safe constructor and resolver (so the same values, 10x faster)
    where PyYAML was built with it. Both refuse integers of more than MAX_INT_DIGITS digits.
    Imported on first use: a check of JSON files needs no YAML."""
    import yaml

    class BoundedLoader(yaml.SafeLoader):
        """PyYAML's safe loader."""

    BoundedLoader.add_constructor("tag:yaml.org,2002:int", _bounded_int)
    fast = getattr(yaml, "CSafeLoader", None)
    if fast is None:
        return BoundedLoader, None

    class BoundedCLoader(fast):  # type: ignore[valid-type,misc]
        """libyaml's parser with PyYAML's safe constructor."""

    BoundedCLoader.add_constructor("tag:yaml.org,2002:int", _bounded_int)
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


SKIP_DIRS = frozenset(("node_modules", "skeleton", "__pycache__", "vendor"))


def shown_path(path: str | Path) -> str:
    """A path for a one-line message, escaped as every untrusted string the gate prints is
    (gate.report.escape.terminal_safe)."""
    return terminal_safe(str(path))


def warn_on_stderr(message: str) -> None:
    """Print a notice of the walk as the command line prints warnings: `gate: warning: ...`."""
    sys.stderr.write(f"gate: warning: {message}\n")


def walk_paths(
    paths: list[Path],
    wanted: Callable[[Path], bool] | None = None,
    notice: Callable[[str], None] = warn_on_stderr,
) -> list[tuple[Path, bool]]:
    """Expand directories into files (sorted, skipping hidden, vendored and skeleton folders).

    Returns (path, explicit): explicit files were named on the command line; files found in a
    directory walk are only inputs when their content is recognised. A walk yields the files
    `wanted` accepts (all by default). It does not follow links to folders (a folder inside the
    walked one is walked where it lies: no loop, no file twice), skips what a symbolic link leads
    to outside the walked folder (the change under review must not make the gate read the
    machine's files) and FIFOs, sockets and devices (reading them may never end), and tells
    `notice` in one line what it skipped. A link that cannot be followed (a loop, a missing
    target) inside the folder is yielded: reading it says what is wrong.
    """
    out: list[tuple[Path, bool]] = []
    keep = wanted if wanted is not None else (lambda _path: True)
    for p in paths:
        _refuse_link_out_of_cwd(p)
        if p.is_dir():  # a folder named explicitly is walked, through a link too
            out.extend((found, False) for found in _walk(p, keep, notice))
        else:
            out.append((p, True))
    return out


def _refuse_link_out_of_cwd(path: Path) -> None:
    """Refuse a path named in the working directory that a symbolic link leads out of it: the
    change under review may have turned `sbom.json` into a link to the runner's files."""
    here = os.getcwd()
    if os.path.commonpath([os.path.abspath(path), here]) != here:
        return  # named outside the working directory: the caller's own choice
    try:
        target = os.path.realpath(path, strict=True)
    except (OSError, RuntimeError):
        return  # missing or a loop: reading it says so
    real_here = os.path.realpath(here)
    if os.path.commonpath([target, real_here]) != real_here:
        raise CollectError(
            "symbolic link leads outside the working directory",
            "name the file itself, not a link to it",
            path=shown_path(str(path)),
        )


def _walk(top: Path, keep: Callable[[Path], bool], notice: Callable[[str], None]) -> list[Path]:
    """The files under `top` in os.walk's top-down order (a folder's files, then its folders)."""
    root = os.path.realpath(top)
    out: list[Path] = []
    folders = [str(top)]
    while folders:
        folder = folders.pop()
        try:
            with os.scandir(folder) as listing:
                entries = sorted(listing, key=lambda entry: entry.name)
        except OSError as exc:
            notice(f"skipped {shown_path(folder)}: cannot list the folder ({exc.strerror})")
            continue
        subfolders: list[str] = []
        for entry in entries:
            if entry.name.startswith("."):
                continue
            path = Path(entry.path)
            try:
                if entry.is_symlink():
                    if _follow(path, top, root, keep, notice):
                        out.append(path)
                elif entry.is_dir(follow_symlinks=False):
                    if entry.name not in SKIP_DIRS:
                        subfolders.append(entry.path)
                elif keep(path):
                    if entry.is_file(follow_symlinks=False):
                        out.append(path)
                    else:
                        kind = file_kind(entry.stat(follow_symlinks=False).st_mode)
                        notice(f"skipped {shown_path(path)}: {kind}, not a regular file")
            except OSError as exc:  # gone since it was listed
                notice(f"skipped {shown_path(path)}: {exc.strerror}")
        folders.extend(reversed(subfolders))
    return out


def _follow(
    link: Path, top: Path, root: str, keep: Callable[[Path], bool], notice: Callable[[str], None]
) -> bool:
    """Whether a walk yields the file a symbolic link met in it leads to: one `keep` accepts,
    inside `root` (the walked folder `top`, resolved), a regular file or a link that cannot be
    followed (reading it says why). Links to folders are not followed."""
    try:
        mode: int | None = os.stat(link).st_mode
    except OSError:
        mode = None  # a loop, or a missing target
    is_dir = mode is not None and stat.S_ISDIR(mode)
    if (link.name in SKIP_DIRS) if is_dir else not keep(link):
        return False
    target = os.path.realpath(link)
    if target != root and not target.startswith(root.rstrip(os.sep) + os.sep):
        notice(f"skipped {shown_path(link)}: symbolic link leads outside {shown_path(top)}")
        return False
    if mode is None or stat.S_ISREG(mode):
        return True
    if not is_dir:
        notice(f"skipped {shown_path(link)}: {file_kind(mode)}, not a regular file")
    return False
