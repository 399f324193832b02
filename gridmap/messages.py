"""The catalogue of user-facing Chinese messages, keyed by error or problem code.

Every message the UI or the API shows a person comes from here, so wording is
reviewed in one place. Templates use ``str.format`` fields filled from the
error's details.
"""

MESSAGES: dict[str, str] = {
    # --- request and protocol ---
    "bad_request": "请求格式不正确：{reason}",
    "invalid_json": "请求体不是合法的 JSON。",
    "nul_character": "请求中含有不允许的空字符（\\0）。",
    "validation_failed": "请求参数不合法，请检查后重试。",
    "unauthorized": "请先登录。",
    "invalid_credentials": "用户名或密码错误。",
    "token_expired": "登录已过期，请重新登录。",
    "wrong_password": "原密码不正确。",
    "password_too_short": "密码至少 {min_length} 位。",
    "password_mismatch": "两次输入的新密码不一致。",
    "forbidden": "您没有权限执行此操作。",
    "not_found": "未找到所请求的资源。",
    "method_not_allowed": "不支持该请求方法。",
    "conflict": "操作冲突，请刷新后重试。",
    "payload_too_large": "上传内容过大（上限 {limit_mb} MB）。",
    "unprocessable": "数据无法处理。",
    "rate_limited": "请求过于频繁，请稍后再试。",
    "csrf_failed": "页面已过期，请刷新后重试。",
    "user_not_found": "未找到用户 {username}。",
    "internal_error": "服务器内部错误，请稍后再试或联系管理员。",
    "database_unavailable": "数据库暂时不可用，请稍后再试。",
    # --- areas and grids ---
    "area_not_found": "未找到编码为 {code} 的区域。",
    "grid_not_found": "未找到编码为 {code} 的网格。",
    "invalid_scope": "管辖范围 {code} 无效：须为空（全部区域）或一个区域的编码（市 4 位、区县 6 位、街道 9 位、社区 12 位、网格 15 位）；网格员和党员须为其网格的 15 位编码。",
    "not_in_any_grid": "该位置不在任何网格内。",
    # --- planning (boundary edits, versions, proposals) ---
    "grid_version_stale": "网格 {code} 已被他人修改（现为第 {current} 版），您的修改尚未保存；请查看对方的修改后再保存。",
    "grid_outside_community": "网格超出所属社区边界约 {area_m2} 平方米（允许误差 1 米）。",
    "grid_overlaps_sibling": "网格与 {codes} 重叠约 {area_m2} 平方米；确需重叠请选择强制保存并填写原因。",
    "grid_reason_required": "保存网格边界须填写修改原因。",
    "grid_not_editable": "网格 {code} 没有可编辑的边界（域外网格或已撤销）。",
    "grid_split_line_invalid": "分割线须完整穿过网格，并把网格分为两部分（现为 {parts} 部分）。",
    "grid_merge_needs_two": "请至少选择两个网格进行合并。",
    "grid_merge_not_adjacent": "要合并的网格须属于同一社区且相互连成一片。",
    "grid_codes_exhausted": "社区 {code} 下的网格编码已用尽（最多 999 个）。",
    "grid_version_not_found": "网格 {code} 没有第 {version} 版。",
    "grid_community_no_boundary": "社区 {code} 没有边界，无法在其中新建网格。",
    "proposal_no_households": "该区域内没有住户，无法生成划分方案。",
    "proposal_no_boundary": "区域 {code} 没有边界，无法生成划分方案。",
    "proposal_not_community": "划分方案须针对社区或街道（{code} 不是）。",
    "proposal_targets_invalid": "户数下限须为正数且不大于上限。",
    "proposal_features_overlap": "方案中的网格相互重叠：{pairs}；请调整边界后再采纳。",
    "invalid_code": "编码 {code} 不符合{level}编码规则（{rule}）。",
    "out_of_scope": "编码 {code} 不在您的管辖范围内。",
    "geometry_out_of_scope": "{code} 的边界超出您的管辖范围 {scope}（允许误差 {metres} 米）。",
    "scope_area_without_boundary": "您的管辖范围 {scope} 尚无边界，无法核对导入的边界是否在其内；请先由管理员导入该区域的边界。",
    "unknown_parent": "上级编码 {parent} 不存在或层级不符。",
    "parent_mismatch": "编码 {code} 与上级编码 {parent} 不一致。",
    "duplicate_code": "编码 {code} 在文件中重复出现。",
    "missing_field": "缺少必填字段“{field}”。",
    "invalid_level": "层级必须是 district、street、community 或 grid 之一。",
    "invalid_number": "“{field}”必须是数字。",
    "invalid_choice": "“{field}”的取值“{value}”不在可选范围内（{choices}）。",
    "integer_out_of_range": "“{field}”应为 {low} 到 {high} 之间的整数，实际为“{value}”。",
    "value_too_long": "“{field}”过长（最多 {limit} 个字符）。",
    "invalid_bbox": "bbox 格式应为 最小经度,最小纬度,最大经度,最大纬度。",
    # --- party members and contact lists ---
    "party_member_not_found": "未找到编号为 {id} 的党员。",
    "party_member_place_missing": "请填写党员的经纬度，或其所住住户的户号。",
    "party_member_out_of_scope": "该位置不在您管辖的网格内。",
    "contact_outside_member_grid": "住户 {code} 不在党员所在网格 {grid} 内；跨网格联系须由督导确认（cross_grid: true）。",
    "cross_grid_contact_forbidden": "只有督导和管理员可以让党员联系其他网格的住户。",
    "pdf_unavailable": "暂时无法生成 PDF（服务器未安装 Chromium 或生成超时），请使用浏览器打印。",
    "wall_map_unavailable": "暂时无法生成民情地图挂图（服务器未安装 Chromium 或生成超时），请稍后再试或使用浏览器打印。",
    "renders_busy": "正在生成的 PDF 和挂图已达上限，请 {seconds} 秒后再试。",
    # --- key places (重点场所) ---
    "key_place_not_found": "未找到编号为 {id} 的重点场所。",
    "key_place_exists": "本网格已有同类型的重点场所“{name}”。",
    "key_place_outside_grid": "该位置不在网格 {code} 内（也不在其边界 {metres} 米以内）。",
    "key_place_outside_grids": "该位置不在任何网格内。",
    "key_place_out_of_scope": "该位置所在网格 {code} 不在您的管辖范围内。",
    # --- files ---
    "unsupported_file": "不支持的文件格式：{filename}（支持 GeoJSON、GeoPackage、Shapefile 压缩包、KML、CSV、XLSX）。",
    "unreadable_file": "文件无法读取：{reason}",
    "archive_refused": "压缩包被拒绝：{reason}。",
    "unsafe_file_content": "文件含有不允许的内容：{reason}。",
    "empty_file": "文件中没有任何数据。",
    "file_required": "请上传文件（字段名 file）。",
    "import_rejected": "文件中有 {count} 处错误，未导入任何数据。",
    # --- coordinates and geometry ---
    "invalid_crs": "不支持的坐标系：{crs}（可用 wgs84、gcj02、bd09 或 EPSG:编号）。",
    "coordinate_missing": "缺少坐标。",
    "coordinate_not_number": "坐标不是有效数字。",
    "coordinate_out_of_range": "坐标超出范围：经度应在 -180~180，纬度应在 -90~90。",
    "coordinate_swapped": "经纬度可能填反了（经度 {lon}，纬度 {lat}）。",
    "coordinate_outside_china": "坐标（{lon}, {lat}）不在中国境内。",
    "geometry_missing": "缺少几何图形。",
    "geometry_empty": "几何图形为空。",
    "geometry_wrong_type": "几何类型应为 {expected}，实际为 {actual}。",
    "geometry_unreadable": "几何图形无法解析：{reason}",
    "ring_not_closed": "多边形的环没有闭合（首尾坐标不同）。",
    "ring_too_short": "多边形的环至少需要 4 个坐标点。",
    "self_intersection": "多边形自相交，位置约在 ({lon}, {lat})。",
    "invalid_geometry": "几何图形无效：{reason}",
    # --- patrol ---
    "too_many_checkins": "一次最多提交 {limit} 条打卡，本次 {count} 条。",
    "household_not_found": "未找到户号为 {code} 的住户，或不在您的管辖范围内。",
    "checkin_id_taken": "打卡编号 {id} 已被其他用户使用。",
    "invalid_date": "日期格式应为 YYYY-MM-DD。",
    "invalid_month": "月份格式应为 YYYY-MM。",
    # --- hazards and the closed loop ---
    "hazard_not_found": "未找到编号为 {id} 的问题。",
    "hazard_category_unknown": "问题类别“{category}”不在类别目录中。",
    "hazard_outside_scope": "该位置所在网格 {code} 不在您的管辖范围内。",
    "hazard_action_not_allowed": "问题当前状态为“{status}”，不能执行“{action}”。",
    "hazard_action_forbidden": "您不能对该问题执行“{action}”。",
    "hazard_stale": "该问题已被他人处理（版本已变化），请刷新后重试。",
    "hazard_note_required": "执行“{action}”需要填写说明。",
    "hazard_assignee_required": "指派时请选择承办人。",
    "hazard_assignee_invalid": "承办人“{assignee}”不存在，或其管辖范围不包含该问题所在网格。",
    "hazard_top_level": "问题已在区级，无法继续上报。",
    "calendar_fallback": "{years} 年的法定节假日尚未发布或导入，期限暂按仅双休日计算。",
    "hazard_photo_too_large": "照片过大（上限 {limit_mb} MB）。",
    "hazard_photo_type": "照片只能是 JPEG 或 PNG 格式。",
    "hazard_photo_invalid": "照片文件已损坏或无法识别。",
    "hazard_photo_required": "请选择要上传的照片。",
    "hazard_photo_too_many": "每个问题最多上传 {max} 张照片。",
    "hazard_photo_closed": "问题已办结或不予受理，不能再上传照片。",
    "hazard_photo_not_found": "问题 {id} 没有第 {n} 张照片。",
    "holiday_year_mismatch": "日期 {day} 不属于 {year} 年。",
    "hazard_status_unknown": "未知状态：{statuses}（可选 {choices}）",
    "hazard_overdue_mark": "（已超期）",
    "holiday_source_upload": "{username} 上传",
    "holiday_csv_bad_date": "第 {row} 行：日期“{day}”应为 YYYY-MM-DD",
    "holiday_csv_bad_flag": "第 {row} 行：上班/放假“{flag}”应为 1/0、是/否、班/休",
    # --- hazards: pages and the CLI ---
    "title_hazard_queue": "问题工作台",
    "title_hazard_new": "上报问题",
    "title_hazard_detail": "问题 {code}",
    "cli_help_holiday_source": "来源，如国务院办公厅通知文号",
    "cli_help_keep_months": "保留期（月），默认取 GRIDMAP_HAZARD_RETENTION_MONTHS，否则 36",
    "holidays_loaded": "{year} 年：放假 {holidays} 天，调休上班 {workdays} 天，已导入。",
    "hazards_redacted": "已清除 {hazards} 件已办结问题的个人信息（照片 {photos} 张，处理意见 {notes} 条），保留期 {months} 个月。",
    # --- hazard statistics: the heatmap and the 平安报表 ---
    "title_hazard_heatmap": "问题隐患热力图",
    "title_safety_report": "平安报表 {month}",
    "safety_report_sheet": "平安报表 {month}",
    "cli_help_since_day": "起始日期（含），默认全部",
    "cli_help_until_day": "截止日期（不含），默认全部",
    "heatmap_refreshed": "热力图按日预聚合已重建：{cells} 个格网日（删除旧的 {deleted} 个）；分级汇总（按年、月、日）{rows} 行。",
}


def message(key: str, **params: object) -> str:
    """The Chinese message for the code ``key``, filled with ``params``.

    A missing template field falls back to the bare template rather than failing:
    an error message must never raise an error of its own.
    """
    template = MESSAGES.get(key, MESSAGES["unprocessable"])
    try:
        return template.format(**params)
    except (KeyError, IndexError, ValueError):
        return template
