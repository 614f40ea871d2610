"""Decision inputs and records: what the policy sees and what is kept of its answer."""
