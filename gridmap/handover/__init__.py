"""责任交接: a grid's frozen snapshot when its worker changes, kept with the grid and printed for
both to sign."""
