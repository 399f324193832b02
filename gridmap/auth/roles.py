"""Roles and what each may do with personal data."""

ADMIN = "admin"
SUPERVISOR = "supervisor"
PLANNER = "planner"
GRID_WORKER = "grid_worker"
PARTY_MEMBER = "party_member"
# A functional department's user (城管, 交警, 消防…): an area scope (district or street) and the
# hazard categories its department owns; reads and acts only on the items sent to it (吹哨报到).
DEPARTMENT = "department"

ALL_ROLES = (ADMIN, SUPERVISOR, PLANNER, GRID_WORKER, PARTY_MEMBER, DEPARTMENT)
# The grid's own people: every role but the departments, who reach only the items sent to them.
GRID_ROLES = (ADMIN, SUPERVISOR, PLANNER, GRID_WORKER, PARTY_MEMBER)
STAFF = (ADMIN, SUPERVISOR, PLANNER, GRID_WORKER)
