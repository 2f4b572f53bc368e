-- gen_trips.sql — synthetic NYC TLC FHVHV-shaped trips, deterministic.
--
-- Run by `bench_append generate` (bench/bench_append.c), which replaces the
-- ${...} placeholders and runs the statement once for the bulk month and
-- once per daily file. Row i of the whole period is a pure function of i
-- (DuckDB's hash(), no random()), so the same i always gives the same trip:
-- the daily files for April hold exactly the rows of the bulk April file.
--
--   ${ROW_START}, ${ROW_END}  the trip ids [start, end) to write
--   ${ROWS_PER_DAY}           trips per day; trip i is on day i // ROWS_PER_DAY
--   ${DAY0_EPOCH}             the first day, as UTC epoch seconds
--   ${OUT}                    the Parquet file to write (a SQL literal, quoted)
--
-- Shape: the 24 columns and types of the TLC files (timestamps in
-- microseconds, location ids and trip_time int64, money float64 in cents,
-- flags 'Y'/'N'); HV0003 ~73 % / HV0005 ~27 %, and like the real files the
-- HV0005 rows have no originating_base_num and no on_scene_datetime.
-- Daily cycle: the hour of the pickup is drawn from a 100-slot table with
-- weights 1..7 per hour, lowest 02:00-04:59, highest 19:00-20:59. Within a
-- day the rows are in id order, not pickup order (the real files are not
-- sorted by pickup either); days are in order and never overlap. No ORDER BY:
-- DuckDB's preserve_insertion_order keeps range() order without a sort.
COPY (
    WITH hour_slots AS (
        SELECT list(h ORDER BY h, k) AS hours
        FROM (SELECT h, unnest(range(n)) AS k
              FROM (VALUES (0, 3), (1, 2), (2, 1), (3, 1), (4, 1), (5, 2), (6, 3), (7, 4),
                           (8, 5), (9, 4), (10, 4), (11, 4), (12, 4), (13, 4), (14, 5), (15, 5),
                           (16, 5), (17, 6), (18, 6), (19, 7), (20, 7), (21, 6), (22, 6), (23, 5))
                   AS w(h, n))
    ),
    draws AS (
        SELECT i,
               ${DAY0_EPOCH} + (i // ${ROWS_PER_DAY}) * 86400
                   + hours[1 + (hash(i, 1) % 100)::INTEGER] * 3600
                   + (hash(i, 2) % 3600)::BIGINT AS pickup_s,
               (hash(i, 3) % 100)::INTEGER AS u_company,
               (hash(i, 4) % 1000000) / 1e6 AS u_miles,
               (hash(i, 5) % 1000000) / 1e6 AS u_speed,
               (hash(i, 6) % 1000)::INTEGER AS u_extra,
               (hash(i, 7) % 1000)::INTEGER AS u_flags,
               (hash(i, 8) % 840)::BIGINT AS wait_s,
               (hash(i, 9) % 265)::BIGINT AS pu,
               (hash(i, 10) % 265)::BIGINT AS do_,
               (hash(i, 11) % 1000)::INTEGER AS u_base
        FROM range(${ROW_START}, ${ROW_END}) AS t(i), hour_slots
    ),
    trips AS (
        SELECT *,
               CASE WHEN u_company < 73 THEN 'HV0003' ELSE 'HV0005' END AS license,
               round(0.4 + least(-ln(greatest(u_miles, 1e-6)) * 4.5, 60.0), 2) AS miles
        FROM draws
    ),
    timed AS (
        SELECT *,
               (120 + miles * (110 + u_speed * 250))::BIGINT AS trip_s,
               round(3.0 + miles * 1.55 + (120 + miles * (110 + u_speed * 250)) / 60 * 0.58, 2)
                   AS fare
        FROM trips
    )
    SELECT license AS hvfhs_license_num,
           CASE WHEN license = 'HV0003'
                THEN 'B0' || (3400 + u_base % 12)::VARCHAR
                ELSE 'B03406' END AS dispatching_base_num,
           CASE WHEN license = 'HV0003'
                THEN 'B0' || (3400 + (u_base // 12) % 12)::VARCHAR END AS originating_base_num,
           TIMESTAMP '1970-01-01' + to_seconds(pickup_s - 60 - wait_s) AS request_datetime,
           CASE WHEN license = 'HV0003'
                THEN TIMESTAMP '1970-01-01' + to_seconds(pickup_s - 60 - wait_s // 4) END
               AS on_scene_datetime,
           TIMESTAMP '1970-01-01' + to_seconds(pickup_s) AS pickup_datetime,
           TIMESTAMP '1970-01-01' + to_seconds(pickup_s + trip_s) AS dropoff_datetime,
           1 + pu AS PULocationID,
           1 + do_ AS DOLocationID,
           miles AS trip_miles,
           trip_s AS trip_time,
           fare AS base_passenger_fare,
           CASE WHEN u_extra < 80 THEN 6.94 ELSE 0 END::DOUBLE AS tolls,
           round(fare * 0.0275, 2) AS bcf,
           round(fare * 0.08875, 2) AS sales_tax,
           CASE WHEN u_extra % 10 < 6 THEN 2.75 ELSE 0 END::DOUBLE AS congestion_surcharge,
           CASE WHEN u_extra >= 950 THEN 2.5 ELSE 0 END::DOUBLE AS airport_fee,
           CASE WHEN u_extra % 5 = 0 THEN round(fare * (u_flags % 25) / 100, 2) ELSE 0 END::DOUBLE
               AS tips,
           round(fare * (0.62 + u_speed * 0.2), 2) AS driver_pay,
           CASE WHEN u_flags < 15 THEN 'Y' ELSE 'N' END AS shared_request_flag,
           CASE WHEN u_flags < 6 THEN 'Y' ELSE 'N' END AS shared_match_flag,
           'N' AS access_a_ride_flag,
           CASE WHEN u_flags % 50 < 3 THEN 'Y' ELSE 'N' END AS wav_request_flag,
           CASE WHEN u_flags % 50 < 4 THEN 'Y' ELSE 'N' END AS wav_match_flag
    FROM timed
) TO ${OUT} (FORMAT parquet);
