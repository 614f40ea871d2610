"""What both verifiers share about Sigstore failures: which exceptions mean "did not verify" and one line for each.

sigstore-python, pydantic, requests and rfc3161-client each raise their own types with multi-line
messages; a verifier turns all of them into one `SigningError` line, so the CLI's exit-2 contract holds.
"""

from __future__ import annotations

from pydantic import ValidationError
from requests.exceptions import RequestException
from sigstore._internal.fulcio.client import FulcioClientError
from sigstore._internal.rekor import RekorClientError
from sigstore._internal.timestamp import TimestampError
from sigstore.errors import Error as SigstoreError

SIGSTORE_FAILURES = (SigstoreError, RequestException, OSError, ValueError)
"""Exceptions sigstore-python raises for bad input, bad trust material or unreachable services."""
SERVICE_FAILURES = (*SIGSTORE_FAILURES, FulcioClientError, RekorClientError, TimestampError)
"""What signing can also raise: a Fulcio, Rekor or TSA refusal (e.g. a token from an untrusted issuer).
These classes live in sigstore's private modules and derive from bare Exception, so without naming
them a refused certificate would surface as an "unexpected" crash instead of the refusal it is."""


def describe(exc: Exception) -> str:
    """One line for a sigstore/pydantic/network failure (pydantic reports span many lines)."""
    if isinstance(exc, ValidationError):
        first = exc.errors()[0]
        return f"{'.'.join(str(part) for part in first['loc'])}: {first['msg']}"
    return " ".join(str(exc).split())
