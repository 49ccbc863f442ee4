SELECT drop_day_partitions_before(%(cutoff)s::date)
