"""Alerts: evaluates organisations' rules and the analytics' events over the store, records them and
delivers them by signed webhook. Imports store and analytics; nothing imports alerts but the CLI."""
