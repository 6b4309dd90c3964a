-- The Rasa tracker store's database, beside the service's (docs/production.md, "One-time setup").
CREATE DATABASE rasa OWNER carloan;
