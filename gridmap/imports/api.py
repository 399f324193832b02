"""File imports over HTTP (multipart) and the admin's re-assignment."""

from __future__ import annotations

import os
import tempfile

from flask import Blueprint, after_this_request, request
from pydantic import BaseModel

from gridmap.apidoc import operation
from gridmap.auth.roles import ADMIN
from gridmap.auth.scope import AREA, GLOBAL
from gridmap.errors import BadRequest, Unprocessable
from gridmap.geo.io import FORMATS
from gridmap.households import address_index
from gridmap.imports.areas import AreaImportOptions, import_areas
from gridmap.imports.households import import_households
from gridmap.messages import message
from gridmap.schemas import CRS_PATTERN
from gridmap.web import database, get_session, import_body_limit

bp = Blueprint("imports_api", __name__)

# Multipart fields: "file", free text, or the JSON schema of a choice (the OpenAPI document).
CRS_CHOICE = {"type": "string", "pattern": CRS_PATTERN}
ON_ERROR = {"type": "string", "enum": ["reject", "skip"]}
AREA_FORM = {"file": "file", "level": {"type": "string", "enum": ["district", "street", "community", "grid"], "x-required": True},
             "crs": CRS_CHOICE, "code_field": "text", "name_field": "text", "parent_field": "text", "on_error": ON_ERROR}
HOUSEHOLD_FORM = {"file": "file", "crs": CRS_CHOICE, "on_error": ON_ERROR}
# A file's content (its kind, its columns, rows, geometry) is checked after upload: no schema
# states it, so these refusals come with a valid request's form, the upload guards' among them
# (gridmap.geo.file_errors: an empty or unreadable file, one whose bytes are not what its name
# says, an archive over its bounds, a DTD, path or URL where data belongs).
FILE_ERRORS = ("unsupported_file", "unreadable_file", "empty_file", "archive_refused", "unsafe_file_content",
               "missing_field", "unknown_field", "invalid_crs", "unprocessable")


class ImportResponse(BaseModel):
    created: int
    updated: int
    errors: list[dict[str, object]]


class HouseholdImportResponse(BaseModel):
    imported: int
    assigned: int
    outside_grids: int
    errors: list[dict[str, object]]


def _skip_errors() -> bool:
    value = request.form.get("on_error", "") or request.args.get("on_error", "")
    if value not in ("", "reject", "skip"):
        raise BadRequest("bad_request", reason=message("on_error_choice"))
    return value == "skip"


class _SavedUpload:
    """The uploaded file on disk (readers need a path), removed afterwards. The user's file name
    only picks the format (a supported extension, else a 422 before anything is written) and
    appears in messages: the file is stored under a name of mkstemp's with that extension."""

    def __enter__(self) -> tuple[str, str]:
        upload = request.files.get("file")
        if upload is None or not upload.filename:
            raise BadRequest("file_required")
        self.filename = os.path.basename(upload.filename.replace("\\", "/"))
        extension = os.path.splitext(self.filename)[1].lower()
        if extension not in FORMATS:
            raise Unprocessable("unsupported_file", details={"filename": self.filename}, filename=self.filename)
        fd, self.path = tempfile.mkstemp(prefix="gridmap-upload-", suffix=extension)
        with os.fdopen(fd, "wb") as out:
            upload.save(out)
        return self.path, self.filename

    def __exit__(self, *exc: object) -> None:
        os.unlink(self.path)


@operation(bp, "/imports/areas", "POST", summary="导入区划或网格（GeoJSON/GPKG/SHP/KML/CSV/XLSX）",
           tag="imports", scope=AREA, roles=(ADMIN, "planner"), form=AREA_FORM, response=ImportResponse,
           errors=(413, 422), max_body=import_body_limit, data_errors=FILE_ERRORS)
def import_area_file(scope):
    options = AreaImportOptions(
        level=request.form.get("level", ""), crs=request.form.get("crs") or None,
        code_field=request.form.get("code_field") or None, name_field=request.form.get("name_field") or None,
        parent_field=request.form.get("parent_field") or None, skip_errors=_skip_errors(),
    )
    with _SavedUpload() as (path, filename):
        return import_areas(get_session(), path, filename, options, scope=scope)


@operation(bp, "/imports/households", "POST", summary="导入住户（CSV/XLSX，中文或英文表头）", tag="imports",
           scope=GLOBAL, roles=(ADMIN,), form=HOUSEHOLD_FORM, response=HouseholdImportResponse, errors=(409, 413, 422),
           max_body=import_body_limit, data_errors=(*FILE_ERRORS, "import_codes_concurrent"))
def import_household_file(scope):
    skip = _skip_errors()
    with _SavedUpload() as (path, filename):
        result = import_households(get_session(), path, filename, crs=request.form.get("crs") or None,
                                   skip_errors=skip)
    _build_address_index_after_the_answer()
    return result


def _build_address_index_after_the_answer() -> None:
    """A first large load leaves the address index to be built after its commit: once the
    answer has been sent, on this worker thread (gridmap.households.address_index)."""
    db = database()

    def on_close(response):
        response.call_on_close(lambda: address_index.ensure_quietly(db.session()))
        return response

    after_this_request(on_close)


@operation(bp, "/imports/party-members", "POST", summary="导入党员（CSV/XLSX：姓名、电话、支部、经纬度或户号）",
           tag="imports", scope=GLOBAL, roles=(ADMIN,), form=HOUSEHOLD_FORM, response=HouseholdImportResponse,
           errors=(413, 422), max_body=import_body_limit, data_errors=FILE_ERRORS)
def import_party_member_file(scope):
    from gridmap.imports.party import import_party_members

    skip = _skip_errors()
    with _SavedUpload() as (path, filename):
        return import_party_members(get_session(), path, filename, crs=request.form.get("crs") or None,
                                    skip_errors=skip)


class KeyPlaceImportResponse(BaseModel):
    imported: int
    created: int
    updated: int
    errors: list[dict[str, object]]


@operation(bp, "/imports/key-places", "POST",
           summary="导入重点场所（CSV/XLSX：名称、类型、经度、纬度、地址；或点图层 GeoJSON 等）", tag="imports",
           scope=AREA, roles=(ADMIN, "supervisor", "grid_worker"), form=HOUSEHOLD_FORM, response=KeyPlaceImportResponse,
           errors=(413, 422), max_body=import_body_limit, data_errors=FILE_ERRORS)
def import_key_place_file(scope):
    from gridmap.imports.places import import_key_places

    skip = _skip_errors()
    with _SavedUpload() as (path, filename):
        return import_key_places(get_session(), path, filename, scope=scope, crs=request.form.get("crs") or None,
                                 skip_errors=skip)
