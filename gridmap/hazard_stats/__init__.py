"""Hazards' statistics and exports: the heatmap (daily cells, the zoom pyramid, grid density)
and the 平安报表 (safety report, CSV/XLSX). It reads the hazards package's tables; the hazards
package never imports it."""
