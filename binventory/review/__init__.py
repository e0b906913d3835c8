"""`binventory review ...`: the review queue, resolutions and weekly figures, for scripts and operators."""
