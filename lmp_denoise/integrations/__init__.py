"""Where users look at their data: the OVITO modifier."""
