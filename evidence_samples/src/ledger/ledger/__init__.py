"""Double-entry ledger: the sample module that is not ready for integration yet."""
