"""The one error family readypolicy raises on purpose.

Every expected failure (bad input, engine failure, store failure, bad signature) is a subclass of
`ReadyPolicyError`, so the CLI can turn it into a one-line message and exit code 2 without ever
mistaking a crash for a verdict. Each extension point defines its own subclass in its interface.
"""


class ReadyPolicyError(Exception):
    """Base class: a failure readypolicy understood and can explain in one line."""


class ConfigError(ReadyPolicyError):
    """The configuration file, an environment variable or a flag is invalid."""
