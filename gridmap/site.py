"""The browser's side of the app: mount every page blueprint, and write README's access table
(every API operation and every page, by role and scope rule). Only the composition root (and
tests) import this module: it imports every feature's pages."""

from __future__ import annotations

from flask import Blueprint, Flask

from gridmap.apidoc import OPERATIONS, PUBLIC, openapi_path
from gridmap.auth.roles import ALL_ROLES
from gridmap.auth.scope import RULES
from gridmap.pages import PAGES


def page_blueprints() -> tuple[Blueprint, ...]:
    """Every page blueprint; importing them registers their pages (gridmap.pages)."""
    from gridmap.accounts.pages import bp as accounts_pages
    from gridmap.departments.pages import bp as department_pages
    from gridmap.grid_sheet.pages import bp as grid_sheet_pages
    from gridmap.handover.pages import bp as handover_pages
    from gridmap.hazard_stats.pages import bp as hazard_stats_pages
    from gridmap.hazards.pages import bp as hazard_pages
    from gridmap.households.pages import bp as household_pages
    from gridmap.inbox.pages import bp as inbox_pages
    from gridmap.overview.pages import bp as overview_pages
    from gridmap.party.pages import bp as party_pages
    from gridmap.patrol.pages import bp as patrol_pages
    from gridmap.patrol_plan.pages import bp as patrol_plan_pages
    from gridmap.planning.pages import bp as planning_pages
    from gridmap.public.pages import bp as public_pages

    return (accounts_pages, overview_pages, hazard_pages, hazard_stats_pages, patrol_pages, grid_sheet_pages,
            planning_pages, party_pages, patrol_plan_pages, public_pages, household_pages, inbox_pages,
            handover_pages, department_pages)


def register_pages(app: Flask) -> None:
    for bp in page_blueprints():
        app.register_blueprint(bp)


def _role_table(first: str, rows: list[tuple[str, tuple[str, ...], str]]) -> list[str]:
    header = f"| {first} | " + " | ".join(ALL_ROLES) + " | scope |"
    rule = "| --- |" + " :---: |" * len(ALL_ROLES) + " --- |"
    lines = [header, rule]
    for name, roles, scope in rows:
        marks = ["✓" if roles == PUBLIC or role in roles else "—" for role in ALL_ROLES]
        lines.append(f"| `{name}` | " + " | ".join(marks) + f" | {scope} |")
    return lines


def access_table() -> str:
    """Role × endpoint × scope as Markdown tables, operations then pages, and the scope rules'
    legend (README's access section is this, checked by a test)."""
    operations = [(f"{op.method} {openapi_path(op.path)[0]}", op.roles, op.scope)
                  for op in sorted(OPERATIONS, key=lambda o: (o.path, o.method))]
    pages = [(f"{' '.join(p.methods)} {openapi_path(p.path)[0]}", p.roles, p.scope)
             for p in sorted(PAGES, key=lambda p: (p.path, p.methods))]
    used = sorted({op.scope for op in OPERATIONS} | {p.scope for p in PAGES}, key=list(RULES).index)
    legend = [f"- `{name}`: {RULES[name]}" for name in used]
    return "\n".join([*_role_table("endpoint", operations), "", *_role_table("page", pages),
                      "", "Scope rules:", "", *legend])
