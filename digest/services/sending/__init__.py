"""The slot pipeline: plan → build → compose → deliver → record, within the sending
limits (throttling, the circuit breaker, the pause switch).

Owns the digests from the moment they are due until the relay's last reply: planning
creates them, building chooses their articles, delivering sends and records every
attempt. Entry points call :mod:`digest.services.sending.pipeline`.

Writes: ``digests``, ``digest_articles``, ``sent_articles``, ``deliveries``,
``delivery_attempts``, ``controls`` (pause and breaker state), ``subscribers``
(``next_slot_at`` and the last window ends), ``metric_values``.
"""
