"""``make bench``: benchmark figures, written to bench/results.json."""
