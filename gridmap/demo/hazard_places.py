"""Where the demo's hazards happen and what they say, pure data and sampling (no DB).

Rates. A district of this kind reports a few hazards per grid and month: Zhejiang's grid
workers send about 150 items per grid a year, most of them patrol records; the demo takes
about three hazards per grid and month (~36 a year, a quarter of those items), more where
many people live or a market draws a crowd, fewer on rest days, with each category's own
season (fire in the dry winter, rubbish and noise in the summer, few reports at 春节).

Places. Every category has the kinds of place it clusters at (``ANCHOR_WEIGHTS``): the grid's
key places (market, school, kindergarten, petrol station, rental cluster, hydrant, party
centre), its old compounds (private houses, 私房), any household, and its roads (the grid's
edge, where the streets run). Each grid gets a few fixed hot spots of each kind, weighted
unevenly, so a year's reports pile up at the same corners as they do in life.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np
import shapely
from shapely.geometry.base import BaseGeometry

# Share of each category among reports (the catalogue of migration 0004).
CATEGORY_SHARES = {
    "sanitation": 0.22, "street_vending": 0.15, "facility": 0.14, "fire": 0.12, "dispute": 0.09,
    "illegal_building": 0.08, "public_order": 0.07, "noise": 0.06, "work_safety": 0.04, "other": 0.03,
}
# Month factors (January first) per category; a category not listed follows ALL_YEAR.
ALL_YEAR = (0.8, 0.7, 1.0, 1.0, 1.0, 1.05, 1.05, 1.05, 1.0, 1.05, 1.05, 1.0)
SEASONS = {
    "fire": (1.5, 1.4, 1.1, 0.9, 0.8, 0.7, 0.7, 0.7, 0.8, 1.0, 1.2, 1.5),
    "sanitation": (0.7, 0.6, 0.9, 1.0, 1.2, 1.4, 1.5, 1.5, 1.2, 1.0, 0.9, 0.8),
    "noise": (0.6, 0.6, 0.8, 1.0, 1.2, 1.4, 1.5, 1.4, 1.1, 1.0, 0.8, 0.7),
    "street_vending": (0.9, 0.8, 1.0, 1.1, 1.2, 1.2, 1.1, 1.1, 1.1, 1.1, 1.0, 1.0),
}
SEVERITY_SHARES = {"normal": 0.80, "complex": 0.15, "urgent": 0.05}
ANCHOR_WEIGHTS: dict[str, dict[str, float]] = {
    "public_order": {"market": 3, "rental_cluster": 3, "road": 1, "home": 1},
    "fire": {"rental_cluster": 3, "hydrant": 2, "gas_station": 3, "old": 3, "home": 1},
    "work_safety": {"gas_station": 4, "market": 2, "road": 1, "old": 1},
    "sanitation": {"market": 3, "old": 3, "home": 2, "road": 1},
    "dispute": {"home": 3, "old": 2, "rental_cluster": 1},
    "facility": {"road": 3, "hydrant": 2, "home": 1, "party_centre": 1},
    "illegal_building": {"old": 5, "home": 1},
    "street_vending": {"market": 5, "school": 3, "kindergarten": 2, "road": 3},
    "noise": {"market": 2, "road": 2, "home": 2, "school": 1},
    "other": {"home": 1, "road": 1, "party_centre": 1},
}
# Scatter around the anchor (metres) and hot spots per grid for the kinds that have many candidates.
SCATTER_M = {"old": 10.0, "home": 8.0, "road": 15.0}
KEY_PLACE_SCATTER_M = 30.0
HOT_SPOTS = {"old": 5, "home": 8, "road": 6}

PROBLEMS = {
    "public_order": ("夜间有人聚集酗酒，居民反映不安全", "电动车被盗，监控存在盲区", "可疑人员多次在楼道逗留",
                     "出租房人员登记信息不全"),
    "fire": ("楼道内电动车充电，飞线私拉", "消防通道被车辆堵塞", "灭火器过期未更换", "疏散通道堆放纸箱杂物",
             "消防栓被遮挡，标识脱落"),
    "work_safety": ("液化气瓶露天存放，无防护", "店铺违规使用大功率电器", "施工围挡倒伏，存在安全隐患",
                    "小作坊生产无安全措施"),
    "sanitation": ("垃圾桶满溢，未及时清运", "楼道堆放杂物和废弃家具", "绿化带内积存生活垃圾",
                   "污水外溢，气味较大", "小广告乱张贴"),
    "dispute": ("邻里因漏水问题发生纠纷", "楼上噪音引发邻里矛盾", "租户与房东因押金发生争执",
                "公共区域停车引发邻里纠纷"),
    "facility": ("路灯不亮，夜间通行不便", "窨井盖破损松动", "人行道地砖破损", "健身器材损坏", "单元门禁损坏"),
    "illegal_building": ("屋顶违规加盖彩钢棚", "一楼住户私自扩建院墙", "楼顶违规搭建阳光房", "占用公共绿地搭棚"),
    "street_vending": ("流动摊贩占道经营，影响通行", "店外经营，占用人行道", "早餐摊点占道，油烟扰民",
                       "车辆乱停，占用盲道"),
    "noise": ("夜间施工噪声扰民", "广场舞音响音量过大", "商铺高音喇叭招揽顾客", "空调外机噪声扰民"),
    "other": ("居民反映快递柜设置不合理", "宠物犬未拴绳，居民担心", "楼道照明需更换", "居民咨询政策，需上门解答"),
}
ROAD_SUFFIX = "路段"
NEAR = "附近"
BUILDING = re.compile(r"^(.*?[0-9]+(幢|号))")


@dataclass
class Anchors:
    """One grid's anchors: kind per anchor, position (metres), scatter, weight and a place name."""

    kinds: np.ndarray
    xy: np.ndarray
    scatter: np.ndarray
    weight: np.ndarray
    names: list[str]


def _building(address: str, city_prefix: str) -> str:
    match = BUILDING.match(address)
    return (match.group(1) if match else address).removeprefix(city_prefix)


def grid_anchors(outline: BaseGeometry, key_places: list[tuple[str, str, np.ndarray]], homes: np.ndarray,
                 private: np.ndarray, addresses: list[str], roads: tuple[str, ...], city_prefix: str,
                 rng: np.random.Generator) -> Anchors:
    """The anchors of one grid: its key places (kind, name, xy), hot spots among its households
    (``homes`` xy with ``private`` flags and addresses) and along its edge (``outline``)."""
    rows: list[tuple[str, np.ndarray, float, float, str]] = [
        (kind, spot, KEY_PLACE_SCATTER_M, 1.0, name) for kind, name, spot in key_places]
    for kind, pool in (("old", np.flatnonzero(private)), ("home", np.arange(len(homes)))):
        if len(pool):
            chosen = rng.choice(pool, size=min(HOT_SPOTS[kind], len(pool)), replace=False)
            rows += [(kind, homes[i], SCATTER_M[kind], 1.0 / rank, _building(addresses[i], city_prefix))
                     for rank, i in enumerate(chosen, start=1)]
    parts = shapely.get_parts(outline.buffer(-8.0))  # the street just inside the grid's edge
    edge = shapely.get_exterior_ring(max(parts if len(parts) else shapely.get_parts(outline), key=lambda p: p.area))
    if not edge.is_empty:
        for rank, at in enumerate(rng.uniform(0.0, edge.length, HOT_SPOTS["road"]), start=1):
            point = edge.interpolate(at)
            rows.append(("road", np.array([point.x, point.y]), SCATTER_M["road"], 1.0 / rank,
                         str(rng.choice(roads)) + ROAD_SUFFIX))
    kinds, xy, scatter, weight, names = zip(*rows, strict=True)
    return Anchors(np.array(kinds), np.array(xy).reshape(-1, 2), np.array(scatter), np.array(weight), list(names))


def place_hazard(anchors: Anchors, outline: BaseGeometry, category: str,
                 rng: np.random.Generator) -> tuple[np.ndarray, str]:
    """A hazard's position (metres, inside ``outline``) and its description (place and problem)."""
    table = ANCHOR_WEIGHTS[category]
    p = np.array([table.get(str(k), 0.0) for k in anchors.kinds]) * anchors.weight
    if p.sum() == 0:  # none of the category's kinds in this grid: any anchor will do
        p = anchors.weight.copy()
    i = int(rng.choice(len(p), p=p / p.sum()))
    spot = anchors.xy[i]
    for _ in range(8):
        candidate = spot + rng.normal(0.0, anchors.scatter[i], 2)
        if shapely.contains_xy(outline, *candidate):
            spot = candidate
            break
    name = anchors.names[i]
    joiner = "" if anchors.kinds[i] == "road" else NEAR
    return spot, f"{name}{joiner}{rng.choice(PROBLEMS[category])}"

# What the people in a hazard's history write (notes of the workflow's events).
REJECT_NOTES = ("经核实为重复上报，已合并处理", "经现场核实，问题已不存在")
ESCALATE_NOTES = {"community": ("超出网格处置能力，需社区协调相关单位", "涉及多户居民，请社区出面调解"),
                  "street": ("需执法、住建等部门联合处置，请求街道吹哨", "社区多次协调无果，提请街道处理"),
                  "district": ("涉及区级部门职责，请求区里协调",)}
FEEDBACK_NOTES = ("已现场处置完毕，照片留存", "已联系物业清理完毕", "已协调相关部门处理到位",
                  "已约谈当事人，双方达成一致", "已报修，维修人员已修复", "已督促整改，当事人已自行拆除")
REWORK_NOTES = ("现场复核未整改到位，请继续处置", "居民反映问题仍然存在，请再次处理")
VERIFY_NOTES = ("现场核查，已整改到位", "回访居民，表示满意")
WHISTLE_NOTES = ("属部门职责，请按期报到并到场处置", "社区已现场劝导无效，请部门依法处置", "请部门到场核查，反馈处置结果")
DUTY_FEEDBACK_NOTES = ("已到场依法处置，现场已整改", "已立案查处，责令限期整改", "已联合社区现场处置完毕",
                       "已约谈当事人，问题已消除")
# 回访: the community's reply to a resident, the call's note, the resident's comment on the status page.
RESIDENT_REPLIES = ("您反映的问题已处理完毕，感谢您的监督。", "已安排人员现场整改到位，欢迎继续反映。",
                    "问题已交相关部门处置完毕，请您查看。")
REVISIT_NOTES = ("电话回访，居民确认已整改", "电话回访居民，听取意见")
RESIDENT_COMMENTS = {"satisfied": ("处理很及时，谢谢", "", "点赞"), "basically_satisfied": ("基本解决了", ""),
                     "dissatisfied": ("问题还在，请再看看", "只处理了一半")}
