"""The readers' side: subscribing with double opt-in, the preferences page (choices,
pause, data download, erasure), one-click unsubscribing, the suppression list that
no email passes, and the topics readers follow.

These modules are the lowest layer of the use cases: sending reads what readers chose
(their cadence, whether they are suppressed), and the console and bounces change
readers through them.

Writes: ``subscribers``, ``subscriptions``, ``consents``, ``suppressions``,
``topics``, ``rate_events`` (sign-up limits); on erasure also the reader's
``digests``, ``digest_articles``, ``sent_articles``, ``deliveries``,
``delivery_attempts``, ``bounce_events`` and import reports naming them.
"""
