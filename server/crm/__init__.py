"""Customer relationships: member care, complaints and follow-up tasks (pure rules here; the
database work is in ``server.queries.complaints`` and ``server.queries.followups``)."""
