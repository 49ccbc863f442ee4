SELECT ensure_day_partitions(%(days)s::date[])
