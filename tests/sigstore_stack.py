"""A private Sigstore instance on loopback: OIDC issuer, Fulcio, CT log, Rekor v2 and a timestamp authority.

No public Sigstore server is reachable from the test machines, so keyless signing is proven against
the real servers built from the Go module proxy (`scripts/install-sigstore-stack`), started once per
test session. The only piece written here is the OIDC issuer: a minimal discovery document, a JWKS
and a test-only `/token` endpoint minting RS256 tokens, which is all Fulcio asks of an issuer.

Facts this relies on (measured, see the project's shared notes): the TSA's metrics port is fixed at
:2112, so one stack per machine at a time; Rekor's `--hostname` must equal the trusted root's tlog
host; Go-written bundles of a log's first entry do not parse in sigstore-python, hence a warm-up.
"""

from __future__ import annotations

import base64
import hashlib
import json
import shutil
import socket
import subprocess
import threading
import time
import urllib.request
from dataclasses import dataclass, field
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

import jwt
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

HOST = "127.0.0.1"
BINARIES = ("timestamp-server", "fulcio", "tesseract-posix", "rekor-server-posix")
CLIENT_ID = "sigstore"


class StackError(RuntimeError):
    """A server of the stack did not start or answer."""


def free_port() -> int:
    """A TCP port on loopback that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def _b64url_int(value: int) -> str:
    raw = value.to_bytes((value.bit_length() + 7) // 8, "big")
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _get(url: str, timeout: float = 2.0) -> bytes:
    with urllib.request.urlopen(url, timeout=timeout) as response:  # loopback test servers only
        return bytes(response.read())


def _log_tail(path: Path, lines: int = 5) -> str:
    text = path.read_text(encoding="utf-8", errors="replace") if path.is_file() else ""
    return " | ".join(text.strip().splitlines()[-lines:])


class Issuer:
    """An OIDC issuer on loopback that mints tokens for any e-mail identity (test-only)."""

    def __init__(self) -> None:
        self.port = free_port()
        self.url = f"http://{HOST}:{self.port}"
        self._key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        numbers = self._key.public_key().public_numbers()
        self._jwks = {"keys": [{"kty": "RSA", "alg": "RS256", "use": "sig", "kid": "test",
                                "n": _b64url_int(numbers.n), "e": _b64url_int(numbers.e)}]}
        issuer = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                path = urlparse(self.path)
                if path.path == "/.well-known/openid-configuration":
                    body: Any = {"issuer": issuer.url, "jwks_uri": f"{issuer.url}/jwks",
                                 "authorization_endpoint": f"{issuer.url}/auth", "token_endpoint": f"{issuer.url}/token",
                                 "response_types_supported": ["id_token"], "subject_types_supported": ["public"],
                                 "id_token_signing_alg_values_supported": ["RS256"]}
                elif path.path == "/jwks":
                    body = issuer._jwks
                elif path.path == "/token":
                    email = parse_qs(path.query).get("email", ["ci@example.test"])[0]
                    body = {"id_token": issuer.token(email)}
                else:
                    self.send_error(404)
                    return
                data = json.dumps(body).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *_args: Any) -> None:
                return None

        self._server = ThreadingHTTPServer((HOST, self.port), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._started = False

    def start(self) -> None:
        self._thread.start()
        self._started = True

    def token(self, email: str, issuer: str | None = None, lifetime_s: int = 600) -> str:
        """An RS256 identity token for `email` (from another issuer URL when `issuer` is given)."""
        now = int(time.time())
        claims = {"iss": issuer or self.url, "aud": CLIENT_ID, "sub": email, "email": email,
                  "email_verified": True, "iat": now, "nbf": now, "exp": now + lifetime_s}
        pem = self._key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                      serialization.NoEncryption())
        return jwt.encode(claims, pem, algorithm="RS256", headers={"kid": "test"})

    def stop(self) -> None:
        if self._started:
            self._server.shutdown()
            self._started = False
        self._server.server_close()


@dataclass
class SigstoreStack:
    """The five processes of a keyless round trip and the trust files that describe them."""

    bindir: Path
    """Where scripts/install-sigstore-stack put the servers."""
    workdir: Path
    """Scratch directory for keys, logs and storage (removed by `stop`)."""
    issuer: Issuer = field(default_factory=Issuer)
    ports: dict[str, int] = field(default_factory=dict)
    processes: list[subprocess.Popen[bytes]] = field(default_factory=list)

    @property
    def trust_config(self) -> Path:
        """The client trust config (trusted root + signing config) for `--trust-config`."""
        return self.workdir / "trust" / "client_trust_config.json"

    @property
    def trusted_root(self) -> Path:
        """The trusted root alone, for verifiers (`--trusted-root`)."""
        return self.workdir / "trust" / "trusted_root.json"

    @property
    def tsa_url(self) -> str:
        """The RFC 3161 timestamp endpoint."""
        return f"http://{HOST}:{self.ports['tsa']}/api/v1/timestamp"

    @property
    def tsa_trusted_root(self) -> Path:
        """A trusted root naming only the timestamp authority (for key-based bundles, as cosign wants it)."""
        return self.workdir / "trust" / "tsa_trusted_root.json"

    def _spawn(self, name: str, *args: str) -> None:
        with (self.workdir / f"{name}.log").open("wb") as log:
            process = subprocess.Popen([str(self.bindir / name), *args], stdout=log, stderr=subprocess.STDOUT,
                                       stdin=subprocess.DEVNULL)
        self.processes.append(process)

    def _wait(self, url: str, deadline_s: float = 30.0) -> bytes:
        """GET `url` until it answers; a server that exits meanwhile fails at once with its log's last lines."""
        end = time.monotonic() + deadline_s
        last: Exception | None = None
        while time.monotonic() < end:
            for process in self.processes:
                if process.poll() is not None:
                    name = Path(str(process.args[0])).name  # type: ignore[index]
                    raise StackError(f"{name} exited with {process.returncode}: "
                                     f"{_log_tail(self.workdir / f'{name}.log')}")
            try:
                return _get(url)
            except OSError as exc:
                last = exc
                time.sleep(0.05)
        raise StackError(f"{url} did not answer within {deadline_s:g}s: {last}")

    def start(self) -> SigstoreStack:
        """Start every server, write the trust files and make one warm-up signature; stops all on failure."""
        missing = [name for name in BINARIES if not (self.bindir / name).is_file()]
        if missing:
            raise StackError(f"not built: {', '.join(missing)} (run scripts/install-sigstore-stack)")
        try:
            return self._start()
        except BaseException:
            self.stop()
            raise

    def _start(self) -> SigstoreStack:
        self.workdir.mkdir(parents=True, exist_ok=True)
        (self.workdir / "trust").mkdir(exist_ok=True)
        self.ports = {name: free_port() for name in ("tsa", "fulcio", "fulcio_grpc", "fulcio_metrics", "ct",
                                                     "rekor", "rekor_grpc", "rekor_metrics")}
        rekor_key = ed25519.Ed25519PrivateKey.generate()
        (self.workdir / "rekor.pem").write_bytes(rekor_key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
        ct_key = ec.generate_private_key(ec.SECP256R1())
        (self.workdir / "ct.pem").write_bytes(ct_key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL, serialization.NoEncryption()))
        (self.workdir / "fulcio.yaml").write_text(
            f"oidc-issuers:\n  {self.issuer.url}:\n    issuer-url: {self.issuer.url}\n    client-id: {CLIENT_ID}\n"
            "    type: email\n")
        self.issuer.start()
        p = self.ports
        self._spawn("timestamp-server", "serve", "--host", HOST, "--port", str(p["tsa"]), "--timestamp-signer", "memory",
                    "--disable-ntp-monitoring")
        self._spawn("rekor-server-posix", "serve", "--http-address", HOST, "--http-port", str(p["rekor"]),
                    "--grpc-address", HOST, "--grpc-port", str(p["rekor_grpc"]), "--http-metrics-port",
                    str(p["rekor_metrics"]), "--hostname", HOST, "--storage-dir", str(self.workdir / "rekor"),
                    "--signer-filepath", str(self.workdir / "rekor.pem"), "--checkpoint-interval", "1s")
        socket_path = self.workdir / "fulcio-legacy.sock"
        socket_path.unlink(missing_ok=True)
        self._spawn("fulcio", "serve", "--ca", "ephemeralca", "--config-path", str(self.workdir / "fulcio.yaml"),
                    "--host", HOST, "--port", str(p["fulcio"]), "--grpc-host", HOST, "--grpc-port", str(p["fulcio_grpc"]),
                    "--metrics-port", str(p["fulcio_metrics"]), "--ct-log-url", f"http://{HOST}:{p['ct']}",
                    "--legacy-unix-domain-socket", str(socket_path))
        self._wait(f"http://{HOST}:{p['fulcio']}/healthz")
        bundle = json.loads(self._wait(f"http://{HOST}:{p['fulcio']}/api/v2/trustBundle"))
        fulcio_pems = bundle["chains"][0]["certificates"]
        (self.workdir / "fulcio-chain.pem").write_text("".join(fulcio_pems))
        self._spawn("tesseract-posix", "--private_key", str(self.workdir / "ct.pem"), "--origin", HOST,
                    "--storage_dir", str(self.workdir / "ct"), "--roots_pem_file", str(self.workdir / "fulcio-chain.pem"),
                    "--ext_key_usages", "CodeSigning", "--http_endpoint", f"{HOST}:{p['ct']}")
        self._wait(f"http://{HOST}:{p['tsa']}/ping")
        tsa_chain = self._wait(f"http://{HOST}:{p['tsa']}/api/v1/timestamp/certchain")
        self._wait(f"http://{HOST}:{p['rekor']}/healthz")
        self._wait(f"http://{HOST}:{p['ct']}/ct/v1/get-roots")
        self._wait(f"{self.issuer.url}/.well-known/openid-configuration")
        self._write_trust(fulcio_pems, tsa_chain, rekor_key, ct_key)
        self._warm_up()
        return self

    def _warm_up(self) -> None:
        """One signature through every server before any test: Go clients mis-serialize a log's entry 0
        (protojson drops `logIndex: 0`), and a broken stack should fail here with a clear message."""
        from sigstore.dsse import StatementBuilder, Subject
        from sigstore.models import ClientTrustConfig
        from sigstore.oidc import IdentityToken
        from sigstore.sign import SigningContext

        config = ClientTrustConfig.from_json(self.trust_config.read_text(encoding="utf-8"))
        statement = (StatementBuilder().subjects([Subject(name="warm-up", digest={"sha256": "0" * 64})])
                     .predicate_type("https://readypolicy.dev/test/warm-up").predicate({}).build())
        with SigningContext.from_trust_config(config).signer(IdentityToken(self.issuer.token("warm-up@example.test"))) as signer:
            signer.sign_dsse(statement)

    def _write_trust(self, fulcio_pems: list[str], tsa_chain: bytes, rekor_key: ed25519.Ed25519PrivateKey,
                     ct_key: ec.EllipticCurvePrivateKey) -> None:
        p = self.ports
        fulcio_certs = [x509.load_pem_x509_certificate(pem.encode()) for pem in fulcio_pems]
        tsa_certs = x509.load_pem_x509_certificates(tsa_chain)
        start = (min(c.not_valid_before_utc for c in [*fulcio_certs, *tsa_certs]) - timedelta(minutes=1))
        valid = {"start": start.strftime("%Y-%m-%dT%H:%M:%SZ")}
        rekor_raw = rekor_key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
        rekor_spki = rekor_key.public_key().public_bytes(serialization.Encoding.DER,
                                                          serialization.PublicFormat.SubjectPublicKeyInfo)
        ct_spki = ct_key.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)

        def chain(certs: list[x509.Certificate]) -> dict[str, Any]:
            return {"certificates": [{"rawBytes": _b64(c.public_bytes(serialization.Encoding.DER))} for c in certs]}

        trusted_root = {
            "mediaType": "application/vnd.dev.sigstore.trustedroot+json;version=0.1",
            "tlogs": [{"baseUrl": f"http://{HOST}:{p['rekor']}", "hashAlgorithm": "SHA2_256",
                       "publicKey": {"rawBytes": _b64(rekor_spki), "keyDetails": "PKIX_ED25519", "validFor": valid},
                       "logId": {"keyId": _b64(hashlib.sha256(HOST.encode() + b"\n\x01" + rekor_raw).digest())}}],
            "certificateAuthorities": [{"subject": {"organization": "local", "commonName": "fulcio"},
                                        "uri": f"http://{HOST}:{p['fulcio']}", "certChain": chain(fulcio_certs),
                                        "validFor": valid}],
            "ctlogs": [{"baseUrl": f"http://{HOST}:{p['ct']}", "hashAlgorithm": "SHA2_256",
                        "publicKey": {"rawBytes": _b64(ct_spki), "keyDetails": "PKIX_ECDSA_P256_SHA_256", "validFor": valid},
                        "logId": {"keyId": _b64(hashlib.sha256(ct_spki).digest())}}],
            "timestampAuthorities": [{"subject": {"organization": "local", "commonName": "tsa"},
                                      "uri": f"http://{HOST}:{p['tsa']}", "certChain": chain(tsa_certs), "validFor": valid}],
        }

        def service(url: str, version: int) -> dict[str, Any]:
            return {"url": url, "majorApiVersion": version, "validFor": valid, "operator": "local"}

        signing_config = {
            "mediaType": "application/vnd.dev.sigstore.signingconfig.v0.2+json",
            "caUrls": [service(f"http://{HOST}:{p['fulcio']}", 1)],
            "oidcUrls": [service(self.issuer.url, 1)],
            "rekorTlogUrls": [service(f"http://{HOST}:{p['rekor']}", 2)],
            "rekorTlogConfig": {"selector": "ANY"},
            "tsaUrls": [service(self.tsa_url, 1)],
            "tsaConfig": {"selector": "ANY"},
        }
        trust = self.workdir / "trust"
        (trust / "trusted_root.json").write_text(json.dumps(trusted_root, indent=2))
        (trust / "signing_config.json").write_text(json.dumps(signing_config, indent=2))
        self.trust_config.write_text(json.dumps({
            "mediaType": "application/vnd.dev.sigstore.clienttrustconfig.v0.1+json",
            "trustedRoot": trusted_root, "signingConfig": signing_config,
        }, indent=2))
        tsa_only = {**trusted_root, "tlogs": [], "certificateAuthorities": [], "ctlogs": []}
        (trust / "tsa_trusted_root.json").write_text(json.dumps(tsa_only, indent=2))

    def stop(self) -> None:
        """Stop the servers this stack started (by their own handles) and remove the scratch directory."""
        for process in self.processes:
            process.terminate()
        for process in self.processes:
            try:
                process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                process.kill()
        self.processes.clear()
        self.issuer.stop()
        shutil.rmtree(self.workdir, ignore_errors=True)

