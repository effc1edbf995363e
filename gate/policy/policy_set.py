"""The policy set: the shipped Rego library, user policy folders, conftest adapters and data."""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from importlib.abc import Traversable
from pathlib import Path
from typing import Any

from gate.errors import ConfigError
from gate.resources import shipped

PACKAGE_RE = re.compile(r"^\s*package\s+([A-Za-z_][\w.]*)", re.MULTILINE)
# A rule head in column 0: the rule's name (conftest reads rules by name alone).
RULE_NAME_RE = re.compile(r"^(?:default\s+)?([A-Za-z_]\w*)", re.MULTILINE)
# The rule names conftest evaluates, as conftest matches them (policy/engine.go).
CONFTEST_FAILURE_RE = re.compile(r"^(deny|violation)(_[a-zA-Z0-9]+)*$")
CONFTEST_WARNING_RE = re.compile(r"^warn(_[a-zA-Z0-9]+)*$")
CONFTEST_SEVERITY = {"deny": "high", "violation": "high", "warn": "low"}
# The module name of a generated conftest adapter.
ADAPTER_PREFIX = "generated/conftest/"


@dataclass(frozen=True)
class PolicySet:
    """Rego modules by name (path-like, stable across machines) and the data document they read."""

    modules: dict[str, str]
    data: dict[str, Any]
    tests: dict[str, str] = field(default_factory=dict)
    # The conftest-style packages among the modules (each has a generated adapter), and whether
    # they read every file at once (conftest's --combine) rather than file by file.
    conftest: tuple[ConftestNamespace, ...] = ()
    combine: bool = False

    @property
    def reads_files(self) -> bool:
        """Whether the policies read each input file's parsed content (`input.files`)."""
        return bool(self.conftest)

    @property
    def digest(self) -> str:
        """`sha256:<hex>` over every module's name and source and the data document."""
        h = _modules_hash(self.modules)
        h.update(json.dumps(self.data, sort_keys=True, separators=(",", ":")).encode())
        return "sha256:" + h.hexdigest()


def _modules_hash(modules: Mapping[str, str]) -> hashlib._Hash:
    h = hashlib.sha256()
    for name in sorted(modules):
        h.update(name.encode() + b"\0" + hashlib.sha256(modules[name].encode()).digest())
    return h


def modules_digest(modules: Mapping[str, str]) -> str:
    """`sha256:<hex>` over the modules' names and sources (not the data)."""
    return "sha256:" + _modules_hash(modules).hexdigest()


def _walk_traversable(root: Traversable, prefix: str) -> list[tuple[str, Traversable]]:
    out: list[tuple[str, Traversable]] = []
    for child in root.iterdir():
        name = f"{prefix}{child.name}"
        if child.is_dir():
            out.extend(_walk_traversable(child, name + "/"))
        elif child.name.endswith(".rego"):
            out.append((name, child))
    return out


def shipped_modules() -> tuple[dict[str, str], dict[str, str]]:
    """The shipped library's modules and its Rego unit tests, by name `gate/<relative path>`."""
    modules: dict[str, str] = {}
    tests: dict[str, str] = {}
    for name, item in _walk_traversable(shipped("policies"), "lib/"):
        (tests if name.endswith("_test.rego") else modules)[name] = item.read_text(encoding="utf-8")
    return modules, tests


def require_policy_folder(directory: Path) -> None:
    """Refuse (ConfigError) a user policy folder (or .rego file) that does not exist."""
    if not directory.exists():
        raise ConfigError(
            "policy folder not found", "check --policy or `policies:` in gate.yaml", path=str(directory)
        )


def user_modules(directory: Path) -> tuple[dict[str, str], dict[str, str]]:
    """Modules and tests from a user policy folder (or single .rego file)."""
    require_policy_folder(directory)
    files = policy_files(directory)
    if not files:
        raise ConfigError(
            "policy folder holds no .rego files",
            "point --policy at a folder of Rego modules",
            path=str(directory),
        )
    modules: dict[str, str] = {}
    tests: dict[str, str] = {}
    for f in files:
        try:
            text = f.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise ConfigError(f"cannot read policy: {exc}", "save Rego files as UTF-8", path=str(f)) from None
        refuse_v0(f.as_posix(), text)
        (tests if f.name.endswith("_test.rego") else modules)[user_module_name(f)] = text
    return modules, tests


def policy_files(directory: Path) -> list[Path]:
    """The .rego files of a user policy folder (or the file itself), in a stable order."""
    return [directory] if directory.is_file() else sorted(directory.rglob("*.rego"))


def user_module_name(path: Path) -> str:
    """The module name of a user policy file: `user/<the path as given, without a leading />`."""
    return f"user/{path.as_posix().lstrip('/')}"


@dataclass(frozen=True)
class ConftestNamespace:
    """A user package conftest would evaluate: not the gate's own `gate.*` interface, and with
    rules named as conftest reads them (`deny`, `violation`, `warn`, each with optional `_suffix`
    parts). `exception` says the package defines conftest's `exception` rule."""

    package: str
    rules: tuple[str, ...]
    exception: bool = False

    @property
    def ident(self) -> str:
        """The last part of the adapter's package name, `gate.checks.conftest.<ident>`."""
        return re.sub(r"[^a-z0-9]+", "_", self.package.lower()).strip("_") or "main"

    def check_id(self, rule: str) -> str:
        """The check id of a rule's messages without an `[ID]` prefix: CONFTEST-<PACKAGE>-<RULE>."""
        return "CONFTEST-" + re.sub(r"[^A-Z0-9]+", "-", f"{self.package}-{rule}".upper()).strip("-")


# A message that starts with `[ID] ` names its check (bench/conftest/policy writes them so).
MESSAGE_ID_PATTERN = "^[A-Z][A-Z0-9]*(-[A-Z0-9]+)+$"


def conftest_adapter(namespace: ConftestNamespace, *, combine: bool = False) -> str:
    """A generated module that evaluates a conftest-style package as conftest does and reports
    its messages as gate findings.

    conftest's input is each file's parsed content, not the gate's input document: per file
    (each YAML document, or each item of a top-level list, in turn: `input.files[i]`), or with
    `combine` once, over the list of `{"path", "contents"}` of every file. The rule values are
    read `with input as` that content; gate.engine.regopy_adapter gives regopy, where `with input`
    is unreliable, the values computed beforehand instead. Every `with` expression of the module
    is in one form, `src.<rule> with input as <INPUT>`, which that adapter relies on.
    """
    ns = namespace.package
    subject_of = "f" if not combine else "{}"
    lines = [
        f"package gate.checks.conftest.{namespace.ident}",
        "",
        f"import data.{ns} as src",
        "",
        f'meta := {{"id": "{namespace.check_id("")}", "title": "conftest rules in package {ns}", "severity": "high",',
        f'\t"remediation": "see the rule in package {ns} that produced this message"}}',
        "",
    ]
    if combine:
        lines += [
            "# conftest --combine: one input, every file's content with its path.",
            '_combined := [{"path": f.path, "contents": f.contents} | some f in input.files]',
            "",
        ]
    rules = list(namespace.rules) + (["exception"] if namespace.exception else [])
    for rule in rules:
        target = "_combined" if combine else "input.files[i].contents"
        head = f"_{rule}" if combine else f"_{rule}(i)"
        lines += [f"{head} := v if {{", f"\tv := src.{rule} with input as {target}", "}", ""]
    # One evaluation per file (its index i), or of the one combined input.
    each = "\tsome i, f in input.files" if not combine else "\tinput.files"
    args = "(i)" if not combine else ""
    if namespace.exception:
        # conftest: `exception contains ["name"]` excepts deny_name, warn_name and violation_name
        # for that input ("" the bare deny, warn and violation).
        lines += [
            f"_excepted{args[:-1] + ', ' if args else '('}name) if {{",
            f"\tsome names in _exception{args}",
            "\tsome n in names",
            "\tn == name",
            "}",
            "",
        ]
    for rule in namespace.rules:
        kind = rule.split("_")[0]
        sev = CONFTEST_SEVERITY[kind]
        suffix = rule[len(kind) + 1 :]
        lines += ["violation contains v if {", each]
        if namespace.exception:
            lines.append(f'\tnot _excepted{args[:-1] + ", " if args else "("}"{suffix}")')
        lines += [
            f"\tsome m in _items(_{rule}{args})",
            f'\tv := _finding(m, "{namespace.check_id(rule)}", "{sev}", {subject_of})',
            "}",
            "",
            "violation contains v if {",
            each,
            f"\tx := _{rule}{args}",
            "\tnot is_set(x)",
            "\tnot is_array(x)",
            f'\tv := _not_messages("{rule}", x, "{namespace.check_id(rule)}", {subject_of})',
            "}",
            "",
        ]
    lines += [
        "# An input document without the files (sent by a gate that did not load this package) is",
        "# never a silent pass.",
        "violation contains v if {",
        "\tis_object(input)",
        "\tnot _has_files",
        "\tv := {",
        f'\t\t"msg": "the input document has no files section for the conftest rules of package {ns}",',
        f'\t\t"check": "{namespace.check_id("")}", "severity": "critical", "subject": _subject({{}}),',
        '\t\t"remediation": "run gate check with the --policy folders the policies were loaded from",',
        "\t}",
        "}",
        "",
        "_has_files if is_array(input.files)",
        "",
        "_items(x) := x if is_set(x)",
        "",
        "else := x if is_array(x)",
        "",
        "# A file's document, or {} for the combined input (no one file).",
        "_subject(f) := {",
        '\t"kind": "file", "path": object.get(f, "path", null), "ref": null,',
        '\t"line": object.get(f, "line", null),',
        "}",
        "",
        "_finding(m, check, severity, f) := {",
        '\t"msg": parts[1], "check": parts[0], "severity": severity, "subject": _subject(f),',
        "} if {",
        "\tis_string(m)",
        "\tparts := _split(m, check)",
        "} else := {",
        '\t"msg": parts[1], "check": parts[0], "severity": severity, "subject": _subject(f),',
        "} if {",
        "\tis_string(m.msg)",
        "\tparts := _split(m.msg, check)",
        "} else := {",
        '\t"msg": "a message is neither a string nor an object with a string msg (conftest refuses it too)",',
        '\t"check": check, "severity": "critical", "subject": _subject(f),',
        "}",
        "",
        "# `[ID] text`: the check id ID and the text; any other message: the rule's check id.",
        '_split(m, check) := [id, trim_left(substring(m, n + 1, count(m)), " ")] if {',
        '\tstartswith(m, "[")',
        '\tn := indexof(m, "]")',
        "\tn > 1",
        "\tid := substring(m, 1, n - 1)",
        f"\tregex.match(`{MESSAGE_ID_PATTERN}`, id)",
        "} else := [check, m]",
        "",
        "_not_messages(rule, x, check, f) := {",
        '\t"msg": concat("", [',
        f'\t\t"rule ", rule, " of package {ns} is a ", type_name(x),',
        '\t\t", not a set of messages: write `", rule, " contains msg if {`",',
        "\t]),",
        '\t"check": check, "severity": "critical", "subject": _subject(f),',
        "}",
        "",
    ]
    return "\n".join(lines)


def conftest_namespaces(modules: Mapping[str, str]) -> tuple[ConftestNamespace, ...]:
    """The user packages conftest would evaluate (see ConftestNamespace), by package name."""
    rules: dict[str, set[str]] = {}
    exceptions: set[str] = set()
    for source in modules.values():
        m = PACKAGE_RE.search(source)
        if m is None or m.group(1) == "gate" or m.group(1).startswith("gate."):
            continue
        names = set(RULE_NAME_RE.findall(strip_rego(source)))
        found = {n for n in names if CONFTEST_FAILURE_RE.match(n) or CONFTEST_WARNING_RE.match(n)}
        if found:
            rules.setdefault(m.group(1), set()).update(found)
        if "exception" in names:
            exceptions.add(m.group(1))
    return tuple(
        ConftestNamespace(ns, tuple(sorted(found)), ns in exceptions) for ns, found in sorted(rules.items())
    )


def _adapters(namespaces: tuple[ConftestNamespace, ...], combine: bool) -> dict[str, str]:
    return {f"{ADAPTER_PREFIX}{ns.package}.rego": conftest_adapter(ns, combine=combine) for ns in namespaces}


_RAW_STRING_RE = re.compile(r"`[^`]*`")
_STRING_RE = re.compile(r'"(?:[^"\\\n]|\\.)*"')
_COMMENT_RE = re.compile(r"#[^\n]*")


def strip_rego(source: str) -> str:
    """The source with strings emptied and comments removed, every line kept where it was."""
    source = _RAW_STRING_RE.sub(lambda m: "``" + "\n" * m.group(0).count("\n"), source)
    return _COMMENT_RE.sub("", _STRING_RE.sub('""', source))


_KEYWORDS = "if|else|default|not|some|every|with|import|package|contains|as|in"
_HEAD = rf"(?!(?:{_KEYWORDS})\b)[A-Za-z_]\w*(?:\.[A-Za-z_]\w*)*\s*(?:\[[^\]\n]*\]|\([^)\n]*\))?"
# A rule head in column 0 followed by its body's brace, with no `if` (Rego v0: `deny[msg] {`,
# `allow {`, `f(x) {`, `p = true {`); in Rego v1 every rule body follows `if`.
_V0_BODY_RE = re.compile(
    rf"^{_HEAD}\s*(?:\{{|:?=\s*(?!(?:if|contains|else)\b)[\w.\"]+\s*\{{\s*$)", re.MULTILINE
)
# conftest refuses `deny if {...}` (a boolean, not a set of messages) for its rules.
_BOOLEAN_RULE_RE = re.compile(r"^((?:deny|violation|warn)(?:_[a-zA-Z0-9]+)*)\s+if\b", re.MULTILINE)


def refuse_v0(name: str, source: str) -> None:
    """Refuse (ConfigError) Rego v0 syntax, which every engine would read differently, and a
    conftest rule written as a boolean, naming the file and line."""
    code = strip_rego(source)
    found = _V0_BODY_RE.search(code)
    if found is not None:
        line = code.count("\n", 0, found.start()) + 1
        raise ConfigError(
            f"line {line}: Rego v0 syntax (a rule body without `if`, as in `deny[msg] {{`); "
            "the gate reads Rego v1",
            "write `deny contains msg if {`, or convert the file with `opa fmt --v0-v1 -w FILE`",
            path=name,
        )
    package = PACKAGE_RE.search(code)
    boolean = _BOOLEAN_RULE_RE.search(code)
    if boolean is not None and package is not None and not package.group(1).startswith("gate."):
        line = code.count("\n", 0, boolean.start()) + 1
        rule = boolean.group(1)
        raise ConfigError(
            f"line {line}: conftest rule `{rule} if` is true or undefined, not a set of messages",
            f"write `{rule} contains msg if {{` (conftest refuses `{rule} if` too)",
            path=name,
        )


def load_data_file(path: Path) -> dict[str, Any]:
    """A `--data` file (JSON or YAML mapping), merged into the data document."""
    import yaml

    try:
        value = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError("data file not found", "check --data", path=str(path)) from None
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        raise ConfigError(
            f"data file is not valid JSON/YAML: {str(exc).splitlines()[0]}", "fix the syntax", path=str(path)
        ) from None
    except (ValueError, RecursionError) as exc:  # an integer too long to convert; nesting too deep
        raise ConfigError(f"data file cannot be read: {exc}", "fix the file", path=str(path)) from None
    if not isinstance(value, dict):
        raise ConfigError(
            "data file must hold a mapping at the top", "wrap the values in an object", path=str(path)
        )
    return value


def _merge(into: dict[str, Any], extra: dict[str, Any]) -> None:
    for k, v in extra.items():
        if isinstance(v, dict) and isinstance(into.get(k), dict):
            _merge(into[k], v)
        else:
            into[k] = v


def build_policy_set(
    policy_dirs: list[Path],
    config_data: dict[str, Any],
    waivers: list[dict[str, Any]],
    data_files: tuple[Path, ...] = (),
    *,
    combine: bool = False,
) -> PolicySet:
    """Everything the engine loads: shipped + user modules, generated adapters, and `data`.

    `combine`: conftest-style packages read every file at once (conftest's `--combine`)."""
    modules, tests = shipped_modules()
    user: dict[str, str] = {}
    for d in policy_dirs:
        mods, tst = user_modules(d)
        user.update(mods)
        tests.update(tst)
    modules.update(user)
    namespaces = conftest_namespaces(user)
    modules.update(_adapters(namespaces, combine))
    data: dict[str, Any] = {}
    for f in data_files:
        _merge(data, load_data_file(f))
    _merge(data, {"gate": {"config": config_data, "waivers": waivers}})
    return PolicySet(modules=modules, data=data, tests=tests, conftest=namespaces, combine=combine)
