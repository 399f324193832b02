"""Roles and what each may do with personal data."""

ADMIN = "admin"
SUPERVISOR = "supervisor"
PLANNER = "planner"
GRID_WORKER = "grid_worker"
PARTY_MEMBER = "party_member"

ALL_ROLES = (ADMIN, SUPERVISOR, PLANNER, GRID_WORKER, PARTY_MEMBER)
STAFF = (ADMIN, SUPERVISOR, PLANNER, GRID_WORKER)

ROLE_NAMES = {
    ADMIN: "系统管理员",
    SUPERVISOR: "督导（社区/街道/区）",
    PLANNER: "网格规划员",
    GRID_WORKER: "网格员",
    PARTY_MEMBER: "党员",
}
