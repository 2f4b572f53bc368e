#!/bin/sh
# ingest_nvda.sh — create an hourly table and append the NVDA sample to it.
#
# Usage: examples/ingest_nvda.sh [TABLE_DIR]     (default: ./nvda_table)
#
# The table is indexed by `ts` in 1-hour buckets, with coverage kept per
# `symbol`; the CSV's schema is adopted by the first append. Afterwards the
# script asks how much of the sample's ten days the table covers.
# Set TSTABLE to use another binary than build/tstable of this checkout.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
TSTABLE=${TSTABLE:-"$here/../build/tstable"}
table=${1:-nvda_table}

"$TSTABLE" create --table "$table" --index-column ts --index-type timestamp \
    --bucket 1h --entity symbol
"$TSTABLE" append --table "$table" --csv "$here/data/nvda_1h_sample.csv"
"$TSTABLE" coverage --table "$table" --entity symbol=NVDA \
    --start 2024-06-01 --end 2024-06-11
