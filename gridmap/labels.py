"""The catalogue of display names: the Chinese a person sees for a code the product stores.

Services return codes (``status: "accepted"``); templates show ``code | label("hazard_status")``
and exports call ``label(kind, code)``. Messages that explain a refusal live in
gridmap.messages; names of things live here, one wording each. It imports nothing of the
product, so any layer may use it.
"""

from __future__ import annotations

from collections.abc import Mapping

LABELS: dict[str, dict[str, str]] = {
    # Accounts' roles.
    "role": {
        "admin": "系统管理员",
        "supervisor": "督导（社区/街道/区）",
        "planner": "网格规划员",
        "grid_worker": "网格员",
        "party_member": "党员",
    },
    # Administrative levels, and the levels a hazard is handled at (escalation climbs them).
    "level": {"city": "市", "district": "区县", "street": "街道", "community": "社区", "grid": "网格"},
    # A hazard's closed loop.
    "hazard_status": {
        "reported": "待受理", "accepted": "已受理", "assigned": "已指派", "in_progress": "处置中",
        "feedback": "已反馈", "verified": "已核查", "closed": "已办结", "rejected": "不予受理",
    },
    "hazard_action": {
        "report": "上报", "accept": "受理", "assign": "指派", "start": "开始处置", "feedback": "反馈结果",
        "verify": "核查通过", "reject": "退回", "close": "办结", "escalate": "上报上级（吹哨）",
    },
    "hazard_severity": {"normal": "一般", "complex": "复杂", "urgent": "紧急"},
    # 平安报表's traffic lights.
    "colour": {"red": "红", "yellow": "黄", "green": "绿"},
    # Why a check-in was flagged.
    "checkin_flag": {
        "outside_grid": "不在本网格",
        "low_accuracy": "定位精度差",
        "impossible_speed": "移动速度异常",
        "future_time": "时间超前",
        "stale": "补传过晚",
    },
    # A grid's staff ("3+N": leader, worker, police, department staff), in handbook order.
    "staff_role": {
        "grid_leader": "网格长",
        "grid_worker": "专职网格员",
        "police": "网格民警",
        "department": "部门联络员",
        "other": "兼职网格员",
    },
    # Upload formats, as a person calls them.
    "file_format": {"geojson": "GeoJSON", "gpkg": "GeoPackage", "shapefile_zip": "Shapefile 压缩包", "kml": "KML",
                    "csv": "CSV", "xlsx": "Excel"},
    # --- households, imports, key places ---
    # A household's family risk level.
    "risk_level": {"high": "高", "medium": "中", "low": "低"},
    # Input fields as a person calls them: row errors of imports and refusals of forms.
    "field": {
        "household_code": "户号", "address": "地址", "lon": "经度", "lat": "纬度", "point": "经度/纬度",
        "point_or_household": "经度/纬度 或 户号", "head_name": "户主", "phone": "电话", "size": "人数",
        "tags": "标签", "risk_level": "风险等级", "member_name": "姓名", "place_name": "名称",
        "place_kind": "类型", "area_code": "编码", "area_name": "名称",
    },
    # The stages of a long import (the CLI draws a progress bar per stage).
    "import_stage": {
        "validate": "校验", "match_existing": "比对已有住户", "assign_and_write": "分配网格并写入",
        "update_existing": "更新已有住户", "rebuild_indexes": "重建索引", "write": "写入数据库",
    },
    # What an area code of each level looks like (import row errors).
    "code_rule": {
        "district": "6 位数字",
        "street": "9 位数字（区县 6 位 + 街道 3 位）",
        "community": "12 位数字（街道 9 位 + 社区 3 位）",
        "grid": "15 位数字（社区 12 位 + 网格 3 位）",
    },
    # Key places of a grid (重点场所), in legend order.
    "place_kind": {
        "party_centre": "党群服务中心",
        "rental_cluster": "出租房集中点",
        "school": "学校",
        "kindergarten": "幼儿园",
        "medical": "医疗机构",
        "elderly_care": "养老机构",
        "market": "农贸市场",
        "gas_station": "加油站",
        "hydrant": "消防栓",
        "other": "其他",
    },
}


def labels(kind: str) -> Mapping[str, str]:
    """Every code of ``kind`` with its name, in catalogue order (for a select's options)."""
    return LABELS[kind]


def label(code: str | None, kind: str) -> str:
    """The name of ``code`` (the code itself when the catalogue has none; "" for None)."""
    if code is None:
        return ""
    return LABELS[kind].get(code, code)
