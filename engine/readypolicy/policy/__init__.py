"""Policy packs: loading, digesting, staging and bundling the Rego that decides."""
