"""readypolicy: decide, with evidence and versioned Rego policies, whether a module may enter a lane."""

__version__ = "0.1.0"
