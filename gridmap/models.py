"""Imports every model so the metadata is complete (Alembic and tests use this)."""

from gridmap.areas.models import AdminUnit, Grid, GridVersion
from gridmap.auth.models import ApiToken, AuditLog, LoginFailure, User
from gridmap.departments.models import Department, DepartmentRoute, HazardAssignment  # noqa: F401
from gridmap.handover.models import GridHandover  # noqa: F401
from gridmap.hazards.models import (  # noqa: F401
    Hazard,
    HazardCategory,
    HazardDailyCell,
    HazardDeadlineRule,
    HazardEvent,
    HazardHeatLevel,
    HazardHeatRollup,
    HazardPhoto,
    HazardRevisit,
    OfficialHoliday,
)
from gridmap.households.models import Household
from gridmap.party.models import PartyContact, PartyMember, PartyVisit  # noqa: F401
from gridmap.patrol.models import Checkin, CheckinKey  # noqa: F401
from gridmap.patrol_plan.models import PatrolPlan  # noqa: F401
from gridmap.places.models import KeyPlace  # noqa: F401
from gridmap.public.models import PublicChallengeUsed, PublicHit, PublicReport  # noqa: F401
from gridmap.tiles.models import TileCache, TileChange, TileGridHouseholds  # noqa: F401

__all__ = [
    "AdminUnit",
    "ApiToken",
    "AuditLog",
    "Grid",
    "GridVersion",
    "Household",
    "LoginFailure",
    "PartyContact",
    "PartyMember",
    "User",
]
