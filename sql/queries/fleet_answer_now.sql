-- The database's clock: the horizon follows it, as the consumers' hours do.
SELECT now()
