"""Celery entry point: ``celery -A workers worker`` and ``celery -A workers beat``."""

from workers.app import app

celery = app

__all__ = ["app", "celery"]
