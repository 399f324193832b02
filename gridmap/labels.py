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
    # 平安报表 exports: the columns (report fields) and their headings, in column order.
    "safety_report_column": {
        "level_name": "层级", "code": "编码", "name": "名称", "found": "发现数", "closed": "办结数",
        "closure_rate": "办结率", "on_time_rate": "按期办结率", "overdue": "超期数",
        "mean_handling_hours": "平均处置时长（小时）", "patrol_coverage": "巡查覆盖率", "colour_name": "预警",
        "rank": "排名",
    },
    # Upload formats, as a person calls them.
    "file_format": {"geojson": "GeoJSON", "gpkg": "GeoPackage", "shapefile_zip": "Shapefile 压缩包", "kml": "KML",
                    "csv": "CSV", "xlsx": "Excel"},
}


def labels(kind: str) -> Mapping[str, str]:
    """Every code of ``kind`` with its name, in catalogue order (for a select's options)."""
    return LABELS[kind]


def label(code: str | None, kind: str) -> str:
    """The name of ``code`` (the code itself when the catalogue has none; "" for None)."""
    if code is None:
        return ""
    return LABELS[kind].get(code, code)
