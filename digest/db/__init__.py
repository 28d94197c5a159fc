"""Database access: engine, models, migrations and the queries services share."""
