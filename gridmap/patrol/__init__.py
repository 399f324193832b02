"""Patrol: grid workers' check-ins (offline-first, idempotent), tracks and visit coverage."""
