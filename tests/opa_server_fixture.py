"""A real OPA server for tests: `opa run --server` on 127.0.0.1, a free port, stopped afterwards.

Variants: bearer-token authentication with a tiny `system.authz` policy, a bundle (policies and
data as production serves them, with a manifest revision), and TLS (a throwaway CA, a server
certificate for 127.0.0.1 and, for mutual TLS, a client certificate).
"""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import socket
import ssl
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

from gate.policy.policy_set import PolicySet
from tests.helpers import stop_process

HEALTH_WAIT_S = 30.0  # a deadline for start-up, not an assertion on speed
INSTALL_HINT = "opa not found: run scripts/install-tools.sh"


def opa_binary() -> str:
    """The opa binary: PATH, else $(go env GOPATH)/bin. Missing: fail in CI, skip on a laptop."""
    found = shutil.which("opa")
    if found:
        return found
    gopath = os.environ.get("GOPATH")
    if not gopath and shutil.which("go"):
        proc = subprocess.run(["go", "env", "GOPATH"], capture_output=True, text=True, check=False)
        gopath = proc.stdout.strip()
    candidate = Path(gopath or Path.home() / "go") / "bin" / "opa"
    if candidate.is_file() and os.access(candidate, os.X_OK):
        return str(candidate)
    if os.environ.get("CI") == "true":
        pytest.fail(INSTALL_HINT)
    pytest.skip(INSTALL_HINT)


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass(frozen=True)
class TlsFiles:
    """PEM files for a TLS test server and a client of it."""

    ca: Path
    server_cert: Path
    server_key: Path
    client_cert: Path
    client_key: Path


@dataclass(frozen=True)
class OpaServer:
    """A running server: its base URL, the token it accepts (if any), and its log file."""

    url: str
    token: str | None
    log: Path
    bundle_revision: str | None = None
    bundle_name: str | None = None


def make_tls(directory: Path) -> TlsFiles:
    """A throwaway CA, a server certificate for 127.0.0.1, and a client certificate."""
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    directory.mkdir(parents=True, exist_ok=True)
    now = dt.datetime.now(dt.UTC)

    def name(cn: str) -> x509.Name:
        return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])

    def write_key(key: ec.EllipticCurvePrivateKey, path: Path) -> Path:
        path.write_bytes(
            key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
        )
        return path

    def write_cert(cert: x509.Certificate, path: Path) -> Path:
        path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
        return path

    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_cert = (
        x509.CertificateBuilder()
        .subject_name(name("govgate test CA"))
        .issuer_name(name("govgate test CA"))
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )

    def leaf(
        cn: str, usage: x509.ObjectIdentifier, san: bool
    ) -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey]:
        key = ec.generate_private_key(ec.SECP256R1())
        builder = (
            x509.CertificateBuilder()
            .subject_name(name(cn))
            .issuer_name(ca_cert.subject)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(minutes=5))
            .not_valid_after(now + dt.timedelta(days=1))
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.ExtendedKeyUsage([usage]), critical=False)
            .add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False
            )
        )
        if san:
            builder = builder.add_extension(
                x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
                critical=False,
            )
        return builder.sign(ca_key, hashes.SHA256()), key

    server_cert, server_key = leaf("127.0.0.1", ExtendedKeyUsageOID.SERVER_AUTH, True)
    client_cert, client_key = leaf("govgate test client", ExtendedKeyUsageOID.CLIENT_AUTH, False)
    return TlsFiles(
        ca=write_cert(ca_cert, directory / "ca.pem"),
        server_cert=write_cert(server_cert, directory / "server.pem"),
        server_key=write_key(server_key, directory / "server.key"),
        client_cert=write_cert(client_cert, directory / "client.pem"),
        client_key=write_key(client_key, directory / "client.key"),
    )


def write_bundle(policy: PolicySet, directory: Path, revision: str) -> Path:
    """A bundle directory as a platform team would build it: modules, data.json, .manifest."""
    directory.mkdir(parents=True, exist_ok=True)
    for module_name, source in policy.modules.items():
        path = directory / module_name.lstrip("/")
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(source, encoding="utf-8")
    (directory / "data.json").write_text(json.dumps(policy.data), encoding="utf-8")
    (directory / ".manifest").write_text(json.dumps({"revision": revision}), encoding="utf-8")
    return directory


def _authz_policy(token: str) -> str:
    return "\n".join(
        [
            "package system.authz",
            "",
            "default allow := false",
            "",
            'allow if input.path == ["health"]',
            "",
            f"allow if input.identity == {json.dumps(token)}",
            "",
        ]
    )


def _healthy(url: str, tls: TlsFiles | None) -> bool:
    context = None
    if tls is not None:
        context = ssl.create_default_context(cafile=str(tls.ca))
        context.load_cert_chain(str(tls.client_cert), str(tls.client_key))
    # No proxies: test traffic stays on 127.0.0.1 whatever the environment says.
    handlers: list[urllib.request.BaseHandler] = [urllib.request.ProxyHandler({})]
    if context is not None:
        handlers.append(urllib.request.HTTPSHandler(context=context))
    opener = urllib.request.build_opener(*handlers)
    try:
        with opener.open(f"{url}/health", timeout=2) as resp:
            return int(resp.status) == 200
    except (urllib.error.URLError, OSError):
        return False


@contextmanager
def opa_server(
    workdir: Path,
    *,
    token: str | None = None,
    bundle: PolicySet | None = None,
    revision: str = "test-revision-1",
    tls: TlsFiles | None = None,
    mutual_tls: bool = False,
) -> Iterator[OpaServer]:
    """Run `opa run --server` on 127.0.0.1 at a free port until the block ends; yield its URL.

    Decision logging is on (console, at a log level that keeps it quiet) so OPA issues decision
    ids; the version check is off so OPA talks to nobody.
    """
    binary = opa_binary()
    workdir.mkdir(parents=True, exist_ok=True)
    args = [
        "run",
        "--server",
        "--skip-version-check",
        "--log-level=error",
        "--shutdown-grace-period=1",
        "--set=decision_logs.console=true",
    ]
    extra_paths: list[str] = []
    bundle_name = None
    if token is not None:
        authz = workdir / "authz.rego"
        authz.write_text(_authz_policy(token), encoding="utf-8")
        args += ["--authentication=token", "--authorization=basic"]
        extra_paths.append(str(authz))
    if tls is not None:
        args += [f"--tls-cert-file={tls.server_cert}", f"--tls-private-key-file={tls.server_key}"]
        if mutual_tls:
            args += ["--authentication=tls", f"--tls-ca-cert-file={tls.ca}"]
    if bundle is not None:
        bundle_name = str(write_bundle(bundle, workdir / "bundle", revision))
        args += ["--bundle", bundle_name]
    scheme = "https" if tls is not None else "http"
    log = workdir / "opa.log"
    for _ in range(3):  # another process may take the free port before OPA binds it
        port = free_port()
        url = f"{scheme}://127.0.0.1:{port}"
        with log.open("wb") as out:
            proc = subprocess.Popen(
                [binary, *args, f"--addr=127.0.0.1:{port}", *extra_paths],
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
            )
        try:
            deadline = time.monotonic() + HEALTH_WAIT_S
            while proc.poll() is None and time.monotonic() < deadline:
                if _healthy(url, tls):
                    break
                time.sleep(0.05)
            else:
                if proc.poll() is None:
                    pytest.fail(f"opa did not answer /health within {HEALTH_WAIT_S:g} s: {_tail(log)}")
                if "address already in use" in log.read_text(errors="replace"):
                    continue
                pytest.fail(f"opa exited with {proc.returncode}: {_tail(log)}")
            yield OpaServer(url, token, log, revision if bundle is not None else None, bundle_name)
            return
        finally:
            stop_process(proc)
    pytest.fail("opa could not bind a free port in three tries")


def _tail(log: Path) -> str:
    return log.read_text(errors="replace")[-2000:] if log.exists() else "(no log)"
