"""Demo data: the urban core of Lishui 莲都区 (331102) with streets, communities, grids,
households, party members, one login per role, and a year of life. ``gridmap demo-data`` loads it.

- ``district``: the area hierarchy and its polygons (pure geometry, no DB).
- ``residents``: households and party members placed in the grids (no DB).
- ``handbook``: key places and grid staff.
- ``load``: writes the district in bulk, creates the demo users, prints the logins.
- ``year``: the twelve months before today — ``colleagues`` (every grid's worker, every unit's
  supervisor and every department's account), hazards (``hazard_places``: how many and where;
  ``hazard_story``: each one's history through the workflow; ``duty_story``: the departments' part
  of a whistled one; ``hazard_rows``: writing them, ``duty_rows`` their assignments and
  ``resident_rows`` the residents' reports and 回访 answers) and ``patrols`` (daily rounds and 五必访).
"""
