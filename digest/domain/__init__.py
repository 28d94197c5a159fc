"""Pure decisions: no SQLAlchemy, Celery, smtplib or Jinja imports here."""
