"""The `opa-server` engine: a running OPA server (`opa run --server`), through opa-python-client.

The server already holds the policies (in production from bundles; in development from
`gate policy push`), so `evaluate` sends only the input document and asks for
`data.gate.main.decision` with provenance, keeping OPA's decision id and bundle revisions.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlsplit

import requests
from requests.adapters import HTTPAdapter

from gate.engine.base import DECISION_QUERY, EngineResult
from gate.errors import ConfigError, EngineError
from gate.policy.policy_set import PolicySet

T = TypeVar("T")

DEFAULT_TIMEOUT = 10.0
DEFAULT_RETRIES = 2
DEFAULT_BACKOFF = 0.5
# version() is only a label for the decision record: never let it hold a decision up for long.
VERSION_PROBE_TIMEOUT = 2.0
# Statuses a proxy or a restarting server gives that a later attempt can cure. 500 is not among
# them: OPA answers 500 for evaluation errors (a builtin error, conflicting rule values).
TRANSIENT_STATUS = frozenset({429, 502, 503, 504})
DECISION_PACKAGE, DECISION_RULE = DECISION_QUERY.removeprefix("data.").rsplit(".", 1)
# strict-builtin-errors: a builtin error fails the query, as on the embedded engine, instead of
# silently making a rule undefined. provenance: OPA's version and the bundle revisions it ran.
QUERY_PARAMS = {"provenance": "true", "strict-builtin-errors": "true"}
# `gate policy push` loads module <name> as policy id govgate/<name>.
PUSH_PREFIX = "govgate/"
TOKEN_HINT = "pass a valid bearer token with --opa-token or GATE_OPA_TOKEN"
_ERRNO_RE = re.compile(r"\[Errno -?\d+\] ([^'\")\]]+)")


@dataclass(frozen=True)
class OpaConnection:
    """Where an OPA server is and how to talk to it: shared by the engine and `gate policy push`."""

    url: str
    token: str | None = field(default=None, repr=False)
    ca: str | None = None
    client_cert: str | None = None
    client_key: str | None = None
    verify: bool = True
    timeout: float = DEFAULT_TIMEOUT
    retries: int = DEFAULT_RETRIES
    backoff: float = DEFAULT_BACKOFF

    @classmethod
    def from_options(
        cls,
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
    ) -> OpaConnection:
        """Check the options and normalise the URL; bad options are a ConfigError (exit 2)."""
        parts = urlsplit(url.strip())
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ConfigError(
                f"--opa-url {url!r} is not an http(s) URL", "use e.g. --opa-url http://127.0.0.1:8181"
            )
        if parts.username or parts.password or parts.query or parts.fragment:
            raise ConfigError(
                "--opa-url must not hold credentials, a query or a fragment",
                "give the server's base URL; pass a token with --opa-token or GATE_OPA_TOKEN",
            )
        try:
            parts.port  # noqa: B018 - raises ValueError for a port out of range
        except ValueError:
            raise ConfigError(f"--opa-url {url!r} has an invalid port", "use host:port") from None
        if parts.scheme == "http" and (ca or client_cert or client_key):
            raise ConfigError("TLS options need an https:// --opa-url", "use https:// or drop --opa-ca")
        if client_key and not client_cert:
            raise ConfigError("a client key needs a client certificate", "pass the certificate as well")
        if timeout <= 0:
            raise ConfigError("--opa-timeout must be a positive number of seconds", "e.g. --opa-timeout 10")
        if retries < 0:
            raise ConfigError("--opa-retries must be 0 or more", "e.g. --opa-retries 2")
        for label, path in (
            ("CA bundle", ca),
            ("client certificate", client_cert),
            ("client key", client_key),
        ):
            if path is not None and not Path(path).is_file():
                raise ConfigError(f"{label} not found", "check the TLS options", path=str(path))
        clean = f"{parts.scheme}://{parts.netloc}{parts.path.rstrip('/')}"
        return cls(
            url=clean,
            token=(token or "").strip() or None,
            ca=str(ca) if ca else None,
            client_cert=str(client_cert) if client_cert else None,
            client_key=str(client_key) if client_key else None,
            verify=verify,
            timeout=float(timeout),
            retries=int(retries),
            backoff=float(backoff),
        )

    def client(self, timeout: float | None = None) -> Any:
        """An opa_client.OpaClient for this server (the package is untyped, hence Any)."""
        from opa_client import OpaClient  # type: ignore[import-untyped]

        parts = urlsplit(self.url)
        https = parts.scheme == "https"
        host = parts.hostname or ""
        cert: str | tuple[str, str] | None = (
            (self.client_cert, self.client_key) if self.client_cert and self.client_key else self.client_cert
        )
        client = OpaClient(
            host=f"[{host}]" if ":" in host else host,
            port=parts.port or (443 if https else 80),
            ssl=https,
            cert=cert,
            token=self.token,
            # The client's own urllib3 retries never retry a POST that timed out or got a 5xx,
            # and back off on a fixed schedule; `call` retries instead, with --opa-retries.
            retries=0,
            timeout=self.timeout if timeout is None else timeout,
        )
        # OpaClient builds its base URL from host and port alone; keep a path prefix (an OPA behind
        # a reverse proxy at https://host/opa). The query and policy methods all start from root_url.
        client.root_url = f"{self.url}/v1"
        if https and (self.ca or not self.verify):
            # OpaClient's `ssl` flag both picks https and sets verify=True; it has no parameter for a
            # CA bundle or for switching verification off. Setting session.verify is not enough:
            # requests lets REQUESTS_CA_BUNDLE / CURL_CA_BUNDLE override it (psf/requests#3829),
            # and CI images often set those. An adapter passes the setting with every request.
            client._session.mount("https://", _VerifyAdapter(self.ca or False))
        return client

    def call(self, what: str, fn: Callable[[], T]) -> T:
        """Run one request with retries and backoff; any failure becomes an EngineError saying which."""
        attempt = 0
        while True:
            try:
                return fn()
            except requests.RequestException as exc:
                if attempt >= self.retries or not _transient(exc):
                    raise self.error(exc, what, attempt + 1) from None
            time.sleep(self.backoff * 2**attempt)
            attempt += 1

    def error(self, exc: requests.RequestException, what: str, attempts: int = 1) -> EngineError:
        """The EngineError for a failed request: down, TLS, slow, token, server error or rejected."""
        tries = f" ({attempts} attempts)" if attempts > 1 else ""
        where = f"the OPA server at {self.url}"
        if isinstance(exc, requests.exceptions.SSLError):
            return EngineError(
                f"{what}: TLS connection to {where} failed: {_reason(exc)}",
                "pass the server's CA bundle with --opa-ca (or the client certificate it requires)",
            )
        if isinstance(exc, requests.exceptions.Timeout):
            phase = (
                "connecting"
                if isinstance(exc, requests.exceptions.ConnectTimeout)
                else "waiting for an answer"
            )
            return EngineError(
                f"{what}: {where} is too slow: timed out after {self.timeout:g} s {phase}{tries}",
                "raise --opa-timeout, or check the server's load and the network",
            )
        if isinstance(exc, requests.exceptions.ConnectionError):
            reason = _reason(exc)
            if "refused" in reason.lower():
                return EngineError(
                    f"{what}: connection refused at {self.url}: the OPA server is down or not there{tries}",
                    "start the server (opa run --server) or check --opa-url",
                )
            return EngineError(f"{what}: cannot connect to {where}: {reason}{tries}", "check --opa-url")
        if isinstance(exc, requests.exceptions.InvalidJSONError):
            return EngineError(
                f"{what}: malformed response from {where}: not JSON ({_reason(exc)})",
                "check that --opa-url points at an OPA server",
            )
        response = exc.response if isinstance(exc, requests.HTTPError) else None
        if response is None:
            return EngineError(f"{what}: request to {where} failed: {_reason(exc)}", "check --opa-url")
        return http_error(self.url, what, response.status_code, _body(response), tries)


class _VerifyAdapter(HTTPAdapter):
    """Certificate verification as configured (a CA bundle path, or False), whatever the environment."""

    def __init__(self, verify: str | bool) -> None:
        super().__init__(max_retries=0)
        self._verify = verify

    def send(
        self,
        request: requests.PreparedRequest,
        stream: bool = False,
        timeout: float | tuple[float | None, float | None] | None = None,
        verify: bool | str = True,
        cert: str | tuple[str, str] | None = None,
        proxies: dict[str, str] | None = None,
    ) -> requests.Response:
        """Send with this adapter's verify setting, ignoring the one requests merged in."""
        return super().send(request, stream, timeout, self._verify, cert, proxies)


def http_error(url: str, what: str, status: int, body: Any, tries: str = "") -> EngineError:
    """An EngineError for an HTTP error answer, with OPA's own message."""
    where = f"the OPA server at {url}"
    detail = opa_message(body)
    if status in (401, 403):
        return EngineError(
            f"{what}: {where} rejected the request: HTTP {status} ({detail or 'unauthorized'})",
            TOKEN_HINT,
        )
    if status >= 500:
        return EngineError(
            f"{what}: {where} failed: HTTP {status}: {detail or 'no message'}{tries}",
            "see OPA's message; check the server's log",
        )
    if "owned by bundle" in detail:
        return EngineError(
            f"{what}: {where} rejected the request: HTTP {status}: {detail}",
            "this server loads its policies from a bundle: publish a new bundle instead",
        )
    if status == 404:
        return EngineError(
            f"{what}: {where} answered HTTP 404: {detail or 'not found'}",
            "check that --opa-url points at an OPA server (its base URL, without /v1)",
        )
    return EngineError(f"{what}: {where} rejected the request: HTTP {status}: {detail}", "see OPA's message")


def opa_message(body: Any, strip_prefix: str = PUSH_PREFIX, *, head: bool = True) -> str:
    """OPA's error message: code, message and the first errors with their file:row locations.

    Module ids under `strip_prefix` (where `gate policy push` puts them) are shown by their names.
    With head=False and detailed errors present, only the details.
    """
    if not isinstance(body, dict):
        return str(body or "")[:300]
    summary = ": ".join(str(body[k]) for k in ("code", "message") if body.get(k))
    details: list[str] = []
    errors = body.get("errors")
    for err in errors if isinstance(errors, list) else []:
        if not isinstance(err, dict):
            continue
        raw_loc = err.get("location")
        loc: dict[str, Any] = raw_loc if isinstance(raw_loc, dict) else {}
        file = str(loc.get("file") or "").removeprefix(strip_prefix)
        at = f"{file}:{loc.get('row')}: " if file and loc.get("row") else ""
        details.append(f"{at}{err.get('code', 'error')}: {err.get('message', '')}")
    shown = "; ".join(details[:3]) + (f"; and {len(details) - 3} more" if len(details) > 3 else "")
    if shown and not head:
        return shown
    return f"{summary}: {shown}" if summary and shown else summary or shown


def _body(response: requests.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return response.text.strip()[:300]


def _transient(exc: requests.RequestException) -> bool:
    """Whether another attempt may succeed: refused or reset connections, connect timeouts, 502-504.

    A read timeout is not retried: the server got the query and may still be evaluating it.
    """
    if isinstance(exc, requests.exceptions.SSLError | requests.exceptions.ReadTimeout):
        return False
    if isinstance(exc, requests.exceptions.ConnectionError | requests.exceptions.ConnectTimeout):
        return True
    response = exc.response if isinstance(exc, requests.HTTPError) else None
    return response is not None and response.status_code in TRANSIENT_STATUS


def _reason(exc: BaseException) -> str:
    text = str(exc)
    m = _ERRNO_RE.search(text)
    if m:
        return m.group(1).strip()
    if "CERTIFICATE_VERIFY_FAILED" in text:
        return "certificate verify failed" + (
            f" ({text.split('certificate verify failed:')[1].split(')')[0].strip()})"
            if "certificate verify failed:" in text
            else ""
        )
    return text.split("(Caused by ")[-1].rstrip(")")[:200] or type(exc).__name__


class OpaServerEngine:
    """A running OPA server that already holds the policies; one query per decision."""

    name = "opa-server"

    def __init__(
        self,
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
    ) -> None:
        self.connection = OpaConnection.from_options(
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
        self._client: Any = None
        self._version: str | None = None

    @property
    def url(self) -> str:
        """The server's base URL, as recorded in decisions."""
        return self.connection.url

    def _get_client(self) -> Any:
        if self._client is None:
            self._client = self.connection.client()
        return self._client

    def close(self) -> None:
        """Release the HTTP session."""
        if self._client is not None:
            self._client.close_connection()
            self._client = None

    def version(self) -> str:
        """`opa <version> (<url>)` from the server; `opa-server <url>` when it cannot be asked.

        Never raises: a server that is down is reported by evaluate(), with the reason.
        """
        if self._version is None:
            try:
                client = self.connection.client(timeout=min(self.connection.timeout, VERSION_PROBE_TIMEOUT))
                try:
                    config = client.get_config()
                finally:
                    client.close_connection()
                labels = config.get("result", {}).get("labels", {}) if isinstance(config, dict) else {}
                if isinstance(labels, dict) and isinstance(labels.get("version"), str):
                    self._version = labels["version"]
            except (requests.RequestException, ValueError, AttributeError):
                pass
        return f"opa {self._version} ({self.url})" if self._version else f"opa-server {self.url}"

    def evaluate(
        self, policy: PolicySet, document: dict[str, Any], text: bytes | None = None
    ) -> EngineResult:
        """Query the decision; the result's meta names the server (`url`), OPA's `decision_id`
        and the bundle `revisions` it decided with.

        `policy` is not sent: the server decides with the policies it holds (see `gate policy push`).
        """
        client = self._get_client()
        what = f"evaluating {DECISION_QUERY}"
        body: Any = self.connection.call(
            what,
            lambda: client.query_rule(
                input_data=document,
                package_path=DECISION_PACKAGE,
                rule_name=DECISION_RULE,
                query_params=QUERY_PARAMS,
            ),
        )
        return self._decision(body)

    def _decision(self, body: Any) -> EngineResult:
        where = f"the OPA server at {self.url}"
        if not isinstance(body, dict):
            raise EngineError(
                f"malformed response from {where}: expected a JSON object, got {type(body).__name__}",
                "check that --opa-url points at an OPA server",
            )
        if "result" not in body:
            raise EngineError(
                f"{where} has no {DECISION_QUERY} (the decision is undefined there)",
                f"load the policies with `gate policy push --opa-url {self.url}`, "
                "or check the bundle the server loads",
            )
        result = body["result"]
        if not isinstance(result, dict):
            raise EngineError(
                f"malformed response from {where}: {DECISION_QUERY} is a {type(result).__name__}, "
                "not an object",
                "check package gate.main on the server",
            )
        raw_prov = body.get("provenance")
        provenance: dict[str, Any] = raw_prov if isinstance(raw_prov, dict) else {}
        version = provenance.get("version")
        if isinstance(version, str) and version:
            self._version = version
        meta = {
            "url": self.url,
            "decision_id": body.get("decision_id") if isinstance(body.get("decision_id"), str) else None,
            "revisions": _revisions(provenance),
        }
        return EngineResult(result, meta)


def _revisions(provenance: dict[str, Any]) -> dict[str, str]:
    """Bundle name -> revision from OPA's provenance; a legacy single-bundle revision as `""`."""
    out: dict[str, str] = {}
    bundles = provenance.get("bundles")
    if isinstance(bundles, dict):
        for name, info in bundles.items():
            if isinstance(info, dict) and isinstance(info.get("revision"), str):
                out[str(name)] = info["revision"]
    if isinstance(provenance.get("revision"), str) and provenance["revision"]:
        out[""] = provenance["revision"]
    return out
