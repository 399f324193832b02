"""Flask CLI commands (``scripts/gridmap <command>``). Long work shows a progress bar."""

from __future__ import annotations

import multiprocessing
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import click
from flask import Flask, current_app
from flask.cli import AppGroup, with_appcontext
from tqdm import tqdm

from gridmap import migrate
from gridmap.config import temporary_secret_key
from gridmap.errors import AppError
from gridmap.labels import label
from gridmap.messages import message

db_group = AppGroup("db", help=message("cli_db_help"))


def _session():
    return current_app.extensions["gridmap.db"].session()


@contextmanager
def progress_bar() -> Iterator:
    """A ``progress(stage, done, total)`` callback drawing one tqdm bar per stage."""
    bars: dict[str, tqdm] = {}

    def progress(stage: str, done: int, total: int) -> None:
        bar = bars.get(stage)
        if bar is None:
            for other in bars.values():
                other.close()
            bar = bars[stage] = tqdm(total=total, desc=label(stage, "import_stage"), unit=message("cli_progress_unit"),
                                     file=sys.stderr, leave=True)
        bar.total = total
        bar.n = done
        bar.refresh()

    try:
        yield progress
    finally:
        for bar in bars.values():
            bar.close()


def _fail(error: AppError) -> None:
    click.echo(message("cli_error", message=error.message), err=True)
    for row in error.details.get("errors", [])[:50]:
        where = message("cli_error_row", row=row["row"]) if "row" in row else message("cli_error_feature",
                                                                                       feature=row.get("feature"))
        click.echo(f"  {where} {row.get('field', '')}: {row['message']}", err=True)
    more = len(error.details.get("errors", [])) - 50
    if more > 0:
        click.echo(message("cli_error_more", count=more), err=True)
    raise SystemExit(2)


@db_group.command("upgrade")
@click.argument("revision", default="head")
def db_upgrade(revision: str) -> None:
    """Apply migrations up to REVISION (default head)."""
    migrate.upgrade(current_app.config["GRIDMAP"].database_url, revision)
    if revision == "head":  # the schema is the models': an index built after an import and lost to a crash
        from gridmap.households import address_index

        address_index.ensure(_session())
    click.echo(message("cli_db_upgraded"))


@click.command("create-user")
@with_appcontext
@click.argument("username")
@click.option("--role", required=True, type=click.Choice(["admin", "supervisor", "planner", "grid_worker", "party_member",
                                                         "department"]))
@click.option("--scope", "scope_code", default="", help=message("cli_scope_help"))
@click.option("--name", "display_name", default="")
@click.option("--department", "department_code", default="", help=message("cli_department_help"))
@click.option("--password-stdin", is_flag=True, help=message("cli_password_stdin_help"))
def create_user_command(username: str, role: str, scope_code: str, display_name: str, department_code: str,
                        password_stdin: bool) -> None:
    """Create or update a user (updating one ends its sessions and tokens)."""
    from gridmap.auth.service import create_user
    from gridmap.departments.routing import department_id

    try:
        department = department_id(_session(), department_code) if department_code else None
        create_user(_session(), username, _read_password(password_stdin), role, scope_code, display_name,
                    department_id=department)
    except AppError as error:
        _fail(error)
    click.echo(message("cli_user_saved", username=username, role=role,
                       scope=scope_code or message("cli_scope_everything")))


def _read_password(from_stdin: bool) -> str:
    """A new password from standard input's first line or a hidden prompt, long enough."""
    from gridmap.accounts.service import check_new_password

    password = sys.stdin.readline().rstrip("\n") if from_stdin else click.prompt(message("cli_password_prompt"), hide_input=True,
                                                                                     confirmation_prompt=True)
    try:
        check_new_password(password)
    except AppError as error:
        _fail(error)
    return password


@click.command("set-password")
@with_appcontext
@click.argument("username")
@click.option("--password-stdin", is_flag=True, help=message("cli_password_stdin_help"))
def set_password_command(username: str, password_stdin: bool) -> None:
    """Give a user a new password; their sessions and tokens end at once."""
    from gridmap.accounts.service import set_password

    try:
        set_password(_session(), username, _read_password(password_stdin))
    except AppError as error:
        _fail(error)
    click.echo(message("cli_password_reset", username=username))


@click.command("deactivate-user")
@with_appcontext
@click.argument("username")
def deactivate_user_command(username: str) -> None:
    """Stop a user from logging in; their sessions and tokens end at once."""
    from gridmap.accounts.service import deactivate_user

    try:
        deactivate_user(_session(), username)
    except AppError as error:
        _fail(error)
    click.echo(message("cli_user_deactivated", username=username))


@click.command("import-areas")
@with_appcontext
@click.argument("path", type=click.Path(exists=True, dir_okay=False))
@click.option("--level", required=True, type=click.Choice(["district", "street", "community", "grid"]))
@click.option("--crs", default=None, help=message("cli_crs_from_file_help"))
@click.option("--code-field", default=None)
@click.option("--name-field", default=None)
@click.option("--parent-field", default=None)
@click.option("--skip-errors", is_flag=True, help=message("cli_skip_errors_help"))
def import_areas_command(path, level, crs, code_field, name_field, parent_field, skip_errors) -> None:
    """Import admin units or grids from GeoJSON, GeoPackage, zipped Shapefile, KML, CSV or XLSX."""
    from gridmap.imports.areas import AreaImportOptions, import_areas

    options = AreaImportOptions(level=level, crs=crs, code_field=code_field, name_field=name_field,
                                parent_field=parent_field, skip_errors=skip_errors)
    try:
        with progress_bar() as progress:
            result = import_areas(_session(), path, path, options, progress=progress)
    except AppError as error:
        _fail(error)
    click.echo(message("cli_areas_imported", created=result["created"], updated=result["updated"],
                       errors=len(result["errors"])))


@click.command("import-households")
@with_appcontext
@click.argument("path", type=click.Path(exists=True, dir_okay=False))
@click.option("--crs", default=None, help=message("cli_crs_from_file_help"))
@click.option("--skip-errors", is_flag=True, help=message("cli_skip_errors_help"))
def import_households_command(path, crs, skip_errors) -> None:
    """Import households from CSV or XLSX (Chinese or English headers) and assign them to grids."""
    from gridmap.households import address_index
    from gridmap.imports.households import import_households

    try:
        with progress_bar() as progress:
            result = import_households(_session(), path, path, crs=crs, skip_errors=skip_errors, progress=progress)
            progress("address_index", 0, 1)  # the import has committed: a failed build is logged, not its failure
            address_index.ensure_quietly(_session())
            progress("address_index", 1, 1)
    except AppError as error:
        _fail(error)
    click.echo(message("cli_households_imported", imported=result["imported"], assigned=result["assigned"],
                       outside=result["outside_grids"], errors=len(result["errors"])))


@click.command("import-party-members")
@with_appcontext
@click.argument("path", type=click.Path(exists=True, dir_okay=False))
@click.option("--crs", default=None, help=message("cli_crs_help"))
@click.option("--skip-errors", is_flag=True, help=message("cli_skip_errors_help"))
def import_party_members_command(path, crs, skip_errors) -> None:
    """Import party members from CSV or XLSX (姓名, 电话, 支部, 经度/纬度 or 户号)."""
    from gridmap.imports.party import import_party_members

    try:
        with progress_bar() as progress:
            result = import_party_members(_session(), path, path, crs=crs, skip_errors=skip_errors,
                                          progress=progress)
    except AppError as error:
        _fail(error)
    click.echo(message("cli_party_members_imported", imported=result["imported"], created=result["created"],
                       updated=result["updated"], assigned=result["assigned"], outside=result["outside_grids"],
                       errors=len(result["errors"])))


@click.command("assign")
@with_appcontext
def assign_command() -> None:
    """Re-assign every household to the grid that covers it."""
    from gridmap.households.assignment import assign_all

    result = assign_all(_session())
    click.echo(message("cli_assigned", assigned=result.assigned, moved=result.moved,
                       newly=result.newly_assigned, unassigned=result.unassigned))


@click.command("demo-data")
@with_appcontext
@click.option("--reset", is_flag=True, help=message("cli_demo_reset_help"))
@click.option("--months", default=12, show_default=True, type=click.IntRange(0, 23), help=message("cli_demo_months_help"))
@click.option("--scale", default=1.0, show_default=True, type=click.FloatRange(0.01, 1.0),
              help=message("cli_demo_scale_help"))
def demo_data_command(reset: bool, months: int, scale: float) -> None:
    """Load the demo district with a year of its life and print demo logins."""
    from gridmap.demo.load import load_demo

    load_demo(_session(), reset=reset, echo=click.echo, months=months, scale=scale)


@click.command("patrol-partitions")
@with_appcontext
@click.option("--months-ahead", default=None, type=int, help=message("cli_months_ahead_help"))
def patrol_partitions_command(months_ahead: int | None) -> None:
    """Create the check-in partitions of this month and the next months (run daily from cron)."""
    from gridmap.patrol.partitions import ensure_partitions

    ahead = current_app.config["GRIDMAP"].patrol.months_ahead if months_ahead is None else months_ahead
    created = ensure_partitions(_session(), ahead)
    click.echo(message("cli_partitions_created" if created else "cli_partitions_none_created",
                       count=len(created), names="、".join(created)))


@click.command("patrol-retention")
@with_appcontext
@click.option("--keep-months", default=None, type=int, help=message("cli_keep_months_help"))
def patrol_retention_command(keep_months: int | None) -> None:
    """Drop check-in months older than the retention period."""
    from gridmap.patrol.partitions import drop_old_partitions

    keep = current_app.config["GRIDMAP"].patrol.retention_months if keep_months is None else keep_months
    if keep < 1:
        raise click.BadParameter(message("cli_keep_months_too_few"))
    dropped = drop_old_partitions(_session(), keep)
    click.echo(message("cli_partitions_dropped" if dropped else "cli_partitions_none_dropped",
                       count=len(dropped), names="、".join(dropped)))


@click.command("auth-retention")
@with_appcontext
@click.option("--keep-months", default=None, type=int,
              help=message("cli_audit_keep_months_help"))
def auth_retention_command(keep_months: int | None) -> None:
    """Delete audit log rows past their period, expired or revoked API tokens and old failed logins."""
    from gridmap.auth.retention import AUDIT_KEEP_MONTHS_MIN, prune

    keep = current_app.config["GRIDMAP"].audit_keep_months if keep_months is None else keep_months
    if keep < AUDIT_KEEP_MONTHS_MIN:
        raise click.BadParameter(message("cli_audit_keep_months_too_few", months=AUDIT_KEEP_MONTHS_MIN))
    removed = prune(_session(), keep)
    click.echo(message("cli_auth_pruned", audit=removed["audit"], months=keep, tokens=removed["tokens"],
                       login_failures=removed["login_failures"]))


@click.command("serve")
@with_appcontext
@click.option("--host", default="127.0.0.1")
@click.option("--port", default=5000, type=int)
# One process per core, 4 threads each: on 2 cores shared with PostgreSQL (and the bench's
# load generator) 2 x 4 held 400-500 check-ins/s at p99 <= 12 ms where 5 x 4 missed 300/s
# (scripts/bench/checkins --workers/--threads, same minutes, load average 3-5).
@click.option("--workers", default=multiprocessing.cpu_count(), type=int)
@click.option("--threads", default=4, type=int, help="threads per worker (gthread)")
def serve_command(host: str, port: int, workers: int, threads: int) -> None:
    """Serve with gunicorn (the production server, gridmap.serving)."""
    from gridmap.serving import serve

    click.echo(message("cli_serving", host=host, port=port))
    if temporary_secret_key():
        click.echo(message("cli_secret_key_temporary"), err=True)
    serve(current_app._get_current_object(), host, port, workers, threads)


@click.command("backup")
@click.argument("path", type=click.Path(dir_okay=False, path_type=Path))
@with_appcontext
def backup_command(path: Path) -> None:
    """Write a pg_dump backup (custom format) of the database to PATH (mode 0600; an existing
    file is replaced whole, never left half-written)."""
    from gridmap.backup import BackupError, backup

    try:
        backup(current_app.config["GRIDMAP"].database_url, path)
    except BackupError as error:
        raise click.ClickException(str(error)) from None
    click.echo(message("cli_backup_written", path=path, size=f"{path.stat().st_size:,}"))


@click.command("restore")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--yes", is_flag=True, help=message("cli_restore_yes_help"))
@with_appcontext
def restore_command(path: Path, yes: bool) -> None:
    """Replace the database by a backup made by `backup`. The backup is restored into a new
    database first; a failed restore leaves the current database serving as it was."""
    from gridmap.backup import BackupError, restore

    if not yes:
        click.confirm(message("cli_restore_confirm"), abort=True)
    try:
        restored = restore(current_app.config["GRIDMAP"].database_url, path)
    except BackupError as error:
        raise click.ClickException(message("cli_restore_failed", reason=error)) from None
    click.echo(message("cli_restored", database=restored.database))
    if restored.previous:
        click.echo(message("cli_restore_previous_kept", sessions=restored.ended_sessions, previous=restored.previous))


@click.command("access-table")
@with_appcontext
def access_table_command() -> None:
    """Print the role × endpoint table (README's "Access" section)."""
    from gridmap.site import access_table

    click.echo(access_table())


def register_cli(app: Flask) -> None:
    from gridmap.departments.cli import duty_sweep_command
    from gridmap.hazard_stats.cli import heatmap_refresh_command
    from gridmap.hazards.cli import hazard_retention_command, load_holidays_command
    from gridmap.sharding.cli import shard_sim_command
    from gridmap.tiles.cli import tile_cache_prune_command

    for command in (db_group, create_user_command, set_password_command, deactivate_user_command,
                    import_areas_command, import_households_command, import_party_members_command, assign_command, demo_data_command, serve_command,
                    backup_command, restore_command, load_holidays_command, hazard_retention_command,
                    heatmap_refresh_command, patrol_partitions_command, patrol_retention_command,
                    auth_retention_command, access_table_command, shard_sim_command, duty_sweep_command,
                    tile_cache_prune_command):
        app.cli.add_command(command)
