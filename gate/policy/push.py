"""`gate policy push`: load a policy set into a running OPA server, for development.

Production servers get their policies from bundles; this is how a developer or a test puts the
shipped and configured policies and the config data into a local `opa run --server`. Each module
goes to `PUT /v1/policies/govgate/<module name>`, each top-level key of the data document to
`PUT /v1/data/<key>` (so `data.gate.config` and `data.gate.waivers` arrive under `gate`).

OPA compiles every module as it arrives, and a module calling a function of a package not loaded
yet does not compile, so modules go in dependency order and any that fail are tried again once the
others are in, until nothing more changes. A push is not atomic: if a module does not compile, the
server keeps the ones that did, and the error names the module, line and OPA's message.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

from gate.engine.opa_server import (
    DEFAULT_BACKOFF,
    DEFAULT_RETRIES,
    DEFAULT_TIMEOUT,
    PUSH_PREFIX,
    TOKEN_HINT,
    OpaConnection,
    opa_message,
)
from gate.errors import EngineError
from gate.policy.policy_set import PACKAGE_RE, PolicySet

PREFIX = PUSH_PREFIX
COMPILE_CODES = frozenset({"invalid_parameter", "invalid_operation"})
DATA_REF_RE = re.compile(r"\bdata\.([A-Za-z_][\w.]*)")


@dataclass(frozen=True)
class PushResult:
    """What a push changed on the server."""

    url: str
    digest: str
    modules: tuple[str, ...]
    removed: tuple[str, ...]
    data_keys: tuple[str, ...]


@dataclass(frozen=True)
class _Op:
    delete: bool
    policy_id: str
    source: str = ""


def _errors() -> Any:
    """opa_client's exception classes (the package is untyped); imported late, it loads aiohttp."""
    import opa_client.errors  # type: ignore[import-untyped]

    return opa_client.errors


def policy_id(module_name: str) -> str:
    """The server-side policy id of a module: its name under `govgate/`."""
    return PREFIX + module_name.lstrip("/")


def push(
    policy: PolicySet,
    url: str,
    token: str | None = None,
    *,
    ca: str | Path | None = None,
    client_cert: str | Path | None = None,
    client_key: str | Path | None = None,
    verify: bool = True,
    timeout: float = DEFAULT_TIMEOUT,
    retries: int = DEFAULT_RETRIES,
    backoff: float = DEFAULT_BACKOFF,
) -> PushResult:
    """Make the server hold exactly this policy set's modules (under `govgate/`) and its data.

    Modules pushed earlier that the set no longer has are removed; other policies are left alone.
    Failures are EngineErrors: server down or slow, token refused, or OPA's compile errors.
    """
    conn = OpaConnection.from_options(
        url,
        token,
        ca=ca,
        client_cert=client_cert,
        client_key=client_key,
        verify=verify,
        timeout=timeout,
        retries=retries,
        backoff=backoff,
    )
    client = conn.client()
    try:
        existing = _policy_ids(conn, client)
        wanted = {policy_id(name): source for name, source in policy.modules.items()}
        stale = sorted(i for i in existing if i.startswith(PREFIX) and i not in wanted)
        ops = [_Op(True, i) for i in stale] + [
            _Op(False, policy_id(name), policy.modules[name]) for name in dependency_order(policy.modules)
        ]
        _apply(conn, client, ops)
        for key, value in sorted(policy.data.items()):
            _put_data(conn, client, key, value)
    finally:
        client.close_connection()
    return PushResult(
        url=conn.url,
        digest=policy.digest,
        modules=tuple(sorted(wanted)),
        removed=tuple(stale),
        data_keys=tuple(sorted(policy.data)),
    )


def delete_all(
    url: str,
    token: str | None = None,
    *,
    data_keys: tuple[str, ...] = ("gate",),
    ca: str | Path | None = None,
    verify: bool = True,
    timeout: float = DEFAULT_TIMEOUT,
) -> tuple[str, ...]:
    """Remove every module pushed by govgate and the given data keys; returns the removed ids."""
    conn = OpaConnection.from_options(url, token, ca=ca, verify=verify, timeout=timeout)
    client = conn.client()
    try:
        ours = sorted(i for i in _policy_ids(conn, client) if i.startswith(PREFIX))
        _apply(conn, client, [_Op(True, i) for i in ours])
        for key in data_keys:
            endpoint = quote(key, safe="")
            try:
                conn.call(f"deleting data {key}", lambda: client.delete_data(endpoint))  # noqa: B023
            except _errors().DeleteDataError as exc:
                if exc.expression != "resource_not_found":
                    raise EngineError(
                        f"deleting data {key} on the OPA server at {conn.url} failed: {exc.message}",
                        "see OPA's message",
                    ) from None
    finally:
        client.close_connection()
    return tuple(ours)


def dependency_order(modules: dict[str, str]) -> list[str]:
    """Module names, each after the modules whose packages it refers to (cycles broken by name)."""
    packages: dict[str, str] = {}
    for name, source in modules.items():
        m = PACKAGE_RE.search(source)
        if m:
            packages[name] = m.group(1)
    deps: dict[str, list[str]] = {}
    for name, source in modules.items():
        refs = set(DATA_REF_RE.findall(source))
        deps[name] = sorted(
            other
            for other, pkg in packages.items()
            if other != name and any(r == pkg or r.startswith(pkg + ".") for r in refs)
        )
    order: list[str] = []
    seen: set[str] = set()

    def visit(name: str) -> None:
        if name in seen:
            return
        seen.add(name)
        for dep in deps[name]:
            visit(dep)
        order.append(name)

    for name in sorted(modules):
        visit(name)
    return order


def _policy_ids(conn: OpaConnection, client: Any) -> list[str]:
    ids: Any = conn.call("listing the server's policies", client.get_policies_list)
    return [str(i) for i in ids] if isinstance(ids, list) else []


def _apply(conn: OpaConnection, client: Any, ops: list[_Op]) -> None:
    """Run the puts and deletes, retrying those OPA refuses to compile while others make progress."""
    pending = ops
    while pending:
        failed: list[tuple[_Op, str]] = []
        for op in pending:
            problem = _run(conn, client, op)
            if problem is not None:
                failed.append((op, problem))
        if len(failed) == len(pending):
            # Errors in a module itself first: "undefined function" in others often follows from them.
            failed.sort(key=lambda f: ("rego_parse_error" not in f[1], "undefined" in f[1]))
            shown = " | ".join(problem for _, problem in failed[:3])
            more = f" (and {len(failed) - 3} more)" if len(failed) > 3 else ""
            raise EngineError(
                f"the OPA server at {conn.url} does not accept the policies: {shown}{more}",
                "fix the Rego named (module:line) and push again",
            )
        pending = [op for op, _ in failed]


def _run(conn: OpaConnection, client: Any, op: _Op) -> str | None:
    """One put or delete; a compile error is returned for a later retry, anything else raises."""
    errors = _errors()
    name = op.policy_id.removeprefix(PREFIX)
    endpoint = quote(op.policy_id, safe="/")
    try:
        if op.delete:
            conn.call(f"removing policy {name}", lambda: client.delete_policy(endpoint))
        else:
            conn.call(
                f"loading policy {name}",
                # rego_compat=False: send the module as written; the client would otherwise rewrite
                # v0 rule heads and retry, and the server would run something nobody reviewed.
                lambda: client.update_policy_from_string(op.source, endpoint, rego_compat=False),
            )
    except errors.TypeException:
        raise EngineError(f"policy {name} is empty", "remove the file or give it a package") from None
    except (errors.RegoParseError, errors.DeletePolicyError) as exc:
        code = str(exc.expression or "")
        body = {"code": code, "message": exc.message, "errors": getattr(exc, "errors", [])}
        detail = opa_message(body, head=False)
        # OPA answers invalid_parameter (put) or invalid_operation (delete) when the modules
        # would not compile; anything else (token, bundle ownership, server error) is final.
        if code in COMPILE_CODES and "owned by bundle" not in detail:
            # Does not compile (yet): try again after the others. OPA's details name module:row.
            return detail if body["errors"] else f"{name}: {detail}"
        if op.delete and code == "resource_not_found":
            return None
        raise _rejected(conn, "removing" if op.delete else "loading", name, code, detail) from None
    return None


def _rejected(conn: OpaConnection, verb: str, name: str, code: str, detail: str) -> EngineError:
    if code == "unauthorized":
        return EngineError(
            f"{verb} policy {name}: the OPA server at {conn.url} rejected the request ({detail})", TOKEN_HINT
        )
    if "owned by bundle" in detail:
        return EngineError(
            f"{verb} policy {name}: the OPA server at {conn.url} rejected it: {detail}",
            "this server loads its policies from a bundle: publish a new bundle instead",
        )
    return EngineError(
        f"{verb} policy {name}: the OPA server at {conn.url} failed: {detail}", "see OPA's message"
    )


def _put_data(conn: OpaConnection, client: Any, key: str, value: Any) -> None:
    endpoint = quote(key, safe="")
    what = f"loading data.{key}"
    if isinstance(value, dict):
        try:
            conn.call(what, lambda: client.update_or_create_data(value, endpoint))
        except _errors().RegoParseError as exc:
            detail = opa_message({"code": exc.expression, "message": exc.message, "errors": exc.errors})
            hint = TOKEN_HINT if exc.expression == "unauthorized" else "see OPA's message"
            raise EngineError(f"{what}: the OPA server at {conn.url} rejected it: {detail}", hint) from None
        return

    # opa_client's update_or_create_data takes objects only; a top-level list or scalar from a
    # --data file goes through the client's own requests session, with the same headers and TLS.
    def put() -> None:
        response = client._session.put(f"{client.root_url}/data/{endpoint}", json=value, timeout=conn.timeout)
        response.raise_for_status()

    conn.call(what, put)
