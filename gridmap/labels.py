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
        "department": "职能部门",
    },
    # Administrative levels, and the levels a hazard is handled at (escalation climbs them).
    "level": {"city": "市", "district": "区县", "street": "街道", "community": "社区", "grid": "网格"},
    # A hazard's closed loop.
    "hazard_status": {
        "reported": "待受理", "accepted": "已受理", "assigned": "已指派", "in_progress": "处置中",
        "whistled": "部门办理中", "feedback": "已反馈", "verified": "已核查", "closed": "已办结", "rejected": "不予受理",
    },
    "hazard_action": {
        "report": "上报", "accept": "受理", "assign": "指派", "start": "开始处置", "feedback": "反馈结果",
        "verify": "核查通过", "reject": "退回", "close": "办结", "escalate": "上报上级（吹哨）",
        "on_the_spot": "就地解决", "reopen": "重新打开", "supervise": "督办",
        "revisit": "回访",
        "whistle": "吹哨（交办部门）", "report_for_duty": "部门报到", "duty_feedback": "部门反馈",
        "duty_overdue": "部门报到超期", "recall": "撤回吹哨",
    },
    # 回访: the reporter's answer after verification, and how it was given.
    "revisit_answer": {"satisfied": "满意", "basically_satisfied": "基本满意", "dissatisfied": "不满意"},
    "revisit_channel": {"phone": "电话回访", "status_page": "居民在查询页评价"},
    # A department's part in an item sent to it (吹哨报到).
    "duty_state": {"waiting": "待报到", "reported": "已报到", "fed_back": "已反馈"},
    # How a closed hazard was solved when not along the loop.
    "hazard_resolution": {"on_the_spot": "就地解决"},
    # A photo of a problem solved on the spot: before or after the fix.
    "photo_stage": {"before": "处置前", "after": "处置后"},
    "hazard_severity": {"normal": "一般", "complex": "复杂", "urgent": "紧急"},
    # 平安报表's traffic lights.
    "colour": {"red": "红", "yellow": "黄", "green": "绿"},
    "handover_reason": {"staff_change": "网格员变更时自动生成", "manual": "手动生成"},
    "period_kind": {"week": "周", "month": "月", "quarter": "季度", "year": "年"},
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
        "mean_handling_hours": "平均处置时长（小时）", "patrol_coverage": "巡查覆盖率", "party_visit_coverage": "党员走访覆盖率",
        "colour_name": "预警",
        "rank": "排名", "on_the_spot": "就地解决数",
        "satisfaction_answered": "回访数", "satisfaction_rate": "回访满意率",
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
    # --- maps (gridmap.maps) and the navigation ---
    # A map's layers (the layer control) and its basemap's attribution.
    "map_layer": {
        "basemap": "底图", "gaode": "高德地图", "grids": "网格", "grid_boundary": "网格边界", "households": "住户",
        "member_lines": "党员联系线", "members": "党员", "key_places": "重点场所", "open_hazards": "未办结隐患",
        "hazard_density": "问题密度", "open_issues": "未办结问题",
        "behind_places": "未按计划走访的重点场所",
    },
    # The fields of a map's tooltips and popups.
    "map_field": {
        "grid": "网格", "code": "编码", "community": "社区", "households": "户数", "target": "目标", "status": "状态",
        "household": "户号/地址", "head_name": "户主", "phone": "电话", "size": "人数", "tag_kind": "类别",
        "risk": "风险", "member": "联系党员", "party_member": "党员", "branch": "支部", "contacts": "联系户数",
        "place": "场所", "place_kind": "类型", "address": "地址", "note": "说明", "hazard_code": "编号",
        "category": "类别", "severity": "紧急程度", "deadline": "办结时限", "description": "描述", "time": "时间",
        "accuracy": "精度", "checkin_household": "住户", "checkin_note": "备注", "flags": "异常",
        "last_visit": "最近走访", "visited": "走访户数", "coverage": "覆盖率",
    },
    # Legends, links and other words drawn on a map.
    "map_text": {
        "legend": "图例", "risk": "风险等级", "tag_kind": "人员类别（外圈）", "party": "党员联系", "party_mark": "党",
        "member": "党员", "contacts": "联系户", "open_hazards": "未办结隐患", "key_places": "重点场所",
        "grid_households": "网格户数", "unassigned": "未分配", "search": "搜索户号或地址", "grid_detail": "查看网格详情",
        "edit_boundary": "调整边界", "hazard_detail": "查看详情", "outside_grids": "不在任何网格",
        "search_grid": "搜索网格编码或名称", "not_visited": "未走访", "patrol_coverage": "网格走访覆盖率（当天）",
    },
    # A grid's households visited on the patrol map's day (its colours by coverage).
    "patrol_coverage": {"most": "80% 及以上", "half": "50% 至 80%", "some": "50% 以下", "none": "未走访", "empty": "无住户"},
    # A household on the 民情地图: its risk level (fill) and the kind of its tags (outline).
    "household_risk": {"high": "高风险", "medium": "中风险", "low": "低风险", "none": "未评定", "hidden": "已隐藏"},
    "household_kind": {"focus": "重点人员", "care": "关爱对象", "rental": "出租房/流动人口", "plain": "一般住户"},
    # A grid's households against its target (the overview's colours), and what each means.
    "grid_fill": {"under": "偏少", "within": "达标", "over": "超员", "empty": "无住户"},
    "grid_fill_hint": {"under": "低于目标下限", "within": "在目标范围内", "over": "高于目标上限", "empty": "还没有住户"},
    # What an API response's status means (the OpenAPI document).
    "http_status": {
        "success": "成功", "error": "错误", "400": "请求格式或参数不合法", "401": "未登录或令牌无效",
        "403": "无权执行此操作", "404": "不存在或不在权限范围内", "409": "冲突：版本已变化或状态不允许",
        "413": "请求体过大", "422": "内容无效（坐标、几何、编码等）", "429": "请求过于频繁",
        "304": "未变化（If-None-Match 与当前版本相同）",
    },
    # The top navigation's links, by page.
    "nav": {
        "area_map": "网格总览", "grid_map": "民情地图", "patrol": "巡查打卡", "hazard_queue": "问题工单",
        "hazard_new": "上报问题", "patrol_map": "巡查轨迹", "heatmap": "问题热力图", "safety_report": "平安报表",
        "planner": "网格规划", "audit_log": "审计日志", "party_visits": "走访联系户", "patrol_plans": "巡查计划",
        "household_approvals": "住户审核", "department_queue": "部门报到", "department_routes": "交办规则",
    },
    # The inbox's sections (gridmap.inbox.service).
    "inbox_section": {
        "overdue": "已超期", "due_soon": "24 小时内到期", "assigned": "指派给我", "supervised": "督办",
        "approvals": "待审核的住户修改", "visits_due": "本月五必访待访", "behind": "落后于巡查计划",
    },
    # Patrol plans: what a plan is about, its period, and the period as a unit of time.
    "plan_subject": {"grid": "网格巡查", "place": "重点场所走访"},
    "plan_period": {"day": "每天", "week": "每周", "month": "每月"},
    "period_unit": {"day": "天", "week": "周", "month": "月"},
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
    # A household's form and history (基础信息采集): its fields, statuses and changes.
    "household_field": {
        "address": "地址", "head_name": "户主", "phone": "电话", "size": "人数", "tags": "标签",
        "risk_level": "风险等级", "sensitive_tags": "重点人员标签", "new_tags": "新标签", "lon": "经度", "lat": "纬度", "grid": "所在网格",
        "status": "状态", "merged_into": "并入户号", "location": "位置", "code": "户号", "version": "版本",
    },
    "household_status": {"active": "在住", "moved_out": "已迁出", "merged": "已并户"},
    "household_change_kind": {"create": "新增", "edit": "修改"},
    "household_change_status": {"applied": "已生效", "pending": "待审核", "approved": "已通过", "rejected": "已驳回"},
    # The stages of a long import (the CLI draws a progress bar per stage).
    "import_stage": {
        "validate": "校验", "match_existing": "比对已有住户", "assign_and_write": "分配网格并写入",
        "update_existing": "更新已有住户", "rebuild_indexes": "重建索引", "write": "写入数据库",
        "address_index": "建立地址检索索引",
    },
    # What an area code of each level looks like (import row errors).
    "code_rule": {
        "district": "6 位数字",
        "street": "9 位数字（区县 6 位 + 街道 3 位）",
        "community": "12 位数字（街道 9 位 + 社区 3 位）",
        "grid": "15 位数字（社区 12 位 + 网格 3 位）",
    },
    # Key places of a grid (重点场所), in legend order.
    "ogc_collection": {"districts": "区县", "streets": "街道", "communities": "社区", "grids": "网格",
                       "hazards": "问题隐患"},
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
