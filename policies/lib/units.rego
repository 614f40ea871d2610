# Durations for messages: three significant digits in the unit that fits (µs, ms, s).
# Perf evidence is in milliseconds; a microsecond benchmark printed to 0.1 ms reads "0.0 ms exceeds
#   the 0.033 ms budget", so every perf message formats times through duration_ms.
# The unit and the number of decimals are chosen on the value as it will be rounded (999.7 ms is
#   "1.00 s", not "1000 ms"); the digits come from an integer, because sprintf("%.1f") cannot
#   format numbers OPA holds as integers.
package readiness.lib

import rego.v1

# Else-chains, not sibling clauses: OPA tries every sibling clause of a function (they must
# agree), but stops an else-chain at the first branch that holds; perf messages format dozens
# of durations per decision.
# The branches exclude one another, so their order is free: the usual unit (ms) comes first.
duration_ms(ms) := _sig3(ms, "ms") if {
	ms >= 0.9995
	ms < 999.5
} else := _sig3(ms * 1000, "µs") if {
	ms > 0
	ms < 0.9995
} else := "0 ms" if {
	ms == 0
} else := _sig3(ms / 1000, "s") if ms >= 999.5

# v is at least 0.9995 except below one microsecond, where three decimals of µs are shown. Below
# 99.95, v is written with d > 0 decimals without sprintf("%f"): the digits of round(v * 10^d)
# with a decimal point d places from the right (zero-padded so that 0.05 µs reads "0.050").
# d (1, 2 or 3) is chosen by the else-chain, which stops at its branch: cheaper than counting the
# steps v is below and looking up 10^d in a table (about 15 fewer allocations per duration).
_sig3(v, unit) := concat(" ", [format_int(round(v), 10), unit]) if {
	v >= 99.95
} else := _point(sprintf("%02d", [round(v * 10)]), 1, unit) if {
	v >= 9.995
} else := _point(sprintf("%03d", [round(v * 100)]), 2, unit) if {
	v >= 0.9995
} else := _point(sprintf("%04d", [round(v * 1000)]), 3, unit)

# The zero-padded digits with a decimal point d places from the right, then the unit.
_point(digits, d, unit) := sprintf("%s.%s %s", [substring(digits, 0, n), substring(digits, n, -1), unit]) if {
	n := count(digits) - d
}

# Two durations that differ but print alike (100.04 and 100 ms) are shown with their raw values in
# ms instead, so a failure never reads "100 ms exceeds the 100 ms budget".
durations_ms(a, b) := [shown_a, shown_b] if {
	shown_a := duration_ms(a)
	shown_b := duration_ms(b)
	shown_a != shown_b
} else := [sprintf("%v ms", [a]), sprintf("%v ms", [b])]
