#!/bin/sh
# make e2e: the end-to-end tests (tests/e2e/run.py) against BUILD_DIR.
exec python3 "$(dirname "$0")/run.py" "$@"
