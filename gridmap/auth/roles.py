"""Roles and what each may do with personal data."""

ADMIN = "admin"
SUPERVISOR = "supervisor"
PLANNER = "planner"
GRID_WORKER = "grid_worker"
PARTY_MEMBER = "party_member"

ALL_ROLES = (ADMIN, SUPERVISOR, PLANNER, GRID_WORKER, PARTY_MEMBER)
STAFF = (ADMIN, SUPERVISOR, PLANNER, GRID_WORKER)

