SELECT ensure_day_partitions(%(days)s::date[], %(day_months)s::integer, %(max_new)s::integer)
