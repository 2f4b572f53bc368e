#!/bin/sh
# moving_average.sh — a 5-row moving average of NVDA's close, in SQL.
#
# Usage: examples/moving_average.sh [TABLE_DIR]  (default: ./nvda_table)
#
# Runs examples/ingest_nvda.sh first when the table does not exist yet.
# `tstable query` registers the table under its folder name made SQL-safe
# (nvda_table -> nvda_table, my-bars -> my_bars), so the SQL below uses the
# same rule to name it. The window covers the current row and the four
# before it, in time order.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
TSTABLE=${TSTABLE:-"$here/../build/tstable"}
export TSTABLE
table=${1:-nvda_table}

if [ ! -d "$table/_timeseries_log" ]; then
    "$here/ingest_nvda.sh" "$table" >/dev/null
fi

name=$(basename "$table" | tr 'A-Z' 'a-z' | tr -c 'a-z0-9_\n' '_')
case $name in [a-z]*) ;; *) name="t_$name" ;; esac

"$TSTABLE" query --table "$table" --max-rows 8 --sql "
    SELECT ts, close,
           round(avg(close) OVER (PARTITION BY symbol ORDER BY ts
                                  ROWS BETWEEN 4 PRECEDING AND CURRENT ROW), 4) AS ma5
    FROM $name
    WHERE symbol = 'NVDA'
    ORDER BY ts"
