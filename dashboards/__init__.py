"""Grafana dashboards as code: ``dashboards.build`` makes the dashboard models (and the committed
files in ``dashboards/json/``), ``dashboards.push`` uploads them; ``dashboards/provisioning/`` is
what the Grafana of docker-compose.yml loads at start."""
