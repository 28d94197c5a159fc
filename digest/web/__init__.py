"""The HTTP app: public pages, admin pages and the JSON API."""
