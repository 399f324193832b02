"""What the demo grids' handbooks and 民情地图 show besides households and party members:
a few key places (重点场所) and the grid staff (网格长, 专职网格员, 网格民警, 部门联络员).

Deterministic and set-wise: one INSERT … SELECT each over the demo grids; key places are
``ST_GeneratePoints`` with a seed taken from the grid code, named after the nearest
household's building, and staff names come from fixed lists indexed by the grid's rank.
"""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.orm import Session

# Per grid: four places, the fourth's kind rotates with the grid number.
_KEY_PLACES_SQL = """
INSERT INTO key_place (grid_id, name, kind, geom, address, note)
SELECT g.id,
       CASE k.kind
           WHEN 'party_centre' THEN g.name || '党群服务站'
           WHEN 'rental_cluster' THEN coalesce(b.building, g.name) || '出租房集中点'
           WHEN 'hydrant' THEN coalesce(b.building, g.name) || '消防栓'
           ELSE c.name || k.label
       END,
       k.kind, p.geom, coalesce(b.building, ''), k.note
FROM grid g
JOIN admin_unit c ON c.id = g.community_id
CROSS JOIN LATERAL (
    SELECT d.path[1] AS n, d.geom
    FROM ST_Dump(ST_GeneratePoints(g.geom, 4, CAST(right(g.code, 6) AS int))) AS d
) p
CROSS JOIN LATERAL (
    SELECT v.kind, v.label, v.note FROM (VALUES
        (1, 'party_centre', '', '网格议事、红色代办，工作日 8:30–17:30'),
        (2, 'rental_cluster', '', '出租房屋集中，六必查重点'),
        (3, 'hydrant', '', '每月检查水压和标识'),
        (4, (ARRAY['school', 'gas_station', 'kindergarten', 'market'])[CAST(right(g.code, 3) AS int) % 4 + 1],
            (ARRAY['小学', '加油站', '幼儿园', '农贸市场'])[CAST(right(g.code, 3) AS int) % 4 + 1],
            (ARRAY['上下学时段交通疏导', '危化品重点防范', '上下学时段交通疏导', '消防通道和占道经营'])
                [CAST(right(g.code, 3) AS int) % 4 + 1])
    ) AS v(n, kind, label, note) WHERE v.n = p.n
) k
LEFT JOIN LATERAL (
    SELECT coalesce(substring(h.address FROM '^(.*?[0-9一二三四五六七八九十]+(幢|栋|号楼|座))'),
                    substring(h.address FROM '^(.*?[0-9]+号)'), h.address) AS building
    FROM household h WHERE h.grid_id = g.id ORDER BY h.geom <-> p.geom LIMIT 1
) b ON true
WHERE g.code LIKE :prefix AND g.kind = 'map'
ON CONFLICT (grid_id, kind, name) DO NOTHING
"""

SURNAMES = "王李张刘陈杨黄赵吴周徐孙朱胡郭何林罗郑梁叶蓝雷钟潘"
GIVEN = ("建华", "丽娟", "志强", "海燕", "国平", "晓东", "秀英", "伟民", "文华", "春梅", "立新", "红霞", "卫东",
         "佳慧", "振宇", "玉兰", "永明", "美玲", "德胜", "雪芳")

_STAFF_SQL = """
INSERT INTO grid_staff (grid_id, role, name, phone, organisation, duty, sort_order)
SELECT g.id, s.role,
       CASE WHEN s.role = 'grid_worker' AND g.code = :featured THEN :worker_name
            ELSE substr(:surnames, (g.rank * s.step) % length(:surnames) + 1, 1)
                 || (CAST(:given AS text[]))[(g.rank * 7 + s.step) % cardinality(CAST(:given AS text[])) + 1]
       END,
       s.phone_prefix || lpad(CAST((g.rank * 7919 + s.step * 104729) % 100000000 AS text), 8, '0'),
       CASE s.role WHEN 'grid_leader' THEN c.name || '居委会'
                   WHEN 'grid_worker' THEN c.name
                   WHEN 'police' THEN st.name || '派出所'
                   ELSE st.name || '综合行政执法队' END,
       s.duty, s.sort_order
FROM (SELECT id, code, community_id, CAST(row_number() OVER (ORDER BY code) AS int) AS rank
      FROM grid WHERE code LIKE :prefix AND kind = 'map') g
JOIN admin_unit c ON c.id = g.community_id
JOIN admin_unit st ON st.id = c.parent_id
CROSS JOIN (VALUES
    ('grid_leader', 3, '139', '统筹网格事务、矛盾调解', 0),
    ('grid_worker', 5, '138', '日常巡查、信息采集、问题上报', 1),
    ('police', 11, '137', '治安防范、矛盾纠纷化解', 2),
    ('department', 13, '136', '占道经营、乱搭乱建', 3)
) AS s(role, step, phone_prefix, duty, sort_order)
WHERE NOT EXISTS (SELECT 1 FROM grid_staff x WHERE x.grid_id = g.id)
"""


def insert_key_places(session: Session, prefix: str) -> int:
    """Four key places in every map grid under ``prefix`` (a code prefix); returns the count."""
    return session.execute(text(_KEY_PLACES_SQL), {"prefix": prefix + "%"}).rowcount


def insert_grid_staff(session: Session, prefix: str, featured_grid: str, worker_name: str) -> int:
    """网格长, 专职网格员, 网格民警 and a 部门联络员 for every map grid under ``prefix`` that has
    none yet; the featured grid's 专职网格员 is ``worker_name`` (the demo grid worker)."""
    return session.execute(text(_STAFF_SQL), {
        "prefix": prefix + "%", "featured": featured_grid, "worker_name": worker_name,
        "surnames": SURNAMES, "given": list(GIVEN)}).rowcount
