"""Rego engines: the OPA binary as a subprocess, or an OPA server over REST."""
