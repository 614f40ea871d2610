"""Governed waivers: owned, approved, time-boxed exceptions with a signed approval.

`model` says what a waiver is and which state it is in, `approval` signs and verifies the
approver's DSSE statement over the canonical waiver, `book` edits the waiver file (request,
approve, revoke, list), `revocations` records each revocation in the store's audit chain and reads
them back (the file's `state` is not signed), and `gate` picks the waivers `eval` may honour and
names the rest.
"""
