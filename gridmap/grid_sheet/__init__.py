"""A grid's own pages: its 民情地图, its printed handbook and party-member cards, its wall map
and the staff form."""
