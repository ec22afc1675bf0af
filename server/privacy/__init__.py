"""Data rights: consents, enforcement, the member's copy, erasure, the record of processing,
retention and the access log (docs/privacy.md)."""
