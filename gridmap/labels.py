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
    # gridmap.geo: an upload that is a zip archive, as its refusals name it.
    "archive": {"shapefile_zip": "Shapefile 压缩包", "kmz": "KMZ 文件", "xlsx": "Excel 文件"},
    # gridmap.geo: GEOS's reason a polygon is invalid (shapely.is_valid_reason), in Chinese.
    "geos_reason": {
        "Too few points": "坐标点过少",
        "Hole lies outside shell": "内环位于外环之外",
        "Nested holes": "内环相互嵌套",
        "Interior is disconnected": "内部不连通",
        "Nested shells": "多个外环相互嵌套",
        "Duplicate Rings": "存在重复的环",
        "Invalid Coordinate": "坐标无效",
        "Ring not closed": "环未闭合",
        "Ring Self-intersection": "环自相交",
        "Self-intersection": "自相交",
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
