#!/usr/bin/env bash
# Run the official Array API test suite (data-apis/array-api-tests) against
# xpgrad's traced namespace over NumPy (conformance/array_api_tests_module/).
#
# The suite cannot be vendored into this repository, and this script fetches
# nothing itself. Set it up once:
#
#   git clone https://github.com/data-apis/array-api-tests /tmp/array-api-tests
#   cd /tmp/array-api-tests && git submodule update --init   # the spec repo,
#       # data-apis/array-api, at the commit the suite pins (its `array-api` dir)
#   pip install pytest pytest-json-report "hypothesis>=6.151" "ndindex>=1.8"
#
# Then, from anywhere:
#
#   conformance/run_array_api_tests.sh                 # the whole suite
#   conformance/run_array_api_tests.sh -k fft -x       # extra pytest arguments
#
# Environment: ARRAY_API_TESTS_DIR (default /tmp/array-api-tests), MAX_EXAMPLES
# (default 20), PYTHON (default: python on PATH). The JSON report goes to
# $ARRAY_API_TESTS_DIR/.report.json. Expected failures, each with its reason,
# are in conformance/array_api_tests_xfails.txt (xfail is not strict: a test
# that starts to pass shows as XPASS).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
suite="${ARRAY_API_TESTS_DIR:-/tmp/array-api-tests}"
python="${PYTHON:-python}"

if [[ ! -d "$suite/array_api_tests" || ! -d "$suite/array-api/src/array_api_stubs" ]]; then
    echo "array-api-tests (with its array-api submodule) not found in $suite;" \
         "see the set-up steps at the top of $0" >&2
    exit 2
fi

cd "$suite"
export ARRAY_API_TESTS_MODULE=xpgrad_traced.xp
export PYTHONPATH="$here/array_api_tests_module${PYTHONPATH:+:$PYTHONPATH}"
# --disable-deadline: Hypothesis' 800 ms per-example deadline measures the
# machine's load (test_getitem's big arrays on a busy 2-core box), not conformance.
exec "$python" -m pytest array_api_tests \
    --max-examples="${MAX_EXAMPLES:-20}" --disable-deadline \
    --xfails-file="$here/array_api_tests_xfails.txt" \
    --json-report --json-report-file="$suite/.report.json" \
    -p no:cacheprovider -q -rf "$@"
