"""Bounces and complaints: taken in (SMTP/LMTP receiver, mailbox poll, file import),
parsed by :mod:`digest.bounces`, matched to the delivery and reader they are about,
stored once per report and recipient, and acted on by the bounce policy.

Writes: ``bounce_events``, ``subscribers`` (status after a hard bounce, repeated soft
bounces or a complaint), ``suppressions``.
"""
