# Durations for messages: three significant digits in the unit that fits (µs, ms, s).
# Perf evidence is in milliseconds; a microsecond benchmark printed to 0.1 ms reads "0.0 ms exceeds
#   the 0.033 ms budget", so every perf message formats times through duration_ms.
# The unit and the number of decimals are chosen on the value as it will be rounded (999.7 ms is
#   "1.00 s", not "1000 ms"); the digits come from an integer, because sprintf("%.1f") cannot
#   format numbers OPA holds as integers.
package readiness.lib

import rego.v1

duration_ms(0) := "0 ms"

duration_ms(ms) := _sig3(ms * 1000, "µs") if {
	ms > 0
	ms < 0.9995
}

duration_ms(ms) := _sig3(ms, "ms") if {
	ms >= 0.9995
	ms < 999.5
}

duration_ms(ms) := _sig3(ms / 1000, "s") if ms >= 999.5

# v is at least 0.9995 except below one microsecond, where three decimals of µs are shown.
_sig3(v, unit) := sprintf("%s %s", [_fixed(v, _decimals(v)), unit])

_decimals(v) := 3 if v < 0.9995

_decimals(v) := 2 if {
	v >= 0.9995
	v < 9.995
}

_decimals(v) := 1 if {
	v >= 9.995
	v < 99.95
}

_decimals(v) := 0 if v >= 99.95

_pow10 := [1, 10, 100, 1000]

# v rounded to d decimals, written without sprintf("%f"): the digits of round(v * 10^d) with a
# decimal point d places from the right (zero-padded so that 0.05 µs reads "0.050").
_fixed(v, 0) := format_int(round(v), 10)

_fixed(v, d) := concat(".", [substring(digits, 0, count(digits) - d), substring(digits, count(digits) - d, d)]) if {
	d > 0
	digits := sprintf("%0*d", [d + 1, round(v * _pow10[d])])
}

# Two durations that differ but print alike (100.04 and 100 ms) are shown with their raw values in
# ms instead, so a failure never reads "100 ms exceeds the 100 ms budget".
durations_ms(a, b) := [duration_ms(a), duration_ms(b)] if {
	duration_ms(a) != duration_ms(b)
} else := [sprintf("%v ms", [a]), sprintf("%v ms", [b])]
