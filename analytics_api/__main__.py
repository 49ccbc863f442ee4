"""``python -m analytics_api``: serve the analytics API with settings from the environment."""

from analytics_api.main import main

main()
