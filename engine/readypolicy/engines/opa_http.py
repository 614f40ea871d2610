"""The one HTTP client for a running OPA server (`opa run --server`), built on opa-python-client.

Both users of a server go through it: the server engine (`engines/opa_server.py`) evaluates
batches with an ad-hoc query, and drift detection (`drift/server.py`) reads the loaded bundles,
modules and data. Every failure — connection, timeout, HTTP status, a body that is not JSON, an
error the client raises — becomes one EngineError naming the server, so a caller fails closed.

Where opa-python-client cannot serve, this module says so at the spot:
- it addresses the API as `scheme://host:port/v1`, so a server behind a path prefix
  (`https://proxy/opa/`) cannot be reached; such a URL is refused rather than silently sent to
  another endpoint of the same host;
- `get_policy` puts the module id into the URL as given, and ids of bundles loaded from absolute
  paths start with `/`, which the server folds away (`/v1/policies//tmp/b.tar.gz/x.rego` is not
  found); the id is percent-encoded first, which OPA decodes.

opa-python-client imports aiohttp and requests (about 0.3 s), so it is imported when a client is
made, never when this module is: commands that do not talk to a server do not pay for it.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, TypeVar
from urllib.parse import quote, urlsplit

from readypolicy.engines.interface import EngineError

if TYPE_CHECKING:
    from opa_client.opa import OpaClient

T = TypeVar("T")
RETRIES = 2
"""Retries of a request that could not connect or got 500/502/504 (the client's urllib3 policy, which
retries no POST, so a query, on a status)."""


def data_ref(path: str) -> str:
    """The Rego reference of a slash-separated data path: `a/b-c` → `data["a"]["b-c"]` (any segment spelling)."""
    return "data" + "".join(f"[{json.dumps(segment)}]" for segment in path.split("/") if segment)


class OpaHttp:
    """A running OPA server's REST API, read and queried through opa-python-client."""

    def __init__(self, url: str, timeout_s: float) -> None:
        parts = urlsplit(url)
        try:
            port = parts.port
        except ValueError as exc:
            raise EngineError(f"OPA server URL {url!r} has an invalid port") from exc
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise EngineError(f"OPA server URL must be http(s)://host:port, not {url!r}")
        if parts.path.strip("/") or parts.query or parts.fragment or parts.username or parts.password:
            raise EngineError(
                f"OPA server URL must be http(s)://host:port with nothing after it, not {url!r}: "
                "opa-python-client always calls <host:port>/v1/..., so a path prefix would reach another endpoint"
            )
        self.url = f"{parts.scheme}://{parts.netloc}"
        """The server as messages name it."""
        from opa_client.opa import OpaClient  # heavy (aiohttp, requests): imported only when a server is used

        host = f"[{parts.hostname}]" if ":" in parts.hostname else parts.hostname  # the client joins host and port as-is
        secure = parts.scheme == "https"
        self._client: OpaClient = OpaClient(
            host=host, port=port or (443 if secure else 80), ssl=secure, timeout=timeout_s, retries=RETRIES,
        )

    def query(self, query: str, input_doc: Any = None) -> list[dict[str, Any]]:
        """The bindings of an ad-hoc query (`POST /v1/query`): one dict per solution, none when undefined."""
        with self._errors("/v1/query"):
            doc = self._client.ad_hoc_query(query, input_data=input_doc)
        rows = doc.get("result", []) if isinstance(doc, dict) else None
        if not isinstance(rows, list) or not all(isinstance(row, dict) for row in rows):
            raise EngineError(f"OPA server {self.url}/v1/query returned no result list")
        return rows

    def value(self, ref: str, default: T) -> Any | T:
        """The value of a Rego reference such as `data.system.bundles`, or `default` when it is undefined."""
        rows = self.query(f"value := {ref}")
        if not rows:
            return default
        if len(rows) != 1 or "value" not in rows[0]:
            raise EngineError(f"OPA server {self.url} returned {len(rows)} values for {ref}")
        return rows[0]["value"]

    def modules(self) -> list[dict[str, Any]]:
        """Every loaded module as `GET /v1/policies/<id>` gives it: `id`, `raw` text and `ast`."""
        with self._errors("/v1/policies"):
            ids = self._client.get_policies_list()
        out: list[dict[str, Any]] = []
        for module_id in ids:
            with self._errors(f"/v1/policies/{module_id}"):
                # Percent-encoded: an id starting with `/` (a bundle loaded from an absolute path) is not found otherwise.
                doc = self._client.get_policy(quote(str(module_id), safe=""))
            module = doc.get("result") if isinstance(doc, dict) else None
            if not isinstance(module, dict) or module.get("id") != module_id:
                raise EngineError(f"OPA server {self.url} returned no module {module_id!r}")
            out.append(module)
        return out

    @contextmanager
    def _errors(self, path: str) -> Iterator[None]:
        """Every way a request can fail, as one EngineError line naming the server and the path."""
        from opa_client.errors import PolicyNotFoundError  # loaded with the client already, see the module docstring
        from requests import HTTPError, JSONDecodeError, RequestException

        try:
            yield
        except HTTPError as exc:
            status = exc.response.status_code if exc.response is not None else "?"
            detail = " ".join((exc.response.text if exc.response is not None else "")[:300].split())
            raise EngineError(f"OPA server {self.url}{path} answered HTTP {status}: {detail}") from exc
        except JSONDecodeError as exc:  # before RequestException, which it also is
            raise EngineError(f"OPA server {self.url}{path} answered with something that is not JSON: {exc}") from exc
        except RequestException as exc:
            raise EngineError(f"OPA server {self.url} unreachable: {type(exc).__name__}: {str(exc)[:300]}") from exc
        except PolicyNotFoundError as exc:  # get_policy's answer to any status but 200
            raise EngineError(f"OPA server {self.url}{path}: {exc.expression}: {exc.message}") from exc
        except (AttributeError, KeyError, TypeError) as exc:  # the client reads fields of a body of another shape
            raise EngineError(f"OPA server {self.url}{path} answered with a document of an unexpected shape: {exc}") from exc
