"""Demo data: the urban core of Lishui 莲都区 (331102) with streets, communities, grids,
households, party members and one login per role. ``gridmap demo-data`` loads it.

- ``district``: the area hierarchy and its polygons (pure geometry, no DB).
- ``residents``: households and party members placed in the grids (no DB).
- ``load``: writes everything in bulk, creates the demo users, prints the logins.
"""
