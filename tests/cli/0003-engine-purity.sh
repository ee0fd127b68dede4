#!/bin/sh
# The engine is pure (style.md 2.6): its object file calls no I/O, clock,
# environment, logging or adapter library. nm lists what it needs.
. tests/cli/lib.sh
undef=$(nm -u "$BUILD/lib/engine.o" | awk '{print $2}')
check "engine.o was built" [ -n "$undef" ]
for bad in fopen fwrite fprintf printf puts write read open time clock_gettime \
           gettimeofday getenv syslog; do
    check "engine does not call $bad" sh -c "! echo '$undef' | grep -qx '$bad'"
done
check "engine uses no adapter library" \
    sh -c "! echo '$undef' | grep -Eq '^(rd_kafka|redis|yaml_|json_)'"
report
